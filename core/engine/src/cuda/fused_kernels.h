#pragma once
// CUDA kernels behind fused_ops.h (built only where the CUDA toolkit is found). Inputs are checked by the
// callers in fused_ops.cpp: contiguous, same shape, bf16 or fp16, on the current CUDA device.
#include <ATen/ATen.h>

#include <array>

namespace charaforge::engine::cuda {

at::Tensor silu_mul(const at::Tensor& a, const at::Tensor& b); // silu(a) * b in fp32, rounded once

// n = rmsnorm(x) * w over the last dim of x [B, L, D] (fp32, one rounding), then without res: n * (1 + mod[b])
// (mod undefined: n); with res [B, L, D]: res + tanh(mod[b]) * n (mod undefined: res + n). mod [B, D].
at::Tensor rms_norm_fused(const at::Tensor& x, const at::Tensor& w, const at::Tensor& mod, const at::Tensor& res,
                          double eps);

// From qkv [B, L, (Hq + 2 Hkv) Dh]: q = rope(rmsnorm(q) * qw), k likewise, v copied, each [B, L, H, Dh]
// contiguous; cos/sin [B, L, Dh/2] fp32.
bool qk_norm_rope_supports(int64_t head_dim);
std::array<at::Tensor, 3> qk_norm_rope(const at::Tensor& qkv, const at::Tensor& qw, const at::Tensor& kw,
                                       const at::Tensor& cos, const at::Tensor& sin, int64_t hq, int64_t hkv,
                                       double eps);

} // namespace charaforge::engine::cuda
