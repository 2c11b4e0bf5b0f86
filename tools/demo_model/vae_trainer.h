#pragma once
// The demo model's VAE (issue 14): the engine's own AutoencoderKL (FLUX layout, 16 latent channels, 8x
// downsampling) at a small width, trained from a seeded random init with LibTorch autograd on the procedural
// character images, then written as vae/{config.json, diffusion_pytorch_model.safetensors} in the diffusers
// layout that locate_model/load_vae read with no special path.
// Loss: L1 in [-1, 1] pixel space of decode(z), z sampled from the posterior N(mean, exp(logvar)), plus
// kl_weight x the KL divergence to N(0, 1) (both means over elements); AdamW with warm-up and cosine decay.
// After training, shift_factor and scaling_factor are the posterior means' mean and 1/std over a sample of the
// training images (spec newbie-model.md §4.2: latents = (mean - shift) * scale).
// Internal header of charaforge_demo_trainer (LibTorch, engine internals), not a public engine header.
#include "vae.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace charaforge::demo {

// The demo VAE's architecture: block_out_channels {32, 64, 128, 128}, one resnet per encoder level (two per
// decoder level), 16 GroupNorm groups, mid-block attention, 16 latent channels. scaling_factor 1 and
// shift_factor 0 until train_demo_vae measures them.
engine::VaeConfig demo_vae_config();

struct VaeTrainOptions {
    int steps = 3000;
    int batch = 16;
    int crop = 0; // > 0: each batch is one random square crop of this many pixels (a multiple of 8); 0: whole images
    double learning_rate = 4e-4; // peak, after a linear warm-up
    int warmup_steps = 100;
    double final_lr_fraction = 0.1; // cosine decay from the peak to this fraction of it at the last step
    double weight_decay = 0.01;
    double kl_weight = 1e-5;    // relative to the per-element L1 (both are means over their elements)
    double max_grad_norm = 1.0; // global gradient-norm clip (no host sync); 0: none
    int heldout_images = 8;     // the last images of the set, never trained on: the reconstruction report's batch
    int stats_images = 512;     // training images (evenly spaced) whose posterior means give shift and scale
    int log_every = 25;         // the losses are read back from the device (one host sync) every this many steps
    uint64_t seed = 0;
    std::string device = "cpu";   // "cpu", "cuda", "cuda:N" (as RuntimeOptions::device); fp32 weights, TF32 on CUDA
    bool cudnn_benchmark = false; // true: faster CUDA convolutions, not bitwise reproducible from the seed
};

struct VaeTrainReport {
    std::vector<double> losses;         // the training loss (L1 + kl_weight KL) of every step
    std::vector<double> reconstruction; // its L1 part (in [-1, 1] units) of every step
    std::vector<double> kl;             // its KL part (per latent element, before the weight) of every step
    // Held-out reconstruction (decode of the posterior mean, pixels in [0, 1]): mean absolute error and PSNR (dB).
    double heldout_l1_before = 0, heldout_l1_after = 0;
    double heldout_psnr_before = 0, heldout_psnr_after = 0;
    double latent_mean = 0, latent_std = 0; // the posterior means' statistics that gave shift and scale
    int64_t train_images = 0, heldout_images = 0, stats_images = 0;
    int64_t parameters = 0;
    double seconds = 0; // training time (steps only)
};

struct VaeTrainResult {
    engine::AutoencoderKL vae{nullptr}; // fp32 on the options' device, built with `config` (its scale and shift)
    engine::VaeConfig config;
    VaeTrainReport report;
};

// Called every log_every steps and after the last step (1-based) with that step's loss.
using VaeTrainProgress = std::function<void(int step, int total, double loss)>;

// images: uint8 CPU [N, H, W, 3] RGB, H and W multiples of 8 (and of the crop), N > heldout_images.
// Throws std::invalid_argument naming the option or the images' property that is wrong.
VaeTrainResult train_demo_vae(const torch::Tensor& images, const engine::VaeConfig& cfg, const VaeTrainOptions& options,
                              const VaeTrainProgress& progress = {});

// Writes dir/vae/{config.json, diffusion_pytorch_model.safetensors} (diffusers keys, bf16) with `cfg`'s scale and
// shift. `cfg`'s architecture must be the model's (std::invalid_argument naming the field otherwise).
void write_demo_vae(const std::string& dir, engine::AutoencoderKL& vae, const engine::VaeConfig& cfg);

} // namespace charaforge::demo
