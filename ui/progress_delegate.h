#pragma once
// Paints a running job's progress column as a progress bar with the step, percentage and ETA on it
// (QueueModel::ProgressRole: percent, -1 for a plain cell).
#include <QStyledItemDelegate>

namespace charaforge::ui {

class ProgressDelegate : public QStyledItemDelegate {
public:
    using QStyledItemDelegate::QStyledItemDelegate;
    void paint(QPainter* painter, const QStyleOptionViewItem& option, const QModelIndex& index) const override;
};

} // namespace charaforge::ui
