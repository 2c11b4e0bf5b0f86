#pragma once
// Fused elementwise steps of the transformer. Each has an ATen composition (the CPU path and the reference of
// the GPU test) and, where the build found the CUDA toolkit, a CUDA kernel used for contiguous bf16/fp16
// tensors on the GPU.
#include <torch/torch.h>

namespace charaforge::engine::fused {

// SwiGLU's gating: silu(a) * b, elementwise. a, b [..., F] same shape and dtype -> [..., F].
// The CUDA kernel computes in fp32 and rounds once (the composition rounds after silu and after the product).
torch::Tensor silu_mul(const torch::Tensor& a, const torch::Tensor& b);

// The ATen composition, always (for tests).
torch::Tensor silu_mul_reference(const torch::Tensor& a, const torch::Tensor& b);

// True when this build has the CUDA kernels.
bool have_cuda_kernels();

} // namespace charaforge::engine::fused
