#pragma once
// Minimal inference modules. Parameters are created uninitialised with the runtime's dtype and
// device (a 3.5B model must not be built in fp32 and randomly initialised before loading), and are
// registered under the checkpoint's own names so that named_parameters() equals the state-dict keys.
#include <torch/torch.h>

namespace charaforge::engine::nn {

// y = x W^T + b.  x [..., in] -> [..., out]
class LinearImpl : public torch::nn::Module {
public:
    LinearImpl(int64_t in, int64_t out, bool bias, const torch::TensorOptions& opts);
    torch::Tensor forward(const torch::Tensor& x);
    torch::Tensor weight, bias;
    // fp8 mode (fp8_linear.h): the weight in e4m3 [out, in] with one fp32 scale per output channel [out]; when
    // defined, forward quantises x per row and multiplies in fp8 (CUDA only). Not part of the state dict.
    torch::Tensor fp8_weight, fp8_scale;
    bool fp8_fast_accum = false;
    // Weight-only fp8 (memory mode low): forward upcasts the fp8 weight to the original dtype and multiplies
    // in that dtype instead (any device, x not quantised).
    bool fp8_upcast = false;
};
TORCH_MODULE(Linear);

// RMSNorm as NewBie's components.py: normalise in fp32, cast back to x's dtype, then scale by w.
//   x [..., dim] -> same shape and dtype
class RMSNormImpl : public torch::nn::Module {
public:
    RMSNormImpl(int64_t dim, double eps, const torch::TensorOptions& opts);
    torch::Tensor forward(const torch::Tensor& x);
    torch::Tensor weight;
    double eps;
};
TORCH_MODULE(RMSNorm);

// LayerNorm with affine weight and bias, computed in fp32, result cast back to x's dtype.
class LayerNormImpl : public torch::nn::Module {
public:
    LayerNormImpl(int64_t dim, double eps, const torch::TensorOptions& opts);
    torch::Tensor forward(const torch::Tensor& x);
    torch::Tensor weight, bias;
    int64_t dim;
    double eps;
};
TORCH_MODULE(LayerNorm);

// GroupNorm with affine parameters (computed in fp32, cast back).  x [B, C, ...]
class GroupNormImpl : public torch::nn::Module {
public:
    GroupNormImpl(int64_t groups, int64_t channels, double eps, const torch::TensorOptions& opts);
    torch::Tensor forward(const torch::Tensor& x);
    torch::Tensor weight, bias;
    int64_t groups;
    double eps;
};
TORCH_MODULE(GroupNorm);

// 2-D convolution with zero padding.  x [B, in, H, W] -> [B, out, H', W']
class Conv2dImpl : public torch::nn::Module {
public:
    Conv2dImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding, bool bias,
               const torch::TensorOptions& opts);
    torch::Tensor forward(const torch::Tensor& x);
    torch::Tensor weight, bias;
    int64_t stride, padding;
};
TORCH_MODULE(Conv2d);

// Fills every parameter with N(0, std) (norm weights get 1 + N(0, std)) from a seeded generator:
// the random weights of test models. Deterministic for a seed, independent of device.
void init_random(torch::nn::Module& module, uint64_t seed, double std = 0.02);
// Random weights drawn on the parameters' own device (fast for full-size models; the values depend on the device):
// N(0, 0.02), norm weights 1 + N(0, 0.1). For benchmarks and full-size random model folders.
void init_random_on_device(torch::nn::Module& module, uint64_t seed);
// The random-model writers' weights: init_random(seed, 0.05) on the CPU, init_random_on_device elsewhere.
void init_test_weights(torch::nn::Module& module, uint64_t seed, const torch::Device& device);

} // namespace charaforge::engine::nn
