#pragma once
// Drains the job queue: claims batches from the store, runs them on an executor (the engine), writes each
// image atomically before marking its job done, checkpoints the sampler state, splits batches that run out
// of memory. Erase jobs go through the erase scheduler (tiles batched by padded size, failing batches split). Torch-free and widget-free: the GUI worker thread and `charaforge-cli worker` both drive it.
#include "charaforge/engine/lama_tile.h"
#include "charaforge/engine/pipeline.h"
#include "queue/batcher.h"
#include "queue/gallery_recorder.h"
#include "queue/job_record.h"
#include "queue/job_store.h"

#include <QElapsedTimer>
#include <QList>
#include <QSet>
#include <QString>

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

namespace charaforge::queue {

// What runs a batch. The real one wraps engine::Pipeline; tests inject failures.
class Executor {
public:
    virtual ~Executor() = default;
    // Throws with a message naming the setting when this worker cannot run any job as configured (a device
    // that does not exist, an unknown dtype): the runner then claims nothing, so that one misconfigured
    // worker does not fail a shared queue's jobs.
    virtual void checkReady() {}
    // Makes `model` the open model, reopening if another one is open. Throws with a message on failure.
    virtual void openModel(const QString& model) = 0;
    // How many jobs like `spec` to sample together now (from free memory), at least 1.
    virtual int suggestBatch(const JobSpec& spec) = 0;
    // The memory prediction (issue 15) with the open model: the predicted peak of device memory for `batch` jobs
    // like `spec`, and the bytes the device can give; 0 when unknown (no model open, the CPU).
    virtual qint64 predictPeak(const JobSpec& spec, int batch) {
        (void)spec, (void)batch;
        return 0;
    }
    virtual qint64 memoryBudget() { return 0; }
    // Whether the open model runs in memory mode low (nothing lower to suggest).
    virtual bool lowMemoryMode() const { return false; }
    // The open model's files: (role, path).
    virtual QList<QPair<QString, QString>> modelFiles() const = 0;
    // engine::Pipeline::generate semantics: throws engine::OutOfMemory, engine::Cancelled, or others.
    virtual std::vector<engine::Image> generate(const std::vector<engine::GenerationRequest>& requests,
                                                const engine::Callbacks& callbacks) = 0;

    // Erase jobs (the defaults: this executor cannot erase). Makes `path` (big-lama.pt or its safetensors copy)
    // the open LaMa model; throws with a message naming the file on failure.
    virtual void openLama(const QString& path);
    // One LaMa forward over tiles of one size (engine::LamaInpainter::inpaint: throws engine::OutOfMemory or
    // others). Called on the erase scheduler's thread, never beside another call of the executor.
    virtual std::vector<engine::LamaOutput> inpaint(const std::vector<const engine::LamaTile*>& tiles);
    // Tiles of this size that fit in memory now, at least 1.
    virtual int suggestEraseBatch(int width, int height);
};

struct RunnerOptions {
    int maxBatch = 4;        // upper bound; the executor's suggestion and OOM limits may lower it
    int checkpointEvery = 4; // sampler steps between saved latents
    int previewEvery = 1;    // sampler steps between previews (0: none)
    qint64 heartbeatMs = 2000;
    qint64 staleMs = 120000; // a running job whose worker's heartbeat is older is taken back
    // How long a store call that fails because the database is busy or the disk is full is retried (with
    // backoff) before the runner gives up on it for now; the jobs stay where they resume from.
    qint64 storeRetryMs = 60000;
    int eraseBatch = 8;      // erase jobs claimed together, and tiles per LaMa forward at most
    int eraseMaxWaitMs = 25; // how long a tile waits for others of its padded size
    QString appVersion;
    QString owner;             // this worker's identity; empty: JobStore::newOwnerId()
    bool recordGallery = true; // record finished images in the gallery next to the queue
};

struct RunnerEvents {
    std::function<void(const QList<qint64>& ids)> started;
    // Progress of the running batch; secondsPerStep is measured on this batch.
    std::function<void(const QList<qint64>& ids, int step, int total, double secondsPerStep)> progress;
    std::function<void(qint64 id, int step, int total, const engine::Image& preview)> preview;
    std::function<void(qint64 id, const QString& path, const engine::Image& image)> finished;
    std::function<void(qint64 id, const QString& message)> failed;
    std::function<void(const QString& message)> notice;    // e.g. an out-of-memory split
    std::function<void(const QString& model)> modelOpened; // a batch's model, each time it changes
    std::function<void()> changed;                         // any state change of the queue
};

class QueueRunner {
public:
    QueueRunner(JobStore& store, Executor& executor, RunnerOptions options, RunnerEvents events);

    // Recovers abandoned jobs, then runs one batch if the queue is not paused and has queued jobs.
    // Returns false when there was nothing to run.
    bool runOnce();

    // Thread-safe. The running batch stops after its current step; its jobs go back to the queue with
    // their sampler state saved.
    void requestStop() { m_stop = true; }
    bool stopRequested() const { return m_stop; }

    QString owner() const { return m_owner; }

private:
    void runBatch(QList<Job> batch);
    void runEraseBatch(QList<Job> batch); // queue_runner_erase.cpp
    // An image already on disk under a job's name was written by a run that stopped before it could record the
    // job as done: it completes the job (taken out of `batch`), which is not run twice, when `isJob` says the
    // image's record is that job's.
    using RecordCheck =
        std::function<bool(const std::map<std::string, std::string>& text, const Job& job, const QString& queueId)>;
    void completeFromDisk(QList<Job>& batch, const RecordCheck& isJob);
    // Fails the jobs of `batch` whose output folder cannot be made or written (outputFolderProblem), naming it, and
    // takes them out of `batch`: found before any model loads.
    void failUnwritable(QList<Job>& batch);
    // A state change at the end of a batch (withStore); a store that stays busy is reported, and the jobs stay
    // running until they are taken back as abandoned.
    void settle(const char* what, const std::function<void()>& call);
    QList<ModelFileRecord> modelRecord();
    // Runs a store call, retrying with backoff while it fails transiently (busy database, full disk), for
    // at most RunnerOptions::storeRetryMs or until a stop request. Rethrows the last error.
    void withStore(const char* what, const std::function<void()>& call);
    // Sleeps `ms` in short slices, returning early on a stop request.
    void pause(qint64 ms);
    void notice(const QString& message);
    // The first write into a folder removes the temporary files that a killed writer left there.
    void cleanOutputFolder(const QString& folder);
    void finish(const Job& job, const QString& path, const engine::Image& image);

    JobStore& m_store;
    Executor& m_executor;
    RunnerOptions m_options;
    RunnerEvents m_events;
    OomLimits m_oom;
    std::atomic<bool> m_stop{false};
    QString m_owner;
    qint64 m_backoffMs = 0; // after a failed claim: how long to wait before the next
    QString m_notReady;     // why the executor cannot run jobs (reported once)
    QString m_recordModel;
    QString m_lamaModel; // the LaMa file of the last erase batch
    QList<ModelFileRecord> m_record;
    GalleryRecorder m_gallery;
    QSet<QString> m_cleanedFolders;
};

} // namespace charaforge::queue
