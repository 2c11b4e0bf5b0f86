// Ref: advimman/lama saicinpainting/training/modules/ffc.py (FFC: reflect-padded convolutions of the local and
//      global parts, concatenated as the layer's input).
#include "lama_kernels.h"

#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>

namespace charaforge::engine::cuda {
namespace {

__device__ __forceinline__ int reflect_index(int i, int n) { // i in [-(n-1), 2n-2] -> [0, n)
    return i < 0 ? -i : (i >= n ? 2 * (n - 1) - i : i);
}

// One output plane (b, c) per blockIdx.y, its pixels over blockIdx.x * blockDim.x + threadIdx.x: reads and writes
// run along rows, so both are coalesced.
template <typename T>
__global__ void reflect_pad_cat_kernel(const T* __restrict__ l, const T* __restrict__ g, T* __restrict__ out, int cl,
                                       int cg, int h, int w, int p) {
    const int wo = w + 2 * p, ho = h + 2 * p;
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= wo * ho)
        return;
    const int64_t plane = blockIdx.y; // b * (cl + cg) + c
    const int c = static_cast<int>(plane % (cl + cg));
    const int64_t b = plane / (cl + cg);
    const int y = reflect_index(i / wo - p, h), x = reflect_index(i % wo - p, w);
    const T* src = c < cl ? l + ((b * cl + c) * h + y) * w + x : g + ((b * cg + (c - cl)) * h + y) * w + x;
    out[plane * wo * ho + i] = *src;
}

template <typename T> void launch(const at::Tensor& l, const at::Tensor& g, at::Tensor& out, int64_t p) {
    const int cl = static_cast<int>(l.size(1)), cg = g.defined() ? static_cast<int>(g.size(1)) : 0;
    const int h = static_cast<int>(l.size(2)), w = static_cast<int>(l.size(3));
    const int pixels = static_cast<int>(out.size(2) * out.size(3));
    constexpr int kThreads = 256;
    const dim3 grid((pixels + kThreads - 1) / kThreads, static_cast<unsigned>(out.size(0) * out.size(1)));
    reflect_pad_cat_kernel<T><<<grid, kThreads, 0, at::cuda::getCurrentCUDAStream()>>>(
        reinterpret_cast<const T*>(l.data_ptr()), g.defined() ? reinterpret_cast<const T*>(g.data_ptr()) : nullptr,
        reinterpret_cast<T*>(out.data_ptr()), cl, cg, h, w, static_cast<int>(p));
    C10_CUDA_KERNEL_LAUNCH_CHECK();
}

} // namespace

at::Tensor reflect_pad_cat(const at::Tensor& l, const at::Tensor& g, int64_t p) {
    const c10::cuda::CUDAGuard guard(l.device());
    const int64_t c = l.size(1) + (g.defined() ? g.size(1) : 0);
    auto out = at::empty({l.size(0), c, l.size(2) + 2 * p, l.size(3) + 2 * p}, l.options());
    if (out.numel() == 0)
        return out;
    switch (l.scalar_type()) {
    case at::kFloat:
        launch<float>(l, g, out, p);
        break;
    case at::kHalf:
        launch<__half>(l, g, out, p);
        break;
    case at::kBFloat16:
        launch<__nv_bfloat16>(l, g, out, p);
        break;
    default:
        TORCH_CHECK(false, "reflect_pad_cat: fp32, fp16 or bf16 only, got ", l.scalar_type());
    }
    return out;
}

} // namespace charaforge::engine::cuda
