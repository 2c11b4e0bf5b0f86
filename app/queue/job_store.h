#pragma once
// The crash-safe job queue: every job and its state in SQLite (WAL, synchronous=FULL, one transaction per
// state change), shared safely by the GUI and `charaforge-cli worker` processes. A JobStore is one
// connection; use it only on the thread that opened it.
#include "queue/job.h"

#include <QList>
#include <QString>

#include <functional>
#include <optional>
#include <stdexcept>

namespace charaforge::queue {

// Thrown for database failures and for operations the job's state forbids; the message names the
// database file or the job.
class StoreError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class JobStore {
public:
    // Opens (creating if needed) the queue database at `path`.
    explicit JobStore(const QString& path);
    ~JobStore();
    JobStore(const JobStore&) = delete;
    JobStore& operator=(const JobStore&) = delete;

    QString path() const { return m_path; }

    // Appends jobs at the end of the queue in one transaction; returns their ids in order.
    QList<qint64> add(const QList<JobSpec>& specs, const QString& group = QString());

    QList<Job> jobs() const; // all jobs, in queue order
    std::optional<Job> job(qint64 id) const;

    bool paused() const;
    void setPaused(bool paused);

    // Claims the next batch for `owner`: the first queued job in queue order plus the queued jobs after it
    // that can share its forward passes (see batcher.h), at most limit(first job) of them. Atomic across
    // processes. Returns an empty list when nothing is queued (or the queue is paused).
    QList<Job> claimBatch(const QString& owner, const std::function<int(const Job&)>& limit);

    // The worker is alive: refreshes the heartbeat of its running jobs.
    void heartbeat(const QString& owner);
    // Ids among `ids` that are no longer running for `owner` (cancelled by a user, reclaimed, removed).
    QList<qint64> lostJobs(const QString& owner, const QList<qint64>& ids) const;

    void saveCheckpoint(qint64 id, const Checkpoint& checkpoint);
    std::optional<Checkpoint> checkpoint(qint64 id) const;

    // Running job of `owner` → done with its file (which must already be on disk). Returns false when the
    // job is no longer running for this owner (e.g. cancelled meanwhile); the file is then left alone.
    bool markDone(qint64 id, const QString& owner, const QString& outputPath);
    // Running job of `owner` → failed with a message.
    bool markFailed(qint64 id, const QString& owner, const QString& message);
    // Running jobs of `owner` → queued again, keeping their place and checkpoint (split after
    // out-of-memory, batch stopped to cancel one of its jobs, worker shutting down).
    void release(const QString& owner, const QList<qint64>& ids);

    // Running jobs whose worker is gone → queued with their checkpoint. A worker is gone when it ran on
    // this host and its process no longer exists, or its heartbeat is older than `staleMs`.
    // Returns the recovered ids.
    QList<qint64> recoverAbandoned(qint64 staleMs = 120000);

    // User actions. Each names the job in its error when the state forbids it.
    void cancel(const QList<qint64>& ids);             // queued or running → cancelled (a worker stops it)
    void retry(const QList<qint64>& ids);              // failed or cancelled → queued at the end (checkpoint kept)
    QList<qint64> duplicate(const QList<qint64>& ids); // copies queued at the end
    void edit(qint64 id, const JobSpec& spec);         // queued only; a changed spec drops the checkpoint
    void move(qint64 id, qint64 beforeId);             // queued job placed before `beforeId` (-1: the end)
    void remove(const QList<qint64>& ids);             // done, failed or cancelled rows leave the list
    int removeFinished();                              // every done/failed/cancelled row

    // Small persistent values (e.g. model file hashes keyed by path, size and time).
    std::optional<QString> metaValue(const QString& key) const;
    void setMetaValue(const QString& key, const QString& value);

    // Changes whenever any connection (any process) commits: cheap polling for views.
    qint64 dataVersion() const;

    // This process's worker identity: "host:pid".
    static QString processOwner();
    // The default queue database (CHARAFORGE_QUEUE, else the app data folder).
    static QString defaultPath();

private:
    QString m_path;
    QString m_connection;
};

} // namespace charaforge::queue
