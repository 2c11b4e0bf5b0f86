#pragma once
// Variant groups in the queue database: a `groups` table (axes, label, parent image, paused) and two
// columns on `jobs` (`axis_values`, `held`) added by an idempotent migration that old queues survive:
// old rows read as ungrouped, unheld jobs, and an older CharaForge ignores the new columns. A GroupStore
// is one connection to the queue file of a JobStore; use it only on the thread that opened it.
#include "queue/job_store.h"
#include "queue/variants.h"

#include <QList>
#include <QSqlDatabase>
#include <QString>
#include <QStringList>

#include <optional>

namespace charaforge::queue {

// Adds the group table and the jobs columns when missing. Runs inside the caller's write transaction.
// Throws StoreError naming `path`.
void ensureGroupSchema(const QSqlDatabase& db, const QString& path);

struct GroupInfo {
    QString id;
    QString label;
    QList<VariantAxis> axes;
    qint64 parentImage = 0; // gallery image this group was branched from (0: none)
    bool paused = false;
    qint64 created = 0; // ms since the epoch

    QStringList axisNames() const;
};

struct GroupMember {
    qint64 jobId = 0;
    QStringList axisValues; // in the group's axis order
};

struct GroupProgress {
    int total = 0;
    int queued = 0;
    int running = 0;
    int done = 0;
    int failed = 0;
    int cancelled = 0;
};

class GroupStore {
public:
    explicit GroupStore(JobStore& jobs);
    ~GroupStore();
    GroupStore(const GroupStore&) = delete;
    GroupStore& operator=(const GroupStore&) = delete;

    // Queues the expansion as one group and returns its id. The group row is written first, then the
    // jobs (one transaction), then their axis values; a crash in between leaves a group whose jobs'
    // values are still recoverable from the stored axes (job order is product order).
    QString create(const Expansion& expansion, const QList<VariantAxis>& axes, const QString& label,
                   qint64 parentImage = 0);

    QList<GroupInfo> groups() const; // oldest first
    std::optional<GroupInfo> group(const QString& id) const;
    QList<GroupMember> members(const QString& id) const; // in queue order
    QStringList axisValues(qint64 jobId) const;
    GroupProgress progress(const QString& id) const;

    // A paused group's queued jobs are held: claimBatch skips them until the group resumes.
    void setPaused(const QString& id, bool paused);
    // Cancels the group's queued and running jobs.
    void cancel(const QString& id);
    // Places the group's queued jobs, in their order, before job `beforeId` (-1: the end).
    void move(const QString& id, qint64 beforeId);

private:
    QSqlDatabase db() const;
    void requireGroup(const QString& id) const;

    JobStore& m_jobs;
    QString m_path;
    QString m_connection;
};

} // namespace charaforge::queue
