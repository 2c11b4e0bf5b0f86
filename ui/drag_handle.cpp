#include "ui/drag_handle.h"

#include <algorithm>

#include <QApplication>
#include <QDrag>
#include <QMimeData>
#include <QMouseEvent>

namespace charaforge::ui {

DragHandle::DragHandle(int row, QString mimeType, QWidget* parent)
    : QLabel(QStringLiteral("\u283F"), parent), m_row(row), m_mimeType(std::move(mimeType)) {
    setObjectName(QStringLiteral("dragHandle"));
    setCursor(Qt::OpenHandCursor);
    setToolTip(tr("Drag to reorder"));
}

void DragHandle::mousePressEvent(QMouseEvent* event) {
    if (event->button() == Qt::LeftButton)
        m_pressPos = event->position().toPoint();
    QLabel::mousePressEvent(event);
}

void DragHandle::mouseMoveEvent(QMouseEvent* event) {
    if (!(event->buttons() & Qt::LeftButton) ||
        (event->position().toPoint() - m_pressPos).manhattanLength() < QApplication::startDragDistance()) {
        QLabel::mouseMoveEvent(event);
        return;
    }
    auto* drag = new QDrag(this);
    auto* mime = new QMimeData;
    mime->setData(m_mimeType, QByteArray::number(m_row));
    drag->setMimeData(mime);
    if (QWidget* card = parentWidget())
        drag->setPixmap(card->grab().scaledToWidth(std::min(card->width(), 240), Qt::SmoothTransformation));
    drag->exec(Qt::MoveAction);
}

} // namespace charaforge::ui
