#include "ui/queue_panel.h"

#include "ui/job_states.h"
#include "ui/progress_delegate.h"

#include <algorithm>

#include <QAction>
#include <QFileInfo>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelection>
#include <QItemSelectionModel>
#include <QLabel>
#include <QMenu>
#include <QPushButton>
#include <QScrollBar>
#include <QSet>
#include <QTreeView>
#include <QVBoxLayout>

namespace charaforge::ui {

using namespace job_state;

// ---------------------------------------------------------------------------------------------------
// QueuePanel

QueuePanel::QueuePanel(QWidget* parent) : QWidget(parent) {
    m_model = new QueueModel(this);

    m_counts = new QLabel(this);
    m_counts->setObjectName(QStringLiteral("countsLabel"));
    m_pauseButton = new QPushButton(this);
    m_pauseButton->setObjectName(QStringLiteral("pauseButton"));
    connect(m_pauseButton, &QPushButton::clicked, this, [this] { Q_EMIT pauseToggled(!m_paused); });

    m_pausedBanner = new QLabel(tr("Queue paused — no new job will start until you resume."), this);
    m_pausedBanner->setObjectName(QStringLiteral("pausedBanner"));
    m_pausedBanner->setWordWrap(true);
    m_pausedBanner->setStyleSheet(QStringLiteral("QLabel { background: #fff3cd; color: #664d03; "
                                                 "border: 1px solid #e0c36a; border-radius: 3px; padding: 4px; }"));

    m_view = new QTreeView(this);
    m_view->setObjectName(QStringLiteral("queueView"));
    m_view->setModel(m_model);
    m_view->setRootIsDecorated(false);
    m_view->setUniformRowHeights(true);
    m_view->setAllColumnsShowFocus(true);
    m_view->setAlternatingRowColors(true);
    m_view->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_view->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setDragEnabled(true);
    m_view->setAcceptDrops(true);
    m_view->setDropIndicatorShown(true);
    m_view->setDragDropOverwriteMode(false);
    m_view->setDragDropMode(QAbstractItemView::InternalMove);
    m_view->setDefaultDropAction(Qt::MoveAction);
    m_view->setContextMenuPolicy(Qt::CustomContextMenu);
    m_view->setItemDelegateForColumn(QueueModel::ProgressColumn, new ProgressDelegate(m_view));
    m_view->setIconSize(QSize(QueueModel::kThumbnailSize, QueueModel::kThumbnailSize)); // state icons stay 16 px
    // The dock is narrow: id, state, the title and the progress share its width (both stretch, so long
    // titles and error messages are elided, never scrolled). The settings are in each row's tooltip; the
    // header's context menu shows their columns.
    QHeaderView* header = m_view->header();
    header->setStretchLastSection(false);
    for (int c = 0; c < QueueModel::ColumnCount; ++c)
        header->setSectionResizeMode(c, QHeaderView::ResizeToContents);
    header->setSectionResizeMode(QueueModel::TitleColumn, QHeaderView::Stretch);
    header->setSectionResizeMode(QueueModel::ProgressColumn, QHeaderView::Stretch);
    header->setContextMenuPolicy(Qt::ActionsContextMenu);
    for (int c : {QueueModel::SizeColumn, QueueModel::StepsColumn, QueueModel::SamplerColumn, QueueModel::CfgColumn,
                  QueueModel::SeedColumn}) {
        m_view->setColumnHidden(c, true);
        auto* show = new QAction(m_model->headerData(c, Qt::Horizontal).toString(), header);
        show->setCheckable(true);
        connect(show, &QAction::toggled, this, [this, c](bool on) { m_view->setColumnHidden(c, !on); });
        header->addAction(show);
    }
    connect(m_model, &QueueModel::moveRequested, this, &QueuePanel::moveRequested);
    connect(m_view->selectionModel(), &QItemSelectionModel::selectionChanged, this, &QueuePanel::updateActions);
    connect(m_view, &QWidget::customContextMenuRequested, this, &QueuePanel::showContextMenu);
    connect(m_view, &QAbstractItemView::doubleClicked, this, [this](const QModelIndex& index) {
        if (!m_model->isGroup(index) && index.data(QueueModel::StateRole).toString() == kQueued)
            Q_EMIT editRequested(index.data(QueueModel::IdRole).toLongLong());
    });
    connect(m_view, &QTreeView::expanded, this,
            [this](const QModelIndex& index) { m_expanded.insert(index.data(QueueModel::GroupRole).toString()); });
    connect(m_view, &QTreeView::collapsed, this,
            [this](const QModelIndex& index) { m_expanded.remove(index.data(QueueModel::GroupRole).toString()); });

    auto makeAction = [this](const QString& text, const QString& tip, void (QueuePanel::*slot)()) {
        auto* action = new QAction(text, this);
        action->setToolTip(tip);
        action->setShortcutContext(Qt::WidgetWithChildrenShortcut);
        connect(action, &QAction::triggered, this, slot);
        m_view->addAction(action); // its shortcut works while the list has focus
        return action;
    };
    m_cancelAction =
        makeAction(tr("Cancel"), tr("Cancel the selected queued or running jobs"), &QueuePanel::cancelSelected);
    m_retryAction =
        makeAction(tr("Retry"), tr("Queue the selected failed or cancelled jobs again, with the current model"),
                   &QueuePanel::retrySelected);
    m_duplicateAction =
        makeAction(tr("Duplicate"), tr("Queue a copy of each selected job"), &QueuePanel::duplicateSelected);
    m_editAction =
        makeAction(tr("Edit…"), tr("Change the settings of the selected queued job"), &QueuePanel::editSelected);
    m_removeAction = makeAction(tr("Remove from list"), tr("Remove the selected finished jobs from the list"),
                                &QueuePanel::removeSelected);
    m_deleteAction = makeAction(tr("Cancel or remove"),
                                tr("Cancel the selected queued or running jobs and remove the finished ones"),
                                &QueuePanel::deleteSelected);
    m_deleteAction->setShortcut(QKeySequence::Delete);
    m_moveTopAction = makeAction(tr("Move to top"), tr("Run the selected jobs before the other queued jobs"),
                                 &QueuePanel::moveSelectedToTop);
    m_moveTopAction->setShortcut(QKeySequence(Qt::ALT | Qt::Key_Home));
    m_moveUpAction = makeAction(tr("Move up"), tr("Move the selected jobs above the previous queued job"),
                                &QueuePanel::moveSelectedUp);
    m_moveUpAction->setShortcut(QKeySequence(Qt::ALT | Qt::Key_Up));
    m_moveDownAction = makeAction(tr("Move down"), tr("Move the selected jobs below the next queued job"),
                                  &QueuePanel::moveSelectedDown);
    m_moveDownAction->setShortcut(QKeySequence(Qt::ALT | Qt::Key_Down));
    m_groupPauseAction = makeAction(tr("Pause group"), tr("Hold the queued jobs of the selected groups"),
                                    &QueuePanel::toggleSelectedGroupsPaused);
    m_compareAction = makeAction(tr("Compare…"), tr("Compare the images of the selected group side by side"),
                                 &QueuePanel::compareSelected);
    m_clearFinishedAction = new QAction(tr("Clear finished"), this);
    m_clearFinishedAction->setToolTip(tr("Remove all done, failed and cancelled jobs from the list"));
    connect(m_clearFinishedAction, &QAction::triggered, this, [this] { Q_EMIT clearFinishedRequested(); });

    auto* top = new QHBoxLayout;
    top->addWidget(m_counts, 1);
    top->addWidget(m_pauseButton);

    // Two rows of three: the dock stays narrow enough for a 1280-pixel-wide window.
    auto* buttons = new QGridLayout;
    buttons->addWidget(addButton(m_cancelAction, "cancelButton"), 0, 0);
    buttons->addWidget(addButton(m_retryAction, "retryButton"), 0, 1);
    buttons->addWidget(addButton(m_duplicateAction, "duplicateButton"), 0, 2);
    buttons->addWidget(addButton(m_editAction, "editButton"), 1, 0);
    buttons->addWidget(addButton(m_removeAction, "removeButton"), 1, 1);
    buttons->addWidget(addButton(m_clearFinishedAction, "clearFinishedButton"), 1, 2);
    buttons->addWidget(addButton(m_groupPauseAction, "groupPauseButton"), 2, 0);
    buttons->addWidget(addButton(m_compareAction, "compareButton"), 2, 1);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(top);
    layout->addWidget(m_pausedBanner);
    layout->addWidget(m_view, 1);
    layout->addLayout(buttons);

    setPaused(false);
    updateActions();
    updateCounts();
}

QPushButton* QueuePanel::addButton(QAction* action, const char* objectName) {
    auto* button = new QPushButton(action->text(), this);
    button->setObjectName(QString::fromLatin1(objectName));
    button->setToolTip(action->toolTip());
    button->setEnabled(action->isEnabled());
    connect(button, &QPushButton::clicked, action, &QAction::trigger);
    connect(action, &QAction::changed, button, [button, action] {
        button->setEnabled(action->isEnabled());
        button->setText(action->text());
        button->setToolTip(action->toolTip());
    });
    return button;
}

void QueuePanel::setJobs(const QList<JobView>& jobs, const QList<GroupView>& groups) {
    const QList<qint64> selected = selectedJobIds();
    const QStringList selectedGroups = selectedGroupIds();
    const QModelIndex current = m_view->currentIndex();
    const qint64 currentId = current.isValid() ? current.data(QueueModel::IdRole).toLongLong() : -1;
    const QString currentGroup = current.isValid() ? current.data(QueueModel::GroupRole).toString() : QString();
    const QModelIndex topIndex = m_view->indexAt(QPoint(1, 1));
    const qint64 topId = topIndex.isValid() ? topIndex.data(QueueModel::IdRole).toLongLong() : -1;
    const QString topGroup = topIndex.isValid() ? topIndex.data(QueueModel::GroupRole).toString() : QString();
    const int scroll = m_view->verticalScrollBar()->value();
    const QSet<QString> expanded = m_expanded;

    int resets = 0;
    const auto counter = connect(m_model, &QAbstractItemModel::modelReset, this, [&resets] { ++resets; });
    m_model->setJobs(jobs, groups);
    disconnect(counter);
    bool anyGroup = false;
    for (int row = 0; row < m_model->rowCount() && !anyGroup; ++row)
        anyGroup = m_model->isGroup(m_model->index(row, 0));
    m_view->setRootIsDecorated(anyGroup);

    if (resets > 0) { // the model was reset: put the open groups, the selection, the current row and the scroll back
        m_expanded.clear();
        for (const QString& g : expanded)
            if (const QModelIndex index = m_model->groupIndex(g); index.isValid())
                m_view->expand(index);
        QItemSelection selection;
        auto select = [&](const QModelIndex& index) {
            if (index.isValid())
                selection.select(index, index.siblingAtColumn(QueueModel::ColumnCount - 1));
        };
        for (qint64 id : selected)
            select(m_model->indexOf(id));
        for (const QString& g : selectedGroups)
            select(m_model->groupIndex(g));
        QItemSelectionModel* sm = m_view->selectionModel();
        const QModelIndex currentIndex =
            currentGroup.isEmpty() ? m_model->indexOf(currentId) : m_model->groupIndex(currentGroup);
        if (currentIndex.isValid())
            sm->setCurrentIndex(currentIndex, QItemSelectionModel::NoUpdate);
        sm->select(selection, QItemSelectionModel::ClearAndSelect);
        const QModelIndex top = topGroup.isEmpty() ? m_model->indexOf(topId) : m_model->groupIndex(topGroup);
        if (top.isValid() && (!top.parent().isValid() || m_view->isExpanded(top.parent())))
            m_view->scrollTo(top, QAbstractItemView::PositionAtTop);
        else
            m_view->verticalScrollBar()->setValue(scroll);
    }
    updateActions();
    updateCounts();
}

void QueuePanel::setJobProgress(qint64 id, int step, int total, const QString& eta, const QString& device) {
    m_model->setJobProgress(id, step, total, eta, device);
}

void QueuePanel::setJobThumbnail(qint64 id, const QImage& image) {
    m_model->setThumbnail(id, image);
}

void QueuePanel::setPaused(bool paused) {
    m_paused = paused;
    m_pauseButton->setText(paused ? tr("Resume") : tr("Pause"));
    m_pauseButton->setIcon(style()->standardIcon(paused ? QStyle::SP_MediaPlay : QStyle::SP_MediaPause));
    m_pauseButton->setToolTip(paused ? tr("Start queued jobs again") : tr("Start no new job until you resume"));
    m_pausedBanner->setVisible(paused);
}

QList<JobView> QueuePanel::jobs() const {
    return m_model->jobs();
}

QList<qint64> QueuePanel::selectedJobIds() const {
    QList<qint64> ids;
    for (const QModelIndex& index : m_view->selectionModel()->selectedRows(0))
        if (!m_model->isGroup(index))
            ids.append(index.data(QueueModel::IdRole).toLongLong());
    std::sort(ids.begin(), ids.end(), [this](qint64 a, qint64 b) { return m_model->rowOf(a) < m_model->rowOf(b); });
    return ids;
}

QStringList QueuePanel::selectedGroupIds() const {
    QModelIndexList rows;
    for (const QModelIndex& index : m_view->selectionModel()->selectedRows(0))
        if (m_model->isGroup(index))
            rows.append(index);
    std::sort(rows.begin(), rows.end(), [](const QModelIndex& a, const QModelIndex& b) { return a.row() < b.row(); });
    QStringList ids;
    for (const QModelIndex& index : std::as_const(rows))
        ids.append(index.data(QueueModel::GroupRole).toString());
    return ids;
}

void QueuePanel::selectJobs(const QList<qint64>& ids) {
    QItemSelection selection;
    QModelIndex first;
    for (qint64 id : ids) {
        const QModelIndex index = m_model->indexOf(id);
        if (!index.isValid())
            continue;
        if (index.parent().isValid())
            m_view->expand(index.parent());
        if (!first.isValid())
            first = index;
        selection.select(index, index.siblingAtColumn(QueueModel::ColumnCount - 1));
    }
    QItemSelectionModel* sm = m_view->selectionModel();
    if (first.isValid()) {
        sm->setCurrentIndex(first, QItemSelectionModel::NoUpdate);
        m_view->scrollTo(first);
    }
    sm->select(selection, QItemSelectionModel::ClearAndSelect);
}

void QueuePanel::selectGroup(const QString& id) {
    const QModelIndex index = m_model->groupIndex(id);
    QItemSelectionModel* sm = m_view->selectionModel();
    if (!index.isValid())
        return sm->clearSelection();
    sm->setCurrentIndex(index, QItemSelectionModel::NoUpdate);
    sm->select(QItemSelection(index, index.siblingAtColumn(QueueModel::ColumnCount - 1)),
               QItemSelectionModel::ClearAndSelect);
    m_view->scrollTo(index);
}

QString QueuePanel::countsText() const {
    QHash<QString, int> count;
    for (const JobView& j : m_model->jobs())
        ++count[j.state];
    QStringList parts{tr("%1 queued").arg(count.value(kQueued)), tr("%1 running").arg(count.value(kRunning)),
                      tr("%1 done").arg(count.value(kDone))};
    if (count.value(kFailed) > 0)
        parts << tr("%1 failed").arg(count.value(kFailed));
    if (count.value(kCancelled) > 0)
        parts << tr("%1 cancelled").arg(count.value(kCancelled));
    return parts.join(QStringLiteral(" · "));
}

void QueuePanel::updateCounts() {
    m_counts->setText(countsText());
}

QList<qint64> QueuePanel::selectedIn(const QStringList& states) const {
    QList<qint64> ids;
    for (qint64 id : selectedJobIds()) {
        if (states.contains(m_model->jobs().value(m_model->rowOf(id)).state))
            ids.append(id);
    }
    return ids;
}

void QueuePanel::updateActions() {
    const QList<qint64> selected = selectedJobIds();
    const QStringList groups = selectedGroupIds();
    const QList<qint64> queued = selectedIn({kQueued});
    bool groupCanCancel = false;
    bool allGroupsPaused = !groups.isEmpty();
    for (const QString& g : groups) {
        const auto c = m_model->groupCounts(g);
        groupCanCancel = groupCanCancel || c.queued + c.running > 0;
        allGroupsPaused = allGroupsPaused && m_model->group(g).value_or(GroupView{}).paused;
    }
    m_groupPauseAction->setEnabled(!groups.isEmpty());
    m_groupPauseAction->setText(allGroupsPaused ? tr("Resume group") : tr("Pause group"));
    m_groupPauseAction->setToolTip(allGroupsPaused ? tr("Let the queued jobs of the selected groups start again")
                                                   : tr("Hold the queued jobs of the selected groups"));
    m_compareAction->setEnabled(!compareGroup().isEmpty());
    const bool canCancel = !selectedIn({kQueued, kRunning}).isEmpty() || groupCanCancel;
    const bool canRemove = !selectedIn({kDone, kFailed, kCancelled}).isEmpty();
    m_cancelAction->setEnabled(canCancel);
    m_retryAction->setEnabled(!selectedIn({kFailed, kCancelled}).isEmpty());
    m_duplicateAction->setEnabled(!selected.isEmpty());
    m_editAction->setEnabled(selected.size() == 1 && queued.size() == 1);
    m_removeAction->setEnabled(canRemove);
    m_deleteAction->setEnabled(canCancel || canRemove);

    bool anyFinished = false;
    for (const JobView& j : m_model->jobs())
        anyFinished = anyFinished || isFinished(j.state);
    m_clearFinishedAction->setEnabled(anyFinished);

    // Moves apply to a selection of queued jobs only, and only when another queued job is in the way.
    const bool allQueued = !selected.isEmpty() && queued.size() == selected.size();
    int firstSelected = -1;
    int lastSelected = -1;
    for (qint64 id : selected) {
        const int row = m_model->rowOf(id);
        firstSelected = firstSelected < 0 ? row : std::min(firstSelected, row);
        lastSelected = std::max(lastSelected, row);
    }
    bool otherBeforeFirst = false;
    bool otherBeforeLast = false;
    bool otherAfterLast = false;
    const QSet<qint64> selectedSet(selected.begin(), selected.end());
    const QList<JobView>& jobs = m_model->jobs();
    for (qsizetype row = 0; row < jobs.size(); ++row) {
        if (jobs[row].state != kQueued || selectedSet.contains(jobs[row].id))
            continue;
        otherBeforeFirst = otherBeforeFirst || row < firstSelected;
        otherBeforeLast = otherBeforeLast || row < lastSelected;
        otherAfterLast = otherAfterLast || row > lastSelected;
    }
    m_moveTopAction->setEnabled(allQueued && otherBeforeLast);
    m_moveUpAction->setEnabled(allQueued && otherBeforeFirst);
    m_moveDownAction->setEnabled(allQueued && otherAfterLast);
    if (const QString g = soleSelectedGroup(); !g.isEmpty()) {
        m_moveTopAction->setEnabled(groupMoveTarget(g, 0).has_value());
        m_moveUpAction->setEnabled(groupMoveTarget(g, -1).has_value());
        m_moveDownAction->setEnabled(groupMoveTarget(g, 1).has_value());
    }
}

QString QueuePanel::soleSelectedGroup() const {
    const QStringList groups = selectedGroupIds();
    return groups.size() == 1 && selectedJobIds().isEmpty() ? groups.first() : QString();
}

QString QueuePanel::compareGroup() const {
    QModelIndex index = m_view->currentIndex();
    if (!index.isValid() || !m_view->selectionModel()->isRowSelected(index.row(), index.parent())) {
        const QModelIndexList rows = m_view->selectionModel()->selectedRows(0);
        index = rows.isEmpty() ? QModelIndex() : rows.first();
    }
    if (!index.isValid())
        return {};
    if (m_model->isGroup(index))
        return index.data(QueueModel::GroupRole).toString();
    return index.parent().isValid() ? index.parent().data(QueueModel::GroupRole).toString() : QString();
}

std::optional<qint64> QueuePanel::groupMoveTarget(const QString& id, int direction) const {
    // The queued jobs in queue order, each with the group row it is under ("" for a loose one).
    const QList<JobView>& jobs = m_model->jobs();
    QList<qint64> queued;
    QStringList under;
    for (const JobView& j : jobs) {
        if (j.state != kQueued)
            continue;
        queued.append(j.id);
        under.append(m_model->indexOf(j.id).parent().data(QueueModel::GroupRole).toString());
    }
    const qsizetype first = under.indexOf(id);
    const qsizetype last = under.lastIndexOf(id);
    if (first < 0)
        return std::nullopt;
    if (direction == 0) { // top: above the first other queued job, when one is before the group's last
        for (qsizetype i = 0; i < last; ++i)
            if (under[i] != id)
                return queued[i];
        return std::nullopt;
    }
    if (direction < 0) { // up: above the row (a job or a whole group) just before the group's first job
        for (qsizetype i = first - 1; i >= 0; --i) {
            if (under[i] == id)
                continue;
            return under[i].isEmpty() ? queued[i] : queued[under.indexOf(under[i])];
        }
        return std::nullopt;
    }
    // down: below the row just after the group's last job
    for (qsizetype i = last + 1; i < queued.size(); ++i) {
        if (under[i] == id)
            continue;
        const qsizetype end = under[i].isEmpty() ? i : under.lastIndexOf(under[i]);
        for (qsizetype k = end + 1; k < queued.size(); ++k)
            if (under[k] != id && (under[i].isEmpty() || under[k] != under[i]))
                return queued[k];
        return -1;
    }
    return std::nullopt;
}

void QueuePanel::showContextMenu(const QPoint& pos) {
    QMenu menu(this);
    menu.addAction(m_cancelAction);
    menu.addAction(m_retryAction);
    menu.addAction(m_duplicateAction);
    menu.addAction(m_editAction);
    menu.addAction(m_removeAction);
    menu.addAction(m_groupPauseAction);
    menu.addAction(m_compareAction);
    menu.addSeparator();
    menu.addAction(m_moveTopAction);
    menu.addAction(m_moveUpAction);
    menu.addAction(m_moveDownAction);
    menu.addSeparator();
    menu.addAction(m_clearFinishedAction);
    menu.exec(m_view->viewport()->mapToGlobal(pos));
}

void QueuePanel::cancelSelected() {
    // Both lists first: the app may answer the first signal with setJobs.
    const QStringList groups = selectedGroupIds();
    const QList<qint64> ids = selectedIn({kQueued, kRunning});
    for (const QString& g : groups)
        Q_EMIT groupCancelRequested(g);
    if (!ids.isEmpty())
        Q_EMIT cancelRequested(ids);
}

void QueuePanel::toggleSelectedGroupsPaused() {
    const QStringList groups = selectedGroupIds();
    bool allPaused = !groups.isEmpty();
    for (const QString& g : groups)
        allPaused = allPaused && m_model->group(g).value_or(GroupView{}).paused;
    for (const QString& g : groups)
        Q_EMIT groupPauseRequested(g, !allPaused);
}

void QueuePanel::compareSelected() {
    if (const QString g = compareGroup(); !g.isEmpty())
        Q_EMIT compareRequested(g);
}

void QueuePanel::retrySelected() {
    const QList<qint64> ids = selectedIn({kFailed, kCancelled});
    if (!ids.isEmpty())
        Q_EMIT retryRequested(ids);
}

void QueuePanel::duplicateSelected() {
    const QList<qint64> ids = selectedJobIds();
    if (!ids.isEmpty())
        Q_EMIT duplicateRequested(ids);
}

void QueuePanel::editSelected() {
    const QList<qint64> selected = selectedJobIds();
    const QList<qint64> queued = selectedIn({kQueued});
    if (selected.size() == 1 && queued.size() == 1)
        Q_EMIT editRequested(queued.first());
}

void QueuePanel::removeSelected() {
    const QList<qint64> ids = selectedIn({kDone, kFailed, kCancelled});
    if (!ids.isEmpty())
        Q_EMIT removeRequested(ids);
}

void QueuePanel::deleteSelected() {
    // Both lists first: the app may answer the first signal with setJobs.
    const QStringList groups = selectedGroupIds();
    const QList<qint64> cancel = selectedIn({kQueued, kRunning});
    const QList<qint64> remove = selectedIn({kDone, kFailed, kCancelled});
    for (const QString& g : groups)
        Q_EMIT groupCancelRequested(g);
    if (!cancel.isEmpty())
        Q_EMIT cancelRequested(cancel);
    if (!remove.isEmpty())
        Q_EMIT removeRequested(remove);
}

void QueuePanel::requestMoves(const QList<qint64>& ids, qint64 beforeId) {
    for (qint64 id : ids)
        Q_EMIT moveRequested(id, beforeId);
}

void QueuePanel::moveSelectedToTop() {
    if (!m_moveTopAction->isEnabled())
        return;
    if (const QString g = soleSelectedGroup(); !g.isEmpty()) {
        if (const auto before = groupMoveTarget(g, 0))
            Q_EMIT groupMoveRequested(g, *before);
        return;
    }
    // Targets are found before the first signal: the app may answer each one with setJobs.
    const QList<qint64> ids = selectedJobIds();
    const QList<JobView> jobs = m_model->jobs();
    for (const JobView& j : jobs) {
        if (j.state == kQueued && !ids.contains(j.id))
            return requestMoves(ids, j.id);
    }
}

void QueuePanel::moveSelectedUp() {
    if (!m_moveUpAction->isEnabled())
        return;
    if (const QString g = soleSelectedGroup(); !g.isEmpty()) {
        if (const auto before = groupMoveTarget(g, -1))
            Q_EMIT groupMoveRequested(g, *before);
        return;
    }
    const QList<qint64> ids = selectedJobIds();
    const QList<JobView> jobs = m_model->jobs();
    for (int row = m_model->rowOf(ids.first()) - 1; row >= 0; --row) {
        if (jobs[row].state == kQueued && !ids.contains(jobs[row].id))
            return requestMoves(ids, jobs[row].id);
    }
}

void QueuePanel::moveSelectedDown() {
    if (!m_moveDownAction->isEnabled())
        return;
    if (const QString g = soleSelectedGroup(); !g.isEmpty()) {
        if (const auto before = groupMoveTarget(g, 1))
            Q_EMIT groupMoveRequested(g, *before);
        return;
    }
    const QList<qint64> ids = selectedJobIds();
    const QList<JobView> jobs = m_model->jobs();
    for (qsizetype row = m_model->rowOf(ids.last()) + 1; row < jobs.size(); ++row) {
        if (jobs[row].state == kQueued && !ids.contains(jobs[row].id))
            return requestMoves(ids, row + 1 < jobs.size() ? jobs[row + 1].id : -1);
    }
}

} // namespace charaforge::ui
