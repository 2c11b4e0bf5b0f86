#pragma once
// The thin layer where LibTorch 1.13 (Debian, CPU) and 2.x (the GPU machine) differ.
#include <torch/torch.h>
#include <torch/version.h>

namespace charaforge::engine::compat {

#if TORCH_VERSION_MAJOR >= 2
inline constexpr bool kHasFusedAttention = true;
#else
inline constexpr bool kHasFusedAttention = false;
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

} // namespace charaforge::engine::compat
