#pragma once
// CUDA kernels of the big-lama generator (built only where the CUDA toolkit is found). Inputs are checked by the
// caller in lama_ffc.cpp: contiguous NCHW, fp32, fp16 or bf16, on the current CUDA device.
#include <ATen/ATen.h>

namespace charaforge::engine::cuda {

// reflection_pad2d(cat(l, g, 1), p) in one pass: l [B, Cl, H, W], g [B, Cg, H, W] (undefined: Cg = 0), same dtype,
// p < H and p < W -> [B, Cl + Cg, H + 2p, W + 2p]. Copies values only, so it equals the composition bit for bit.
at::Tensor reflect_pad_cat(const at::Tensor& l, const at::Tensor& g, int64_t p);

} // namespace charaforge::engine::cuda
