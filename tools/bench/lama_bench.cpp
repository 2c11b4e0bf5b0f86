// Benchmark and parity fixture for the native big-lama generator (not a test): random weights in the released
// shapes, one forward per size for tools/parity/lama_parity.py to compare against advimman/lama's generator,
// then images per second at each batch size. Usage:
//   lama_bench WORK_DIR [--size 512x512] [--parity 512x512,376x632] [--batches 1,4,8,16] [--iters 10] [--seed 1]
//   [--formats nchw,nhwc] [--dtypes fp32,fp16,bf16] [--profile DIR] [--residual-gain G] [--no-timing]
// Writes WORK_DIR/weights.safetensors, WORK_DIR/parity_<W>x<H>.safetensors (input x, our output y in strict fp32,
// y_tf32 with TF32 convolutions, y_fp16 and y_bf16 with the narrow compute paths) and prints one JSON line per
// timing. Every format is timed in every dtype; fp32 means TF32 convolutions. --profile DIR: one more forward at
// B8 per format and dtype under the Kineto profiler, written as DIR/lama-FORMAT-DTYPE.json (LibTorch 2 only).
// --residual-gain G scales each residual block's second BatchNorm (weight and bias, so its ReLU output) by G:
// with G = 1 the random generator is chaotic (a TF32 rounding flips output pixels between 0 and 1), a trained
// one is not; G < 1 gives a random generator as tame as a trained residual net (Fixup-style), so that a
// parity figure measures the rounding of a compute path and not the chaos of random weights.
#include "kineto_profile.h"
#include "lama_ffc.h"
#include "safetensors.h"
#include "weights.h"

#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

using namespace charaforge::engine;

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    for (std::string item; std::getline(ss, item, sep);)
        if (!item.empty())
            out.push_back(item);
    return out;
}

std::pair<int64_t, int64_t> parse_size(const std::string& s) { // "WxH"
    const auto parts = split(s, 'x');
    if (parts.size() != 2)
        throw std::invalid_argument("lama_bench: size '" + s + "' is not WxH");
    return {std::stoll(parts[0]), std::stoll(parts[1])};
}

void sync(const torch::Device& d) {
    if (d.is_cuda())
        torch::cuda::synchronize();
}

// The reference wrapper's generator input for B images: cat(image * (1 - mask), mask), masks with a
// rectangular hole plus scattered pixels.
torch::Tensor make_input(int64_t B, int64_t w, int64_t h, uint64_t seed) {
    auto gen = at::detail::createCPUGenerator(seed);
    auto image = at::rand({B, 3, h, w}, gen);
    auto mask = (at::rand({B, 1, h, w}, gen) > 0.97).to(torch::kFloat32);
    mask.narrow(2, h / 4, h / 2).narrow(3, w / 3, w / 3).fill_(1.0);
    return torch::cat({image * (1 - mask), mask}, 1); // [B, 4, h, w]
}

} // namespace

int main(int argc, char** argv) try {
    if (argc < 2) {
        std::cerr << "usage: lama_bench WORK_DIR [--size 512x512] [--parity 512x512,376x632] [--batches 1,4,8,16] "
                     "[--iters 10] [--seed 1] [--formats nchw,nhwc] [--dtypes fp32,fp16,bf16] [--profile DIR] "
                     "[--device cuda]\n";
        return 2;
    }
    const std::string dir = argv[1];
    std::string size = "512x512", parity = "512x512,376x632", batches = "1,4,8,16", device_name = "cuda",
                formats = "nchw", dtypes = "fp32,fp16", profile;
    int iters = 10;
    double residual_gain = 1.0;
    bool timing = true;
    uint64_t seed = 1;
    for (int i = 2; i < argc; i += 2) {
        const std::string k = argv[i];
        if (k == "--no-timing") {
            timing = false;
            --i;
            continue;
        }
        if (i + 1 >= argc)
            throw std::invalid_argument("lama_bench: " + k + " needs a value");
        const std::string v = argv[i + 1];
        if (k == "--residual-gain")
            residual_gain = std::stod(v);
        else if (k == "--size")
            size = v;
        else if (k == "--parity")
            parity = v;
        else if (k == "--batches")
            batches = v;
        else if (k == "--iters")
            iters = std::stoi(v);
        else if (k == "--seed")
            seed = std::stoull(v);
        else if (k == "--formats")
            formats = v;
        else if (k == "--profile")
            profile = v;
        else if (k == "--dtypes")
            dtypes = v;
        else if (k == "--device")
            device_name = v;
        else
            throw std::invalid_argument("lama_bench: unknown option " + k);
    }
    if (!profile.empty() && !charaforge::bench::kHaveKineto)
        throw std::invalid_argument("lama_bench: --profile needs LibTorch 2 (Kineto)");
    const torch::Device device(device_name);
    c10::InferenceMode guard;
    LamaGenerator gen(LamaConfig{}, torch::TensorOptions().dtype(torch::kFloat32).device(device));
    init_lama_random(*gen, seed);
    if (residual_gain != 1.0) {
        torch::NoGradGuard no_grad;
        for (auto& p : gen->named_parameters(true))
            if (p.key().find(".conv2.bn_") != std::string::npos)
                p.value().mul_(residual_gain);
    }
    {
        std::vector<TensorBlob> blobs;
        for (const auto& p : gen->named_parameters(true))
            blobs.push_back(to_blob(p.key(), p.value()));
        for (const auto& b : gen->named_buffers(true))
            blobs.push_back(to_blob(b.key(), b.value()));
        write_safetensors(dir + "/weights.safetensors", blobs);
    }
    gen->eval();
    gen->fold_batchnorm();

    // Parity fixtures: strict fp32 (TF32 off) and TF32 convolutions (PyTorch's default for cuDNN).
    for (const auto& s : split(parity, ',')) {
        const auto [w, h] = parse_size(s);
        const auto x = make_input(1, w, h, seed + 100);
        at::globalContext().setAllowTF32CuDNN(false);
        at::globalContext().setAllowTF32CuBLAS(false);
        const auto y = gen->forward(x.to(device)).cpu();
        at::globalContext().setAllowTF32CuDNN(true);
        const auto y_tf32 = gen->forward(x.to(device)).cpu();
        std::vector<TensorBlob> blobs{to_blob("x", x), to_blob("y", y), to_blob("y_tf32", y_tf32)};
        for (const auto& dt : split(dtypes, ',')) { // the narrow ones asked for
            if (dt != "fp16" && dt != "bf16")
                continue;
            const std::string name = "y_" + dt;
            gen->set_compute_dtype(dt == "fp16" ? torch::kHalf : torch::kBFloat16);
            const auto yn = gen->forward(x.to(device)).cpu();
            std::printf("{\"impl\": \"ours\", \"parity\": \"%s\", \"output\": \"%s\", \"finite\": %s}\n", s.c_str(),
                        name.c_str(), torch::isfinite(yn).all().item<bool>() ? "true" : "false");
            blobs.push_back(to_blob(name, yn));
        }
        gen->set_compute_dtype(torch::kFloat32);
        write_safetensors(dir + "/parity_" + s + ".safetensors", blobs);
    }

    if (!timing)
        return 0;
    // Throughput with TF32 convolutions and cuDNN autotuning, as the reference runs by default plus benchmark.
    at::globalContext().setAllowTF32CuDNN(true);
    at::globalContext().setBenchmarkCuDNN(true);
    const auto [w, h] = parse_size(size);
    const auto probe = make_input(1, w, h, seed + 100).to(device);
    const auto y_nchw = gen->forward(probe).cpu();
    for (const auto& dt : split(dtypes, ','))
        for (const auto& fmt : split(formats, ',')) {
            if (fmt != "nchw" && fmt != "nhwc")
                throw std::invalid_argument("lama_bench: --formats takes nchw and/or nhwc, got " + fmt);
            if (dt != "fp32" && dt != "fp16" && dt != "bf16")
                throw std::invalid_argument("lama_bench: --dtypes takes fp32, fp16 and/or bf16, got " + dt);
            gen->set_channels_last(fmt == "nhwc");
            gen->set_compute_dtype(dt == "fp16" ? torch::kHalf : dt == "bf16" ? torch::kBFloat16 : torch::kFloat32);
            const double diff = (gen->forward(probe).cpu() - y_nchw).abs().max().item<double>();
            std::printf("{\"impl\": \"ours\", \"format\": \"%s\", \"dtype\": \"%s\", \"max_abs_vs_nchw_tf32\": %.3g}\n",
                        fmt.c_str(), dt.c_str(), diff);
            for (const auto& bs : split(batches, ',')) {
                const int64_t B = std::stoll(bs);
                const auto x = make_input(B, w, h, seed).to(device);
                for (int i = 0; i < 3; ++i)
                    gen->forward(x);
                sync(device);
                const auto t0 = std::chrono::steady_clock::now();
                for (int i = 0; i < iters; ++i)
                    gen->forward(x);
                sync(device);
                const double ms =
                    std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / iters;
                std::printf(
                    "{\"impl\": \"ours\", \"format\": \"%s\", \"dtype\": \"%s\", \"size\": \"%s\", \"B\": %lld, "
                    "\"ms_per_batch\": %.3f, \"images_per_s\": %.2f}\n",
                    fmt.c_str(), dt.c_str(), size.c_str(), static_cast<long long>(B), ms,
                    1000.0 * static_cast<double>(B) / ms);
                std::fflush(stdout);
            }
            if (!profile.empty()) {
                std::filesystem::create_directories(profile);
                const auto x = make_input(8, w, h, seed).to(device);
                charaforge::bench::profile_once(device, profile + "/lama-" + fmt + "-" + dt + ".json",
                                                [&] { gen->forward(x); });
            }
        }
    return 0;
} catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
}
