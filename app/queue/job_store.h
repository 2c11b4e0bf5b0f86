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
    explicit StoreError(const std::string& message, bool transient = false)
        : std::runtime_error(message), m_transient(transient) {}
    // The database was busy (another process held its lock past the busy timeout), the disk was full or
    // an I/O error occurred: nothing was changed, and the same call may succeed later.
    bool transient() const { return m_transient; }

private:
    bool m_transient = false;
};

class JobStore {
public:
    // Opens (creating if needed) the queue database at `path`: a file path (":memory:" and "file:" URIs are
    // refused: their jobs would vanish). A write waits up to `busyTimeoutMs` for another process's lock.
    explicit JobStore(const QString& path, int busyTimeoutMs = 15000);
    ~JobStore();
    JobStore(const JobStore&) = delete;
    JobStore& operator=(const JobStore&) = delete;

    QString path() const { return m_path; }
    // True when this open created the database file (a mistyped path makes a new, empty queue).
    bool created() const { return m_created; }
    // The queue's random identity (UUID), fixed when the database was created.
    QString queueId() const { return m_queueId; }

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

    // Every running job of `owner` → queued (a window closing while its worker is stuck in a long call).
    void releaseOwner(const QString& owner);

    // Running jobs whose worker is gone → queued with their checkpoint. A worker is gone when its heartbeat
    // is older than `staleMs`, or it ran in this pid space (kernel boot and pid namespace) and its process
    // no longer exists. A job whose worker died 3 times in a row without saving progress is failed with a
    // message instead (it probably crashes every worker). Returns the ids queued again.
    QList<qint64> recoverAbandoned(qint64 staleMs = 120000);

    // User actions. Each names the job in its error when the state forbids it.
    void cancel(const QList<qint64>& ids); // queued or running → cancelled (a worker stops it)
    // Failed or cancelled → queued at the end, checkpoint kept. With `model`, a job of another model is queued
    // with `model` instead and starts over (its checkpoint belongs to the old model).
    void retry(const QList<qint64>& ids, const QString& model = QString());
    QList<qint64> duplicate(const QList<qint64>& ids); // copies queued at the end
    void edit(qint64 id, const JobSpec& spec);         // queued only; a changed spec drops the checkpoint
    void move(qint64 id, qint64 beforeId);             // queued job placed before `beforeId` (-1: the end)
    void remove(const QList<qint64>& ids);             // done, failed or cancelled rows leave the list
    int removeFinished();                              // every done/failed/cancelled row

    // Small persistent values (e.g. model file hashes keyed by path, size and time).
    std::optional<QString> metaValue(const QString& key) const;
    void setMetaValue(const QString& key, const QString& value);

    // Changes whenever any connection (any process) commits, heartbeats included: cheap polling.
    qint64 dataVersion() const;
    // Grows with every change of a job other than its heartbeat (added, edited, claimed, progressed,
    // finished, removed): a view re-reads only when it moved, and then only the rows that changed.
    qint64 revision() const;
    // Jobs changed after `revision` (in queue order); *total gets the number of jobs (a smaller total
    // than the view holds means rows were removed).
    QList<Job> jobsChangedSince(qint64 revision, int* total = nullptr) const;

    // A new worker identity: "host:pidspace:pid:processtoken:instance" with a random instance. Jobs are owned
    // by it; its heartbeat (not its pid) tells that it is alive.
    static QString newOwnerId();
    // One identity of this process (newOwnerId() made once), for tools and tests.
    static QString processOwner();
    // The default queue database (CHARAFORGE_QUEUE, else the app data folder).
    static QString defaultPath();

private:
    QString m_path;
    QString m_connection;
    QString m_queueId;
    bool m_created = false;
};

} // namespace charaforge::queue
