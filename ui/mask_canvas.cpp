#include "ui/mask_canvas.h"

#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <QWheelEvent>

#include <algorithm>

namespace charaforge::ui {

namespace {

const QColor kHole(255, 0, 0);
constexpr double kOverlayOpacity = 0.45;

// Undo steps keep one byte per pixel (the mask's alpha), not the overlay's four.
QImage packed(const QImage& mask) {
    return mask.convertToFormat(QImage::Format_Alpha8);
}
QImage unpacked(const QImage& alpha) {
    QImage mask(alpha.size(), QImage::Format_ARGB32_Premultiplied);
    mask.fill(kHole);
    mask.setAlphaChannel(alpha);
    return mask;
}

} // namespace

MaskCanvas::MaskCanvas(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("maskCanvas"));
    setMouseTracking(false);
    setMinimumSize(160, 120);
    setCursor(Qt::CrossCursor);
    setFocusPolicy(Qt::StrongFocus);
}

void MaskCanvas::setImage(const QImage& image) {
    m_image = image.convertToFormat(QImage::Format_RGB32);
    m_mask = QImage(m_image.size(), QImage::Format_ARGB32_Premultiplied);
    m_mask.fill(Qt::transparent);
    m_undo.clear();
    m_redo.clear();
    // A brush of about a twentieth of the image: big enough to see, small enough to aim.
    setBrushSize(std::max(4, std::max(m_image.width(), m_image.height()) / 20));
    update();
    Q_EMIT maskChanged();
}

QImage MaskCanvas::mask() const {
    QImage out(m_mask.size(), QImage::Format_Grayscale8);
    for (int y = 0; y < m_mask.height(); ++y) {
        const auto* src = reinterpret_cast<const QRgb*>(m_mask.constScanLine(y));
        uchar* dst = out.scanLine(y);
        for (int x = 0; x < m_mask.width(); ++x)
            dst[x] = qAlpha(src[x]) >= 128 ? 255 : 0;
    }
    return out;
}

qint64 MaskCanvas::holePixels() const {
    qint64 n = 0;
    for (int y = 0; y < m_mask.height(); ++y) {
        const auto* src = reinterpret_cast<const QRgb*>(m_mask.constScanLine(y));
        for (int x = 0; x < m_mask.width(); ++x)
            n += qAlpha(src[x]) >= 128 ? 1 : 0;
    }
    return n;
}

void MaskCanvas::setBrushSize(int pixels) {
    pixels = std::clamp(pixels, kMinBrush, kMaxBrush);
    if (pixels == m_brush)
        return;
    m_brush = pixels;
    Q_EMIT brushSizeChanged(pixels);
}

void MaskCanvas::setEraser(bool on) {
    if (on == m_eraser)
        return;
    m_eraser = on;
    Q_EMIT eraserChanged(on);
}

void MaskCanvas::remember() {
    m_undo.push_back(packed(m_mask));
    if (m_undo.size() > kUndoLevels)
        m_undo.removeFirst();
    m_redo.clear();
}

void MaskCanvas::undo() {
    if (m_undo.isEmpty())
        return;
    m_redo.push_back(packed(m_mask));
    m_mask = unpacked(m_undo.takeLast());
    update();
    Q_EMIT maskChanged();
}

void MaskCanvas::redo() {
    if (m_redo.isEmpty())
        return;
    m_undo.push_back(packed(m_mask));
    m_mask = unpacked(m_redo.takeLast());
    update();
    Q_EMIT maskChanged();
}

void MaskCanvas::clear() {
    if (m_mask.isNull() || isEmpty())
        return;
    remember();
    m_mask.fill(Qt::transparent);
    update();
    Q_EMIT maskChanged();
}

void MaskCanvas::invert() {
    if (m_mask.isNull())
        return;
    remember();
    const QRgb hole = qPremultiply(kHole.rgba());
    for (int y = 0; y < m_mask.height(); ++y) {
        auto* px = reinterpret_cast<QRgb*>(m_mask.scanLine(y));
        for (int x = 0; x < m_mask.width(); ++x)
            px[x] = qAlpha(px[x]) >= 128 ? 0 : hole;
    }
    update();
    Q_EMIT maskChanged();
}

QRectF MaskCanvas::imageRect() const {
    if (m_image.isNull())
        return {};
    const QSizeF size = QSizeF(m_image.size()).scaled(QSizeF(rect().size()), Qt::KeepAspectRatio);
    return {(width() - size.width()) / 2.0, (height() - size.height()) / 2.0, size.width(), size.height()};
}

QPointF MaskCanvas::mapToImage(const QPointF& widgetPos) const {
    const QRectF r = imageRect();
    if (r.isEmpty())
        return {};
    return {(widgetPos.x() - r.left()) * m_image.width() / r.width(),
            (widgetPos.y() - r.top()) * m_image.height() / r.height()};
}

void MaskCanvas::strokeTo(const QPointF& imagePos) {
    QPainter p(&m_mask);
    // No antialiasing: the mask is binary, and a soft edge would be half a hole.
    p.setRenderHint(QPainter::Antialiasing, false);
    if (m_eraser)
        p.setCompositionMode(QPainter::CompositionMode_Clear);
    p.setPen(QPen(kHole, m_brush, Qt::SolidLine, Qt::RoundCap, Qt::RoundJoin));
    if (imagePos == m_last) {
        p.setPen(Qt::NoPen);
        p.setBrush(kHole);
        p.drawEllipse(imagePos, m_brush / 2.0, m_brush / 2.0);
    } else {
        p.drawLine(m_last, imagePos);
    }
    m_last = imagePos;
    update();
}

void MaskCanvas::mousePressEvent(QMouseEvent* event) {
    if (event->button() != Qt::LeftButton || m_image.isNull())
        return QWidget::mousePressEvent(event);
    remember();
    m_painting = true;
    m_last = mapToImage(event->position());
    strokeTo(m_last);
    Q_EMIT maskChanged();
}

void MaskCanvas::mouseMoveEvent(QMouseEvent* event) {
    if (!m_painting)
        return QWidget::mouseMoveEvent(event);
    strokeTo(mapToImage(event->position()));
}

void MaskCanvas::mouseReleaseEvent(QMouseEvent* event) {
    if (!m_painting || event->button() != Qt::LeftButton)
        return QWidget::mouseReleaseEvent(event);
    strokeTo(mapToImage(event->position()));
    m_painting = false;
    Q_EMIT maskChanged();
}

void MaskCanvas::wheelEvent(QWheelEvent* event) {
    // The wheel sizes the brush (a notch: an eighth more or less).
    const int notches = event->angleDelta().y() / 120;
    if (notches == 0)
        return QWidget::wheelEvent(event);
    setBrushSize(notches > 0 ? m_brush + std::max(1, m_brush / 8) : m_brush - std::max(1, m_brush / 8));
    update();
    event->accept();
}

void MaskCanvas::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.fillRect(rect(), palette().window());
    if (m_image.isNull()) {
        p.drawText(rect(), Qt::AlignCenter, tr("No image"));
        return;
    }
    const QRectF r = imageRect();
    p.setRenderHint(QPainter::SmoothPixmapTransform, true);
    p.drawImage(r, m_image);
    p.setOpacity(kOverlayOpacity);
    p.drawImage(r, m_mask);
}

} // namespace charaforge::ui
