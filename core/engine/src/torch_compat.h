#pragma once
// The thin layer where LibTorch 1.13 (Debian, CPU) and 2.x (the GPU machine) differ.
#include <torch/torch.h>
#include <torch/version.h>

#include <map>
#include <mutex>
#include <tuple>
#include <utility>

namespace charaforge::engine::compat {

#if TORCH_VERSION_MAJOR >= 2
inline constexpr bool kHasFusedAttention = true;
#else
inline constexpr bool kHasFusedAttention = false;
#endif
// at::rms_norm (fused on CUDA) from 2.4, native grouped-query attention in SDPA from 2.5.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 5)
#define CHARAFORGE_TORCH_HAS_RMS_NORM_AND_GQA 1
#endif

// RMSNorm as NewBie's components.py: normalise in fp32, cast back to x's dtype, scale by w.
//   x [..., D], weight [D] -> x's shape and dtype. On CUDA (LibTorch >= 2.5) the fused at::rms_norm, which
//   also works in fp32 and rounds once at the end (within one ulp of x's dtype of the composition).
inline torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
#ifdef CHARAFORGE_TORCH_HAS_RMS_NORM_AND_GQA
    if (x.is_cuda() && weight.scalar_type() == x.scalar_type())
        return at::rms_norm(x, {x.size(-1)}, weight, eps);
#endif
    auto xf = x.to(torch::kFloat32);
    auto normed = (xf * torch::rsqrt(xf.pow(2).mean(-1, true) + eps)).to(x.scalar_type());
    return normed * weight;
}

#if TORCH_VERSION_MAJOR >= 2
// SDPA picks the flash backend first by default; at the DiT's shapes (24 x 96, ~4k tokens, bf16) cuDNN's
// fused attention is ~1.6x faster on Hopper. Moves cuDNN to the front of the priority list once; SDPA
// still falls back to the others for inputs cuDNN rejects (fp32, odd layouts).
inline void prefer_cudnn_attention() {
    static const bool done = [] {
        auto& ctx = at::globalContext();
        std::vector<int64_t> order{static_cast<int64_t>(at::SDPBackend::cudnn_attention)};
        for (auto b : ctx.sDPPriorityOrder())
            if (b != at::SDPBackend::cudnn_attention)
                order.push_back(static_cast<int64_t>(b));
        ctx.setSDPPriorityOrder(order);
        return true;
    }();
    (void)done;
}
#endif

// Non-causal attention with an optional key-padding mask.
//   q [B, H, Lq, Dh], k/v [B, H, Lk, Dh] (same dtype); key_mask [B, Lk] bool, true = attend.
//   returns [B, H, Lq, Dh] in q's dtype.
inline torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                               const torch::Tensor& key_mask, double scale) {
#if TORCH_VERSION_MAJOR >= 2
    c10::optional<torch::Tensor> mask;
    if (key_mask.defined())
        mask = key_mask.view({key_mask.size(0), 1, 1, key_mask.size(1)}); // [B, 1, 1, Lk]
    return at::scaled_dot_product_attention(q, k, v, mask, 0.0, false, scale);
#else
    // Softmax in fp32 like the fused kernels; the result is cast back to the input dtype.
    auto scores =
        torch::matmul(q.to(torch::kFloat32), k.to(torch::kFloat32).transpose(-2, -1)) * scale; // [B, H, Lq, Lk]
    if (key_mask.defined()) {
        auto blocked = key_mask.logical_not().view({key_mask.size(0), 1, 1, key_mask.size(1)}); // [B, 1, 1, Lk]
        scores = scores.masked_fill(blocked, -std::numeric_limits<float>::infinity());
    }
    auto probs = torch::softmax(scores, -1);
    return torch::matmul(probs, v.to(torch::kFloat32)).to(q.scalar_type()); // [B, H, Lq, Dh]
#endif
}

#ifdef CHARAFORGE_TORCH_HAS_RMS_NORM_AND_GQA
// Whether grouped-query attention reaches cuDNN only with K/V repeated to the query heads: true when SDPA would
// not pick cuDNN for the native GQA call but would for the repeated one (a copy of K and V per call is cheaper
// than the slower kernel). Asked of SDPA's own backend choice once per (heads, kv heads, head dim, dtype).
inline bool repeat_kv_for_cudnn(const torch::Tensor& q, int64_t kv_heads) {
    static std::mutex mu;
    static std::map<std::tuple<int64_t, int64_t, int64_t, int>, bool> memo;
    const int64_t heads = q.size(1), dh = q.size(3);
    const auto key = std::make_tuple(heads, kv_heads, dh, static_cast<int>(q.scalar_type()));
    std::lock_guard<std::mutex> lock(mu);
    auto it = memo.find(key);
    if (it != memo.end())
        return it->second;
    auto probe = [&](int64_t h) {
        return torch::empty({1, 256, h, dh}, q.options()).transpose(1, 2);
    }; // [1, h, 256, Dh]
    const auto cudnn = static_cast<int64_t>(at::SDPBackend::cudnn_attention);
    const auto qp = probe(heads);
    const bool native = at::_fused_sdp_choice(qp, probe(kv_heads), probe(kv_heads), {}, 0.0, false, {}, true) == cudnn;
    const bool repeated =
        !native && at::_fused_sdp_choice(qp, probe(heads), probe(heads), {}, 0.0, false, {}, false) == cudnn;
    memo[key] = repeated;
    return repeated;
}
#endif

// Non-causal grouped-query attention without a mask (every key valid).
//   q [B, Hq, L, Dh], k/v [B, Hkv, L, Dh] with Hq a multiple of Hkv (kv head g serves query heads
//   g*rep .. g*rep+rep-1) -> [B, Hq, L, Dh] in q's dtype. No repeated K/V in memory where SDPA has GQA.
inline torch::Tensor attention_gqa(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                   double scale) {
#ifdef CHARAFORGE_TORCH_HAS_RMS_NORM_AND_GQA
    if (q.is_cuda()) {
        prefer_cudnn_attention();
        if (q.size(1) != k.size(1) && repeat_kv_for_cudnn(q, k.size(1))) {
            auto rep = [&](const torch::Tensor& t) { // [B, Hkv, L, Dh] -> [B, Hq, L, Dh] laid out as [B, L, Hq, Dh]
                const int64_t B = t.size(0), H = t.size(1), L = t.size(2), D = t.size(3), r = q.size(1) / H;
                return t.transpose(1, 2).unsqueeze(3).expand({B, L, H, r, D}).reshape({B, L, H * r, D}).transpose(1, 2);
            };
            return at::scaled_dot_product_attention(q, rep(k), rep(v), {}, 0.0, false, scale);
        }
    }
    return at::scaled_dot_product_attention(q, k, v, {}, 0.0, false, scale, /*enable_gqa=*/q.size(1) != k.size(1));
#else
    const int64_t rep = q.size(1) / k.size(1);
    auto kr = rep > 1 ? k.repeat_interleave(rep, 1) : k; // [B, Hq, L, Dh]
    auto vr = rep > 1 ? v.repeat_interleave(rep, 1) : v; // [B, Hq, L, Dh]
    return attention(q, kr, vr, {}, scale);
#endif
}

// Whether fp8 matrix products (at::_scaled_mm with per-row and per-column scales) are in this LibTorch.
#if defined(CHARAFORGE_TORCH_HAS_RMS_NORM_AND_GQA)
inline constexpr bool kHasFp8 = true;
#else
inline constexpr bool kHasFp8 = false;
#endif

inline constexpr const char* kNoFp8 =
    "this LibTorch has no fp8 matrix products (LibTorch 2.5 or later with CUDA needed)";

#if defined(CHARAFORGE_TORCH_HAS_RMS_NORM_AND_GQA)
// e4m3 with one fp32 scale per row of t [R, C] (scale = row amax / 448, the e4m3 maximum; t ~ q * scale): the one
// rule for the fp8 weights (rows = output channels) and the fp8 activations (rows = tokens).
//   -> q [R, C] e4m3 contiguous, scale [R, 1] fp32.
inline std::pair<torch::Tensor, torch::Tensor> quantize_rows_e4m3(const torch::Tensor& t) {
    auto f = t.to(torch::kFloat32);
    auto scale = (f.abs().amax(-1, true) / 448.0).clamp_min(1e-12); // [R, 1]
    return {(f / scale).to(at::kFloat8_e4m3fn).contiguous(), scale};
}
#endif

// Weight-only fp8 (memory mode low): w ~ wq * sw upcast to `dtype` for an ordinary matmul in that dtype, on any
// device. wq [N, K] e4m3, sw [N] fp32 -> [N, K] dtype.
inline torch::Tensor dequantize_rows_e4m3(const torch::Tensor& wq, const torch::Tensor& sw, torch::Dtype dtype) {
#if defined(CHARAFORGE_TORCH_HAS_RMS_NORM_AND_GQA)
    return wq.to(dtype) * sw.to(dtype).unsqueeze(1); // [N, K]
#else
    (void)wq, (void)sw, (void)dtype;
    TORCH_CHECK(false, "fp8: ", kNoFp8);
#endif
}

// y = x w^T with w given in e4m3 as wq [N, K] and its per-output-channel scales sw [N] fp32 (w ~ wq * sw): x is
// quantised per row (scale = row amax / 448, the e4m3 maximum), multiplied in fp8 with fp32 accumulation
// (fast_accum: the tensor cores' faster, less exact accumulation), scaled back and returned in x's dtype.
//   x [..., K] bf16/fp16 on CUDA, bias [N] or undefined -> [..., N].
inline torch::Tensor fp8_linear(const torch::Tensor& x, const torch::Tensor& wq, const torch::Tensor& sw,
                                const torch::Tensor& bias, bool fast_accum) {
#if defined(CHARAFORGE_TORCH_HAS_RMS_NORM_AND_GQA)
    const int64_t K = x.size(-1), N = wq.size(0);
    const auto [xq, sx] = quantize_rows_e4m3(x.reshape({-1, K})); // [M, K] e4m3, [M, 1]
    c10::optional<torch::Tensor> b;
    if (bias.defined())
        b = bias.to(x.scalar_type());
    auto y = at::_scaled_mm(xq, wq.t(), sx, sw.view({1, N}), b, {}, x.scalar_type(), fast_accum); // [M, N]
    auto sizes = x.sizes().vec();
    sizes.back() = N;
    return y.view(sizes);
#else
    (void)x, (void)wq, (void)sw, (void)bias, (void)fast_accum;
    TORCH_CHECK(false, "fp8: ", kNoFp8);
#endif
}

} // namespace charaforge::engine::compat
