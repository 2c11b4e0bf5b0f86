#pragma once
// The handle in a character card's title row: dragging it drags the card, as its 0-based row under
// the given mime type, with a picture of the card.
#include <QByteArray>
#include <QLabel>
#include <QPoint>
#include <QString>

namespace charaforge::ui {

class DragHandle : public QLabel {
public:
    DragHandle(int row, QString mimeType, QWidget* parent);

protected:
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;

private:
    int m_row;
    QString m_mimeType;
    QPoint m_pressPos;
};

} // namespace charaforge::ui
