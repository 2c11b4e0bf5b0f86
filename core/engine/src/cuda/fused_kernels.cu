// Ref: NewBie-image-Exp0.1 models/model.py FeedForward (the SwiGLU gate), JointTransformerBlock (norms, adaLN
//      modulate, tanh gates), JointAttention (q/k norm, apply_rotary_emb); models/components.py RMSNorm.
#include "fused_kernels.h"

#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <limits>

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

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the total.
__device__ __forceinline__ float block_sum(float v, float* shared) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
    __syncthreads(); // shared may still be read by a previous call
    if (lane == 0)
        shared[warp] = v;
    __syncthreads();
    float t = lane < warps ? shared[lane] : 0.0f;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1)
        t += __shfl_xor_sync(0xffffffffu, t, o);
    return t;
}

template <typename T> __device__ __forceinline__ void load8(const T* p, float (&f)[8]) {
    const uint4 v = *reinterpret_cast<const uint4*>(p);
    const T* e = reinterpret_cast<const T*>(&v);
#pragma unroll
    for (int k = 0; k < 8; ++k)
        f[k] = to_float(e[k]);
}

template <typename T> __device__ __forceinline__ void store8(T* p, const float (&f)[8]) {
    uint4 v;
    T* e = reinterpret_cast<T*>(&v);
#pragma unroll
    for (int k = 0; k < 8; ++k)
        e[k] = from_float<T>(f[k]);
    *reinterpret_cast<uint4*>(p) = v;
}

// Row-wise RMSNorm fused with what follows it. One block per row of D elements (D % 8 == 0), 8 per thread and
// step. The row is read twice (sum of squares, then the output); the second read comes from L1/L2.
//   kResidual false: out = n * (1 + mod[b])           (RMSNorm + adaLN scale; mod may be null: out = n)
//   kResidual true:  out = res + tanh(mod[b]) * n     (tanh gate + residual; mod may be null: out = res + n)
// with n = x / rms(x) * w in fp32, b = row / rows_per_batch, mod rows mod_stride elements apart.
template <typename T, bool kResidual>
__global__ void rms_norm_row_kernel(const T* __restrict__ x, const T* __restrict__ w, const T* __restrict__ mod,
                                    int64_t mod_stride, const T* __restrict__ res, T* __restrict__ out, int64_t D,
                                    int64_t rows_per_batch, float eps) {
    __shared__ float shared[32];
    const int64_t row = blockIdx.x;
    const T* xr = x + row * D;
    float ss = 0.0f;
    for (int64_t i = threadIdx.x * 8; i < D; i += blockDim.x * 8) {
        float f[8];
        load8(xr + i, f);
#pragma unroll
        for (int k = 0; k < 8; ++k)
            ss += f[k] * f[k];
    }
    const float rstd = rsqrtf(block_sum(ss, shared) / static_cast<float>(D) + eps);
    const T* mr = mod ? mod + (row / rows_per_batch) * mod_stride : nullptr;
    for (int64_t i = threadIdx.x * 8; i < D; i += blockDim.x * 8) {
        float f[8], g[8];
        load8(xr + i, f);
        load8(w + i, g);
#pragma unroll
        for (int k = 0; k < 8; ++k)
            f[k] *= rstd * g[k];
        if (mr) {
            load8(mr + i, g);
#pragma unroll
            for (int k = 0; k < 8; ++k)
                f[k] *= kResidual ? tanhf(g[k]) : 1.0f + g[k];
        }
        if (kResidual) {
            load8(res + row * D + i, g);
#pragma unroll
            for (int k = 0; k < 8; ++k)
                f[k] += g[k];
        }
        store8(out + row * D + i, f);
    }
}

// The same, one warp per row with the row held in registers: VPL vectors of 8 per lane (D = 256 VPL), all loads of
// a row issued before the reduction (no block barrier, no second read of x). 8 rows per block of 256 threads.
template <typename T, bool kResidual, int VPL>
__global__ void __launch_bounds__(256)
    rms_norm_warp_kernel(const T* __restrict__ x, const T* __restrict__ w, const T* __restrict__ mod,
                         int64_t mod_stride, const T* __restrict__ res, T* __restrict__ out, int64_t rows,
                         int64_t rows_per_batch, float eps) {
    constexpr int D = 256 * VPL;
    const int lane = threadIdx.x % 32;
    const int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
    if (row >= rows)
        return;
    const T* xr = x + row * D;
    float f[VPL][8];
#pragma unroll
    for (int j = 0; j < VPL; ++j)
        load8(xr + (j * 32 + lane) * 8, f[j]);
    float ss = 0.0f;
#pragma unroll
    for (int j = 0; j < VPL; ++j)
#pragma unroll
        for (int k = 0; k < 8; ++k)
            ss += f[j][k] * f[j][k];
#pragma unroll
    for (int o = 16; o > 0; o >>= 1)
        ss += __shfl_xor_sync(0xffffffffu, ss, o);
    const float rstd = rsqrtf(ss / static_cast<float>(D) + eps);
    const T* mr = mod ? mod + (row / rows_per_batch) * mod_stride : nullptr;
#pragma unroll
    for (int j = 0; j < VPL; ++j) {
        const int i = (j * 32 + lane) * 8;
        float g[8];
        load8(w + i, g);
#pragma unroll
        for (int k = 0; k < 8; ++k)
            f[j][k] *= rstd * g[k];
        if (mr) {
            load8(mr + i, g);
#pragma unroll
            for (int k = 0; k < 8; ++k)
                f[j][k] *= kResidual ? tanhf(g[k]) : 1.0f + g[k];
        }
        if (kResidual) {
            load8(res + row * D + i, g);
#pragma unroll
            for (int k = 0; k < 8; ++k)
                f[j][k] += g[k];
        }
        store8(out + row * D + i, f[j]);
    }
}

// q/k RMSNorm + rotary embedding + the V copy with one block per token row: thread i takes the 8 contiguous elements
// 8i..8i+7 of the row's (Hq + 2 Hkv) Dh (coalesced loads and stores), the per-head sums of squares meet in shared
// memory (Dh/8 partial sums per head). Same arithmetic as qk_norm_rope_kernel.
template <typename T, int DH>
__global__ void qk_norm_rope_row_kernel(const T* __restrict__ qkv, const T* __restrict__ qw, const T* __restrict__ kw,
                                        const float* __restrict__ cos, const float* __restrict__ sin, T* __restrict__ q,
                                        T* __restrict__ k, T* __restrict__ v, int hq, int hkv, float eps) {
    constexpr int kPerHead = DH / 8;
    extern __shared__ float partial[]; // [heads * kPerHead]
    const int64_t row = blockIdx.x;
    const int heads = hq + 2 * hkv;
    const int i = threadIdx.x; // vector index within the row; blockDim.x == heads * kPerHead
    const int h = i / kPerHead, e = (i % kPerHead) * 8;
    float f[8];
    load8(qkv + row * heads * DH + i * 8, f);
    float ss = 0.0f;
#pragma unroll
    for (int j = 0; j < 8; ++j)
        ss += f[j] * f[j];
    partial[i] = ss;
    __syncthreads();
    if (h >= hq + hkv) {
        store8(v + (row * hkv + (h - hq - hkv)) * DH + e, f);
        return;
    }
    float total = 0.0f;
#pragma unroll
    for (int j = 0; j < kPerHead; ++j)
        total += partial[h * kPerHead + j];
    const float rstd = rsqrtf(total / DH + eps);
    const bool is_q = h < hq;
    float g[8], o[8];
    load8((is_q ? qw : kw) + e, g);
    const float4 c = *reinterpret_cast<const float4*>(cos + row * (DH / 2) + e / 2);
    const float4 s = *reinterpret_cast<const float4*>(sin + row * (DH / 2) + e / 2);
    const float cc[4] = {c.x, c.y, c.z, c.w}, sc[4] = {s.x, s.y, s.z, s.w};
#pragma unroll
    for (int j = 0; j < 8; j += 2) {
        const float a = f[j] * rstd * g[j], b = f[j + 1] * rstd * g[j + 1];
        o[j] = a * cc[j / 2] - b * sc[j / 2];
        o[j + 1] = a * sc[j / 2] + b * cc[j / 2];
    }
    T* dst = is_q ? q + (row * hq + h) * DH + e : k + (row * hkv + (h - hq)) * DH + e;
    store8(dst, o);
}

// Which kernels the row operations use: "v2" (the warp-per-row and row-block kernels where the shape allows) unless
// CHARAFORGE_FUSED_KERNELS=v1 (the first kernels, kept for shapes v2 does not cover and for before/after timings).
bool use_v2_kernels() {
    static const bool v2 = [] {
        const char* e = std::getenv("CHARAFORGE_FUSED_KERNELS");
        return !(e && std::strcmp(e, "v1") == 0);
    }();
    return v2;
}

// q/k RMSNorm + rotary embedding + the V copy, from the fused qkv projection. One thread per (token, head) of
// the Hq + 2 Hkv heads: heads < Hq are queries, then keys (both normalised over Dh with their weight, then the
// pairs (2j, 2j+1) rotated by cos/sin[token, j]), then values (copied). fp32 throughout, one rounding.
//   qkv [R, (Hq + 2 Hkv) Dh]; cos/sin [R, Dh/2] fp32; q [R, Hq, Dh], k/v [R, Hkv, Dh].
template <typename T, int DH>
__global__ void qk_norm_rope_kernel(const T* __restrict__ qkv, const T* __restrict__ qw, const T* __restrict__ kw,
                                    const float* __restrict__ cos, const float* __restrict__ sin, T* __restrict__ q,
                                    T* __restrict__ k, T* __restrict__ v, int64_t rows, int hq, int hkv, float eps) {
    const int heads = hq + 2 * hkv;
    const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (idx >= rows * heads)
        return;
    const int64_t row = idx / heads;
    const int h = static_cast<int>(idx % heads);
    const T* src = qkv + idx * DH; // heads are contiguous within a row, rows contiguous: idx * DH
    float f[DH];
#pragma unroll
    for (int i = 0; i < DH; i += 8) {
        float g[8];
        load8(src + i, g);
#pragma unroll
        for (int j = 0; j < 8; ++j)
            f[i + j] = g[j];
    }
    if (h >= hq + hkv) {
        T* dst = v + (row * hkv + (h - hq - hkv)) * DH;
#pragma unroll
        for (int i = 0; i < DH; i += 8) {
            float g[8];
#pragma unroll
            for (int j = 0; j < 8; ++j)
                g[j] = f[i + j];
            store8(dst + i, g);
        }
        return;
    }
    const bool is_q = h < hq;
    const T* w = is_q ? qw : kw;
    T* dst = is_q ? q + (row * hq + h) * DH : k + (row * hkv + (h - hq)) * DH;
    float ss = 0.0f;
#pragma unroll
    for (int i = 0; i < DH; ++i)
        ss += f[i] * f[i];
    const float rstd = rsqrtf(ss / DH + eps);
    const float* cr = cos + row * (DH / 2);
    const float* sr = sin + row * (DH / 2);
#pragma unroll
    for (int i = 0; i < DH; i += 8) {
        float g[8], o[8];
        load8(w + i, g);
#pragma unroll
        for (int j = 0; j < 8; j += 2) {
            const float a = f[i + j] * rstd * g[j], b = f[i + j + 1] * rstd * g[j + 1];
            const float c = cr[(i + j) / 2], s = sr[(i + j) / 2];
            o[j] = a * c - b * s;
            o[j + 1] = a * s + b * c;
        }
        store8(dst + i, o);
    }
}

int row_threads(int64_t D) {
    const int64_t vec = (D / 8 + 31) / 32 * 32;
    return static_cast<int>(std::min<int64_t>(1024, std::max<int64_t>(32, vec)));
}

template <typename T, bool kResidual>
void launch_rms_norm_row(const at::Tensor& x, const at::Tensor& w, const at::Tensor& mod, const at::Tensor& res,
                         at::Tensor& out, int64_t rows_per_batch, double eps) {
    const int64_t D = x.size(-1), rows = x.numel() / D;
    if (rows == 0)
        return;
    TORCH_CHECK(rows <= std::numeric_limits<int32_t>::max(), "fused rms_norm: too many rows");
    const T* mp = mod.defined() ? reinterpret_cast<const T*>(mod.data_ptr()) : nullptr;
    const T* rp = res.defined() ? reinterpret_cast<const T*>(res.data_ptr()) : nullptr;
    const int64_t ms = mod.defined() ? mod.stride(0) : 0;
    // The warp-per-row kernel only without the residual: with it, it measured slower than the row-block kernel
    // (3.64 vs 3.43 ms per B2 1024^2 forward on an H200, tools/gpu/results/2026-12-04-h200).
    if (use_v2_kernels() && !kResidual && D % 256 == 0) {
        const unsigned blocks = static_cast<unsigned>((rows + 7) / 8);
        auto stream = at::cuda::getCurrentCUDAStream();
        auto xp = reinterpret_cast<const T*>(x.data_ptr());
        auto wp = reinterpret_cast<const T*>(w.data_ptr());
        auto op = reinterpret_cast<T*>(out.data_ptr());
        const float e = static_cast<float>(eps);
        bool launched = true;
        switch (D / 256) {
#define CF_WARP_CASE(V)                                                                                                \
    case V:                                                                                                            \
        rms_norm_warp_kernel<T, kResidual, V>                                                                          \
            <<<blocks, 256, 0, stream>>>(xp, wp, mp, ms, rp, op, rows, rows_per_batch, e);                             \
        break;
            CF_WARP_CASE(1)
            CF_WARP_CASE(2)
            CF_WARP_CASE(3)
            CF_WARP_CASE(4)
            CF_WARP_CASE(6)
            CF_WARP_CASE(8)
            CF_WARP_CASE(9)
            CF_WARP_CASE(12)
            CF_WARP_CASE(16)
#undef CF_WARP_CASE
        default:
            launched = false;
        }
        if (launched) {
            C10_CUDA_KERNEL_LAUNCH_CHECK();
            return;
        }
    }
    rms_norm_row_kernel<T, kResidual>
        <<<static_cast<unsigned>(rows), row_threads(D), 0, at::cuda::getCurrentCUDAStream()>>>(
            reinterpret_cast<const T*>(x.data_ptr()), reinterpret_cast<const T*>(w.data_ptr()), mp, ms, rp,
            reinterpret_cast<T*>(out.data_ptr()), D, rows_per_batch, static_cast<float>(eps));
    C10_CUDA_KERNEL_LAUNCH_CHECK();
}

template <typename T, int DH>
void launch_qk(const at::Tensor& qkv, const at::Tensor& qw, const at::Tensor& kw, const at::Tensor& cos,
               const at::Tensor& sin, at::Tensor& q, at::Tensor& k, at::Tensor& v, int hq, int hkv, double eps) {
    const int64_t rows = cos.numel() / (DH / 2), n = rows * (hq + 2 * hkv);
    if (n == 0)
        return;
    const int heads = hq + 2 * hkv, row_threads = heads * (DH / 8);
    if (use_v2_kernels() && row_threads <= 1024 && reinterpret_cast<uintptr_t>(cos.data_ptr()) % 16 == 0 &&
        reinterpret_cast<uintptr_t>(sin.data_ptr()) % 16 == 0) {
        qk_norm_rope_row_kernel<T, DH>
            <<<static_cast<unsigned>(rows), row_threads, static_cast<size_t>(row_threads) * sizeof(float),
               at::cuda::getCurrentCUDAStream()>>>(
                reinterpret_cast<const T*>(qkv.data_ptr()), reinterpret_cast<const T*>(qw.data_ptr()),
                reinterpret_cast<const T*>(kw.data_ptr()), cos.data_ptr<float>(), sin.data_ptr<float>(),
                reinterpret_cast<T*>(q.data_ptr()), reinterpret_cast<T*>(k.data_ptr()),
                reinterpret_cast<T*>(v.data_ptr()), hq, hkv, static_cast<float>(eps));
        C10_CUDA_KERNEL_LAUNCH_CHECK();
        return;
    }
    const int threads = 128;
    qk_norm_rope_kernel<T, DH>
        <<<static_cast<unsigned>((n + threads - 1) / threads), threads, 0, at::cuda::getCurrentCUDAStream()>>>(
            reinterpret_cast<const T*>(qkv.data_ptr()), reinterpret_cast<const T*>(qw.data_ptr()),
            reinterpret_cast<const T*>(kw.data_ptr()), cos.data_ptr<float>(), sin.data_ptr<float>(),
            reinterpret_cast<T*>(q.data_ptr()), reinterpret_cast<T*>(k.data_ptr()), reinterpret_cast<T*>(v.data_ptr()),
            rows, hq, hkv, static_cast<float>(eps));
    C10_CUDA_KERNEL_LAUNCH_CHECK();
}

bool aligned16(const at::Tensor& t) {
    return !t.defined() || reinterpret_cast<uintptr_t>(t.data_ptr()) % 16 == 0;
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

at::Tensor rms_norm_fused(const at::Tensor& x, const at::Tensor& w, const at::Tensor& mod, const at::Tensor& res,
                          double eps) {
    const int64_t D = x.size(-1);
    TORCH_CHECK(x.is_cuda() && x.is_contiguous() && x.dim() == 3 && D % 8 == 0,
                "fused rms_norm: x must be a contiguous CUDA tensor [B, L, D] with D a multiple of 8");
    TORCH_CHECK(w.is_contiguous() && w.numel() == D && w.scalar_type() == x.scalar_type(),
                "fused rms_norm: weight must be [D] in x's dtype");
    TORCH_CHECK(!mod.defined() ||
                    (mod.dim() == 2 && mod.size(0) == x.size(0) && mod.size(1) == D && mod.stride(1) == 1 &&
                     mod.stride(0) % 8 == 0 && mod.scalar_type() == x.scalar_type()),
                "fused rms_norm: scale/gate must be [B, D] with unit inner stride, in x's dtype");
    TORCH_CHECK(!res.defined() ||
                    (res.sizes() == x.sizes() && res.is_contiguous() && res.scalar_type() == x.scalar_type()),
                "fused rms_norm: the residual must be contiguous and shaped as x");
    TORCH_CHECK(aligned16(x) && aligned16(w) && aligned16(mod) && aligned16(res),
                "fused rms_norm: inputs must be 16-byte aligned");
    const c10::cuda::CUDAGuard guard(x.device());
    auto out = at::empty_like(x);
    const int64_t per_batch = std::max<int64_t>(1, x.size(1));
    const bool residual = res.defined();
    if (x.scalar_type() == at::kBFloat16)
        residual ? launch_rms_norm_row<__nv_bfloat16, true>(x, w, mod, res, out, per_batch, eps)
                 : launch_rms_norm_row<__nv_bfloat16, false>(x, w, mod, res, out, per_batch, eps);
    else if (x.scalar_type() == at::kHalf)
        residual ? launch_rms_norm_row<__half, true>(x, w, mod, res, out, per_batch, eps)
                 : launch_rms_norm_row<__half, false>(x, w, mod, res, out, per_batch, eps);
    else
        TORCH_CHECK(false, "fused rms_norm: bf16 or fp16 only, got ", x.scalar_type());
    return out;
}

bool qk_norm_rope_supports(int64_t head_dim) {
    return head_dim == 32 || head_dim == 64 || head_dim == 96 || head_dim == 128;
}

std::array<at::Tensor, 3> qk_norm_rope(const at::Tensor& qkv, const at::Tensor& qw, const at::Tensor& kw,
                                       const at::Tensor& cos, const at::Tensor& sin, int64_t hq, int64_t hkv,
                                       double eps) {
    const int64_t dh = qw.numel();
    TORCH_CHECK(qk_norm_rope_supports(dh), "fused qk_norm_rope: head dim ", dh, " not built");
    TORCH_CHECK(qkv.is_cuda() && qkv.is_contiguous() && qkv.dim() == 3 && qkv.size(2) == (hq + 2 * hkv) * dh,
                "fused qk_norm_rope: qkv must be contiguous [B, L, (Hq + 2 Hkv) Dh]");
    TORCH_CHECK(cos.scalar_type() == at::kFloat && sin.scalar_type() == at::kFloat && cos.is_contiguous() &&
                    sin.is_contiguous() && cos.numel() == qkv.size(0) * qkv.size(1) * dh / 2 &&
                    sin.sizes() == cos.sizes(),
                "fused qk_norm_rope: cos/sin must be contiguous fp32 [B, L, Dh/2]");
    TORCH_CHECK(qw.is_contiguous() && kw.is_contiguous() && kw.numel() == dh && qw.scalar_type() == qkv.scalar_type() &&
                    kw.scalar_type() == qkv.scalar_type(),
                "fused qk_norm_rope: norm weights must be [Dh] in qkv's dtype");
    TORCH_CHECK(aligned16(qkv) && aligned16(qw) && aligned16(kw), "fused qk_norm_rope: inputs must be 16-byte aligned");
    const c10::cuda::CUDAGuard guard(qkv.device());
    const int64_t B = qkv.size(0), L = qkv.size(1);
    auto q = at::empty({B, L, hq, dh}, qkv.options());
    auto k = at::empty({B, L, hkv, dh}, qkv.options());
    auto v = at::empty({B, L, hkv, dh}, qkv.options());
    const int h = static_cast<int>(hq), g = static_cast<int>(hkv);
#define CF_QK_CASE(T, D)                                                                                               \
    if (dh == D) {                                                                                                     \
        launch_qk<T, D>(qkv, qw, kw, cos, sin, q, k, v, h, g, eps);                                                    \
        return {q, k, v};                                                                                              \
    }
    if (qkv.scalar_type() == at::kBFloat16) {
        CF_QK_CASE(__nv_bfloat16, 32)
        CF_QK_CASE(__nv_bfloat16, 64)
        CF_QK_CASE(__nv_bfloat16, 96)
        CF_QK_CASE(__nv_bfloat16, 128)
    } else if (qkv.scalar_type() == at::kHalf) {
        CF_QK_CASE(__half, 32)
        CF_QK_CASE(__half, 64)
        CF_QK_CASE(__half, 96)
        CF_QK_CASE(__half, 128)
    }
#undef CF_QK_CASE
    TORCH_CHECK(false, "fused qk_norm_rope: bf16 or fp16 only, got ", qkv.scalar_type());
}

} // namespace charaforge::engine::cuda
