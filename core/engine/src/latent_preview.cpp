// Ref: spec newbie-model.md §5.1 (denoised estimate x_data = x_t + (1 - t) v) and §4 (VAE decode). No
//      published latent-to-RGB table is used: the projection is fitted to the loaded VAE at run time.
//
// Why a fit: over smooth regions the decoder acts on each latent pixel almost like a fixed affine map to
// the mean colour of its 8x8 pixel block, so a least-squares fit on a few smooth random latents recovers
// that map for any VAE (released, fine-tuned or the tiny test one) in one small decode, once per pipeline.
#include "latent_preview.h"

namespace charaforge::engine {

torch::Tensor smooth_latents(int64_t n, int64_t channels, int64_t size, uint64_t seed, int64_t cell) {
    TORCH_CHECK(cell >= 1 && size % cell == 0, "latent preview: size ", size, " is not a multiple of ", cell);
    auto gen = at::detail::createCPUGenerator(seed);
    auto coarse = at::randn({n, channels, size / cell, size / cell}, gen, torch::kFloat32); // [n, C, s/c, s/c]
    namespace F = torch::nn::functional;
    auto z = F::interpolate(coarse, F::InterpolateFuncOptions()
                                        .size(std::vector<int64_t>{size, size})
                                        .mode(torch::kBilinear)
                                        .align_corners(false)); // [n, C, s, s]
    // Interpolation averages neighbours and shrinks the variance; the sampler's latents have unit variance.
    return z / z.std();
}

torch::Tensor pooled_decode(AutoencoderKL& vae, const torch::Tensor& z) {
    c10::InferenceMode guard;
    const auto& cfg = vae->config();
    const int64_t f = vae->downscale_factor();
    const auto dev = vae->parameters().front().device();
    // AutoencoderKL::decode's normalisation, without its final clamp.
    auto latent = z.to(dev, torch::kFloat32) / cfg.scaling_factor + cfg.shift_factor; // [B, C, h, w]
    auto rgb = (vae->decoder_forward(latent).to(torch::kFloat32) + 1.0) * 0.5;        // [B, 3, f h, f w]
    return at::avg_pool2d(rgb, {f, f});                                               // [B, 3, h, w]
}

LatentRgbProjection fit_projection(const torch::Tensor& z, const torch::Tensor& rgb) {
    const int64_t C = z.size(1);
    auto x = z.to(torch::kCPU, torch::kFloat64).permute({0, 2, 3, 1}).reshape({-1, C});   // [N, C]
    auto y = rgb.to(torch::kCPU, torch::kFloat64).permute({0, 2, 3, 1}).reshape({-1, 3}); // [N, 3]
    x = torch::cat({x, torch::ones({x.size(0), 1}, x.options())}, 1);                     // [N, C + 1]
    // Normal equations in fp64 with a tiny ridge: C + 1 unknowns per colour over thousands of pixels.
    auto xtx = torch::matmul(x.t(), x); // [C + 1, C + 1]
    const double ridge = 1e-9 * xtx.diagonal().mean().item<double>();
    xtx = xtx + ridge * torch::eye(C + 1, x.options());
    auto w = at::linalg_solve(xtx, torch::matmul(x.t(), y)); // [C + 1, 3]
    LatentRgbProjection p;
    p.weight = w.narrow(0, 0, C).t().to(torch::kFloat32).contiguous(); // [3, C]
    p.bias = w[C].to(torch::kFloat32).contiguous();                    // [3]
    return p;
}

LatentRgbProjection fit_latent_rgb_projection(AutoencoderKL& vae, int64_t samples, int64_t size, uint64_t seed) {
    c10::InferenceMode guard;
    auto z = smooth_latents(samples, vae->config().latent_channels, size, seed); // [n, C, s, s]
    return fit_projection(z, pooled_decode(vae, z));
}

torch::Tensor project_latent_rgb(const LatentRgbProjection& p, const torch::Tensor& z) {
    const int64_t C = p.weight.size(1);
    auto weight = p.weight.to(z.device()).view({3, C, 1, 1});                // [3, C, 1, 1]
    return at::conv2d(z.to(torch::kFloat32), weight, p.bias.to(z.device())); // [B, 3, h, w]
}

} // namespace charaforge::engine
