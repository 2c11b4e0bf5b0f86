#pragma once
// The demo data's random numbers: SplitMix64 (Steele, Lea, Flood 2014; Vigna's reference splitmix64.c) with
// integer-only draws, so that a seed gives the same sequence with every compiler, standard library and CPU
// (std::uniform_int_distribution's output is implementation-defined).
#include <cstdint>

namespace charaforge::demo {

class DemoRng {
public:
    explicit DemoRng(uint64_t seed) : state_(seed) {}

    // The next 64 random bits (the reference's next()).
    uint64_t next();
    // Uniform in [0, n): the high 64 bits of next() * n (Lemire's multiply-shift, bias below 2^-60 for
    // the small n used here). n must be > 0.
    uint32_t below(uint32_t n);
    // Uniform in [lo, hi], both included. Requires lo <= hi.
    int between(int lo, int hi);
    // True with probability num / den.
    bool chance(uint32_t num, uint32_t den);

    // A seed for stream `index` of `seed`: independent images whatever their number or order.
    static uint64_t stream_seed(uint64_t seed, uint64_t index);

private:
    uint64_t state_;
};

} // namespace charaforge::demo
