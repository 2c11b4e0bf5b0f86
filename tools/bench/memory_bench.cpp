// charaforge-memory-bench: the memory modes of issue 15 measured on one device, printed as tables and written as
// JSON. Engine-only (no Qt/OpenCV); on a CPU-only LibTorch it runs too (no allocator figures, no emulated cards).
//
//   charaforge-memory-bench --work DIR [--model DIR] [--out FILE.json] [--device cuda] [--prompt-file FILE]
//       [--modes high,balanced,low] [--size 1024] [--steps 28] [--cards 16,8] [--pred-modes high,balanced,low]
//       [--pred-batches 1,2,4] [--pred-sizes 768,1024,1536] [--pred-steps 2] [--vae-sizes 1024,2048] [--seed 0]
//
// Without --model a full-size random model (released configs of the transformer, the FLUX VAE, Gemma3-4B and
// Jina CLIP v2 text towers; the tiny test tokenizers) is written to DIR/model once (weights drawn on the device).
// Stages, in this order (the JSON is written after each):
//   modes   one full generation per --modes (text encoders from an empty cache, --steps Euler steps with CFG,
//           VAE decode) at --size: peak allocated and reserved (CUDA allocator), time per step (steps 3.. after
//           the CUDA graph's capture) and relative to mode high, the prediction;
//   cards   the same under each emulated card of --cards GiB (the caching allocator's memory fraction): completed
//           or out of memory, with its time;
//   vae     tiled (kDefaultVaeTile) vs untiled decode of one random latent per --vae-sizes on the full-size random
//           VAE (fp32): max and mean pixel difference, time and peak memory of each;
//   predict the prediction (Pipeline::predict_memory) against the measured peak for every --pred-modes x
//           --pred-batches x --pred-sizes (--pred-steps steps each; in balanced a new prompt per case so that the
//           text encoders run).
// An empty list skips its stage.
#include "bench_args.h"
#include "charaforge/engine/error.h"
#include "charaforge/engine/pipeline.h"
#include "charaforge/engine/tools.h"
#include "gemma3.h"
#include "jina_xlmr.h"
#include "memory.h"
#include "nn.h"
#include "test_model.h"
#include "text_test_models.h"
#include "vae.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

using namespace charaforge::engine;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

struct Args {
    std::string work, model, out, device = "cuda", prompt_file;
    std::vector<std::string> modes{"high", "balanced", "low"}, pred_modes{"high", "balanced", "low"};
    std::vector<int64_t> cards{16, 8}, pred_batches{1, 2, 4}, pred_sizes{768, 1024, 1536}, vae_sizes{1024, 2048};
    int size = 1024, steps = 28, pred_steps = 2;
    uint64_t seed = 0;
};

constexpr charaforge::bench::Usage kUsage{"charaforge-memory-bench", "tools/bench/memory_bench.cpp"};

[[noreturn]] void usage_error(const std::string& what) {
    charaforge::bench::usage_error(kUsage, what);
}

int64_t to_int(const std::string& flag, const std::string& v) {
    return charaforge::bench::to_int(kUsage, flag, v);
}

std::vector<int64_t> to_ints(const std::string& flag, const std::string& v) {
    return charaforge::bench::to_ints(kUsage, flag, v);
}

using charaforge::bench::split;

std::vector<std::string> to_modes(const std::string& flag, const std::string& v) {
    auto out = split(v);
    for (const auto& m : out)
        try {
            parse_memory_mode(m, flag);
        } catch (const EngineError& e) {
            usage_error(e.what());
        }
    return out;
}

Args parse(int argc, char** argv) {
    Args a;
    for (int i = 1; i < argc; ++i) {
        const std::string f = argv[i];
        if (i + 1 >= argc)
            usage_error(f + " needs a value");
        const std::string v = argv[++i];
        if (f == "--work")
            a.work = v;
        else if (f == "--model")
            a.model = v;
        else if (f == "--out")
            a.out = v;
        else if (f == "--device")
            a.device = v;
        else if (f == "--prompt-file")
            a.prompt_file = v;
        else if (f == "--modes")
            a.modes = to_modes(f, v);
        else if (f == "--pred-modes")
            a.pred_modes = to_modes(f, v);
        else if (f == "--cards")
            a.cards = to_ints(f, v);
        else if (f == "--pred-batches")
            a.pred_batches = to_ints(f, v);
        else if (f == "--pred-sizes")
            a.pred_sizes = to_ints(f, v);
        else if (f == "--vae-sizes")
            a.vae_sizes = to_ints(f, v);
        else if (f == "--size")
            a.size = static_cast<int>(to_int(f, v));
        else if (f == "--steps")
            a.steps = static_cast<int>(std::max<int64_t>(1, to_int(f, v)));
        else if (f == "--pred-steps")
            a.pred_steps = static_cast<int>(std::max<int64_t>(1, to_int(f, v)));
        else if (f == "--seed")
            a.seed = static_cast<uint64_t>(to_int(f, v));
        else
            usage_error("unknown option " + f);
    }
    if (a.work.empty() && a.model.empty())
        usage_error("--work DIR (where the full-size random model is written) or --model DIR is required");
    for (auto s : a.pred_sizes)
        if (s == 0 || s % 16 != 0)
            usage_error("--pred-sizes: " + std::to_string(s) + " is not a positive multiple of 16");
    if (a.size % 16 != 0 || a.size == 0)
        usage_error("--size: " + std::to_string(a.size) + " is not a positive multiple of 16");
    return a;
}

double gib(int64_t bytes) {
    return static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0);
}

double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

void sync(const torch::Device& dev) {
    if (dev.is_cuda())
        torch::cuda::synchronize(dev.index());
}

const char* kDefaultPrompt = "1girl, solo, long hair, blue eyes, school uniform, smile, looking at viewer, "
                             "cherry blossoms, outdoors, masterpiece, best quality";

std::string write_full_model(const std::string& work, const torch::Device& dev, uint64_t seed) {
    const auto dir = (fs::path(work) / "model").string();
    if (fs::exists(fs::path(dir) / "model_index.json")) {
        std::cout << "model: " << dir << " (written before)\n";
        return dir;
    }
    const auto t0 = Clock::now();
    fs::create_directories(dir);
    {
        c10::InferenceMode guard;
        write_tiny_transformer(dir, NextDiTConfig{}, seed, dev);
        write_tiny_vae(dir, VaeConfig{}, seed + 1, dev);
        write_random_gemma(dir, Gemma3TextConfig{}, seed + 2, dev);
        write_random_jina(dir, JinaTextConfig{}, seed + 3, dev);
    }
    std::ofstream(fs::path(dir) / "model_index.json") << R"({"_class_name": "NewbiePipeline"})"
                                                      << "\n";
    release_cached_device_memory();
    std::cout << "model: wrote the full-size random model to " << dir << " in " << ms_since(t0) / 1000 << " s\n";
    return dir;
}

nlohmann::json vae_stage(const Args& a, const torch::Device& dev) {
    auto out = nlohmann::json::array();
    if (a.vae_sizes.empty())
        return out;
    c10::InferenceMode guard;
    AutoencoderKL vae(VaeConfig{}, torch::TensorOptions().device(dev).dtype(torch::kFloat32));
    nn::init_random_on_device(*vae, a.seed + 1);
    vae->eval();
    std::printf("\nVAE decode, full-size random FLUX VAE, fp32: tiled (tile %lld latent px) vs untiled\n",
                static_cast<long long>(kDefaultVaeTile));
    std::printf("%6s %10s %10s %12s %12s %10s %10s %8s\n", "size", "untiled ms", "tiled ms", "untiled GiB", "tiled GiB",
                "max diff", "mean diff", "max lvl");
    for (auto side : a.vae_sizes) {
        torch::manual_seed(static_cast<uint64_t>(side));
        auto z = torch::randn({1, 16, side / 8, side / 8}).to(dev);
        nlohmann::json r{{"size", side}, {"tile", kDefaultVaeTile}};
        torch::Tensor ref, tiled;
        for (int pass = 0; pass < 2; ++pass) {
            const int64_t tile = pass == 0 ? 0 : kDefaultVaeTile;
            const std::string key = pass == 0 ? "untiled" : "tiled";
            try {
                release_cached_device_memory();
                reset_peak_device_memory(dev);
                sync(dev);
                const auto t0 = Clock::now();
                auto rgb = vae->decode(z, tile);
                sync(dev);
                r[key + "_ms"] = ms_since(t0);
                r[key + "_peak_allocated"] = memory_report(dev.str()).peak_allocated;
                (pass == 0 ? ref : tiled) = rgb.cpu();
            } catch (const std::exception& e) {
                r[key + "_error"] = e.what();
            }
        }
        if (ref.defined() && tiled.defined()) {
            auto d = (ref - tiled).abs();
            auto levels = ((ref * 255).round() - (tiled * 255).round()).abs();
            r["max_diff"] = d.max().item<double>();
            r["mean_diff"] = d.mean().item<double>();
            r["max_levels"] = levels.max().item<double>();
            r["fraction_levels_differ"] = (levels > 0).to(torch::kFloat64).mean().item<double>();
            r["output_std"] = ref.std().item<double>();
            std::printf("%6lld %10.1f %10.1f %12.2f %12.2f %10.2e %10.2e %8.0f\n", static_cast<long long>(side),
                        r["untiled_ms"].get<double>(), r["tiled_ms"].get<double>(),
                        gib(r["untiled_peak_allocated"].get<int64_t>()), gib(r["tiled_peak_allocated"].get<int64_t>()),
                        r["max_diff"].get<double>(), r["mean_diff"].get<double>(), r["max_levels"].get<double>());
        } else {
            std::printf("%6lld %s\n", static_cast<long long>(side), r.dump().c_str());
        }
        out.push_back(r);
    }
    return out;
}

// One generation of `count` requests in a fresh or given pipeline; the figures of the run.
struct RunSpec {
    MemoryMode mode = MemoryMode::High;
    int size = 1024, steps = 28, batch = 1;
    std::string prompt;
};

nlohmann::json measure(Pipeline& p, const RunSpec& s, const torch::Device& dev, uint64_t seed) {
    std::vector<GenerationRequest> reqs(static_cast<std::size_t>(s.batch));
    for (int i = 0; i < s.batch; ++i) {
        auto& r = reqs[static_cast<std::size_t>(i)];
        r.prompt = s.prompt;
        r.negative_prompt = "lowres, bad anatomy";
        r.width = r.height = s.size;
        r.steps = s.steps;
        r.seed = seed + static_cast<uint64_t>(i);
    }
    const auto pred = p.predict_memory(s.batch, s.size, s.size, true);
    std::vector<double> step_at;
    Callbacks cb;
    const auto t0 = Clock::now();
    cb.on_step = [&](const StepProgress&) {
        sync(dev);
        step_at.push_back(ms_since(t0));
    };
    release_cached_device_memory();
    reset_peak_device_memory(dev);
    const auto before = memory_report(dev.str());
    p.generate(reqs, cb);
    sync(dev);
    const double total = ms_since(t0);
    const auto after = memory_report(dev.str());
    nlohmann::json r{{"mode", memory_mode_name(p.memory_mode())},
                     {"size", s.size},
                     {"batch", s.batch},
                     {"steps", s.steps},
                     {"ms_total", total},
                     {"allocated_before", before.allocated},
                     {"peak_allocated", after.peak_allocated},
                     {"peak_reserved", after.peak_reserved},
                     {"predicted_peak", pred.peak},
                     {"predicted",
                      {{"weights", pred.weights},
                       {"encoding", pred.encoding},
                       {"sampling", pred.sampling},
                       {"decoding", pred.decoding},
                       {"vae_tiled", pred.vae_tiled}}}};
    if (!step_at.empty()) {
        r["ms_to_first_step"] = step_at.front(); // text encoding + first forward
        r["ms_decode"] = total - step_at.back();
        // Steady steps: from the third on (the second captures the CUDA graph).
        const std::size_t from = std::min<std::size_t>(2, step_at.size() - 1);
        if (step_at.size() > from + 1)
            r["ms_per_step"] = (step_at.back() - step_at[from]) / static_cast<double>(step_at.size() - 1 - from);
    }
    if (after.peak_allocated > 0)
        r["prediction_ratio"] = static_cast<double>(pred.peak) / static_cast<double>(after.peak_allocated);
    return r;
}

RuntimeOptions options_for(const Args& a, MemoryMode mode, int max_batch) {
    RuntimeOptions o;
    o.device = a.device;
    o.max_batch = max_batch;
    o.memory_mode = mode;
    return o;
}

// A full generation in a fresh pipeline (optionally under an emulated card of `card_gib`); never throws.
nlohmann::json full_run(const Args& a, const std::string& model, MemoryMode mode, const std::string& prompt,
                        const torch::Device& dev, int64_t card_gib) {
    nlohmann::json r{{"mode", memory_mode_name(mode)}, {"card_gib", card_gib}};
    const auto total = memory_report(dev.str()).total;
    if (card_gib > 0 && total > 0)
        set_device_memory_fraction(std::min(1.0, static_cast<double>(card_gib << 30) / static_cast<double>(total)),
                                   dev);
    const auto t0 = Clock::now();
    try {
        auto p = Pipeline::open(model, options_for(a, mode, 1));
        r["ms_open"] = ms_since(t0);
        r["notes"] = p->memory_notes();
        r["weights_allocated"] = memory_report(dev.str()).allocated;
        r.update(measure(*p, RunSpec{mode, a.size, a.steps, 1, prompt}, dev, a.seed));
        r["completed"] = true;
    } catch (const std::exception& e) {
        r["completed"] = false;
        // Pipeline::open reports LibTorch's allocation failure as its own one-line error: read the text too.
        r["out_of_memory"] = is_out_of_memory(e) || dynamic_cast<const OutOfMemory*>(&e) != nullptr ||
                             std::string(e.what()).find("out of memory") != std::string::npos;
        r["error"] = std::string(e.what()).substr(0, 400);
        r["ms_until_error"] = ms_since(t0);
    }
    release_cached_device_memory();
    if (card_gib > 0)
        set_device_memory_fraction(1.0, dev);
    return r;
}

void print_runs(const nlohmann::json& runs, double high_step_ms) {
    std::printf("%-9s %5s %9s %11s %11s %11s %9s %8s %9s %s\n", "mode", "card", "completed", "peak alloc", "peak resvd",
                "predicted", "ms/step", "x high", "total s", "note");
    for (const auto& r : runs) {
        const bool ok = r.value("completed", false);
        const double step = r.value("ms_per_step", 0.0);
        std::printf(
            "%-9s %5s %9s %11.2f %11.2f %11.2f %9.1f %8.2f %9.2f %s\n", r["mode"].get<std::string>().c_str(),
            r["card_gib"].get<int64_t>() > 0 ? (std::to_string(r["card_gib"].get<int64_t>()) + "G").c_str() : "-",
            ok ? "yes" : (r.value("out_of_memory", false) ? "OOM" : "error"),
            gib(r.value("peak_allocated", int64_t{0})), gib(r.value("peak_reserved", int64_t{0})),
            gib(r.value("predicted_peak", int64_t{0})), step, high_step_ms > 0 && step > 0 ? step / high_step_ms : 0.0,
            r.value("ms_total", 0.0) / 1000, ok ? "" : r.value("error", std::string()).substr(0, 90).c_str());
    }
}

} // namespace

int main(int argc, char** argv) try {
    const Args a = parse(argc, argv);
    const torch::Device dev(a.device == "cuda" ? "cuda:0" : a.device);
    if (dev.is_cuda() && cuda_device_count() == 0)
        usage_error("--device " + a.device + ": no CUDA device");
    std::string prompt = kDefaultPrompt;
    if (!a.prompt_file.empty()) {
        std::ifstream f(a.prompt_file);
        if (!f)
            usage_error("--prompt-file: cannot read " + a.prompt_file);
        prompt.assign(std::istreambuf_iterator<char>(f), {});
    }
    const auto dev_report = memory_report(dev.str());
    nlohmann::json report{{"device", dev_report.device},
                          {"device_total", dev_report.total},
                          {"torch", torch_version()},
                          {"auto_mode", memory_mode_name(auto_memory_mode(dev.is_cuda(), dev_report.total))}};
    std::cout << "device: " << dev_report.device << ", " << gib(dev_report.total) << " GiB; LibTorch "
              << torch_version() << "\n";
    const std::string model = a.model.empty() ? write_full_model(a.work, dev, a.seed) : a.model;
    report["model"] = model;
    // Written after every stage: a run stopped by a time limit keeps what it measured.
    auto save = [&] {
        if (!a.out.empty())
            std::ofstream(a.out) << report.dump(2) << "\n";
        std::fflush(stdout);
    };

    auto& runs = report["modes"] = nlohmann::json::array();
    double high_step = 0;
    for (const auto& m : a.modes) {
        auto r = full_run(a, model, parse_memory_mode(m), prompt, dev, 0);
        if (m == "high")
            high_step = r.value("ms_per_step", 0.0);
        runs.push_back(r);
    }
    if (!runs.empty()) {
        std::printf("\nFull generation %dx%d, %d steps, CFG, text encoders from an empty cache, VAE decode (GiB):\n",
                    a.size, a.size, a.steps);
        print_runs(runs, high_step);
    }
    save();

    auto& cards = report["cards"] = nlohmann::json::array();
    for (auto card : a.cards)
        for (const auto& m : a.modes)
            cards.push_back(full_run(a, model, parse_memory_mode(m), prompt, dev, card));
    if (!cards.empty()) {
        std::printf("\nThe same on emulated cards (the caching allocator limited to CARD GiB):\n");
        print_runs(cards, high_step);
    }
    save();

    report["vae"] = vae_stage(a, dev);
    save();

    auto& pred = report["prediction"] = nlohmann::json::array();
    if (!a.pred_modes.empty() && !a.pred_batches.empty() && !a.pred_sizes.empty()) {
        std::printf("\nPrediction vs measured peak allocated (%d steps per case):\n", a.pred_steps);
        std::printf("%-9s %5s %6s %11s %11s %11s %7s\n", "mode", "batch", "size", "predicted", "measured", "reserved",
                    "pred/meas");
        const int max_batch = static_cast<int>(*std::max_element(a.pred_batches.begin(), a.pred_batches.end()));
        int n = 0;
        for (const auto& m : a.pred_modes) {
            const auto mode = parse_memory_mode(m);
            std::unique_ptr<Pipeline> p;
            try {
                p = Pipeline::open(model, options_for(a, mode, max_batch));
            } catch (const std::exception& e) {
                pred.push_back({{"mode", m}, {"error", e.what()}});
                continue;
            }
            for (auto side : a.pred_sizes)
                for (auto b : a.pred_batches) {
                    // In balanced a new prompt each case: the encoders come to the device as the prediction assumes.
                    const std::string text =
                        prompt + (mode == MemoryMode::Balanced ? ", case " + std::to_string(++n) : "");
                    nlohmann::json r;
                    try {
                        r = measure(*p, RunSpec{mode, static_cast<int>(side), a.pred_steps, static_cast<int>(b), text},
                                    dev, a.seed);
                    } catch (const std::exception& e) {
                        r = {
                            {"mode", m}, {"size", side}, {"batch", b}, {"error", std::string(e.what()).substr(0, 300)}};
                    }
                    if (r.contains("peak_allocated"))
                        std::printf("%-9s %5lld %6lld %11.2f %11.2f %11.2f %7.3f\n", m.c_str(),
                                    static_cast<long long>(b), static_cast<long long>(side),
                                    gib(r["predicted_peak"].get<int64_t>()), gib(r["peak_allocated"].get<int64_t>()),
                                    gib(r["peak_reserved"].get<int64_t>()), r.value("prediction_ratio", 0.0));
                    else
                        std::printf("%-9s %5lld %6lld %s\n", m.c_str(), static_cast<long long>(b),
                                    static_cast<long long>(side), r.value("error", std::string()).c_str());
                    pred.push_back(r);
                    save();
                }
            p.reset();
            release_cached_device_memory();
        }
    }

    save();
    if (!a.out.empty())
        std::cout << "\nwritten: " << a.out << "\n";
    return 0;
} catch (const std::exception& e) {
    std::cerr << "charaforge-memory-bench: " << e.what() << "\n";
    return 1;
}
