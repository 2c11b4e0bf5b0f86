// Ref: https://prng.di.unimi.it/splitmix64.c (Sebastiano Vigna, public domain), next().
#include "demo_rng.h"

#include <stdexcept>

namespace charaforge::demo {

uint64_t DemoRng::next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint32_t DemoRng::below(uint32_t n) {
    if (n == 0) {
        throw std::invalid_argument("demo rng: below(0)");
    }
    return static_cast<uint32_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
}

int DemoRng::between(int lo, int hi) {
    if (lo > hi) {
        throw std::invalid_argument("demo rng: between(lo, hi) with lo > hi");
    }
    return lo + static_cast<int>(below(static_cast<uint32_t>(hi - lo) + 1));
}

bool DemoRng::chance(uint32_t num, uint32_t den) {
    return below(den) < num;
}

uint64_t DemoRng::stream_seed(uint64_t seed, uint64_t index) {
    // Two SplitMix64 outputs mixed: seeds and indices that differ in one bit give unrelated streams.
    DemoRng mix(seed);
    const uint64_t a = mix.next();
    DemoRng second(a ^ (index * 0xd1342543de82ef95ULL + 0x2545f4914f6cdd1dULL));
    return second.next();
}

} // namespace charaforge::demo
