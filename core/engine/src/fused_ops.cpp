// Ref: NewBie-image-Exp0.1 models/model.py FeedForward (w2(silu(w1 x) * w3 x)).
#include "fused_ops.h"

#include <cstdint>

#ifdef CHARAFORGE_WITH_CUDA_KERNELS
#include "cuda/fused_kernels.h"
#endif

namespace charaforge::engine::fused {

torch::Tensor silu_mul_reference(const torch::Tensor& a, const torch::Tensor& b) {
    return torch::silu(a) * b;
}

torch::Tensor silu_mul(const torch::Tensor& a, const torch::Tensor& b) {
#ifdef CHARAFORGE_WITH_CUDA_KERNELS
    if (a.is_cuda() && a.sizes() == b.sizes() && a.scalar_type() == b.scalar_type() && a.is_contiguous() &&
        b.is_contiguous() && (a.scalar_type() == torch::kBFloat16 || a.scalar_type() == torch::kFloat16) &&
        reinterpret_cast<uintptr_t>(a.data_ptr()) % 16 == 0 && reinterpret_cast<uintptr_t>(b.data_ptr()) % 16 == 0)
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
