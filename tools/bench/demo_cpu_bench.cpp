// charaforge-demo-bench: the demo model's CPU speed (issue 14: one 256^2 image with 20 steps and CFG in <= 10 s on
// 2 cores). Times one image as the app makes it -- the prompt's text encoding (both encoders, the prompt and the
// unconditional branch), the sampling (Euler, CFG, shift: the app's defaults) and the VAE decode -- on the CPU with
// the threads LibTorch uses (every core unless --threads or OMP_NUM_THREADS says otherwise), --repeats times, each
// on a freshly opened pipeline so that no embedding is cached; prints each run and the medians, and writes them as
// JSON. A benchmark, not a test: the smoke test (tests/tools/demo_cpu_bench.cmake) checks the record, not the time.
//
//   charaforge-demo-bench MODEL_DIR [--out FILE.json] [--repeats 3] [--steps 20] [--size 256] [--cfg 5]
//                         [--threads N] [--seed 0] [--prompt TEXT]
//
// Engine-only: the public Pipeline API and LibTorch's thread setting; built in every configuration.
#include "charaforge/engine/pipeline.h"

#include "bench_args.h"
#include <nlohmann/json.hpp>

#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <thread>

using namespace charaforge::engine;

namespace {

constexpr charaforge::bench::Usage kUsage{"charaforge-demo-bench", "tools/bench/demo_cpu_bench.cpp"};
constexpr double kTargetSeconds = 10; // issue 14's figure for 2 cores

// A caption in the form of the demo model's training captions (tools/demo_model/demo_caption.cpp).
constexpr const char* kPrompt =
    "<character_1><gender>1girl</gender><appearance>long_hair, blue_hair, green_eyes</appearance><clothing>shirt, "
    "white_shirt</clothing><expression>smile</expression><position>center</position></character_1><general_tags>"
    "<count>1girl, solo</count><background>white_background, simple_background</background></general_tags>";

struct Args {
    std::string model, out, prompt = kPrompt;
    int repeats = 3, steps = 20, size = 256, threads = 0;
    double cfg = 5.0;
    uint64_t seed = 0;
};

Args parse(int argc, char** argv) {
    Args a;
    auto to_int = [](const std::string& f, const std::string& v) {
        return static_cast<int>(charaforge::bench::to_int(kUsage, f, v));
    };
    for (int i = 1; i < argc; ++i) {
        const std::string f = argv[i];
        if (f.rfind("--", 0) != 0) {
            if (!a.model.empty())
                charaforge::bench::usage_error(kUsage, "one MODEL_DIR, not '" + a.model + "' and '" + f + "'");
            a.model = f;
            continue;
        }
        if (i + 1 >= argc)
            charaforge::bench::usage_error(kUsage, f + " needs a value");
        const std::string v = argv[++i];
        if (f == "--out")
            a.out = v;
        else if (f == "--repeats")
            a.repeats = to_int(f, v);
        else if (f == "--steps")
            a.steps = to_int(f, v);
        else if (f == "--size")
            a.size = to_int(f, v);
        else if (f == "--threads")
            a.threads = to_int(f, v);
        else if (f == "--seed")
            a.seed = static_cast<uint64_t>(charaforge::bench::to_int(kUsage, f, v));
        else if (f == "--prompt")
            a.prompt = v;
        else if (f == "--cfg") {
            try {
                a.cfg = std::stod(v);
            } catch (const std::exception&) {
                charaforge::bench::usage_error(kUsage, "--cfg: '" + v + "' is not a number");
            }
        } else
            charaforge::bench::usage_error(kUsage, "unknown option " + f);
    }
    if (a.model.empty())
        charaforge::bench::usage_error(kUsage, "MODEL_DIR is missing");
    if (a.repeats < 1 || a.steps < 1)
        charaforge::bench::usage_error(kUsage, "--repeats and --steps must be at least 1");
    if (a.size < 16 || a.size % 16 != 0)
        charaforge::bench::usage_error(kUsage, "--size: " + std::to_string(a.size) + " is not a multiple of 16");
    return a;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 == 1 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

struct Run {
    double open = 0, encode = 0, sampling = 0, decode = 0, total = 0;
};

// One image on a freshly opened pipeline: the text encoding, then the sampling and decode of its embeddings.
Run time_one_image(const Args& a) {
    Run run;
    RuntimeOptions options;
    options.device = "cpu";
    auto t0 = std::chrono::steady_clock::now();
    const auto pipeline = Pipeline::open(a.model, options);
    run.open = seconds_since(t0);

    GenerationRequest request; // the app's defaults but for these settings
    request.prompt = a.prompt;
    request.width = request.height = a.size;
    request.steps = a.steps;
    request.guidance = static_cast<float>(a.cfg);
    request.seed = a.seed;
    t0 = std::chrono::steady_clock::now();
    auto [cond, uncond] = pipeline->encode(request);
    run.encode = seconds_since(t0);
    request.cond = std::move(cond);
    request.uncond = std::move(uncond);

    Callbacks callbacks;
    double sampled_at = -1;
    double decoded_at = -1;
    t0 = std::chrono::steady_clock::now();
    callbacks.on_step = [&](const StepProgress& p) {
        if (p.step == p.total_steps)
            sampled_at = seconds_since(t0);
    };
    callbacks.on_image = [&](std::size_t, const Image&) { decoded_at = seconds_since(t0); };
    const auto images = pipeline->generate({request}, callbacks);
    if (images.size() != 1 || sampled_at < 0 || decoded_at < sampled_at)
        throw std::runtime_error("charaforge-demo-bench: the pipeline reported no finished sampling or image");
    run.sampling = sampled_at;
    run.decode = decoded_at - sampled_at;
    run.total = run.encode + decoded_at;
    return run;
}

} // namespace

int main(int argc, char** argv) {
    const Args args = parse(argc, argv);
    try {
        if (args.threads > 0)
            at::set_num_threads(args.threads);
        const int threads = at::get_num_threads();
        std::cout << "demo CPU benchmark: " << args.model << ", " << args.size << "^2, " << args.steps
                  << " Euler steps, CFG " << args.cfg << ", " << threads << " threads ("
                  << std::thread::hardware_concurrency() << " hardware threads), " << args.repeats << " runs\n";
        std::vector<Run> runs;
        nlohmann::ordered_json record_runs = nlohmann::ordered_json::array();
        for (int i = 0; i < args.repeats; ++i) {
            const Run r = time_one_image(args);
            std::cout << "run " << i + 1 << ": " << r.total << " s (text encoding " << r.encode << " s, sampling "
                      << r.sampling << " s, VAE decode " << r.decode << " s; opening the model " << r.open << " s)\n";
            runs.push_back(r);
            record_runs.push_back({{"total_s", r.total},
                                   {"encode_s", r.encode},
                                   {"sampling_s", r.sampling},
                                   {"decode_s", r.decode},
                                   {"open_s", r.open}});
        }
        auto median_of = [&](double Run::*field) {
            std::vector<double> v;
            for (const Run& r : runs)
                v.push_back(r.*field);
            return median(v);
        };
        const double total = median_of(&Run::total);
        std::cout << "median: " << total << " s per image (target " << kTargetSeconds << " s on 2 cores)\n";
        const nlohmann::ordered_json report = {
            {"benchmark", "demo-cpu"},
            {"model", args.model},
            {"device", "cpu"},
            {"threads", threads},
            {"hardware_threads", std::thread::hardware_concurrency()},
            {"width", args.size},
            {"height", args.size},
            {"steps", args.steps},
            {"sampler", "euler"},
            {"cfg", args.cfg},
            {"seed", args.seed},
            {"repeats", args.repeats},
            {"runs", record_runs},
            {"median_s", total},
            {"median_encode_s", median_of(&Run::encode)},
            {"median_sampling_s", median_of(&Run::sampling)},
            {"median_decode_s", median_of(&Run::decode)},
            {"target_s", kTargetSeconds},
        };
        if (!args.out.empty()) {
            std::ofstream f(args.out);
            f << report.dump(1) << "\n";
            if (!f)
                throw std::runtime_error("charaforge-demo-bench: cannot write " + args.out);
        }
        return 0;
    } catch (const std::exception& e) {
        std::cerr << e.what() << "\n";
        return 1;
    }
}
