// charaforge-bench: speed of the engine's transformer, VAE and sampling loop on one device, printed as a
// table and written as JSON (issue 12). Engine-only: links the engine library and nothing of Qt/OpenCV.
//
//   charaforge-bench [--model DIR] [--write-random DIR] [--out FILE.json] [--device cuda] [--dtype bf16]
//                    [--batches 2,8] [--sizes 1024] [--captions 256] [--mixed 300,1] [--iters 5] [--warmup 2]
//                    [--vae-sizes 1024] [--vae-dtypes fp32,bf16] [--e2e-steps 28] [--seed 0] [--profile DIR]
//                    [--fp8 1]
//   charaforge-bench --throughput 64 [--devices cuda:0,cuda:1] [--batch 4] [--sizes 1024] [--e2e-steps 28] [--mixed 300,1]
//                    [--model DIR] [--dtype bf16] [--out FILE.json]
//
// Without --model the transformer and VAE are full-size (released config) with random weights, made on the
// device; --write-random DIR also stores that transformer in the official layout (transformer/*.safetensors).
// Cases: every batch x size x uniform caption length; the app's CFG batch (half the rows with a prompt caption
// of mixed[0] tokens, half with the unconditional caption of mixed[1] tokens); VAE decode/encode per size and
// dtype; the fp8 mode's error and speed (--fp8 0 skips it); one end-to-end image (28 Euler steps, CFG in one forward, VAE decode) at the first size.
// --profile DIR: after timing each transformer case, one more forward under the Kineto profiler, its trace written
// as DIR/trace-KIND-BN-SIZE.json (summarised by tools/gpu/profile_summary.py). The environment variable
// CHARAFORGE_FUSED=0 turns the fused CUDA kernels off (the ATen compositions), for before/after timings.
// --throughput N: only the throughput of N queued images (bench_throughput.h): one worker per device of --devices
// (default --device), each with its own model copy, taking batches of --batch as it is free; images per minute and
// each device's peak memory.
#include "charaforge/engine/error.h"
#include "flow_sampler.h"
#include "fp8_linear.h"
#include "fused_ops.h"
#include "memory.h"
#include "model_folder.h"
#include "nextdit.h"
#include "runtime.h"
#include "safetensors.h"
#include "step_forward.h"
#include "vae.h"
#include "weights.h"

#include "bench_args.h"
#include "bench_throughput.h"
#include "bench_util.h"
#include "kineto_profile.h"
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

using namespace charaforge::engine;
using charaforge::bench::make_inputs;
using charaforge::bench::randomise;
using charaforge::bench::sync;

namespace {

struct Args {
    std::string model, write_random, out, profile, device = "cuda", dtype = "bf16";
    std::vector<int64_t> batches{2, 8}, sizes{1024}, captions{256}, mixed{300, 1}, vae_sizes{1024};
    std::vector<std::string> vae_dtypes{"fp32", "bf16"};
    int iters = 5, warmup = 2, e2e_steps = 28;
    int throughput = 0, batch = 4; // --throughput N: N images sampled by one worker per device (--devices)
    std::vector<std::string> devices;
    bool fp8 = true;
    uint64_t seed = 0;
};

constexpr charaforge::bench::Usage kUsage{"charaforge-bench", "tools/bench/bench_main.cpp"};

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

Args parse(int argc, char** argv) {
    Args a;
    for (int i = 1; i < argc; ++i) {
        const std::string f = argv[i];
        if (i + 1 >= argc)
            usage_error(f + " needs a value");
        const std::string v = argv[++i];
        if (f == "--model")
            a.model = v;
        else if (f == "--write-random")
            a.write_random = v;
        else if (f == "--out")
            a.out = v;
        else if (f == "--profile")
            a.profile = v;
        else if (f == "--device")
            a.device = v;
        else if (f == "--dtype")
            a.dtype = v;
        else if (f == "--batches")
            a.batches = to_ints(f, v);
        else if (f == "--sizes")
            a.sizes = to_ints(f, v);
        else if (f == "--captions")
            a.captions = to_ints(f, v);
        else if (f == "--mixed")
            a.mixed = to_ints(f, v);
        else if (f == "--vae-sizes")
            a.vae_sizes = to_ints(f, v);
        else if (f == "--vae-dtypes")
            a.vae_dtypes = split(v);
        else if (f == "--iters")
            a.iters = static_cast<int>(std::max<int64_t>(1, to_int(f, v)));
        else if (f == "--warmup")
            a.warmup = static_cast<int>(to_int(f, v));
        else if (f == "--e2e-steps")
            a.e2e_steps = static_cast<int>(to_int(f, v));
        else if (f == "--fp8")
            a.fp8 = to_int(f, v) != 0;
        else if (f == "--throughput")
            a.throughput = static_cast<int>(to_int(f, v));
        else if (f == "--batch")
            a.batch = static_cast<int>(std::max<int64_t>(1, to_int(f, v)));
        else if (f == "--devices")
            a.devices = split(v);
        else if (f == "--seed")
            a.seed = static_cast<uint64_t>(to_int(f, v));
        else
            usage_error("unknown option " + f);
    }
    if (!a.mixed.empty() && a.mixed.size() != 2)
        usage_error("--mixed takes two caption lengths (prompt, unconditional)");
    for (auto s : a.sizes)
        if (s == 0 || s % 16 != 0)
            usage_error("--sizes: " + std::to_string(s) + " is not a positive multiple of 16");
    if (!charaforge::bench::kHaveKineto && !a.profile.empty())
        usage_error("--profile needs LibTorch 2 (Kineto)");
    return a;
}

// Median wall time of `fn` in ms over `iters` runs after `warmup` runs, the device synchronised around each.
template <typename Fn> double time_ms(const torch::Device& dev, int warmup, int iters, Fn&& fn) {
    for (int i = 0; i < warmup; ++i)
        fn();
    sync(dev);
    std::vector<double> ms;
    for (int i = 0; i < iters; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        fn();
        sync(dev);
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
}

// Floating-point operations of one transformer forward (matrix products at 2 FLOP per multiply-add and the
// two attention products), summed over the samples: caption length cap_lens[b], n_img image tokens.
double forward_flops(const NextDiTConfig& c, const std::vector<int64_t>& cap_lens, int64_t n_img) {
    const double D = static_cast<double>(c.dim), Dh = static_cast<double>(c.head_dim());
    const double qkv = D * (c.n_heads + 2 * c.n_kv_heads) * Dh, out = c.n_heads * Dh * D, ffn = 3.0 * D * c.ffn_hidden;
    auto block = [&](double n) { return 2.0 * n * (qkv + out + ffn) + 4.0 * n * n * c.n_heads * Dh; };
    double total = 0;
    for (auto len : cap_lens) {
        const double n = static_cast<double>(len + n_img);
        total += c.n_layers * block(n) + c.n_refiner_layers * (block(static_cast<double>(n_img)) + block(len));
        total += 2.0 * n_img * c.patch_dim() * D * 2.0 + 2.0 * len * c.cap_feat_dim * D; // embedders, final layer
    }
    return total;
}

// The JSON record to `path` (nothing when empty).
void write_report(const std::string& path, const nlohmann::ordered_json& report) {
    if (path.empty())
        return;
    std::ofstream f(path);
    f << report.dump(1) << "\n";
    if (!f)
        throw EngineError("bench: cannot write " + path);
}

double gib(int64_t bytes) {
    return static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0);
}

} // namespace

int main(int argc, char** argv) {
    const Args args = parse(argc, argv);
    try {
        if (args.throughput > 0) {
            charaforge::bench::ThroughputArgs t;
            t.images = args.throughput;
            t.batch = args.batch;
            t.side = args.sizes.empty() ? 1024 : args.sizes.front();
            t.steps = std::max(1, args.e2e_steps);
            if (!args.mixed.empty())
                t.lens = args.mixed;
            t.devices = args.devices.empty() ? std::vector<std::string>{args.device} : args.devices;
            t.model = args.model;
            t.dtype = args.dtype;
            t.seed = args.seed;
            const auto report = charaforge::bench::run_throughput(t);
            write_report(args.out, report);
            return 0;
        }
        c10::InferenceMode guard;
        RuntimeOptions ro;
        ro.device = args.device;
        ro.dtype = args.dtype;
        const Runtime rt = make_runtime(ro);
        const auto dev = rt.device;
        nlohmann::ordered_json report;
        const MemoryReport mem0 = memory_report(dev.str());
        report["device"] = mem0.device;
        report["runtime"] = rt.describe();
        report["fused_kernels"] = fused::have_cuda_kernels() && fused::fused_enabled();
        report["torch"] = TORCH_VERSION;

        NextDiT dit{nullptr};
        AutoencoderKL vae{nullptr};
        if (!args.model.empty()) {
            const auto files = locate_model(args.model, Require::TransformerAndVae);
            dit = load_transformer(files.transformer, rt);
            Runtime vrt = rt;
            vae = load_vae(files.vae, files.vae_bfl, vrt);
            report["model"] = args.model;
        } else {
            dit = NextDiT(NextDiTConfig{}, rt.options());
            randomise(*dit, args.seed);
            report["model"] = "random (released config)";
        }
        dit->eval();
        const auto& cfg = dit->config();
        if (!args.write_random.empty()) {
            namespace fs = std::filesystem;
            fs::create_directories(fs::path(args.write_random) / "transformer");
            const auto path = (fs::path(args.write_random) / "transformer" / "diffusion_pytorch_model.safetensors");
            write_safetensors(path.string(), to_blobs(*dit, torch::kBFloat16));
            std::cout << "wrote " << path.string() << "\n";
        }

        auto& cases = report["transformer"] = nlohmann::json::array();
        auto run_case = [&](const std::string& kind, int64_t side, const std::vector<int64_t>& lens) {
            auto in = make_inputs(cfg, rt, side, lens);
            release_cached_device_memory();
            reset_peak_device_memory(dev);
            // The whole forward (captions encoded in it, as the reference's forward does).
            const double ms =
                time_ms(dev, args.warmup, args.iters, [&] { dit->forward(in.x, in.t, in.cap, in.lens, in.pooled); });
            const auto mem = memory_report(dev.str());
            // The forward of one sampler step as the pipeline runs it: captions encoded once per batch, then the
            // eager forward, and the forward replayed as a CUDA graph (StepForward; eager where graphs are off).
            auto caps = dit->encode_captions(in.cap, in.lens);
            const double ms_step_eager =
                time_ms(dev, args.warmup, args.iters, [&] { dit->forward(in.x, in.t, caps, in.pooled); });
            double ms_step = ms_step_eager;
            int64_t graph_reserved = 0;
            {
                StepForward step(dit);
                const MemoryReport before = memory_report(dev.str());
                ms_step =
                    time_ms(dev, std::max(args.warmup, 2), args.iters, [&] { step(in.x, in.t, caps, in.pooled); });
                graph_reserved = memory_report(dev.str()).reserved - before.reserved;
                if (step.captures() == 0 && cuda_graphs_enabled() && dev.is_cuda())
                    std::printf("(no CUDA graph was captured: the step forward ran eagerly)\n");
            }
            const int64_t B = static_cast<int64_t>(lens.size());
            const double flops = forward_flops(cfg, lens, (side / 16) * (side / 16));
            const double per_img = B >= 2 ? B / 2.0 : 1.0;
            nlohmann::ordered_json r = {{"kind", kind},
                                        {"batch", B},
                                        {"size", side},
                                        {"caption_lengths", lens},
                                        {"ms_per_forward", ms},
                                        {"ms_per_image_step", ms / per_img},
                                        {"tflops", flops / ms / 1e9},
                                        {"ms_per_step_forward_eager", ms_step_eager},
                                        {"ms_per_step_forward", ms_step},
                                        {"ms_per_image_step_in_sampler", ms_step / per_img},
                                        {"cuda_graphs", cuda_graphs_enabled() && dev.is_cuda()},
                                        {"graph_reserved_gib", gib(graph_reserved)},
                                        {"peak_allocated_gib", gib(mem.peak_allocated)},
                                        {"reserved_gib", gib(mem.reserved)}};
            const std::string cap_name =
                std::to_string(lens.front()) + (lens.front() != lens.back() ? "/" + std::to_string(lens.back()) : "");
            std::printf(
                "%-8s B%-2lld %4lld^2 cap %-9s %9.2f ms/forward %8.2f ms/image-step %6.1f TFLOP/s  peak %.2f GiB\n",
                kind.c_str(), static_cast<long long>(B), static_cast<long long>(side), cap_name.c_str(), ms,
                r["ms_per_image_step"].get<double>(), r["tflops"].get<double>(), gib(mem.peak_allocated));
            std::printf(
                "%-8s B%-2lld %4lld^2 cap %-9s step forward: eager %9.2f ms, %s %9.2f ms (%8.2f ms/image-step)\n",
                kind.c_str(), static_cast<long long>(B), static_cast<long long>(side), cap_name.c_str(), ms_step_eager,
                r["cuda_graphs"].get<bool>() ? "graph" : "eager", ms_step, ms_step / per_img);
            std::fflush(stdout);
            cases.push_back(r);
            if (!args.profile.empty()) {
                std::filesystem::create_directories(args.profile);
                charaforge::bench::profile_once(dev,
                                                args.profile + "/trace-" + kind + "-B" + std::to_string(B) + "-" +
                                                    std::to_string(side) + ".json",
                                                [&] { dit->forward(in.x, in.t, in.cap, in.lens, in.pooled); });
            }
        };
        for (auto side : args.sizes)
            for (auto B : args.batches)
                for (auto L : args.captions)
                    run_case("uniform", side, std::vector<int64_t>(static_cast<std::size_t>(B), L));
        if (!args.mixed.empty())
            for (auto side : args.sizes)
                for (auto B : args.batches) {
                    if (B < 2 || B % 2)
                        continue;
                    std::vector<int64_t> lens(static_cast<std::size_t>(B / 2), args.mixed[0]);
                    lens.insert(lens.end(), static_cast<std::size_t>(B / 2), args.mixed[1]);
                    run_case("cfg-mix", side, lens);
                }

        // fp8 mode (off by default in the app): its error against the fp32 forward of the same (bf16) weights, next
        // to the bf16 forward's, at batch 2 and the first size with 256-token captions; then its speed per uniform
        // batch, as the whole forward and as the sampler's step forward. Exact and fast fp8 accumulation.
        const std::string fp8_why = fp8_unsupported_reason(dev);
        if (!args.fp8) {
        } else if (!fp8_why.empty()) {
            std::printf("fp8: not measured: %s\n", fp8_why.c_str());
        } else if (!args.sizes.empty()) {
            auto& f8 = report["fp8"] = nlohmann::ordered_json::object();
            const int64_t side = args.sizes.front();
            auto in = make_inputs(cfg, rt, side, {256, 256});
            torch::Tensor ref;
            {
                NextDiT f32(cfg, torch::TensorOptions().device(dev).dtype(torch::kFloat32));
                auto src = dit->named_parameters(true);
                for (auto& p : f32->named_parameters(true))
                    p.value().copy_(src[p.key()]);
                f32->eval();
                ref = f32->forward(in.x, in.t, in.cap, in.lens, in.pooled).to(torch::kFloat64);
            }
            release_cached_device_memory();
            const double ref_max = ref.abs().max().item<double>(), ref_rms = ref.pow(2).mean().sqrt().item<double>();
            auto error = [&](const std::string& name, const torch::Tensor& y) {
                auto d = y.to(torch::kFloat64) - ref;
                const double rel = d.abs().max().item<double>() / ref_max;
                const double rms = d.pow(2).mean().sqrt().item<double>() / ref_rms;
                std::printf("precision B2 %lld^2 cap 256: %-9s vs fp32: max abs / max |ref| %.3e, rms rel %.3e\n",
                            static_cast<long long>(side), name.c_str(), rel, rms);
                f8["error_vs_fp32"][name] = {{"rel", rel}, {"rms_rel", rms}};
            };
            error("bf16", dit->forward(in.x, in.t, in.cap, in.lens, in.pooled));
            for (const bool fast : {false, true}) {
                const std::string mode = fast ? "fp8-fast" : "fp8";
                const int64_t bytes = quantize_nextdit_fp8(dit, true, fast);
                f8["weight_bytes"] = bytes;
                error(mode, dit->forward(in.x, in.t, in.cap, in.lens, in.pooled));
                for (auto B : args.batches) {
                    auto bin = make_inputs(cfg, rt, side, std::vector<int64_t>(static_cast<std::size_t>(B), 256));
                    const double ms = time_ms(dev, args.warmup, args.iters,
                                              [&] { dit->forward(bin.x, bin.t, bin.cap, bin.lens, bin.pooled); });
                    auto caps = dit->encode_captions(bin.cap, bin.lens);
                    StepForward step(dit);
                    const double ms_step = time_ms(dev, std::max(args.warmup, 2), args.iters,
                                                   [&] { step(bin.x, bin.t, caps, bin.pooled); });
                    const double per_img = B >= 2 ? B / 2.0 : 1.0;
                    std::printf("%-8s B%-2lld %4lld^2 cap 256       %9.2f ms/forward %8.2f ms/image-step; step forward "
                                "%9.2f ms (%8.2f ms/image-step)\n",
                                mode.c_str(), static_cast<long long>(B), static_cast<long long>(side), ms, ms / per_img,
                                ms_step, ms_step / per_img);
                    f8["cases"].push_back({{"mode", mode},
                                           {"batch", B},
                                           {"size", side},
                                           {"ms_per_forward", ms},
                                           {"ms_per_image_step", ms / per_img},
                                           {"ms_per_step_forward", ms_step},
                                           {"ms_per_image_step_in_sampler", ms_step / per_img}});
                }
            }
            drop_nextdit_fp8(dit);
            release_cached_device_memory();
        }

        // VAE decode/encode per size and dtype (random weights unless a model was given).
        auto& vres = report["vae"] = nlohmann::json::array();
        for (const auto& dname : args.vae_dtypes) {
            const auto vdt = parse_dtype(dname);
            AutoencoderKL v{nullptr};
            if (vae && vae->parameters().front().scalar_type() == vdt) {
                v = vae;
            } else if (vae) {
                v = vae;
                v->to(vdt);
            } else {
                v = AutoencoderKL(VaeConfig{}, torch::TensorOptions().device(dev).dtype(vdt));
                randomise(*v, args.seed + 1);
            }
            v->eval();
            for (auto side : args.vae_sizes) {
                auto z = torch::randn({1, 16, side / 8, side / 8}, torch::TensorOptions().device(dev).dtype(vdt));
                auto img = torch::rand({1, 3, side, side}, torch::TensorOptions().device(dev).dtype(vdt));
                const double dec = time_ms(dev, 1, args.iters, [&] { v->decode(z); });
                const double enc = time_ms(dev, 1, args.iters, [&] { v->encode(img); });
                std::printf("vae %-4s %4lld^2 decode %8.2f ms  encode %8.2f ms\n", dname.c_str(),
                            static_cast<long long>(side), dec, enc);
                vres.push_back({{"dtype", dname}, {"size", side}, {"decode_ms", dec}, {"encode_ms", enc}});
            }
            if (!vae)
                v = nullptr;
            else
                vae->to(rt.vae_dtype);
        }
        // The bf16 decode against the fp32 decode of the same weights and latent, in 8-bit levels of the image
        // (random weights unless a model was given: their images are not natural ones).
        if (!args.vae_sizes.empty() && dev.is_cuda()) {
            AutoencoderKL v{nullptr};
            if (vae) {
                v = vae;
                v->to(torch::kFloat32);
            } else {
                v = AutoencoderKL(VaeConfig{}, torch::TensorOptions().device(dev).dtype(torch::kFloat32));
                randomise(*v, args.seed + 1);
            }
            v->eval();
            const int64_t side = args.vae_sizes.front();
            torch::manual_seed(args.seed + 2);
            auto z = torch::randn({1, 16, side / 8, side / 8}, torch::TensorOptions().device(dev));
            auto levels = [](const torch::Tensor& rgb) {
                return rgb.to(torch::kFloat32).mul(255).round().clamp(0, 255);
            };
            auto ref = levels(v->decode(z));
            v->to(torch::kBFloat16);
            auto got = levels(v->decode(z.to(torch::kBFloat16)));
            auto diff = (got - ref).abs();
            const double max_levels = diff.max().item<double>(), mean_levels = diff.mean().item<double>();
            const double over1 = (diff > 1).to(torch::kFloat64).mean().item<double>();
            std::printf(
                "vae bf16 vs fp32 decode %lld^2: max %.0f levels, mean %.4f levels, %.4f%% of values off by > 1\n",
                static_cast<long long>(side), max_levels, mean_levels, 100.0 * over1);
            report["vae_bf16_vs_fp32"] = {{"size", side},
                                          {"max_levels", max_levels},
                                          {"mean_levels", mean_levels},
                                          {"fraction_over_1_level", over1},
                                          {"weights", vae ? "model" : "random"}};
            if (vae)
                vae->to(rt.vae_dtype);
        }
        if (!vae) {
            vae = AutoencoderKL(VaeConfig{}, torch::TensorOptions().device(dev).dtype(rt.vae_dtype));
            randomise(*vae, args.seed + 1);
            vae->eval();
        }

        // One image end to end as the pipeline samples it: noise, shifted grid, Euler, cond + uncond rows in one
        // forward, guidance, VAE decode in the runtime's VAE dtype, RGB to host memory (no PNG encode).
        if (args.e2e_steps > 0 && !args.sizes.empty()) {
            const int64_t side = args.sizes.front();
            const std::vector<int64_t> lens = args.mixed.empty() ? std::vector<int64_t>{256, 256} : args.mixed;
            auto in = make_inputs(cfg, rt, side, lens);
            auto scale = torch::full({1}, 5.0f, torch::TensorOptions().device(dev));
            const auto grid = shifted_time_grid(args.e2e_steps, 6.0);
            // The decode in the runtime's VAE dtype (fp32), then in bf16 for comparison.
            auto& e2e = report["e2e"] = nlohmann::json::array();
            for (const auto vdt : {rt.vae_dtype, torch::kBFloat16}) {
                if (!e2e.empty() && vdt == rt.vae_dtype)
                    continue;
                vae->to(vdt);
                auto once = [&] {
                    // The captions are encoded once per image and the step forward replayed as a CUDA graph, as
                    // the pipeline does.
                    auto caps = dit->encode_captions(in.cap, in.lens);
                    StepForward step(dit);
                    auto x = torch::randn({1, cfg.in_channels, side / 8, side / 8},
                                          torch::TensorOptions().device(dev).dtype(torch::kFloat32));
                    auto velocity = [&](const torch::Tensor& xt, float t) {
                        auto x_in = torch::cat({xt, xt});
                        auto t_in = torch::full({2}, t, torch::TensorOptions().device(dev).dtype(torch::kFloat32));
                        auto v = step(x_in, t_in, caps, in.pooled).to(torch::kFloat32);
                        return guide(v.narrow(0, 0, 1), v.narrow(0, 1, 1), scale, 0.0);
                    };
                    x = integrate_flow(Solver::Euler, x, grid, velocity);
                    step.reset();
                    auto rgb = vae->decode(x.to(vdt)); // [1, 3, H, W] in [0, 1]
                    auto bytes = rgb[0].mul(255).round().clamp(0, 255).to(torch::kUInt8).permute({1, 2, 0}).cpu();
                    (void)bytes;
                };
                const double ms = time_ms(dev, 1, 2, once);
                const std::string vname = vdt == torch::kBFloat16 ? "bf16" : vdt == torch::kHalf ? "fp16" : "fp32";
                std::printf("e2e %lld^2 %d Euler steps CFG (captions %lld/%lld), VAE %s: %.1f ms per image\n",
                            static_cast<long long>(side), args.e2e_steps, static_cast<long long>(lens[0]),
                            static_cast<long long>(lens[1]), vname.c_str(), ms);
                e2e.push_back({{"size", side},
                               {"steps", args.e2e_steps},
                               {"solver", "euler"},
                               {"cfg", true},
                               {"caption_lengths", lens},
                               {"vae_dtype", vname},
                               {"ms", ms},
                               {"text_encoding", "not included: embeddings given"}});
            }
            vae->to(rt.vae_dtype);
        }
        write_report(args.out, report);
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "charaforge-bench: " << e.what() << "\n";
        return 1;
    }
}
