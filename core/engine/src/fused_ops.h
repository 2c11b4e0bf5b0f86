#pragma once
// Fused elementwise steps of the transformer. Each has an ATen composition (the CPU path and the reference of
// the GPU test) and, where the build found the CUDA toolkit, a CUDA kernel used for contiguous bf16/fp16
// tensors on the GPU.
#include <torch/torch.h>

#include <array>

namespace charaforge::engine::fused {

// SwiGLU's gating: silu(a) * b, elementwise. a, b [..., F] same shape and dtype -> [..., F].
// The CUDA kernel computes in fp32 and rounds once (the composition rounds after silu and after the product).
torch::Tensor silu_mul(const torch::Tensor& a, const torch::Tensor& b);

// The ATen composition, always (for tests).
torch::Tensor silu_mul_reference(const torch::Tensor& a, const torch::Tensor& b);

// RMSNorm (compat::rms_norm: fp32, weight w, eps) then the adaLN scale: rmsnorm(x) * (1 + scale[b]).
//   x [B, L, D], w [D], scale [B, D] (may be a strided chunk; undefined: no modulation) -> [B, L, D].
torch::Tensor rms_norm_modulate(const torch::Tensor& x, const torch::Tensor& w, double eps, const torch::Tensor& scale);
torch::Tensor rms_norm_modulate_reference(const torch::Tensor& x, const torch::Tensor& w, double eps,
                                          const torch::Tensor& scale);

// The block's gated residual: res + tanh(gate[b]) * rmsnorm(y) (gate undefined: res + rmsnorm(y)).
//   res, y [B, L, D], w [D], gate [B, D] -> [B, L, D].
torch::Tensor gated_residual_rms_norm(const torch::Tensor& res, const torch::Tensor& y, const torch::Tensor& w,
                                      double eps, const torch::Tensor& gate);
torch::Tensor gated_residual_rms_norm_reference(const torch::Tensor& res, const torch::Tensor& y,
                                                const torch::Tensor& w, double eps, const torch::Tensor& gate);

// Attention inputs from the fused qkv projection: q = rope(rmsnorm(q) * qw), k = rope(rmsnorm(k) * kw), v.
//   qkv [B, L, (Hq + 2 Hkv) Dh]; qw, kw [Dh]; cos/sin [B, L, Dh/2] fp32 -> q [B, L, Hq, Dh], k/v [B, L, Hkv, Dh].
// The CUDA kernel normalises and rotates in fp32 and rounds once (the composition, apply_rope of nextdit.h over
// compat::rms_norm, rounds after the norm and in the rotation).
std::array<torch::Tensor, 3> qk_norm_rope(const torch::Tensor& qkv, const torch::Tensor& qw, const torch::Tensor& kw,
                                          double eps, const torch::Tensor& cos, const torch::Tensor& sin, int64_t hq,
                                          int64_t hkv);
std::array<torch::Tensor, 3> qk_norm_rope_reference(const torch::Tensor& qkv, const torch::Tensor& qw,
                                                    const torch::Tensor& kw, double eps, const torch::Tensor& cos,
                                                    const torch::Tensor& sin, int64_t hq, int64_t hkv);

// Whether the fused CUDA kernels are used for this run; the environment variable CHARAFORGE_FUSED=0 turns them
// off (the ATen compositions run instead), for leave-one-out timings. Read once.
bool fused_enabled();

// True when this build has the CUDA kernels.
bool have_cuda_kernels();

} // namespace charaforge::engine::fused
