// Ref: NewBie-image-Exp0.1 models/model.py FeedForward (w2(silu(w1 x) * w3 x)), JointTransformerBlock (modulate,
//      tanh gates), JointAttention (q_norm/k_norm, apply_rotary_emb); models/components.py RMSNorm.
#include "fused_ops.h"

#include "nextdit.h"
#include "torch_compat.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>

#ifdef CHARAFORGE_WITH_CUDA_KERNELS
#include "cuda/fused_kernels.h"
#endif

namespace charaforge::engine::fused {

torch::Tensor silu_mul_reference(const torch::Tensor& a, const torch::Tensor& b) {
    return torch::silu(a) * b;
}

namespace {

#ifdef CHARAFORGE_WITH_CUDA_KERNELS
bool aligned16(const torch::Tensor& t) {
    return reinterpret_cast<uintptr_t>(t.data_ptr()) % 16 == 0;
}

// Inputs the row kernels take: CUDA bf16/fp16, contiguous [B, L, D] with D % 8 == 0, weight [D], modulation rows
// [B, D] with unit inner stride, everything in x's dtype and 16-byte aligned.
bool row_kernel_fits(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& mod) {
    if (!fused_enabled() || !x.is_cuda() || x.dim() != 3 || !x.is_contiguous() || x.size(-1) % 8 != 0 ||
        (x.scalar_type() != torch::kBFloat16 && x.scalar_type() != torch::kHalf) || !aligned16(x))
        return false;
    if (w.scalar_type() != x.scalar_type() || !w.is_contiguous() || w.numel() != x.size(-1) || !aligned16(w))
        return false;
    return !mod.defined() ||
           (mod.dim() == 2 && mod.size(0) == x.size(0) && mod.size(1) == x.size(-1) && mod.stride(1) == 1 &&
            mod.stride(0) % 8 == 0 && mod.scalar_type() == x.scalar_type() && aligned16(mod));
}
#endif

} // namespace

bool fused_enabled() {
    static const bool on = [] {
        const char* v = std::getenv("CHARAFORGE_FUSED");
        return !(v && std::strcmp(v, "0") == 0);
    }();
    return on;
}

torch::Tensor rms_norm_modulate_reference(const torch::Tensor& x, const torch::Tensor& w, double eps,
                                          const torch::Tensor& scale) {
    auto n = compat::rms_norm(x, w, eps);                      // [B, L, D]
    return scale.defined() ? n * (1 + scale.unsqueeze(1)) : n; // [B, L, D] * [B, 1, D]
}

torch::Tensor rms_norm_modulate(const torch::Tensor& x, const torch::Tensor& w, double eps,
                                const torch::Tensor& scale) {
#ifdef CHARAFORGE_WITH_CUDA_KERNELS
    if (row_kernel_fits(x, w, scale))
        return cuda::rms_norm_fused(x, w, scale, {}, eps);
#endif
    return rms_norm_modulate_reference(x, w, eps, scale);
}

torch::Tensor gated_residual_rms_norm_reference(const torch::Tensor& res, const torch::Tensor& y,
                                                const torch::Tensor& w, double eps, const torch::Tensor& gate) {
    auto n = compat::rms_norm(y, w, eps); // [B, L, D]
    // Residual + tanh gate as one addcmul pass over [B, L, D].
    return gate.defined() ? torch::addcmul(res, gate.tanh().unsqueeze(1), n) : res + n;
}

torch::Tensor gated_residual_rms_norm(const torch::Tensor& res, const torch::Tensor& y, const torch::Tensor& w,
                                      double eps, const torch::Tensor& gate) {
#ifdef CHARAFORGE_WITH_CUDA_KERNELS
    if (row_kernel_fits(y, w, gate) && res.sizes() == y.sizes() && res.scalar_type() == y.scalar_type() &&
        res.is_contiguous() && aligned16(res))
        return cuda::rms_norm_fused(y, w, gate, res, eps);
#endif
    return gated_residual_rms_norm_reference(res, y, w, eps, gate);
}

std::array<torch::Tensor, 3> qk_norm_rope_reference(const torch::Tensor& qkv, const torch::Tensor& qw,
                                                    const torch::Tensor& kw, double eps, const torch::Tensor& cos,
                                                    const torch::Tensor& sin, int64_t hq, int64_t hkv) {
    const int64_t B = qkv.size(0), L = qkv.size(1), dh = qw.numel();
    auto parts = qkv.split({hq * dh, hkv * dh, hkv * dh}, -1);
    auto q = apply_rope(compat::rms_norm(parts[0].view({B, L, hq, dh}), qw, eps), cos, sin);  // [B, L, Hq, Dh]
    auto k = apply_rope(compat::rms_norm(parts[1].view({B, L, hkv, dh}), kw, eps), cos, sin); // [B, L, Hkv, Dh]
    auto v = parts[2].view({B, L, hkv, dh}).contiguous();                                     // [B, L, Hkv, Dh]
    return {q, k, v};
}

std::array<torch::Tensor, 3> qk_norm_rope(const torch::Tensor& qkv, const torch::Tensor& qw, const torch::Tensor& kw,
                                          double eps, const torch::Tensor& cos, const torch::Tensor& sin, int64_t hq,
                                          int64_t hkv) {
#ifdef CHARAFORGE_WITH_CUDA_KERNELS
    const int64_t dh = qw.numel();
    if (fused_enabled() && qkv.is_cuda() && qkv.dim() == 3 && qkv.is_contiguous() &&
        (qkv.scalar_type() == torch::kBFloat16 || qkv.scalar_type() == torch::kHalf) &&
        cuda::qk_norm_rope_supports(dh) && qkv.size(2) == (hq + 2 * hkv) * dh && aligned16(qkv) &&
        qw.scalar_type() == qkv.scalar_type() && kw.scalar_type() == qkv.scalar_type() && qw.is_contiguous() &&
        kw.is_contiguous() && kw.numel() == dh && aligned16(qw) && aligned16(kw) &&
        cos.scalar_type() == torch::kFloat32 && sin.scalar_type() == torch::kFloat32 && cos.is_contiguous() &&
        sin.is_contiguous() && cos.dim() == 3 && cos.size(0) == qkv.size(0) && cos.size(1) == qkv.size(1) &&
        cos.size(2) == dh / 2 && sin.sizes() == cos.sizes())
        return cuda::qk_norm_rope(qkv, qw, kw, cos, sin, hq, hkv, eps);
#endif
    return qk_norm_rope_reference(qkv, qw, kw, eps, cos, sin, hq, hkv);
}

torch::Tensor silu_mul(const torch::Tensor& a, const torch::Tensor& b) {
#ifdef CHARAFORGE_WITH_CUDA_KERNELS
    if (fused_enabled() && a.is_cuda() && a.sizes() == b.sizes() && a.scalar_type() == b.scalar_type() &&
        a.is_contiguous() && b.is_contiguous() &&
        (a.scalar_type() == torch::kBFloat16 || a.scalar_type() == torch::kFloat16) && aligned16(a) && aligned16(b))
        return cuda::silu_mul(a, b);
#endif
    return silu_mul_reference(a, b);
}

bool have_cuda_kernels() {
#ifdef CHARAFORGE_WITH_CUDA_KERNELS
    return true;
#else
    return false;
#endif
}

} // namespace charaforge::engine::fused
