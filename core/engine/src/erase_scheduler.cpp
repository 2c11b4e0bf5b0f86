// The batch scheduler of issue 16 ("batch processing of LaMa"); no reference batching exists (IOPaint's batch
// mode is a sequential loop, iopaint/batch_processing.py), so the rules are spec lama.md section 4.
#include "charaforge/engine/erase_scheduler.h"

#include <algorithm>
#include <chrono>

namespace charaforge::engine {

EraseScheduler::EraseScheduler(EraseRunner runner, EraseSchedulerOptions options, EraseBatchLimit limit)
    : runner_(std::move(runner)), options_(options), limit_(std::move(limit)) {
    options_.max_batch = std::max(1, options_.max_batch);
    options_.max_wait_ms = std::max(0, options_.max_wait_ms);
    thread_ = std::thread([this] { loop(); });
}

EraseScheduler::~EraseScheduler() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

void EraseScheduler::submit(LamaTile tile, EraseCallback done) {
    auto task = std::make_unique<Task>();
    task->tile = std::move(tile);
    task->done = std::move(done);
    task->queued = std::chrono::steady_clock::now();
    {
        std::lock_guard lock(mutex_);
        const Bucket b{task->tile.width, task->tile.height};
        pending_[b].push_back(std::move(task));
        ++in_flight_;
    }
    wake_.notify_all();
}

void EraseScheduler::flush() {
    {
        std::lock_guard lock(mutex_);
        flush_ = true;
    }
    wake_.notify_all();
}

void EraseScheduler::wait_idle() {
    flush();
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [this] { return in_flight_ == 0; });
}

EraseScheduler::Stats EraseScheduler::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

int EraseScheduler::limit_for(const Bucket& b) const {
    int n = options_.max_batch;
    if (limit_) {
        try {
            n = std::min(n, limit_(b.first, b.second));
        } catch (...) {
            // a failing estimate must not stop the scheduler; the split-retry covers a wrong guess
        }
    }
    return std::max(1, n);
}

void EraseScheduler::loop() {
    using clock = std::chrono::steady_clock;
    const auto max_wait = std::chrono::milliseconds(options_.max_wait_ms);
    std::unique_lock lock(mutex_);
    for (;;) {
        // The ready bucket whose oldest tile is oldest; else the time the next one becomes ready.
        const auto now = clock::now();
        auto ready = pending_.end();
        auto next_deadline = clock::time_point::max();
        for (auto it = pending_.begin(); it != pending_.end(); ++it) {
            if (it->second.empty())
                continue;
            const auto oldest = it->second.front()->queued;
            const bool full = static_cast<int>(it->second.size()) >= limit_for(it->first);
            if (full || flush_ || stop_ || now - oldest >= max_wait) {
                if (ready == pending_.end() || oldest < ready->second.front()->queued)
                    ready = it;
            } else {
                next_deadline = std::min(next_deadline, oldest + max_wait);
            }
        }
        if (ready == pending_.end()) {
            flush_ = false;
            if (stop_)
                return;
            if (next_deadline == clock::time_point::max())
                wake_.wait(lock);
            else
                wake_.wait_until(lock, next_deadline);
            continue;
        }
        auto& queue = ready->second;
        const auto take = std::min<std::size_t>(queue.size(), static_cast<std::size_t>(limit_for(ready->first)));
        std::vector<std::unique_ptr<Task>> batch;
        for (std::size_t i = 0; i < take; ++i)
            batch.push_back(std::move(queue[i]));
        queue.erase(queue.begin(), queue.begin() + static_cast<std::ptrdiff_t>(take));
        if (queue.empty())
            pending_.erase(ready);
        lock.unlock();
        run(batch);
        lock.lock();
        in_flight_ -= static_cast<int64_t>(take);
        if (in_flight_ == 0)
            idle_.notify_all();
    }
}

void EraseScheduler::run(std::vector<std::unique_ptr<Task>>& tasks) {
    std::vector<const LamaTile*> tiles;
    for (const auto& t : tasks)
        tiles.push_back(&t->tile);
    {
        std::lock_guard lock(mutex_);
        ++stats_.batches;
    }
    std::vector<LamaOutput> outputs;
    std::string error;
    try {
        outputs = runner_(tiles);
        if (outputs.size() != tasks.size())
            error = "erase: the model returned " + std::to_string(outputs.size()) + " results for " +
                    std::to_string(tasks.size()) + " tiles";
    } catch (const std::exception& e) {
        error = e.what();
    } catch (...) {
        error = "erase: unknown error";
    }
    if (!error.empty() && tasks.size() > 1) {
        {
            std::lock_guard lock(mutex_);
            ++stats_.splits;
        }
        const auto half = static_cast<std::ptrdiff_t>(tasks.size() / 2);
        std::vector<std::unique_ptr<Task>> a, b;
        for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(tasks.size()); ++i)
            (i < half ? a : b).push_back(std::move(tasks[static_cast<std::size_t>(i)]));
        run(a);
        run(b);
        return;
    }
    for (std::size_t i = 0; i < tasks.size(); ++i) {
        EraseResult r;
        r.batch_size = static_cast<int>(tasks.size());
        r.ok = error.empty();
        if (r.ok)
            r.output = std::move(outputs[i]);
        else
            r.error = error;
        if (!r.ok) {
            std::lock_guard lock(mutex_);
            ++stats_.failed;
        }
        try {
            if (tasks[i]->done)
                tasks[i]->done(std::move(r));
        } catch (...) {
        }
    }
}

} // namespace charaforge::engine
