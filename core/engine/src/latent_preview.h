#pragma once
// Cheap step previews: the predicted clean latent projected to RGB by a linear map that is fitted to the
// loaded VAE itself (so it holds for whatever VAE the model folder carries, the tiny test one included).
#include "vae.h"

namespace charaforge::engine {

// rgb = weight * latent + bias at every latent pixel, in the VAE's [0, 1] pixel scale (not clamped).
struct LatentRgbProjection {
    torch::Tensor weight; // [3, C] fp32, CPU
    torch::Tensor bias;   // [3] fp32, CPU
};

// Smooth latents in the sampler's normalised space: N(0, 1) noise drawn on a grid `cell` times coarser,
// bilinearly upsampled and rescaled to unit variance. Deterministic for a seed.
//   -> [n, channels, size, size] fp32 on the CPU (size a multiple of cell)
torch::Tensor smooth_latents(int64_t n, int64_t channels, int64_t size, uint64_t seed, int64_t cell = 4);

// What the preview approximates: the VAE decode of normalised latents z, average-pooled back to latent
// resolution, in [0, 1] scale but not clamped (the clamp would only blur the linear fit).
//   z [B, C, h, w] -> [B, 3, h, w] fp32 on the VAE's device
torch::Tensor pooled_decode(AutoencoderKL& vae, const torch::Tensor& z);

// Least-squares fit of rgb = weight * z + bias over every pixel: z [n, C, h, w], rgb [n, 3, h, w].
LatentRgbProjection fit_projection(const torch::Tensor& z, const torch::Tensor& rgb);

// Least-squares fit of [latent, 1] -> pooled_decode over `samples` smooth latents of size x size.
LatentRgbProjection fit_latent_rgb_projection(AutoencoderKL& vae, int64_t samples = 4, int64_t size = 32,
                                              uint64_t seed = 0x5eed);

// z [B, C, h, w] fp32 -> RGB [B, 3, h, w] fp32 on z's device (not clamped).
torch::Tensor project_latent_rgb(const LatentRgbProjection& p, const torch::Tensor& z);

} // namespace charaforge::engine
