// The batched erase scheduler with a fake runner: max batch, max wait, bucketing by size, per-task delivery,
// split-and-retry down to the failing tile, the memory-based batch limit.
#include "charaforge/engine/erase_scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>

using namespace charaforge::engine;
using namespace std::chrono_literals;

namespace {

LamaTile tile(int w, int h, uint8_t tag) {
    LamaTile t;
    t.width = w;
    t.height = h;
    t.rgb.assign(static_cast<std::size_t>(w) * h * 3, tag);
    t.mask.assign(static_cast<std::size_t>(w) * h, 255);
    return t;
}

// Inverts the pixels; refuses any batch holding a tile tagged `poison` (like an OOM that only a smaller batch
// avoids, except that this tile fails alone too).
struct FakeModel {
    std::mutex m;
    std::vector<std::vector<std::pair<int, int>>> batches; // sizes of the tiles of each call
    int poison = -1;
    std::chrono::milliseconds delay{0};

    EraseRunner runner() {
        return [this](const std::vector<const LamaTile*>& tiles) {
            {
                std::lock_guard lock(m);
                std::vector<std::pair<int, int>> sizes;
                for (const auto* t : tiles)
                    sizes.emplace_back(t->width, t->height);
                batches.push_back(sizes);
            }
            std::this_thread::sleep_for(delay);
            std::vector<LamaOutput> out;
            for (const auto* t : tiles) {
                if (t->rgb[0] == poison)
                    throw std::runtime_error("simulated out of memory");
                LamaOutput o;
                o.width = t->width;
                o.height = t->height;
                for (auto v : t->rgb)
                    o.rgb.push_back(static_cast<uint8_t>(255 - v));
                out.push_back(std::move(o));
            }
            return out;
        };
    }
    std::vector<std::size_t> batch_sizes() {
        std::lock_guard lock(m);
        std::vector<std::size_t> s;
        for (const auto& b : batches)
            s.push_back(b.size());
        return s;
    }
};

struct Collector {
    std::mutex m;
    std::map<int, EraseResult> results;
    EraseCallback for_tag(int tag) {
        return [this, tag](EraseResult r) {
            std::lock_guard lock(m);
            results[tag] = std::move(r);
        };
    }
    std::size_t count() {
        std::lock_guard lock(m);
        return results.size();
    }
};

bool wait_for(const std::function<bool()>& cond, std::chrono::milliseconds limit = 10s) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (cond())
            return true;
        std::this_thread::sleep_for(2ms);
    }
    return cond();
}

} // namespace

TEST(EraseScheduler, FullBucketsRunAtOnceTheRestWaitsForMaxWaitOrFlush) {
    FakeModel model;
    Collector got;
    EraseScheduler s(model.runner(), {4, 60'000});
    for (int i = 0; i < 10; ++i)
        s.submit(tile(16, 16, static_cast<uint8_t>(i)), got.for_tag(i));
    ASSERT_TRUE(wait_for([&] { return got.count() == 8; }));
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(got.count(), 8u); // the last two wait for company (max wait is a minute)
    s.flush();
    ASSERT_TRUE(wait_for([&] { return got.count() == 10; }));
    EXPECT_EQ(model.batch_sizes(), (std::vector<std::size_t>{4, 4, 2}));
    for (int i = 0; i < 10; ++i) {
        ASSERT_TRUE(got.results[i].ok);
        EXPECT_EQ(got.results[i].output.rgb[0], 255 - i); // each callback gets its own tile's result
    }
}

TEST(EraseScheduler, MaxWaitReleasesAPartialBatch) {
    FakeModel model;
    Collector got;
    EraseScheduler s(model.runner(), {8, 80});
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 3; ++i)
        s.submit(tile(16, 16, static_cast<uint8_t>(i)), got.for_tag(i));
    ASSERT_TRUE(wait_for([&] { return got.count() == 3; }));
    const auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_GE(waited, 75ms);
    EXPECT_EQ(model.batch_sizes(), (std::vector<std::size_t>{3}));
}

TEST(EraseScheduler, BucketsByPaddedSize) {
    FakeModel model;
    Collector got;
    EraseScheduler s(model.runner(), {8, 60'000});
    for (int i = 0; i < 6; ++i)
        s.submit(i % 2 ? tile(16, 24, static_cast<uint8_t>(i)) : tile(24, 16, static_cast<uint8_t>(i)), got.for_tag(i));
    s.wait_idle();
    ASSERT_EQ(got.count(), 6u);
    ASSERT_EQ(model.batches.size(), 2u);
    for (const auto& b : model.batches) {
        EXPECT_EQ(b.size(), 3u);
        for (const auto& sz : b)
            EXPECT_EQ(sz, b.front()); // one size per forward
    }
}

TEST(EraseScheduler, AFailingBatchIsSplitDownToTheFailingTile) {
    FakeModel model;
    model.poison = 5;
    Collector got;
    EraseScheduler s(model.runner(), {8, 60'000});
    for (int i = 0; i < 8; ++i)
        s.submit(tile(16, 16, static_cast<uint8_t>(i)), got.for_tag(i));
    s.wait_idle();
    ASSERT_EQ(got.count(), 8u);
    for (int i = 0; i < 8; ++i) {
        EXPECT_EQ(got.results[i].ok, i != 5) << i;
        if (i == 5)
            EXPECT_NE(got.results[i].error.find("simulated out of memory"), std::string::npos);
        else
            EXPECT_EQ(got.results[i].output.rgb[0], 255 - i);
    }
    // 8 -> [0-3] ok + [4-7] -> [4, 5] -> 4 ok + 5 fails, then [6, 7] ok: the tiles beside the bad one ran in
    // the largest batches that work.
    EXPECT_EQ(model.batch_sizes(), (std::vector<std::size_t>{8, 4, 4, 2, 1, 1, 2}));
    EXPECT_EQ(got.results[0].batch_size, 4);
    EXPECT_EQ(got.results[4].batch_size, 1);
    EXPECT_EQ(got.results[6].batch_size, 2);
    const auto st = s.stats();
    EXPECT_EQ(st.splits, 3);
    EXPECT_EQ(st.failed, 1);
}

TEST(EraseScheduler, BatchLimitFromMemoryCapsTheBatch) {
    FakeModel model;
    Collector got;
    std::atomic<int> asked{0};
    EraseScheduler s(model.runner(), {8, 60'000}, [&](int w, int h) {
        ++asked;
        return w * h > 256 ? 2 : 8;
    });
    for (int i = 0; i < 5; ++i)
        s.submit(tile(24, 24, static_cast<uint8_t>(i)), got.for_tag(i));
    s.wait_idle();
    EXPECT_EQ(model.batch_sizes(), (std::vector<std::size_t>{2, 2, 1}));
    EXPECT_GT(asked.load(), 0);
}

TEST(EraseScheduler, ConcurrentSubmittersAllGetTheirResults) {
    FakeModel model;
    model.delay = 1ms;
    Collector got;
    {
        EraseScheduler s(model.runner(), {4, 5});
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t)
            threads.emplace_back([&, t] {
                for (int i = 0; i < 25; ++i)
                    s.submit(tile(16, 16, static_cast<uint8_t>(t * 25 + i)), got.for_tag(t * 25 + i));
            });
        for (auto& th : threads)
            th.join();
    } // the destructor runs what is pending
    ASSERT_EQ(got.count(), 100u);
    for (int i = 0; i < 100; ++i)
        EXPECT_EQ(got.results[i].output.rgb[0], 255 - i);
    for (auto n : model.batch_sizes())
        EXPECT_LE(n, 4u);
}
