// Ref: NewBie-image-Exp0.1 models/model.py FeedForward (the SwiGLU gate).
#include "fused_kernels.h"

#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>

namespace charaforge::engine::cuda {
namespace {

__device__ __forceinline__ float to_float(__nv_bfloat16 v) {
    return __bfloat162float(v);
}
__device__ __forceinline__ float to_float(__half v) {
    return __half2float(v);
}
template <typename T> __device__ __forceinline__ T from_float(float v);
template <> __device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) {
    return __float2bfloat16(v);
}
template <> __device__ __forceinline__ __half from_float<__half>(float v) {
    return __float2half(v);
}

__device__ __forceinline__ float silu_mul_one(float a, float b) {
    return a / (1.0f + __expf(-a)) * b;
}

// 8 elements (16 bytes) per thread and iteration; a grid-stride loop; a scalar tail.
template <typename T>
__global__ void silu_mul_kernel(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ out, int64_t n) {
    constexpr int kVec = 8;
    const int64_t n_vec = n / kVec;
    const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n_vec; i += stride) {
        const uint4 va = reinterpret_cast<const uint4*>(a)[i];
        const uint4 vb = reinterpret_cast<const uint4*>(b)[i];
        const T* pa = reinterpret_cast<const T*>(&va);
        const T* pb = reinterpret_cast<const T*>(&vb);
        uint4 vo;
        T* po = reinterpret_cast<T*>(&vo);
#pragma unroll
        for (int k = 0; k < kVec; ++k)
            po[k] = from_float<T>(silu_mul_one(to_float(pa[k]), to_float(pb[k])));
        reinterpret_cast<uint4*>(out)[i] = vo;
    }
    for (int64_t i = n_vec * kVec + static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
        out[i] = from_float<T>(silu_mul_one(to_float(a[i]), to_float(b[i])));
}

template <typename T> void launch(const at::Tensor& a, const at::Tensor& b, at::Tensor& out) {
    const int64_t n = a.numel();
    if (n == 0)
        return;
    const int threads = 256;
    const int sms = at::cuda::getCurrentDeviceProperties()->multiProcessorCount;
    const int64_t want = (n / 8 + threads - 1) / threads;
    const int blocks = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(want, int64_t{sms} * 16)));
    silu_mul_kernel<T><<<blocks, threads, 0, at::cuda::getCurrentCUDAStream()>>>(
        reinterpret_cast<const T*>(a.data_ptr()), reinterpret_cast<const T*>(b.data_ptr()),
        reinterpret_cast<T*>(out.data_ptr()), n);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
}

} // namespace

at::Tensor silu_mul(const at::Tensor& a, const at::Tensor& b) {
    TORCH_CHECK(a.is_cuda() && b.is_cuda() && a.sizes() == b.sizes() && a.scalar_type() == b.scalar_type() &&
                    a.is_contiguous() && b.is_contiguous(),
                "fused silu_mul: a and b must be contiguous CUDA tensors of one shape and dtype");
    // 16-byte vector access needs 16-byte aligned storage (allocator blocks are; offset views may not be).
    TORCH_CHECK(reinterpret_cast<uintptr_t>(a.data_ptr()) % 16 == 0 &&
                    reinterpret_cast<uintptr_t>(b.data_ptr()) % 16 == 0,
                "fused silu_mul: inputs must be 16-byte aligned");
    const c10::cuda::CUDAGuard guard(a.device());
    auto out = at::empty_like(a);
    if (a.scalar_type() == at::kBFloat16)
        launch<__nv_bfloat16>(a, b, out);
    else if (a.scalar_type() == at::kHalf)
        launch<__half>(a, b, out);
    else
        TORCH_CHECK(false, "fused silu_mul: bf16 or fp16 only, got ", a.scalar_type());
    return out;
}

} // namespace charaforge::engine::cuda
