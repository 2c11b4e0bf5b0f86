#pragma once
// The queue panel: a view over the job queue. It shows the jobs the app gives it (setJobs, in queue
// order), live progress of the running job, the paused state and the counts per state, and turns the
// user's gestures (buttons, context menu, Delete, drag to reorder) into intent signals. It never changes
// the queue itself: the app applies an intent to the job store and calls setJobs with the result.
#include "ui/studio_types.h"

#include <QAbstractTableModel>
#include <QHash>
#include <QIcon>
#include <QList>
#include <QString>
#include <QWidget>

class QAction;
class QLabel;
class QMenu;
class QMimeData;
class QPoint;
class QPushButton;
class QTreeView;

namespace charaforge::ui {

// The jobs as rows (one column per field). Drops emit moveRequested and leave the rows as they are.
class QueueModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column {
        StateColumn,
        TitleColumn,
        SizeColumn,
        StepsColumn,
        SamplerColumn,
        CfgColumn,
        SeedColumn,
        ProgressColumn,
        ColumnCount
    };
    enum Role {
        IdRole = Qt::UserRole + 1,
        StateRole,    // QString: "queued", "running", ...
        ProgressRole, // int percent of a running job, -1 otherwise
    };

    explicit QueueModel(QObject* parent = nullptr);

    // Replaces the rows. When the ids and their order are unchanged the rows are updated in place
    // (dataChanged), so views keep their selection; otherwise the model is reset.
    void setJobs(const QList<JobView>& jobs);
    // Live progress of a running job; false when `id` is not a row.
    bool setJobProgress(qint64 id, int step, int total, const QString& eta);

    const QList<JobView>& jobs() const { return m_jobs; }
    // Row of job `id`, -1 when absent.
    int rowOf(qint64 id) const;
    // The job at `row` with the live progress applied.
    JobView job(int row) const;

    // The mime type of dragged jobs: their ids, one per line.
    static QString mimeType();

    int rowCount(const QModelIndex& parent = QModelIndex()) const override;
    int columnCount(const QModelIndex& parent = QModelIndex()) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    Qt::ItemFlags flags(const QModelIndex& index) const override;
    Qt::DropActions supportedDropActions() const override;
    Qt::DropActions supportedDragActions() const override;
    QStringList mimeTypes() const override;
    QMimeData* mimeData(const QModelIndexList& indexes) const override;
    bool canDropMimeData(const QMimeData* data, Qt::DropAction action, int row, int column,
                         const QModelIndex& parent) const override;
    // Emits moveRequested for each dragged job (in queue order) with the id of the first job at or
    // after `row` that is not dragged (-1: the end). Returns true without touching the rows.
    bool dropMimeData(const QMimeData* data, Qt::DropAction action, int row, int column,
                      const QModelIndex& parent) override;
    // Rows change only through setJobs: a finished move drag must not remove the dragged rows.
    bool removeRows(int row, int count, const QModelIndex& parent = QModelIndex()) override;

Q_SIGNALS:
    void moveRequested(qint64 id, qint64 beforeId);

private:
    struct Live {
        int step = 0;
        int total = 0;
        QString eta;
    };
    QString progressText(const JobView& job) const;
    QIcon stateIcon(const QString& state) const;

    QList<JobView> m_jobs;
    QHash<qint64, Live> m_live; // running jobs' latest progress
    mutable QHash<QString, QIcon> m_icons;
};

class QueuePanel : public QWidget {
    Q_OBJECT
public:
    explicit QueuePanel(QWidget* parent = nullptr);

    // Replaces the list (the order given is the queue order), keeping the selection, the current job
    // and the scroll position by job id.
    void setJobs(const QList<JobView>& jobs);
    // Live progress of a running job without a reload. `eta` is shown as "ETA <eta>" when not empty.
    void setJobProgress(qint64 id, int step, int total, const QString& eta);
    // Shows the queue as paused or running; does not emit pauseToggled.
    void setPaused(bool paused);
    bool isPaused() const { return m_paused; }

    QList<JobView> jobs() const;
    // Selected job ids in queue order.
    QList<qint64> selectedJobIds() const;
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

private:
    QPushButton* addButton(QAction* action, const char* objectName);
    void updateActions();
    void updateCounts();
    void showContextMenu(const QPoint& pos);
    // Selected ids whose state is one of `states`, in queue order.
    QList<qint64> selectedIn(const QStringList& states) const;
    // Emits moveRequested(id, beforeId) for each of `ids` (queue order kept).
    void requestMoves(const QList<qint64>& ids, qint64 beforeId);

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
    bool m_paused = false;
};

} // namespace charaforge::ui
