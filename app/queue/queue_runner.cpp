#include "queue/queue_runner.h"

#include "charaforge/engine/error.h"
#include "charaforge/imaging/png_io.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>

#include <cstring>

namespace charaforge::queue {

namespace {

engine::GenerationRequest requestFor(const JobSpec& s) {
    engine::GenerationRequest r;
    r.prompt = s.prompt.toStdString();
    r.negative_prompt = s.negative.toStdString();
    r.width = s.width;
    r.height = s.height;
    r.steps = s.steps;
    r.solver = s.sampler == QStringLiteral("midpoint") ? engine::SolverKind::Midpoint : engine::SolverKind::Euler;
    r.guidance = static_cast<float>(s.cfg);
    r.cfg_trunc = static_cast<float>(s.cfgTrunc);
    r.renorm_cfg = static_cast<float>(s.renorm);
    r.shift = static_cast<float>(s.shift);
    r.seed = static_cast<uint64_t>(s.seed);
    return r;
}

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

} // namespace

QueueRunner::QueueRunner(JobStore& store, Executor& executor, RunnerOptions options, RunnerEvents events)
    : m_store(store), m_executor(executor), m_options(std::move(options)), m_events(std::move(events)) {}

bool QueueRunner::runOnce() {
    if (m_stop)
        return false;
    if (!m_store.recoverAbandoned().isEmpty() && m_events.changed)
        m_events.changed();
    auto batch = m_store.claimBatch(JobStore::processOwner(), [this](const Job& head) {
        int suggested = m_options.maxBatch;
        try {
            suggested = std::min(suggested, m_executor.suggestBatch(head.spec));
        } catch (const std::exception&) {
            // No model open yet: the configured maximum; an out-of-memory split corrects it.
        }
        return m_oom.limit(batchKey(head), std::max(1, suggested));
    });
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
    QList<ModelFileRecord> out;
    for (const auto& [role, path] : m_executor.modelFiles()) {
        const QFileInfo info(path);
        // Hashing a multi-gigabyte file takes seconds: once per file version, remembered in the store.
        const QString key = QStringLiteral("sha256:%1:%2:%3")
                                .arg(info.absoluteFilePath())
                                .arg(info.size())
                                .arg(info.lastModified().toMSecsSinceEpoch());
        QString hash = m_store.metaValue(key).value_or(QString());
        if (hash.isEmpty()) {
            if (m_events.notice)
                m_events.notice(QStringLiteral("hashing %1 for the image records (once)").arg(info.fileName()));
            hash = sha256OfFile(path);
            m_store.setMetaValue(key, hash);
        }
        out.push_back({role, path, hash});
    }
    return out;
}

void QueueRunner::runBatch(QList<Job> batch) {
    const QString owner = JobStore::processOwner();

    // An image already on disk under the job's name was written by a run that stopped before it could
    // record the job as done: it completes the job, it is not generated twice.
    for (int i = batch.size() - 1; i >= 0; --i) {
        const QString path = outputPathFor(batch[i]);
        if (!QFileInfo::exists(path))
            continue;
        try {
            imaging::TextChunks text;
            auto rgb = imaging::read_png(path.toStdString(), &text);
            if (jobIdFromPngText(text) != batch[i].id)
                continue;
            if (m_store.markDone(batch[i].id, owner, path) && m_events.finished)
                m_events.finished(batch[i].id, path, engine::Image{rgb.width, rgb.height, std::move(rgb.rgb)});
            batch.removeAt(i);
        } catch (const std::exception&) {
            // Unreadable: generate it again; the atomic write replaces it.
        }
    }
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
            if (m_store.markFailed(id, owner, message) && m_events.failed)
                m_events.failed(id, message);
    };

    try {
        m_executor.openModel(batch.front().spec.model);
        if (m_recordModel != batch.front().spec.model) {
            m_record = modelRecord();
            m_recordModel = batch.front().spec.model;
        }
    } catch (const engine::Cancelled&) {
        m_store.release(owner, ids);
        return;
    } catch (const std::exception& e) {
        failAll(QStringLiteral("cannot open the model %1: %2")
                    .arg(batch.front().spec.model, QString::fromStdString(e.what())));
        return;
    }

    std::vector<engine::GenerationRequest> requests;
    for (const auto& j : batch) {
        auto r = requestFor(j.spec);
        if (j.stepsDone > 0)
            if (auto c = m_store.checkpoint(j.id))
                r.resume = stateFrom(*c);
        requests.push_back(std::move(r));
    }
    if (m_events.started)
        m_events.started(ids);

    QElapsedTimer clock, beat;
    clock.start();
    beat.start();
    int firstStep = -1;
    engine::Callbacks cb;
    cb.checkpoint_every = m_options.checkpointEvery;
    cb.preview_every = m_options.previewEvery;
    cb.should_abort = [&] {
        if (m_stop)
            return true;
        if (beat.elapsed() >= m_options.heartbeatMs) {
            m_store.heartbeat(owner);
            beat.restart();
        }
        // A job cancelled by a user (in this or another process) stops the batch within one step.
        return !m_store.lostJobs(owner, remaining()).isEmpty();
    };
    cb.on_step = [&](const engine::StepProgress& p) {
        if (firstStep < 0)
            firstStep = p.step - 1;
        const int done = std::max(1, p.step - firstStep);
        if (m_events.progress)
            m_events.progress(ids, p.step, p.total_steps, clock.elapsed() / 1000.0 / done);
    };
    cb.on_checkpoint = [&](std::size_t i, const engine::SamplerState& st) {
        m_store.saveCheckpoint(batch[static_cast<int>(i)].id, checkpointFrom(st));
    };
    cb.on_preview = [&](std::size_t i, int step, const engine::Image& img) {
        if (m_events.preview)
            m_events.preview(batch[static_cast<int>(i)].id, step, batch[static_cast<int>(i)].spec.steps, img);
    };
    cb.on_image = [&](std::size_t i, const engine::Image& img) {
        const Job& job = batch[static_cast<int>(i)];
        const QString path = outputPathFor(job);
        if (!QDir().mkpath(job.spec.outputDir))
            throw std::runtime_error("cannot create the output folder " + job.spec.outputDir.toStdString());
        imaging::write_png_atomic(path.toStdString(), imaging::RgbImage{img.width, img.height, img.rgb},
                                  pngRecord(job, m_record, m_options.appVersion));
        // Done only now that the file is on disk.
        finished.push_back(job.id);
        if (m_store.markDone(job.id, owner, path) && m_events.finished)
            m_events.finished(job.id, path, img);
    };
    cb.on_warning = [&](std::size_t i, const std::string& w) {
        if (m_events.notice)
            m_events.notice(
                QStringLiteral("job %1: %2").arg(batch[static_cast<int>(i)].id).arg(QString::fromStdString(w)));
    };

    try {
        m_executor.generate(requests, cb);
    } catch (const engine::OutOfMemory& e) {
        const auto left = remaining();
        const QString key = batchKey(batch.front());
        if (m_oom.recordFailure(key, static_cast<int>(left.size()))) {
            m_store.release(owner, left);
            if (m_events.notice)
                m_events.notice(
                    QStringLiteral("out of memory with %1 images of %2x%3 in one batch: retrying %4 at a time")
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
        m_store.release(owner, remaining());
    } catch (const std::exception& e) {
        failAll(QString::fromStdString(e.what()));
    }
}

} // namespace charaforge::queue
