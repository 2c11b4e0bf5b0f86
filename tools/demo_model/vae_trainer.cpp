// Ref: diffusers src/diffusers/models/autoencoders/vae.py (DiagonalGaussianDistribution: logvar clamp [-30, 20],
//      sample = mean + exp(logvar / 2) eps, kl = 0.5 (mean^2 + var - 1 - logvar)); the FLUX latent normalisation
//      of spec newbie-model.md §4.2 (latents = (mean - shift_factor) * scaling_factor).
#include "vae_trainer.h"

#include "charaforge/engine/pipeline.h"
#include "file_util.h"
#include "runtime.h"
#include "safetensors.h"
#include "weights.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <numbers>
#include <optional>
#include <stdexcept>

namespace charaforge::demo {
namespace {

namespace fs = std::filesystem;
namespace eng = charaforge::engine;

[[noreturn]] void bad(const std::string& what) {
    throw std::invalid_argument("demo VAE training: " + what);
}

void validate(const torch::Tensor& images, const eng::VaeConfig& cfg, const VaeTrainOptions& o) {
    if (o.steps < 1 || o.batch < 1)
        bad("steps and batch must be >= 1, got " + std::to_string(o.steps) + " and " + std::to_string(o.batch));
    if (!(o.learning_rate > 0) || o.warmup_steps < 0 || !(o.final_lr_fraction >= 0 && o.final_lr_fraction <= 1))
        bad("learning_rate must be > 0, warmup_steps >= 0 and final_lr_fraction in [0, 1]");
    if (!(o.weight_decay >= 0) || !(o.kl_weight >= 0) || !(o.max_grad_norm >= 0))
        bad("weight_decay, kl_weight and max_grad_norm must not be negative");
    if (o.heldout_images < 1 || o.stats_images < 1 || o.log_every < 1)
        bad("heldout_images, stats_images and log_every must be >= 1");
    const int64_t f = int64_t{1} << (cfg.block_out_channels.size() - 1);
    if (!images.defined() || images.dim() != 4 || images.size(3) != 3 || images.scalar_type() != torch::kUInt8 ||
        !images.device().is_cpu())
        bad("images must be a uint8 CPU tensor [N, H, W, 3], got " +
            (images.defined() ? c10::str(images.sizes(), " ", images.scalar_type(), " on ", images.device())
                              : std::string("an undefined tensor")));
    if (images.size(1) % f != 0 || images.size(2) % f != 0)
        bad("image size " + std::to_string(images.size(2)) + "x" + std::to_string(images.size(1)) +
            " is not a multiple of the VAE's factor " + std::to_string(f));
    if (images.size(0) <= o.heldout_images)
        bad(std::to_string(images.size(0)) + " images leave none to train on after heldout_images " +
            std::to_string(o.heldout_images));
    if (o.crop < 0 || o.crop % f != 0 || o.crop > std::min(images.size(1), images.size(2)))
        bad("crop " + std::to_string(o.crop) + " must be 0 or a multiple of " + std::to_string(f) +
            " no larger than the images");
}

// PyTorch's default initialisation of conv and linear weights (kaiming_uniform with a = sqrt(5):
// U(-1/sqrt(fan_in), 1/sqrt(fan_in))), zero biases, GroupNorm weight 1 and bias 0; drawn in order from one CPU
// generator, so the same seed gives the same weights on every device.
void init_for_training(torch::nn::Module& module, uint64_t seed) {
    torch::NoGradGuard no_grad;
    auto gen = at::detail::createCPUGenerator(seed);
    for (auto& p : module.named_parameters(true)) {
        auto& t = p.value();
        torch::Tensor v;
        if (t.dim() >= 2) {
            const double bound = 1.0 / std::sqrt(static_cast<double>(t.numel() / t.size(0)));
            v = at::rand(t.sizes(), gen) * (2 * bound) - bound;
        } else if (p.key().size() >= 6 && p.key().compare(p.key().size() - 6, 6, "weight") == 0) {
            v = torch::ones(t.sizes()); // the only 1-D weights are GroupNorm's
        } else {
            v = torch::zeros(t.sizes());
        }
        t.copy_(v);
    }
}

// The posterior starts narrow (log-variance bias kInitialLogvar): a unit-variance start buries the random encoder's
// means in sampling noise, and the decoder then learns only the data's mean colour for many steps.
constexpr double kInitialLogvar = -6.0;

void init_posterior(eng::AutoencoderKL& vae, int64_t latent_channels) {
    torch::NoGradGuard no_grad;
    const auto params = vae->named_parameters(true);
    const auto* bias = params.find("encoder.conv_out.bias"); // [2 latent]: means, then log-variances
    if (bias == nullptr)
        throw std::logic_error("demo VAE training: the engine's AutoencoderKL has no encoder.conv_out.bias");
    bias->narrow(0, latent_channels, latent_channels).fill_(kInitialLogvar);
}

// A CPU tensor on `dev` without a host sync on CUDA (pinned, asynchronous copy).
torch::Tensor to_device(const torch::Tensor& cpu, const torch::Device& dev) {
    return dev.is_cuda() ? cpu.pin_memory().to(dev, /*non_blocking=*/true) : cpu;
}

// Restores the global cuDNN/cuBLAS switches that training changes.
class CudaSettings {
public:
    explicit CudaSettings(bool benchmark)
        : tf32_cudnn_(at::globalContext().allowTF32CuDNN()), tf32_cublas_(at::globalContext().allowTF32CuBLAS()),
          benchmark_(at::globalContext().benchmarkCuDNN()), deterministic_(at::globalContext().deterministicCuDNN()) {
        at::globalContext().setAllowTF32CuDNN(true);
        at::globalContext().setAllowTF32CuBLAS(true);
        at::globalContext().setBenchmarkCuDNN(benchmark);
        at::globalContext().setDeterministicCuDNN(!benchmark);
    }
    ~CudaSettings() {
        at::globalContext().setAllowTF32CuDNN(tf32_cudnn_);
        at::globalContext().setAllowTF32CuBLAS(tf32_cublas_);
        at::globalContext().setBenchmarkCuDNN(benchmark_);
        at::globalContext().setDeterministicCuDNN(deterministic_);
    }
    CudaSettings(const CudaSettings&) = delete;
    CudaSettings& operator=(const CudaSettings&) = delete;

private:
    bool tf32_cudnn_, tf32_cublas_, benchmark_, deterministic_;
};

// uint8 [B, 3, H, W] -> fp32 in [-1, 1].
torch::Tensor to_signed_unit(const torch::Tensor& u8) {
    return u8.to(torch::kFloat32).div(127.5).sub(1.0);
}

struct Heldout {
    double l1 = 0, psnr = 0;
};

// Decode of the posterior mean against the images, pixels in [0, 1].
Heldout heldout_error(eng::AutoencoderKL& vae, const torch::Tensor& x, int64_t latent_channels, int64_t batch) {
    torch::NoGradGuard no_grad;
    double abs_sum = 0, sq_sum = 0;
    for (int64_t i = 0; i < x.size(0); i += batch) {
        const auto xb = x.narrow(0, i, std::min(batch, x.size(0) - i));              // [b, 3, H, W] in [-1, 1]
        const auto mean = vae->encoder_forward(xb).narrow(1, 0, latent_channels);    // [b, 16, h, w]
        const auto rgb = ((vae->decoder_forward(mean) + 1.0) * 0.5).clamp(0.0, 1.0); // [b, 3, H, W]
        const auto diff = rgb - (xb + 1.0) * 0.5;                                    // [b, 3, H, W]
        abs_sum += diff.abs().sum().item<double>();
        sq_sum += diff.square().sum().item<double>();
    }
    const auto n = static_cast<double>(x.numel());
    return {abs_sum / n, 10.0 * std::log10(1.0 / std::max(sq_sum / n, 1e-12))};
}

void check_same_architecture(const eng::VaeConfig& a, const eng::VaeConfig& b) {
    auto differs = [](const char* field) {
        throw std::invalid_argument(std::string("write_demo_vae: cfg.") + field + " differs from the model's");
    };
    if (a.in_channels != b.in_channels)
        differs("in_channels");
    if (a.out_channels != b.out_channels)
        differs("out_channels");
    if (a.latent_channels != b.latent_channels)
        differs("latent_channels");
    if (a.block_out_channels != b.block_out_channels)
        differs("block_out_channels");
    if (a.layers_per_block != b.layers_per_block)
        differs("layers_per_block");
    if (a.norm_num_groups != b.norm_num_groups)
        differs("norm_num_groups");
    if (a.norm_eps != b.norm_eps)
        differs("norm_eps");
    if (a.mid_block_add_attention != b.mid_block_add_attention)
        differs("mid_block_add_attention");
}

} // namespace

eng::VaeConfig demo_vae_config() {
    eng::VaeConfig c;
    c.latent_channels = 16;
    c.block_out_channels = {32, 64, 128, 128};
    c.layers_per_block = 1;
    c.norm_num_groups = 16;
    c.mid_block_add_attention = true;
    c.scaling_factor = 1.0;
    c.shift_factor = 0.0;
    return c;
}

VaeTrainResult train_demo_vae(const torch::Tensor& images, const eng::VaeConfig& cfg, const VaeTrainOptions& o,
                              const VaeTrainProgress& progress) {
    validate(images, cfg, o);
    // The engine's fused CUDA kernels have no backward: the ATen compositions, which autograd differentiates.
    ::setenv("CHARAFORGE_FUSED", "0", 1);
    eng::RuntimeOptions runtime_options;
    runtime_options.device = o.device;
    runtime_options.dtype = "fp32";
    const torch::Device dev = eng::make_runtime(runtime_options).device;
    c10::InferenceMode inference_off(false);
    torch::AutoGradMode grad_on(true);
    std::optional<CudaSettings> cuda_settings;
    if (dev.is_cuda())
        cuda_settings.emplace(o.cudnn_benchmark);

    const auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(dev);
    eng::AutoencoderKL vae(cfg, opts);
    init_for_training(*vae, o.seed);
    init_posterior(vae, cfg.latent_channels);
    for (auto& p : vae->parameters()) // the engine registers its weights frozen (inference only)
        p.set_requires_grad(true);

    const int64_t n = images.size(0), H = images.size(1), W = images.size(2);
    const int64_t n_heldout = o.heldout_images, n_train = n - n_heldout;
    const auto pixels = images.permute({0, 3, 1, 2}).contiguous();                     // [N, 3, H, W] uint8
    const auto train_u8 = pixels.narrow(0, 0, n_train).to(dev);                        // [n_train, 3, H, W]
    const auto heldout = to_signed_unit(pixels.narrow(0, n_train, n_heldout)).to(dev); // [n_heldout, 3, H, W]
    const int64_t f = vae->downscale_factor(), C = cfg.latent_channels;
    const int64_t crop_h = o.crop > 0 ? o.crop : H, crop_w = o.crop > 0 ? o.crop : W;

    VaeTrainReport report;
    report.train_images = n_train;
    report.heldout_images = n_heldout;
    for (const auto& p : vae->parameters())
        report.parameters += p.numel();
    const Heldout before = heldout_error(vae, heldout, C, o.batch);
    report.heldout_l1_before = before.l1;
    report.heldout_psnr_before = before.psnr;

    // Every random number comes from CPU generators, then moves to the device: the same seed gives the same batches,
    // crops and posterior samples on every device.
    auto gen = at::detail::createCPUGenerator(o.seed ^ 0x7ae5eedULL);
    const auto batches = to_device(at::randint(n_train, {o.steps, o.batch}, gen, torch::kLong), dev); // [S, B]
    const auto crop_y = at::randint(H - crop_h + 1, {o.steps}, gen, torch::kLong);                    // [S] CPU
    const auto crop_x = at::randint(W - crop_w + 1, {o.steps}, gen, torch::kLong);                    // [S] CPU
    const auto* cy = crop_y.data_ptr<int64_t>();
    const auto* cx = crop_x.data_ptr<int64_t>();

    torch::optim::AdamW optimiser(vae->parameters(),
                                  torch::optim::AdamWOptions(o.learning_rate).weight_decay(o.weight_decay));
    const auto params = vae->parameters();
    auto lr_at = [&](int step) { // 1-based
        const double warm = o.warmup_steps > 0 ? std::min(1.0, static_cast<double>(step) / o.warmup_steps) : 1.0;
        const double span = std::max(1, o.steps - o.warmup_steps);
        const double progress01 = std::clamp(static_cast<double>(step - o.warmup_steps) / span, 0.0, 1.0);
        const double cosine = 0.5 * (1.0 + std::cos(std::numbers::pi * progress01));
        return o.learning_rate * warm * (o.final_lr_fraction + (1.0 - o.final_lr_fraction) * cosine);
    };

    // Per-step (loss, L1, KL) stay on the device until read back every log_every steps.
    auto history = torch::zeros({o.steps, 3}, opts); // [S, 3]
    int read = 0;
    auto read_back = [&](int upto) {
        const auto chunk = history.narrow(0, read, upto - read).to(torch::kCPU).to(torch::kDouble).contiguous();
        const auto* v = chunk.data_ptr<double>();
        for (int i = 0; i < upto - read; ++i) {
            report.losses.push_back(v[3 * i]);
            report.reconstruction.push_back(v[3 * i + 1]);
            report.kl.push_back(v[3 * i + 2]);
        }
        read = upto;
        if (progress)
            progress(upto, o.steps, report.losses.back());
    };

    const auto start = std::chrono::steady_clock::now();
    for (int step = 1; step <= o.steps; ++step) {
        const int s = step - 1;
        for (auto& group : optimiser.param_groups())
            static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr_at(step));
        const auto x = to_signed_unit(train_u8.index_select(0, batches[s])
                                          .narrow(2, cy[s], crop_h)
                                          .narrow(3, cx[s], crop_w)); // [B, 3, h f, w f] in [-1, 1]
        const auto eps = to_device(at::randn({o.batch, C, crop_h / f, crop_w / f}, gen), dev); // [B, 16, h, w]

        const auto moments = vae->encoder_forward(x); // [B, 32, h, w]
        const auto mean = moments.narrow(1, 0, C);    // [B, 16, h, w]
        const auto logvar = moments.narrow(1, C, C).clamp(-30.0, 20.0);
        const auto z = mean + (0.5 * logvar).exp() * eps; // a posterior sample
        const auto rec = vae->decoder_forward(z);         // [B, 3, h f, w f]
        const auto l1 = (rec - x).abs().mean();
        const auto kl = 0.5 * (mean.square() + logvar.exp() - 1.0 - logvar).mean();
        const auto loss = l1 + o.kl_weight * kl;

        optimiser.zero_grad();
        loss.backward();
        if (o.max_grad_norm > 0) { // clip on the device: no host sync
            torch::NoGradGuard no_grad;
            std::vector<torch::Tensor> squares;
            for (const auto& p : params)
                if (p.grad().defined())
                    squares.push_back(p.grad().square().sum());
            const auto norm = torch::stack(squares).sum().sqrt();
            const auto coef = (o.max_grad_norm / (norm + 1e-6)).clamp_max(1.0);
            for (const auto& p : params)
                if (p.grad().defined())
                    p.grad().mul_(coef);
        }
        optimiser.step();
        history[s].copy_(torch::stack({loss.detach(), l1.detach(), kl.detach()}));
        if (step % o.log_every == 0 || step == o.steps)
            read_back(step);
    }
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (auto& p : vae->parameters())
        p.set_requires_grad(false);

    const Heldout after = heldout_error(vae, heldout, C, o.batch);
    report.heldout_l1_after = after.l1;
    report.heldout_psnr_after = after.psnr;

    // Shift and scale from the posterior means of evenly spaced training images (whole images).
    eng::VaeConfig final_cfg = cfg;
    {
        torch::NoGradGuard no_grad;
        const int64_t k = std::min<int64_t>(o.stats_images, n_train);
        std::vector<int64_t> picks;
        for (int64_t i = 0; i < k; ++i)
            picks.push_back(i * n_train / k);
        const auto pick = torch::tensor(picks, torch::kLong).to(dev);
        auto sum = torch::zeros({}, opts.dtype(torch::kDouble)), sq = torch::zeros({}, opts.dtype(torch::kDouble));
        int64_t count = 0;
        for (int64_t i = 0; i < k; i += o.batch) {
            const auto xb =
                to_signed_unit(train_u8.index_select(0, pick.narrow(0, i, std::min<int64_t>(o.batch, k - i))));
            const auto mean = vae->encoder_forward(xb).narrow(1, 0, C).to(torch::kDouble); // [b, 16, h, w]
            sum += mean.sum();
            sq += mean.square().sum();
            count += mean.numel();
        }
        const double m = sum.item<double>() / static_cast<double>(count);
        const double var = sq.item<double>() / static_cast<double>(count) - m * m;
        if (!std::isfinite(m) || !(var > 0) || !std::isfinite(var))
            throw std::runtime_error("demo VAE training: the latents' statistics are not usable (mean " +
                                     std::to_string(m) + ", variance " + std::to_string(var) + ")");
        report.latent_mean = m;
        report.latent_std = std::sqrt(var);
        report.stats_images = k;
        final_cfg.shift_factor = m;
        final_cfg.scaling_factor = 1.0 / report.latent_std;
    }

    // The same weights in a model built with the measured scale and shift (encode/decode use them).
    VaeTrainResult result{eng::AutoencoderKL(final_cfg, opts), final_cfg, std::move(report)};
    {
        torch::NoGradGuard no_grad;
        const auto trained = vae->named_parameters(true);
        for (auto& p : result.vae->named_parameters(true))
            p.value().copy_(trained[p.key()]);
    }
    return result;
}

void write_demo_vae(const std::string& dir, eng::AutoencoderKL& vae, const eng::VaeConfig& cfg) {
    check_same_architecture(cfg, vae->config());
    if (!(cfg.scaling_factor > 0) || !std::isfinite(cfg.scaling_factor) || !std::isfinite(cfg.shift_factor))
        throw std::invalid_argument("write_demo_vae: cfg.scaling_factor must be finite and > 0 and "
                                    "cfg.shift_factor finite");
    const fs::path folder = fs::path(dir) / "vae";
    std::error_code ec;
    fs::create_directories(folder, ec);
    if (ec)
        throw std::runtime_error("write_demo_vae: cannot create " + folder.string() + ": " + ec.message());
    eng::write_safetensors((folder / "diffusion_pytorch_model.safetensors").string(),
                           eng::to_blobs(*vae, torch::kBFloat16));
    const nlohmann::ordered_json j = {{"_class_name", "AutoencoderKL"},
                                      {"in_channels", cfg.in_channels},
                                      {"out_channels", cfg.out_channels},
                                      {"latent_channels", cfg.latent_channels},
                                      {"block_out_channels", cfg.block_out_channels},
                                      {"layers_per_block", cfg.layers_per_block},
                                      {"act_fn", "silu"},
                                      {"norm_num_groups", cfg.norm_num_groups},
                                      {"norm_eps", cfg.norm_eps},
                                      {"scaling_factor", cfg.scaling_factor},
                                      {"shift_factor", cfg.shift_factor},
                                      {"use_quant_conv", false},
                                      {"use_post_quant_conv", false},
                                      {"mid_block_add_attention", cfg.mid_block_add_attention},
                                      {"force_upcast", true}};
    eng::write_file_atomic((folder / "config.json").string(), j.dump(2));
}

} // namespace charaforge::demo
