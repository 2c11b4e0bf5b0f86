#pragma once
// charaforge-bench --throughput N: images per minute of N queued jobs of one size, sampled as the queue's workers
// sample them: one worker per device (a thread each, its own model copy), each taking the next batch as soon as it
// is free, the whole sampling loop (caption refiner, CFG rows in one forward, CUDA-graph steps) and the VAE decode.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace charaforge::bench {

struct ThroughputArgs {
    int images = 64;
    int batch = 4; // images per batch (the CFG forward holds twice as many rows)
    int64_t side = 1024;
    int steps = 28;
    std::vector<int64_t> lens{300, 1}; // caption tokens: prompt, unconditional
    std::vector<std::string> devices;  // one worker each
    std::string model;                 // a model folder (transformer and VAE), else random full-size weights
    std::string dtype = "bf16";
    uint64_t seed = 0;
};

// Runs the measurement, prints its lines and returns the JSON record. Throws on failure.
nlohmann::ordered_json run_throughput(const ThroughputArgs& args);

} // namespace charaforge::bench
