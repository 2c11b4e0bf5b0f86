#include "ui/swipe_view.h"

#include <QMouseEvent>
#include <QPainter>

namespace charaforge::ui {

SwipeView::SwipeView(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("swipeView"));
    setMinimumSize(160, 120);
    setCursor(Qt::SplitHCursor);
}

QSize SwipeView::sizeHint() const {
    return {640, 480};
}

void SwipeView::setImages(const QImage& a, const QImage& b, const QString& labelA, const QString& labelB) {
    m_a = a;
    m_b = b;
    m_labelA = labelA;
    m_labelB = labelB;
    update();
}

void SwipeView::setSplit(double split) {
    split = std::clamp(split, 0.0, 1.0);
    if (split == m_split)
        return;
    m_split = split;
    update();
    Q_EMIT splitChanged(m_split);
}

void SwipeView::flip() {
    m_flipped = !m_flipped;
    update();
}

QRect SwipeView::imageRect() const {
    const QImage& shape = m_a.isNull() ? m_b : m_a;
    if (shape.isNull())
        return {};
    const QSize fitted = shape.size().scaled(size(), Qt::KeepAspectRatio);
    return QRect(QPoint((width() - fitted.width()) / 2, (height() - fitted.height()) / 2), fitted);
}

void SwipeView::splitAt(double x) {
    const QRect r = imageRect();
    if (r.width() > 0)
        setSplit((x - r.left()) / r.width());
}

void SwipeView::mousePressEvent(QMouseEvent* event) {
    if (event->button() == Qt::LeftButton)
        splitAt(event->position().x());
}

void SwipeView::mouseMoveEvent(QMouseEvent* event) {
    if (event->buttons() & Qt::LeftButton)
        splitAt(event->position().x());
}

void SwipeView::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.fillRect(rect(), palette().window());
    const QRect r = imageRect();
    if (r.isEmpty()) {
        p.drawText(rect(), Qt::AlignCenter, tr("Select two images to compare them"));
        return;
    }
    const QImage& left = m_flipped ? m_b : m_a;
    const QImage& right = m_flipped ? m_a : m_b;
    const int x = r.left() + static_cast<int>(std::lround(m_split * r.width()));
    p.setRenderHint(QPainter::SmoothPixmapTransform);
    p.save();
    p.setClipRect(QRect(r.topLeft(), QPoint(x - 1, r.bottom())));
    p.drawImage(r, left);
    p.restore();
    p.save();
    p.setClipRect(QRect(QPoint(x, r.top()), r.bottomRight()));
    p.drawImage(r, right);
    p.restore();
    p.setPen(QPen(Qt::white, 2));
    p.drawLine(x, r.top(), x, r.bottom());
    // The labels say which image is on which side.
    const QString leftLabel = m_flipped ? m_labelB : m_labelA;
    const QString rightLabel = m_flipped ? m_labelA : m_labelB;
    const QRect band(r.left(), r.top(), r.width(), fontMetrics().height() + 6);
    p.fillRect(band, QColor(0, 0, 0, 120));
    p.drawText(band.adjusted(6, 0, -6, 0), Qt::AlignLeft | Qt::AlignVCenter, leftLabel);
    p.drawText(band.adjusted(6, 0, -6, 0), Qt::AlignRight | Qt::AlignVCenter, rightLabel);
}

} // namespace charaforge::ui
