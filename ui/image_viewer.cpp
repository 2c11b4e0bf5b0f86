#include "ui/image_viewer.h"

#include <QPaintEvent>
#include <QPainter>
#include <QResizeEvent>

namespace charaforge::ui {

namespace {

constexpr int kMargin = 4;
const QColor kBackground(43, 43, 43);
const QColor kCaptionColor(220, 220, 220);
const QColor kPlaceholderColor(150, 150, 150);

} // namespace

ImageViewer::ImageViewer(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("imageViewer"));
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
    setAttribute(Qt::WA_OpaquePaintEvent);
}

void ImageViewer::setImage(const QImage& image, const QString& caption) {
    m_image = image;
    m_caption = caption;
    m_preview = false;
    m_scaled = QPixmap();
    update();
}

void ImageViewer::setPreview(const QImage& smallPreview, const QString& caption) {
    m_image = smallPreview;
    m_caption = caption;
    m_preview = true;
    m_scaled = QPixmap();
    update();
}

void ImageViewer::clear() {
    m_image = QImage();
    m_caption.clear();
    m_preview = false;
    m_scaled = QPixmap();
    update();
}

int ImageViewer::captionHeight() const {
    return m_caption.isEmpty() ? 0 : fontMetrics().height() + 2 * kMargin;
}

QRect ImageViewer::imageRect() const {
    if (m_image.isNull())
        return {};
    const QRect area = rect().adjusted(kMargin, kMargin, -kMargin, -kMargin - captionHeight());
    if (area.width() <= 0 || area.height() <= 0)
        return {};
    const QSize size = m_image.size().scaled(area.size(), Qt::KeepAspectRatio);
    return QRect(area.x() + (area.width() - size.width()) / 2, area.y() + (area.height() - size.height()) / 2,
                 size.width(), size.height());
}

QSize ImageViewer::sizeHint() const {
    return {512, 512};
}

QSize ImageViewer::minimumSizeHint() const {
    return {128, 128};
}

void ImageViewer::resizeEvent(QResizeEvent* event) {
    m_scaled = QPixmap();
    QWidget::resizeEvent(event);
}

void ImageViewer::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.fillRect(rect(), kBackground);
    const QRect target = imageRect();
    if (target.isEmpty()) {
        p.setPen(kPlaceholderColor);
        p.drawText(rect(), Qt::AlignCenter | Qt::TextWordWrap,
                   m_image.isNull() ? tr("No image yet: generate one or pick one in the gallery") : QString());
    } else {
        // Smooth scaling once per size: a preview is a few dozen pixels wide and must not look blocky.
        if (m_scaled.size() != target.size())
            m_scaled =
                QPixmap::fromImage(m_image.scaled(target.size(), Qt::IgnoreAspectRatio, Qt::SmoothTransformation));
        p.drawPixmap(target.topLeft(), m_scaled);
    }
    if (!m_caption.isEmpty()) {
        const QRect captionRect(kMargin, height() - captionHeight(), width() - 2 * kMargin, captionHeight());
        p.setPen(kCaptionColor);
        QFont font = p.font();
        font.setItalic(m_preview);
        p.setFont(font);
        p.drawText(captionRect, Qt::AlignCenter,
                   fontMetrics().elidedText(m_caption, Qt::ElideMiddle, captionRect.width()));
    }
}

} // namespace charaforge::ui
