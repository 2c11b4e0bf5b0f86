#include "bench_throughput.h"

#include "bench_util.h"
#include "charaforge/engine/error.h"
#include "flow_sampler.h"
#include "memory.h"
#include "model_folder.h"
#include "step_forward.h"
#include "vae.h"
#include "weights.h"

#include <c10/core/DeviceGuard.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

namespace charaforge::bench {

using namespace charaforge::engine;

namespace {

using Clock = std::chrono::steady_clock;

struct DeviceResult {
    std::string device;
    int images = 0;
    int batches = 0;
    MemoryReport memory;
    std::string error;
};

// One batch of `b` images as the pipeline samples it: noise, shifted grid, Euler, cond + uncond rows in one forward,
// guidance, each image decoded and its RGB brought to host memory (no PNG encode).
void sample_batch(NextDiT& dit, AutoencoderKL& vae, const Runtime& rt, const ThroughputArgs& a, int64_t b) {
    const auto& cfg = dit->config();
    std::vector<int64_t> lens(static_cast<std::size_t>(2 * b), a.lens[1]);
    std::fill(lens.begin(), lens.begin() + b, a.lens[0]);
    auto in = make_inputs(cfg, rt, a.side, lens); // [2b, ...]: b prompt rows, then b unconditional rows
    auto caps = dit->encode_captions(in.cap, in.lens);
    StepForward step(dit);
    auto scale = torch::full({b}, 5.0f, torch::TensorOptions().device(rt.device)); // one CFG scale per image
    auto x = torch::randn({b, cfg.in_channels, a.side / 8, a.side / 8},
                          torch::TensorOptions().device(rt.device).dtype(torch::kFloat32)); // [b, C, h, w]
    auto velocity = [&](const torch::Tensor& xt, float t) {
        auto x_in = torch::cat({xt, xt}); // [2b, C, h, w]
        auto t_in = torch::full({2 * b}, t, torch::TensorOptions().device(rt.device).dtype(torch::kFloat32));
        auto v = step(x_in, t_in, caps, in.pooled).to(torch::kFloat32);
        return guide(v.narrow(0, 0, b), v.narrow(0, b, b), scale, 0.0);
    };
    x = integrate_flow(Solver::Euler, x, shifted_time_grid(a.steps, 6.0), velocity);
    step.reset();
    for (int64_t i = 0; i < b; ++i) {
        auto rgb = vae->decode(x.narrow(0, i, 1).to(rt.vae_dtype)); // [1, 3, H, W] in [0, 1]
        auto bytes = rgb[0].mul(255).round().clamp(0, 255).to(torch::kUInt8).permute({1, 2, 0}).cpu();
        (void)bytes;
    }
}

} // namespace

nlohmann::ordered_json run_throughput(const ThroughputArgs& a) {
    if (a.devices.empty())
        throw EngineError("bench: --throughput needs a device");
    std::mutex mutex; // model set-up one device at a time: the random weights' generator is global
    std::condition_variable ready;
    int warm = 0;
    bool go = false;
    Clock::time_point start;
    std::atomic<int> next{0};
    std::vector<DeviceResult> results(a.devices.size());
    std::vector<Clock::time_point> ends(a.devices.size());
    auto worker = [&](std::size_t k) {
        auto& r = results[k];
        r.device = a.devices[k];
        try {
            c10::InferenceMode inference;
            RuntimeOptions ro;
            ro.device = a.devices[k];
            ro.dtype = a.dtype;
            const Runtime rt = make_runtime(ro);
            const c10::DeviceGuard device_guard(rt.device);
            NextDiT dit{nullptr};
            AutoencoderKL vae{nullptr};
            {
                std::lock_guard<std::mutex> lock(mutex);
                if (!a.model.empty()) {
                    const auto files = locate_model(a.model, Require::TransformerAndVae);
                    dit = load_transformer(files.transformer, rt);
                    Runtime vrt = rt;
                    vae = load_vae(files.vae, files.vae_bfl, vrt);
                } else {
                    dit = NextDiT(NextDiTConfig{}, rt.options());
                    randomise(*dit, a.seed);
                    vae = AutoencoderKL(VaeConfig{}, torch::TensorOptions().device(rt.device).dtype(rt.vae_dtype));
                    randomise(*vae, a.seed + 1);
                }
            }
            dit->eval();
            vae->eval();
            sample_batch(dit, vae, rt, a, std::min<int64_t>(a.batch, a.images)); // warm-up: kernels, graph pools
            sync(rt.device);
            reset_peak_device_memory(rt.device);
            {
                std::unique_lock<std::mutex> lock(mutex);
                ++warm;
                ready.notify_all();
                ready.wait(lock, [&] { return go; });
            }
            for (int first; (first = next.fetch_add(a.batch)) < a.images;) {
                const int b = std::min(a.batch, a.images - first);
                sample_batch(dit, vae, rt, a, b);
                r.images += b;
                ++r.batches;
            }
            sync(rt.device);
            ends[k] = Clock::now();
            r.memory = memory_report(rt.device.str());
        } catch (const std::exception& e) {
            r.error = e.what();
            std::lock_guard<std::mutex> lock(mutex);
            ++warm; // never blocks the others
            ready.notify_all();
            ends[k] = Clock::now();
        }
    };
    std::vector<std::thread> threads;
    for (std::size_t k = 0; k < a.devices.size(); ++k)
        threads.emplace_back(worker, k);
    {
        std::unique_lock<std::mutex> lock(mutex);
        ready.wait(lock, [&] { return warm >= static_cast<int>(a.devices.size()); });
        start = Clock::now();
        go = true;
        ready.notify_all();
    }
    for (auto& t : threads)
        t.join();
    double seconds = 0;
    int done = 0;
    nlohmann::ordered_json report;
    report["images"] = a.images;
    report["size"] = a.side;
    report["steps"] = a.steps;
    report["cfg"] = true;
    report["batch"] = a.batch;
    report["caption_lengths"] = a.lens;
    report["model"] = a.model.empty() ? "random (released config)" : a.model;
    report["text_encoding"] = "not included: random embeddings given";
    auto& per = report["devices"] = nlohmann::ordered_json::array();
    for (std::size_t k = 0; k < results.size(); ++k) {
        const auto& r = results[k];
        if (!r.error.empty())
            throw EngineError("bench: " + r.device + ": " + r.error);
        seconds = std::max(seconds, std::chrono::duration<double>(ends[k] - start).count());
        done += r.images;
        const double peak = static_cast<double>(r.memory.peak_allocated) / (1024.0 * 1024.0 * 1024.0);
        const double reserved = static_cast<double>(r.memory.reserved) / (1024.0 * 1024.0 * 1024.0);
        std::printf("  %s: %d images in %d batches, peak allocated %.2f GiB, reserved %.2f GiB\n", r.device.c_str(),
                    r.images, r.batches, peak, reserved);
        per.push_back({{"device", r.memory.device.empty() ? r.device : r.memory.device},
                       {"images", r.images},
                       {"batches", r.batches},
                       {"peak_allocated_gib", peak},
                       {"reserved_gib", reserved}});
    }
    const double per_minute = seconds > 0 ? 60.0 * done / seconds : 0.0;
    std::printf("throughput: %d images of %lld^2, %d Euler steps, CFG, batch %d, on %zu device(s): %.2f s, "
                "%.2f images per minute\n",
                done, static_cast<long long>(a.side), a.steps, a.batch, a.devices.size(), seconds, per_minute);
    report["seconds"] = seconds;
    report["images_per_minute"] = per_minute;
    return report;
}

} // namespace charaforge::bench
