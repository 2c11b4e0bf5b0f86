#pragma once
// The queue panel: a view over the job queue. It shows the jobs the app gives it (setJobs, in queue
// order; a variant group's jobs collapsed under one row with the group's progress), live progress of the
// running job, the paused state and the counts per state, and turns the user's gestures (buttons, context
// menu, Delete, drag to reorder) into intent signals; pause, cancel and moves act on a selected group row
// as a whole. It never changes
// the queue itself: the app applies an intent to the job store and calls setJobs with the result.
#include "ui/queue_model.h"
#include "ui/studio_types.h"

#include <QImage>
#include <QList>
#include <QSet>
#include <QString>
#include <QWidget>

#include <optional>

class QAction;
class QLabel;
class QMenu;
class QPoint;
class QPushButton;
class QTreeView;

namespace charaforge::ui {

class QueuePanel : public QWidget {
    Q_OBJECT
public:
    explicit QueuePanel(QWidget* parent = nullptr);

    // Replaces the list (the order given is the queue order; jobs of one of `groups` go under its row),
    // keeping the selection, the current row, the expanded groups and the scroll position by id.
    void setJobs(const QList<JobView>& jobs, const QList<GroupView>& groups = {});
    // Live progress of a running job without a reload. `eta` is shown as "ETA <eta>" when not empty.
    void setJobProgress(qint64 id, int step, int total, const QString& eta, const QString& device = QString());
    // The finished image of a done job, as a thumbnail beside its title.
    void setJobThumbnail(qint64 id, const QImage& image);
    // Shows the queue as paused or running; does not emit pauseToggled.
    void setPaused(bool paused);
    bool isPaused() const { return m_paused; }

    QList<JobView> jobs() const;
    // Selected job ids in queue order (job rows only, not the jobs under a selected group row).
    QList<qint64> selectedJobIds() const;
    // Selected group rows' ids, top to bottom.
    QStringList selectedGroupIds() const;
    // Selects the row of group `id` (and makes it current).
    void selectGroup(const QString& id);
    // Selects the given jobs (the first becomes current) and scrolls to it.
    void selectJobs(const QList<qint64>& ids);
    // "12 queued · 1 running · 5 done · 1 failed" (failed and cancelled only when there are some).
    QString countsText() const;

    QTreeView* view() const { return m_view; }
    QueueModel* model() const { return m_model; }

    // The actions behind the buttons and the context menu, acting on the selection.
    void cancelSelected();
    void retrySelected();
    void duplicateSelected();
    void editSelected();
    void removeSelected();
    // Delete: cancels the selected queued/running jobs and removes the selected finished ones.
    void deleteSelected();
    void moveSelectedToTop();
    void moveSelectedUp();
    void moveSelectedDown();
    // Pauses the selected groups (resumes them when every one is paused).
    void toggleSelectedGroupsPaused();
    // Compare…: the group of the selected group row or grouped job.
    void compareSelected();

Q_SIGNALS:
    void pauseToggled(bool paused);
    void cancelRequested(const QList<qint64>& ids);
    void retryRequested(const QList<qint64>& ids);
    void duplicateRequested(const QList<qint64>& ids);
    void editRequested(qint64 id);
    void removeRequested(const QList<qint64>& ids);
    void clearFinishedRequested();
    // Move job `id` just above job `beforeId` (-1: to the end). Only queued jobs are moved.
    void moveRequested(qint64 id, qint64 beforeId);
    // A whole group: its queued jobs held or released, its queued and running jobs cancelled, its queued
    // jobs (in their order) placed just above job `beforeId` (-1: the end).
    void groupPauseRequested(const QString& id, bool paused);
    void groupCancelRequested(const QString& id);
    void groupMoveRequested(const QString& id, qint64 beforeId);
    // Open the compare view of group `id`.
    void compareRequested(const QString& id);

private:
    QPushButton* addButton(QAction* action, const char* objectName);
    void updateActions();
    void updateCounts();
    void showContextMenu(const QPoint& pos);
    // Selected ids whose state is one of `states`, in queue order.
    QList<qint64> selectedIn(const QStringList& states) const;
    // Emits moveRequested(id, beforeId) for each of `ids` (queue order kept).
    void requestMoves(const QList<qint64>& ids, qint64 beforeId);
    // The one selected group row ("" when the selection is anything else).
    QString soleSelectedGroup() const;
    // Where moving group `id` to the top / up / down puts it: the job its queued jobs go above (-1: the
    // end); nullopt when the move would change nothing.
    std::optional<qint64> groupMoveTarget(const QString& id, int direction) const;
    // The group to compare: of the current or first selected row.
    QString compareGroup() const;

    QueueModel* m_model = nullptr;
    QTreeView* m_view = nullptr;
    QLabel* m_counts = nullptr;
    QLabel* m_pausedBanner = nullptr;
    QPushButton* m_pauseButton = nullptr;
    QAction* m_cancelAction = nullptr;
    QAction* m_retryAction = nullptr;
    QAction* m_duplicateAction = nullptr;
    QAction* m_editAction = nullptr;
    QAction* m_removeAction = nullptr;
    QAction* m_clearFinishedAction = nullptr;
    QAction* m_deleteAction = nullptr;
    QAction* m_moveTopAction = nullptr;
    QAction* m_moveUpAction = nullptr;
    QAction* m_moveDownAction = nullptr;
    QAction* m_groupPauseAction = nullptr;
    QAction* m_compareAction = nullptr;
    QSet<QString> m_expanded; // groups whose rows are open
    bool m_paused = false;
};

} // namespace charaforge::ui
