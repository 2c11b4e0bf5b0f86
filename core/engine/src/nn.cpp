// Ref: torch.nn Linear/LayerNorm/GroupNorm/Conv2d; NewBie models/components.py RMSNorm.
#include "nn.h"

#include "torch_compat.h"

namespace charaforge::engine::nn {

LinearImpl::LinearImpl(int64_t in, int64_t out, bool has_bias, const torch::TensorOptions& opts) {
    weight = register_parameter("weight", torch::empty({out, in}, opts), false);
    if (has_bias)
        bias = register_parameter("bias", torch::empty({out}, opts), false);
}

torch::Tensor LinearImpl::forward(const torch::Tensor& x) {
    if (fp8_weight.defined())
        return compat::fp8_linear(x, fp8_weight, fp8_scale, bias, fp8_fast_accum);
    return torch::linear(x.to(weight.scalar_type()), weight, bias);
}

RMSNormImpl::RMSNormImpl(int64_t dim, double eps_, const torch::TensorOptions& opts) : eps(eps_) {
    weight = register_parameter("weight", torch::empty({dim}, opts), false);
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
    return compat::rms_norm(x, weight, eps);
}

LayerNormImpl::LayerNormImpl(int64_t dim_, double eps_, const torch::TensorOptions& opts) : dim(dim_), eps(eps_) {
    weight = register_parameter("weight", torch::empty({dim}, opts), false);
    bias = register_parameter("bias", torch::empty({dim}, opts), false);
}

torch::Tensor LayerNormImpl::forward(const torch::Tensor& x) {
    return torch::layer_norm(x.to(torch::kFloat32), {dim}, weight.to(torch::kFloat32), bias.to(torch::kFloat32), eps)
        .to(x.scalar_type());
}

GroupNormImpl::GroupNormImpl(int64_t groups_, int64_t channels, double eps_, const torch::TensorOptions& opts)
    : groups(groups_), eps(eps_) {
    weight = register_parameter("weight", torch::empty({channels}, opts), false);
    bias = register_parameter("bias", torch::empty({channels}, opts), false);
}

torch::Tensor GroupNormImpl::forward(const torch::Tensor& x) {
    return torch::group_norm(x.to(torch::kFloat32), groups, weight.to(torch::kFloat32), bias.to(torch::kFloat32), eps)
        .to(x.scalar_type());
}

Conv2dImpl::Conv2dImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride_, int64_t padding_, bool has_bias,
                       const torch::TensorOptions& opts)
    : stride(stride_), padding(padding_) {
    weight = register_parameter("weight", torch::empty({out, in, kernel, kernel}, opts), false);
    if (has_bias)
        bias = register_parameter("bias", torch::empty({out}, opts), false);
}

torch::Tensor Conv2dImpl::forward(const torch::Tensor& x) {
    return torch::conv2d(x.to(weight.scalar_type()), weight, bias, {stride, stride}, {padding, padding});
}

void init_random(torch::nn::Module& module, uint64_t seed, double std) {
    torch::NoGradGuard no_grad;
    auto gen = at::detail::createCPUGenerator(seed);
    for (auto& p : module.named_parameters(true)) {
        auto cpu = at::normal(0.0, std, p.value().sizes(), gen); // fp32 on CPU: same values on every device
        const auto& name = p.key();
        const bool is_norm_weight = p.value().dim() == 1 && name.size() > 7 &&
                                    name.compare(name.size() - 7, 7, ".weight") == 0 &&
                                    (name.find("norm") != std::string::npos || name.find("_ln.") != std::string::npos);
        if (is_norm_weight)
            cpu += 1.0;
        p.value().copy_(cpu);
    }
}

} // namespace charaforge::engine::nn
