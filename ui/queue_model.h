#pragma once
#include "ui/studio_types.h"

#include <QAbstractTableModel>
#include <QHash>
#include <QIcon>
#include <QImage>
#include <QList>
#include <QPixmap>
#include <QString>

class QMimeData;

namespace charaforge::ui {

// The jobs as rows (one column per field). Drops emit moveRequested and leave the rows as they are.
class QueueModel : public QAbstractTableModel {
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
        ProgressRole, // int percent of a running job, -1 otherwise
    };

    explicit QueueModel(QObject* parent = nullptr);

    // Replaces the rows. When the ids and their order are unchanged the rows are updated in place
    // (dataChanged), so views keep their selection; otherwise the model is reset.
    void setJobs(const QList<JobView>& jobs);
    // Live progress of a running job; false when `id` is not a row.
    bool setJobProgress(qint64 id, int step, int total, const QString& eta);
    // The finished image of job `id`, shown scaled to kThumbnailSize beside its title while it is done; kept
    // across setJobs while the job is a row. False when `id` is not a row.
    bool setThumbnail(qint64 id, const QImage& image);
    static constexpr int kThumbnailSize = 32;

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
    QHash<qint64, QPixmap> m_thumbnails;
    mutable QHash<QString, QIcon> m_icons;
};

} // namespace charaforge::ui
