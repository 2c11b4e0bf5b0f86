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
    if (fp8_weight.defined() && fp8_upcast)
        return torch::linear(x.to(weight.scalar_type()),
                             compat::dequantize_rows_e4m3(fp8_weight, fp8_scale, weight.scalar_type()), bias);
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

void init_random_on_device(torch::nn::Module& m, uint64_t seed) {
    torch::NoGradGuard ng;
    torch::manual_seed(seed);
    for (auto& p : m.named_parameters(true)) {
        const auto& name = p.key();
        const bool norm = p.value().dim() == 1 && name.find("norm") != std::string::npos && name.size() > 7 &&
                          name.compare(name.size() - 7, 7, ".weight") == 0;
        auto r = torch::randn(p.value().sizes(), p.value().options().dtype(torch::kFloat32));
        p.value().copy_(norm ? 1 + 0.1 * r : 0.02 * r);
    }
}

void init_test_weights(torch::nn::Module& m, uint64_t seed, const torch::Device& device) {
    if (device.is_cpu())
        init_random(m, seed, 0.05);
    else
        init_random_on_device(m, seed);
}

} // namespace charaforge::engine::nn
