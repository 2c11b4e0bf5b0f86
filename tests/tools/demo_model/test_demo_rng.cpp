#include "demo_rng.h"

#include <gtest/gtest.h>

#include <set>

using charaforge::demo::DemoRng;

TEST(DemoRng, FollowsTheSplitMix64Reference) {
    // splitmix64.c's next() from state 1234567 (values computed with the reference algorithm in Python).
    DemoRng rng(1234567);
    EXPECT_EQ(rng.next(), 6457827717110365317ULL);
    EXPECT_EQ(rng.next(), 3203168211198807973ULL);
    EXPECT_EQ(rng.next(), 9817491932198370423ULL);
    EXPECT_EQ(rng.next(), 4593380528125082431ULL);
    EXPECT_EQ(rng.next(), 16408922859458223821ULL);
}

TEST(DemoRng, DrawsStayInRangeAndReachEveryValue) {
    DemoRng rng(7);
    std::set<int> seen;
    for (int i = 0; i < 2000; ++i) {
        const int v = rng.between(-3, 4);
        ASSERT_GE(v, -3);
        ASSERT_LE(v, 4);
        seen.insert(v);
    }
    EXPECT_EQ(seen.size(), 8u);
    int hits = 0;
    for (int i = 0; i < 4000; ++i) {
        hits += rng.chance(1, 4) ? 1 : 0;
    }
    EXPECT_NEAR(hits, 1000, 120);
    EXPECT_THROW(rng.below(0), std::invalid_argument);
    EXPECT_THROW(rng.between(2, 1), std::invalid_argument);
}

TEST(DemoRng, StreamSeedsDifferPerSeedAndIndex) {
    std::set<uint64_t> seeds;
    for (uint64_t seed = 0; seed < 8; ++seed) {
        for (uint64_t index = 0; index < 64; ++index) {
            seeds.insert(DemoRng::stream_seed(seed, index));
        }
    }
    EXPECT_EQ(seeds.size(), 8u * 64u);
    EXPECT_EQ(DemoRng::stream_seed(3, 5), DemoRng::stream_seed(3, 5));
}
