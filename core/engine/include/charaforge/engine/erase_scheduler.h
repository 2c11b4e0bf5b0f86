#pragma once
// The batched erase scheduler: gathers LaMa tiles until a bucket (tiles of one padded size: the Fourier units
// see the whole canvas, so only equal sizes batch exactly) holds the batch limit or its oldest tile has waited
// max_wait_ms, runs one forward per bucket on its own thread, and hands each result to that tile's callback as
// soon as its batch is done. A failing batch (out of memory or any error) is split in halves and retried down to
// single tiles, so a bad tile fails alone. Thread-safe: submit() from any thread. Torch-free.
#include "charaforge/engine/lama_tile.h"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace charaforge::engine {

struct EraseSchedulerOptions {
    int max_batch = 8;    // tiles per forward at most
    int max_wait_ms = 25; // how long the oldest tile of a bucket waits for company
};

struct EraseResult {
    bool ok = false;
    LamaOutput output;  // when ok
    std::string error;  // when not ok
    int batch_size = 0; // tiles in the forward that produced (or failed) this result
};

// Runs one forward over tiles of one size (LamaInpainter::inpaint in production).
using EraseRunner = std::function<std::vector<LamaOutput>(const std::vector<const LamaTile*>&)>;
// Tiles of this size that fit now (LamaInpainter::suggest_batch); clamped to [1, max_batch]. Optional.
using EraseBatchLimit = std::function<int(int width, int height)>;
// Called once per tile, on the scheduler's thread. Exceptions it throws are swallowed.
using EraseCallback = std::function<void(EraseResult)>;

class EraseScheduler {
public:
    EraseScheduler(EraseRunner runner, EraseSchedulerOptions options = {}, EraseBatchLimit limit = {});
    ~EraseScheduler(); // runs what is pending, then stops
    EraseScheduler(const EraseScheduler&) = delete;
    EraseScheduler& operator=(const EraseScheduler&) = delete;

    void submit(LamaTile tile, EraseCallback done);
    void flush();     // run every pending tile now, without waiting for max_wait_ms
    void wait_idle(); // returns once every submitted tile's callback has returned

    struct Stats {
        int64_t batches = 0; // forwards attempted, retries included
        int64_t splits = 0;  // failed batches split in two
        int64_t failed = 0;  // tiles delivered with an error
    };
    Stats stats() const;

private:
    struct Task {
        LamaTile tile;
        EraseCallback done;
        std::chrono::steady_clock::time_point queued;
    };
    using Bucket = std::pair<int, int>; // (width, height)
    void loop();
    int limit_for(const Bucket& b) const;
    void run(std::vector<std::unique_ptr<Task>>& tasks);

    EraseRunner runner_;
    EraseSchedulerOptions options_;
    EraseBatchLimit limit_;
    mutable std::mutex mutex_;
    std::condition_variable wake_, idle_;
    std::map<Bucket, std::vector<std::unique_ptr<Task>>> pending_;
    int64_t in_flight_ = 0; // submitted, callback not yet returned
    bool flush_ = false, stop_ = false;
    Stats stats_;
    std::thread thread_;
};

} // namespace charaforge::engine
