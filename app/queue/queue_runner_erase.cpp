// QueueRunner's erase jobs: each job's image and mask are planned into LaMa tiles (imaging::plan_erase), the
// tiles of the whole batch go through one engine::EraseScheduler (one forward per padded size, a failing forward
// split down to single tiles), and each job's image is composed, written atomically and marked done as soon as
// its last tile is back. The store is used on this thread only; the scheduler's thread only fills `EraseWork`.
#include "queue/queue_runner.h"

#include "charaforge/engine/erase_scheduler.h"
#include "charaforge/engine/error.h"
#include "charaforge/imaging/erase.h"
#include "charaforge/imaging/png_io.h"
#include "queue/heartbeat.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>

namespace charaforge::queue {

namespace {

// One erase job between its claim and its image.
struct EraseItem {
    Job job;
    imaging::RgbImage image;
    imaging::TextChunks text; // the source image's record, kept in the result
    imaging::GrayImage mask;
    imaging::ErasePlan plan;
    std::vector<imaging::RgbImage> outputs;
    std::size_t tilesBack = 0;
    std::string error; // the first failed tile's message
};

// What the scheduler's thread hands to the runner's: items whose every tile is back, in order of completion.
struct EraseWork {
    std::mutex mutex;
    std::condition_variable ready;
    std::deque<int> complete;
};

} // namespace

void Executor::openLama(const QString& path) {
    throw engine::EngineError("erase: this worker has no LaMa engine (cannot open " + path.toStdString() + ")");
}

std::vector<engine::LamaOutput> Executor::inpaint(const std::vector<const engine::LamaTile*>&) {
    throw engine::EngineError("erase: this worker has no LaMa engine");
}

int Executor::suggestEraseBatch(int, int) {
    return 1;
}

void QueueRunner::runEraseBatch(QList<Job> batch) {
    const QString owner = m_owner;
    Heartbeat heartbeat(m_store.path(), owner, m_options.heartbeatMs);

    // An image already on disk with this job's record was written by a run that stopped before it could mark
    // the job done: it completes the job, it is not erased twice.
    completeFromDisk(batch, eraseRecordIsJob);
    failUnwritable(batch);
    if (batch.isEmpty())
        return;

    QList<qint64> settled; // done, failed, or no longer ours
    auto remaining = [&] {
        QList<qint64> r;
        for (const auto& j : batch)
            if (!settled.contains(j.id))
                r.push_back(j.id);
        return r;
    };
    auto fail = [&](const Job& job, const QString& message) {
        settled.push_back(job.id);
        settle("mark a job failed", [&] {
            if (m_store.markFailed(job.id, owner, message) && m_events.failed)
                m_events.failed(job.id, message);
        });
    };
    auto releaseRemaining = [&] { settle("put jobs back in the queue", [&] { m_store.release(owner, remaining()); }); };

    const QString model = batch.front().spec.model;
    try {
        m_executor.openLama(model);
        if (m_lamaModel != model && m_events.modelOpened)
            m_events.modelOpened(model);
        m_lamaModel = model;
    } catch (const std::exception& e) {
        const QString message =
            QStringLiteral("cannot open the LaMa model %1: %2").arg(model, QString::fromStdString(e.what()));
        for (const auto& j : batch)
            fail(j, message);
        return;
    }

    // Each job's files, read and planned now: a missing or mismatched file fails that job alone.
    std::vector<EraseItem> items;
    imaging::EraseOptions eraseOptions;
    for (const auto& j : batch) {
        EraseItem item;
        item.job = j;
        try {
            eraseOptions.strategy =
                imaging::parse_erase_strategy(j.spec.strategy.toStdString()).value_or(imaging::EraseStrategy::Crop);
            item.image = imaging::read_png(j.spec.image.toStdString(), &item.text);
            item.mask = imaging::read_mask_png(j.spec.mask.toStdString(), item.image.width, item.image.height,
                                               j.spec.image.toStdString());
            item.plan = imaging::plan_erase(item.image, item.mask, eraseOptions);
        } catch (const std::exception& e) {
            fail(j, QStringLiteral("erase: %1").arg(QString::fromStdString(e.what())));
            continue;
        }
        item.outputs.resize(item.plan.tiles.size());
        items.push_back(std::move(item));
    }
    if (items.empty())
        return;
    if (m_events.started) {
        QList<qint64> ids;
        for (const auto& item : items)
            ids.push_back(item.job.id);
        m_events.started(ids);
    }

    QElapsedTimer clock;
    clock.start();
    const int total = static_cast<int>(items.size());
    int handled = 0;
    std::optional<QString> outputError;
    // The image of an item whose tiles are all back (or that failed): written, then marked done.
    auto complete = [&](EraseItem& item) {
        ++handled;
        if (m_events.progress) {
            QList<qint64> ids;
            for (const auto& i : items)
                ids.push_back(i.job.id);
            m_events.progress(ids, handled, total, clock.elapsed() / 1000.0 / handled);
        }
        if (!item.error.empty()) {
            fail(item.job, QStringLiteral("erase: %1").arg(QString::fromStdString(item.error)));
            return;
        }
        // A job cancelled meanwhile gets no file.
        bool lost = false;
        try {
            lost = !m_store.lostJobs(owner, {item.job.id}).isEmpty();
        } catch (const StoreError&) {
        }
        if (lost) {
            settled.push_back(item.job.id);
            return;
        }
        const QString path = outputPathFor(item.job);
        try {
            cleanOutputFolder(item.job.spec.outputDir);
            const auto result = imaging::compose_erase(item.image, item.mask, item.plan, item.outputs);
            imaging::write_png_atomic(path.toStdString(), result, eraseRecord(item.job, m_store.queueId(), item.text));
            settled.push_back(item.job.id);
            settle("mark a job done", [&] {
                if (m_store.markDone(item.job.id, owner, path))
                    finish(item.job, path, engine::Image{result.width, result.height, result.rgb});
            });
        } catch (const std::exception& e) {
            outputError = QString::fromStdString(e.what());
        }
    };

    EraseWork work;
    {
        engine::EraseScheduler scheduler(
            [this](const std::vector<const engine::LamaTile*>& tiles) {
                // After a stop request every forward still pending fails at once (the scheduler only delivers it).
                if (m_stop)
                    throw engine::Cancelled();
                return m_executor.inpaint(tiles);
            },
            engine::EraseSchedulerOptions{std::max(1, m_options.eraseBatch), std::max(0, m_options.eraseMaxWaitMs)},
            [this](int w, int h) { return m_executor.suggestEraseBatch(w, h); });
        for (int n = 0; n < total; ++n) {
            auto& item = items[static_cast<std::size_t>(n)];
            if (item.plan.tiles.empty()) { // nothing to erase: the image as it is
                std::lock_guard lock(work.mutex);
                work.complete.push_back(n);
                continue;
            }
            for (std::size_t t = 0; t < item.plan.tiles.size(); ++t) {
                const auto& tile = item.plan.tiles[t];
                scheduler.submit(engine::LamaTile{tile.image.width, tile.image.height, tile.image.rgb, tile.mask.data},
                                 [&work, &item, n, t](engine::EraseResult r) {
                                     std::lock_guard lock(work.mutex);
                                     if (r.ok)
                                         item.outputs[t] = imaging::RgbImage{r.output.width, r.output.height,
                                                                             std::move(r.output.rgb)};
                                     else if (item.error.empty())
                                         item.error = r.error;
                                     if (++item.tilesBack == item.plan.tiles.size()) {
                                         work.complete.push_back(n);
                                         work.ready.notify_all();
                                     }
                                 });
            }
        }
        scheduler.flush(); // every tile of the batch is in: no point waiting for more
        // A stop request (window closing, SIGINT) does not wait for the forwards still to come: the jobs left go
        // back to the queue, and what the scheduler still delivers is dropped.
        while (handled < total && !outputError && !m_stop) {
            std::optional<int> next;
            {
                std::unique_lock lock(work.mutex);
                work.ready.wait_for(lock, std::chrono::milliseconds(100), [&] { return !work.complete.empty(); });
                if (!work.complete.empty()) {
                    next = work.complete.front();
                    work.complete.pop_front();
                }
            }
            if (next && !m_stop)
                complete(items[static_cast<std::size_t>(*next)]);
        }
        if (!remaining().isEmpty())
            releaseRemaining();
        // Leaving the scope waits for the forward under way (a forward cannot be interrupted).
    }
    if (outputError) {
        m_backoffMs = std::clamp<qint64>(m_backoffMs * 2, 2000, 60000);
        notice(QStringLiteral("cannot write an image (%1): the jobs go back to the queue; trying again in %2 s")
                   .arg(*outputError)
                   .arg(m_backoffMs / 1000));
    }
}

} // namespace charaforge::queue
