#pragma once
#include "ui/studio_types.h"

#include <QAbstractItemModel>
#include <QHash>
#include <QIcon>
#include <QImage>
#include <QList>
#include <QPixmap>
#include <QString>

#include <optional>

class QMimeData;

namespace charaforge::ui {

// The jobs as rows (one column per field). A variant group the model is given is one row at the place of its
// first job, with its jobs (in queue order) as its children and its progress (done/total, running) as its
// own; every other job is a top-level row. Drops emit moveRequested and leave the rows as they are.
class QueueModel : public QAbstractItemModel {
    Q_OBJECT
public:
    enum Column {
        IdColumn,
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
        ProgressRole, // int percent of a running job or of a group's done jobs, -1 otherwise
        GroupRole,    // QString: the id of a group row, "" on a job row
    };
    // How many of a group's jobs are in each state.
    struct GroupCounts {
        int total = 0;
        int queued = 0;
        int running = 0;
        int done = 0;
        int failed = 0;
        int cancelled = 0;
    };

    explicit QueueModel(QObject* parent = nullptr);

    // Replaces the rows; jobs of one of `groups` go under its row. When the rows (groups and jobs) and their
    // order are unchanged they are updated in place (dataChanged), so views keep their selection; otherwise
    // the model is reset.
    void setJobs(const QList<JobView>& jobs, const QList<GroupView>& groups = {});
    // Live progress of a running job; false when `id` is not a row.
    // `device`: the GPU running the job's batch when the studio runs one worker per GPU ("" with one worker).
    bool setJobProgress(qint64 id, int step, int total, const QString& eta, const QString& device = QString());
    // The finished image of job `id`, shown scaled to kThumbnailSize beside its title while it is done; kept
    // across setJobs while the job is a row. False when `id` is not a row.
    bool setThumbnail(qint64 id, const QImage& image);
    static constexpr int kThumbnailSize = 32;

    const QList<JobView>& jobs() const { return m_jobs; }
    const QList<GroupView>& groups() const { return m_groups; }
    // Position of job `id` in jobs() (queue order), -1 when absent.
    int rowOf(qint64 id) const;
    // The job at position `row` of jobs() with the live progress applied.
    JobView job(int row) const;
    // Where job `id` is in the tree (a top-level row or a group's child); invalid when absent.
    QModelIndex indexOf(qint64 id, int column = 0) const;
    // The row of group `id`; invalid when it has none (no jobs, or not given).
    QModelIndex groupIndex(const QString& id, int column = 0) const;
    bool isGroup(const QModelIndex& index) const;
    // The jobs of group `id` in queue order, and their states.
    QList<qint64> groupJobs(const QString& id) const;
    GroupCounts groupCounts(const QString& id) const;
    std::optional<GroupView> group(const QString& id) const;

    // The mime type of dragged jobs: their ids, one per line.
    static QString mimeType();

    QModelIndex index(int row, int column, const QModelIndex& parent = QModelIndex()) const override;
    QModelIndex parent(const QModelIndex& child) const override;
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
        QString device;
    };
    // A top-level row: one job, or a group and its jobs (positions in m_jobs, queue order).
    struct Node {
        QString group; // "" for a job of no given group
        QList<int> rows;
        bool operator==(const Node&) const = default;
    };
    QList<Node> nodesFor(const QList<JobView>& jobs) const;
    // The job of a job row (top-level or child); nullptr for a group row.
    const JobView* jobOf(const QModelIndex& index) const;
    QVariant groupData(const Node& node, int column, int role) const;
    QString progressText(const JobView& job) const;
    QIcon stateIcon(const QString& state) const;

    QList<JobView> m_jobs;
    QList<GroupView> m_groups;
    QList<Node> m_nodes;
    QHash<qint64, Live> m_live; // running jobs' latest progress
    QHash<qint64, QPixmap> m_thumbnails;
    mutable QHash<QString, QIcon> m_icons;
};

} // namespace charaforge::ui
