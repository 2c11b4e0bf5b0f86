#include "queue/queue_runner.h"

#include "charaforge/engine/error.h"
#include "charaforge/engine/temp_files.h"
#include "charaforge/imaging/png_io.h"
#include "queue/heartbeat.h"
#include "queue/job_request.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QThread>

#include <algorithm>
#include <cstring>

namespace charaforge::queue {

namespace {

engine::SamplerState stateFrom(const Checkpoint& c) {
    engine::SamplerState st;
    st.step = c.step;
    st.channels = c.channels;
    st.height = c.height;
    st.width = c.width;
    st.latent.resize(static_cast<std::size_t>(c.latent.size()) / sizeof(float));
    std::memcpy(st.latent.data(), c.latent.constData(), st.latent.size() * sizeof(float));
    return st;
}

Checkpoint checkpointFrom(const engine::SamplerState& st) {
    Checkpoint c;
    c.step = st.step;
    c.channels = st.channels;
    c.height = st.height;
    c.width = st.width;
    c.latent = QByteArray(reinterpret_cast<const char*>(st.latent.data()),
                          static_cast<qsizetype>(st.latent.size() * sizeof(float)));
    return c;
}

// An image that could not be written (full disk, unwritable folder): not the job's fault.
class OutputError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

} // namespace

QueueRunner::QueueRunner(JobStore& store, Executor& executor, RunnerOptions options, RunnerEvents events)
    : m_store(store), m_executor(executor), m_options(std::move(options)), m_events(std::move(events)),
      m_owner(m_options.owner.isEmpty() ? JobStore::newOwnerId() : m_options.owner), m_gallery(store) {}

void QueueRunner::cleanOutputFolder(const QString& folder) {
    if (m_cleanedFolders.contains(folder))
        return;
    m_cleanedFolders.insert(folder);
    const auto removed = engine::remove_orphan_temp_files(folder.toStdString());
    if (!removed.empty())
        notice(QStringLiteral("removed %1 temporary file(s) that an interrupted write left in %2")
                   .arg(removed.size())
                   .arg(folder));
}

void QueueRunner::notice(const QString& message) {
    if (m_events.notice)
        m_events.notice(message);
}

void QueueRunner::pause(qint64 ms) {
    QElapsedTimer t;
    t.start();
    while (!m_stop && t.elapsed() < ms)
        QThread::msleep(static_cast<unsigned long>(std::clamp<qint64>(ms - t.elapsed(), 1, 50)));
}

void QueueRunner::withStore(const char* what, const std::function<void()>& call) {
    QElapsedTimer clock;
    clock.start();
    qint64 wait = 100;
    for (;;) {
        try {
            call();
            return;
        } catch (const StoreError& e) {
            if (!e.transient() || m_stop || clock.elapsed() + wait > m_options.storeRetryMs)
                throw;
            notice(QStringLiteral("%1; retrying to %2 in %3 s")
                       .arg(QString::fromStdString(e.what()), QLatin1String(what))
                       .arg(wait / 1000.0, 0, 'g', 2));
            pause(wait);
            wait = std::min<qint64>(wait * 2, 5000);
        }
    }
}

bool QueueRunner::runOnce() {
    if (m_stop)
        return false;
    if (m_backoffMs > 0)
        pause(m_backoffMs);
    // This worker's own configuration first: a job fails only for a reason that belongs to the job.
    try {
        m_executor.checkReady();
        m_notReady.clear();
    } catch (const std::exception& e) {
        const QString why = QString::fromStdString(e.what());
        if (why != m_notReady)
            notice(QStringLiteral("this worker cannot run jobs: %1; it takes none from the queue").arg(why));
        m_notReady = why;
        m_backoffMs = 2000;
        return false;
    }
    QList<Job> batch;
    try {
        if (!m_store.recoverAbandoned(m_options.staleMs).isEmpty() && m_events.changed)
            m_events.changed();
        batch = m_store.claimBatch(m_owner, [this](const Job& head) {
            if (head.spec.kind == JobKind::Erase)
                return std::max(1, m_options.eraseBatch); // the erase scheduler sizes each forward itself
            int suggested = m_options.maxBatch;
            try {
                suggested = std::min(suggested, m_executor.suggestBatch(head.spec));
            } catch (const std::exception&) {
                // No model open yet: the configured maximum; an out-of-memory split corrects it.
            }
            return m_oom.limit(memoryKey(head), std::max(1, suggested));
        });
        m_backoffMs = 0;
    } catch (const StoreError& e) {
        // A busy or full database: nothing was claimed; the worker waits and tries again, it does not exit.
        m_backoffMs = std::clamp<qint64>(m_backoffMs * 2, 500, 10000);
        notice(QStringLiteral("%1; trying again in %2 s")
                   .arg(QString::fromStdString(e.what()))
                   .arg(m_backoffMs / 1000.0, 0, 'g', 3));
        return false;
    }
    if (batch.isEmpty())
        return false;
    if (m_events.changed)
        m_events.changed();
    runBatch(batch);
    if (m_events.changed)
        m_events.changed();
    return true;
}

QList<ModelFileRecord> QueueRunner::modelRecord() {
    HashMemory memory;
    memory.recall = [this](const QString& key) { return m_store.metaValue(key).value_or(QString()); };
    memory.remember = [this](const QString& key, const QString& hex) {
        try {
            m_store.setMetaValue(key, hex);
        } catch (const StoreError&) {
            // Not remembered: hashed again next time; the record is right either way.
        }
    };
    return modelFileRecords(
        m_executor.modelFiles(), memory, [this](const QString& message) { notice(message); },
        [this] { return m_stop.load(); });
}

void QueueRunner::finish(const Job& job, const QString& path, const engine::Image& image) {
    // The job is done and its file on disk: a gallery failure is reported, it does not fail the job.
    if (m_options.recordGallery) {
        try {
            m_gallery.record(job, path);
        } catch (const std::exception& e) {
            if (m_events.notice)
                m_events.notice(QStringLiteral("job %1: not recorded in the gallery: %2")
                                    .arg(job.id)
                                    .arg(QString::fromStdString(e.what())));
        }
    }
    if (m_events.finished)
        m_events.finished(job.id, path, image);
}

void QueueRunner::completeFromDisk(QList<Job>& batch, const RecordCheck& isJob) {
    for (int i = batch.size() - 1; i >= 0; --i) {
        const QString path = outputPathFor(batch[i]);
        if (!QFileInfo::exists(path))
            continue;
        try {
            imaging::TextChunks text;
            auto rgb = imaging::read_png(path.toStdString(), &text);
            if (!isJob(text, batch[i], m_store.queueId()))
                continue;
            bool done = false;
            withStore("mark a job done", [&] { done = m_store.markDone(batch[i].id, m_owner, path); });
            if (done)
                finish(batch[i], path, engine::Image{rgb.width, rgb.height, std::move(rgb.rgb)});
            batch.removeAt(i);
        } catch (const std::exception&) {
            // Unreadable: made again; the atomic write replaces it. A store that stays busy: the job stays running
            // and a later recovery finds the file again.
        }
    }
}

// State changes at the end of a batch: retried while the store is busy; if it stays busy the jobs stay running
// and are taken back as abandoned once this worker's heartbeat stops, with their checkpoints.
void QueueRunner::settle(const char* what, const std::function<void()>& call) {
    try {
        withStore(what, call);
    } catch (const StoreError& e) {
        notice(QStringLiteral("%1; the jobs resume later").arg(QString::fromStdString(e.what())));
    }
}

// An output folder that cannot be made or written is found before the model loads and runs, not after: its jobs
// fail with a message naming the folder (Retry once it is back), the others run. Sent back to the queue instead,
// they were claimed again and again, and `worker --until-empty` never ended.
void QueueRunner::failUnwritable(QList<Job>& batch) {
    for (qsizetype i = batch.size() - 1; i >= 0; --i) {
        const QString folder = batch[i].spec.outputDir;
        QString why = outputFolderProblem(folder);
        if (why.isEmpty() && !QDir().mkpath(folder))
            why = QStringLiteral("cannot be made");
        if (why.isEmpty())
            continue;
        const qint64 id = batch[i].id;
        const QString message = QStringLiteral("the output folder %1: %2").arg(folder, why);
        settle("mark a job failed", [&] {
            if (m_store.markFailed(id, m_owner, message) && m_events.failed)
                m_events.failed(id, message);
        });
        batch.removeAt(i);
    }
}

void QueueRunner::runBatch(QList<Job> batch) {
    if (batch.front().spec.kind == JobKind::Erase) {
        runEraseBatch(std::move(batch));
        return;
    }
    const QString owner = m_owner;
    // Alive while the jobs are held, whatever the work (loading, hashing, sampling, decoding).
    Heartbeat heartbeat(m_store.path(), owner, m_options.heartbeatMs);

    // Only an image whose record names this queue, this job and its settings: another queue's file of the same
    // name is replaced.
    completeFromDisk(batch, pngRecordIsJob);
    failUnwritable(batch);
    if (batch.isEmpty())
        return;

    QList<qint64> ids;
    for (const auto& j : batch)
        ids.push_back(j.id);
    QList<qint64> finished;
    auto remaining = [&] {
        QList<qint64> r;
        for (auto id : ids)
            if (!finished.contains(id))
                r.push_back(id);
        return r;
    };
    auto failAll = [&](const QString& message) {
        for (auto id : remaining())
            settle("mark a job failed", [&] {
                if (m_store.markFailed(id, owner, message) && m_events.failed)
                    m_events.failed(id, message);
            });
    };
    auto releaseRemaining = [&] { settle("put jobs back in the queue", [&] { m_store.release(owner, remaining()); }); };

    try {
        m_executor.openModel(batch.front().spec.model);
        if (m_recordModel != batch.front().spec.model) {
            if (m_events.modelOpened)
                m_events.modelOpened(batch.front().spec.model);
            m_record = modelRecord();
            m_recordModel = batch.front().spec.model;
        }
    } catch (const engine::Cancelled&) {
        releaseRemaining();
        return;
    } catch (const StoreError& e) {
        notice(QString::fromStdString(e.what()));
        releaseRemaining();
        return;
    } catch (const std::exception& e) {
        failAll(QStringLiteral("cannot open the model %1: %2")
                    .arg(batch.front().spec.model, QString::fromStdString(e.what())));
        return;
    }

    // The memory prediction decides before anything is sampled: a batch predicted not to fit is never started.
    // Jobs beyond what fits go back to the queue (the next claim takes what fits); a job that cannot fit alone
    // fails with the prediction.
    if (const qint64 budget = m_executor.memoryBudget(); budget > 0) {
        const auto& spec = batch.front().spec;
        auto predict = [&](int n) { return m_executor.predictPeak(spec, n); };
        const int fits = batchThatFits(static_cast<int>(batch.size()), budget, predict);
        if (fits == 0) {
            const double gib = 1024.0 * 1024.0 * 1024.0;
            failAll(
                QStringLiteral("one %1x%2 image is predicted to need %3 GiB of GPU memory, %4 GiB are available: %5")
                    .arg(spec.width)
                    .arg(spec.height)
                    .arg(static_cast<double>(predict(1)) / gib, 0, 'f', 1)
                    .arg(static_cast<double>(budget) / gib, 0, 'f', 1)
                    .arg(memoryFitText(MemoryFit::TooLarge, m_executor.lowMemoryMode())));
            return;
        }
        if (fits < batch.size()) {
            const QList<qint64> back = ids.mid(fits);
            settle("put jobs back in the queue", [&] { m_store.release(owner, back); });
            batch = batch.mid(0, fits);
            ids = ids.mid(0, fits);
        }
    }

    std::vector<engine::GenerationRequest> requests;
    try {
        for (const auto& j : batch) {
            auto r = requestFor(j.spec);
            if (j.stepsDone > 0) {
                std::optional<Checkpoint> c;
                withStore("read a checkpoint", [&] { c = m_store.checkpoint(j.id); });
                if (c)
                    r.resume = stateFrom(*c);
            }
            requests.push_back(std::move(r));
        }
    } catch (const StoreError& e) {
        notice(QString::fromStdString(e.what()));
        releaseRemaining();
        return;
    }
    if (m_events.started)
        m_events.started(ids);

    QElapsedTimer clock;
    clock.start();
    int firstStep = -1;
    engine::Callbacks cb;
    cb.checkpoint_every = m_options.checkpointEvery;
    cb.preview_every = m_options.previewEvery;
    cb.should_abort = [&] {
        if (m_stop)
            return true;
        // A job cancelled by a user (in this or another process) stops the batch within one step. A busy
        // store cannot tell: go on, and look again at the next step.
        try {
            return !m_store.lostJobs(owner, remaining()).isEmpty();
        } catch (const StoreError&) {
            return false;
        }
    };
    cb.on_step = [&](const engine::StepProgress& p) {
        if (firstStep < 0)
            firstStep = p.step - 1;
        const int done = std::max(1, p.step - firstStep);
        if (m_events.progress)
            m_events.progress(ids, p.step, p.total_steps, clock.elapsed() / 1000.0 / done);
    };
    cb.on_checkpoint = [&](std::size_t i, const engine::SamplerState& st) {
        // A checkpoint that cannot be saved now is not fatal: the job keeps its previous one.
        try {
            m_store.saveCheckpoint(batch[static_cast<int>(i)].id, checkpointFrom(st));
        } catch (const StoreError& e) {
            notice(QStringLiteral("%1; sampling goes on").arg(QString::fromStdString(e.what())));
        }
    };
    cb.on_preview = [&](std::size_t i, int step, const engine::Image& img) {
        if (m_events.preview)
            m_events.preview(batch[static_cast<int>(i)].id, step, batch[static_cast<int>(i)].spec.steps, img);
    };
    cb.on_image = [&](std::size_t i, const engine::Image& img) {
        const Job& job = batch[static_cast<int>(i)];
        const QString path = outputPathFor(job);
        try {
            if (!QDir().mkpath(job.spec.outputDir))
                throw std::runtime_error("cannot create the output folder " + job.spec.outputDir.toStdString());
            cleanOutputFolder(job.spec.outputDir);
            imaging::write_png_atomic(path.toStdString(), imaging::RgbImage{img.width, img.height, img.rgb},
                                      pngRecord(job, m_record, m_options.appVersion, m_store.queueId()));
        } catch (const std::exception& e) {
            throw OutputError(e.what());
        }
        // Done only now that the file is on disk. If the store stays busy the job stays running; the file
        // and its record complete it when it is taken back.
        finished.push_back(job.id);
        settle("mark a job done", [&] {
            if (m_store.markDone(job.id, owner, path))
                finish(job, path, img);
        });
    };
    cb.on_warning = [&](std::size_t i, const std::string& w) {
        notice(QStringLiteral("job %1: %2").arg(batch[static_cast<int>(i)].id).arg(QString::fromStdString(w)));
    };

    try {
        m_executor.generate(requests, cb);
    } catch (const engine::OutOfMemory& e) {
        const auto left = remaining();
        const QString key = memoryKey(batch.front());
        if (e.during_decoding()) {
            // One image's decode, already retried by the engine: a smaller batch would not help, so the learnt
            // batch limit stays and the batch is not sampled again for nothing.
            failAll(QStringLiteral("%1. Decoding one %2x%3 image does not fit in memory even on its own: lower "
                                   "the resolution or close other programs that use the memory.")
                        .arg(QString::fromStdString(e.what()))
                        .arg(batch.front().spec.width)
                        .arg(batch.front().spec.height));
        } else if (m_oom.recordFailure(key, static_cast<int>(left.size()))) {
            releaseRemaining();
            notice(QStringLiteral("out of memory with %1 images of %2x%3 in one batch: retrying %4 at a time")
                       .arg(left.size())
                       .arg(batch.front().spec.width)
                       .arg(batch.front().spec.height)
                       .arg(m_oom.limit(key, m_options.maxBatch)));
        } else {
            failAll(QStringLiteral("%1. Even one %2x%3 image does not fit: lower the resolution, enable text-encoder "
                                   "offload, or close other programs that use the GPU.")
                        .arg(QString::fromStdString(e.what()))
                        .arg(batch.front().spec.width)
                        .arg(batch.front().spec.height));
        }
    } catch (const engine::Cancelled&) {
        // Stopped for a cancelled job or a shutdown: the others go back to the queue; their sampler state
        // was saved at the step they reached.
        releaseRemaining();
    } catch (const OutputError& e) {
        // The disk, not the job: the jobs go back to the queue with their checkpoints, and the worker waits
        // before it claims again.
        releaseRemaining();
        m_backoffMs = std::clamp<qint64>(m_backoffMs * 2, 2000, 60000);
        notice(QStringLiteral("cannot write an image (%1): the jobs go back to the queue; trying again in %2 s")
                   .arg(QString::fromStdString(e.what()))
                   .arg(m_backoffMs / 1000));
    } catch (const StoreError& e) {
        notice(QString::fromStdString(e.what()));
        releaseRemaining();
    } catch (const std::exception& e) {
        failAll(QString::fromStdString(e.what()));
    }
}

} // namespace charaforge::queue
