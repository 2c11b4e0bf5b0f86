#pragma once
// CUDA kernels behind fused_ops.h (built only where the CUDA toolkit is found). Inputs are checked by the
// callers in fused_ops.cpp: contiguous, same shape, bf16 or fp16, on the current CUDA device.
#include <ATen/ATen.h>

namespace charaforge::engine::cuda {

at::Tensor silu_mul(const at::Tensor& a, const at::Tensor& b); // silu(a) * b in fp32, rounded once

} // namespace charaforge::engine::cuda
