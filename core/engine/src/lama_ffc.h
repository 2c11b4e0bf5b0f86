#pragma once
// The big-lama generator (advimman/lama FFCResNetGenerator with the big-lama config): a ResNet of Fast
// Fourier Convolutions. Registered names are the generator's state-dict keys ("model.<i>.ffc.convl2l.weight"),
// so a strict load checks them one by one. Inference runs with every BatchNorm folded into the linear op
// before it (fold_batchnorm()); the unfolded path stays for checking the folding.
#include "nn.h"
#include "weights.h"

#include <torch/torch.h>

#include <memory>
#include <utility>
#include <vector>

namespace charaforge::engine {

struct LamaConfig {
    int64_t input_nc = 4; // RGB with the hole set to zero, plus the mask
    int64_t output_nc = 3;
    int64_t ngf = 64;
    int64_t n_downsampling = 3;
    int64_t n_blocks = 18;
    int64_t max_features = 1024;
    double ratio_g = 0.75; // share of the bottleneck channels in the global (spectral) branch
    double bn_eps = 1e-5;

    int64_t bottleneck() const; // channels at H/2^n: min(max_features, ngf * 2^n)
    int64_t global_channels() const { return static_cast<int64_t>(static_cast<double>(bottleneck()) * ratio_g); }
    int64_t local_channels() const { return bottleneck() - global_channels(); }
    // Sequential indices of the reference's `model` list.
    int64_t first_block() const { return 2 + n_downsampling; }
    int64_t first_up() const { return first_block() + n_blocks + 1; }          // after ConcatTupleLayer
    int64_t final_conv() const { return first_up() + 3 * n_downsampling + 1; } // after ReflectionPad2d(3)
    // Input sides must be multiples of this (the encoder halves the size n_downsampling times).
    int64_t size_multiple() const { return int64_t{1} << n_downsampling; }

    // Reads ngf, n_downsampling, n_blocks and the local/global split from the tensor shapes.
    static LamaConfig from_weights(const TensorShapes& shapes);
};

// BatchNorm2d in eval mode (running statistics), with the reference's five state-dict entries.
class LamaBatchNormImpl : public torch::nn::Module {
public:
    LamaBatchNormImpl(int64_t channels, double eps, const torch::TensorOptions& opts);
    torch::Tensor forward(const torch::Tensor& x) const; // [B, C, H, W] -> same
    torch::Tensor scale() const;                         // weight / sqrt(var + eps)   [C]
    torch::Tensor shift() const;                         // bias - mean * scale        [C]
    torch::Tensor weight, bias, running_mean, running_var, num_batches_tracked;
    double eps;
};
TORCH_MODULE(LamaBatchNorm);

// SpectralTransform(c, c) with LFU off: conv1 (1x1 + BN + ReLU) to c/2, FourierUnit, conv2 (1x1) back to c.
class LamaSpectralTransformImpl : public torch::nn::Module {
public:
    LamaSpectralTransformImpl(int64_t channels, double eps, const torch::TensorOptions& opts);
    torch::Tensor forward(const torch::Tensor& g) const; // [B, c, h, w] -> [B, c, h, w], unfolded
    nn::Conv2d conv1_conv{nullptr}, fu_conv{nullptr}, conv2{nullptr};
    LamaBatchNorm conv1_bn{nullptr}, fu_bn{nullptr};
};
TORCH_MODULE(LamaSpectralTransform);

// FFC_BN_ACT: an FFC layer with its two BatchNorms and ReLUs. Which of convl2l/convl2g/convg2l/convg2g
// exist follows the reference: a branch exists when its input and output channel counts are both > 0.
class LamaFfcBnActImpl : public torch::nn::Module {
public:
    LamaFfcBnActImpl(int64_t in_l, int64_t in_g, int64_t out_l, int64_t out_g, int64_t kernel, int64_t stride,
                     int64_t padding, double eps, const torch::TensorOptions& opts);
    // Unfolded forward; reflect padding by `padding` before each spatial conv.
    //   l [B, in_l, H, W], g [B, in_g, H, W] or undefined -> (l' [B, out_l, H', W'], g' or undefined)
    std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& l, const torch::Tensor& g) const;
    int64_t stride, padding;
    std::shared_ptr<torch::nn::Module> ffc;
    nn::Conv2d convl2l{nullptr}, convl2g{nullptr}, convg2l{nullptr};
    LamaSpectralTransform convg2g{nullptr};
    LamaBatchNorm bn_l{nullptr}, bn_g{nullptr};
};
TORCH_MODULE(LamaFfcBnAct);

// ConvTranspose2d(k3, s2, p1, output_padding 1) with bias: exactly doubles H and W.
class LamaConvTransposeImpl : public torch::nn::Module {
public:
    LamaConvTransposeImpl(int64_t in, int64_t out, const torch::TensorOptions& opts);
    torch::Tensor forward(const torch::Tensor& x) const; // [B, in, H, W] -> [B, out, 2H, 2W]
    torch::Tensor weight, bias;                          // weight [in, out, 3, 3]
};
TORCH_MODULE(LamaConvTranspose);

class LamaGeneratorImpl : public torch::nn::Module {
public:
    LamaGeneratorImpl(const LamaConfig& cfg, const torch::TensorOptions& opts);

    // The generator alone: x [B, 4, H, W] (masked RGB in [0,1] and the 0/1 mask), H and W multiples of
    // size_multiple() and at least 2 * size_multiple() -> [B, 3, H, W] in (0, 1). Uses the folded weights
    // when fold_batchnorm() was called since the last load.
    torch::Tensor forward(const torch::Tensor& x) const;
    torch::Tensor forward_unfolded(const torch::Tensor& x) const;

    // The TorchScript wrapper's inpainting: image [B, 3, H, W] in [0,1], mask [B, 1, H, W] in {0,1} ->
    // mask * generator(cat(image * (1 - mask), mask)) + (1 - mask) * image.
    torch::Tensor inpaint(const torch::Tensor& image, const torch::Tensor& mask) const;

    // Folds every BatchNorm into the preceding convolution (call after loading, again after any reload).
    void fold_batchnorm();
    bool folded() const { return !folded_.empty(); }
    // Keeps the folded weights (and runs the folded forward) in channels-last memory format (cuDNN's NHWC
    // kernels) or in the default contiguous format. Call after fold_batchnorm(); the values are unchanged.
    // Measured on one H200 (lama_bench --formats nchw,nhwc, 512², TF32): channels-last is slower (B8 136.6
    // against 170.9 images/s), so the default stays contiguous; kept to measure other GPUs.
    void set_channels_last(bool on);
    // Runs the folded forward with its weights and activations in `dtype` (kFloat32, kHalf or kBFloat16); the
    // Fourier unit's transforms and the final sigmoid stay in fp32 (cuFFT's half-precision transforms take only
    // power-of-two sides). Input and output stay fp32. Call after fold_batchnorm() (which returns to fp32); the
    // memory format set by set_channels_last() is kept. Measured on one H200 (tools/gpu/lama_bench.sh, 512², B8):
    // fp16 gives 1.26x the images/s of fp32 with TF32 and, on tamed random weights, errs like TF32 does (max abs
    // 1.5e-3 against the reference's strict fp32); on plain random weights its activations overflow (non-finite
    // output). bf16 never overflows but errs 10x more (max abs 1.5e-2). The default therefore stays fp32.
    void set_compute_dtype(torch::ScalarType dtype);
    torch::ScalarType compute_dtype() const { return dtype_; }

    const LamaConfig& config() const { return cfg_; }

private:
    struct FoldedFfc {                                 // one residual FFC layer with its BNs folded
        torch::Tensor w_to_l, b_l;                     // [out_l, in_l + in_g, k, k] applied to cat(l, g); bias [out_l]
        torch::Tensor w_l2g, b_g;                      // [out_g, in_l, k, k]; bias [out_g]
        torch::Tensor w_st1, b_st1, w_fu, b_fu, w_st2; // spectral 1x1 convs ([out, in, 1, 1])
    };
    struct FoldedConv {
        torch::Tensor w, b;
    };
    torch::Tensor spectral_folded(const FoldedFfc& f, const torch::Tensor& g) const;

    LamaConfig cfg_;
    std::shared_ptr<torch::nn::Module> model_;
    std::vector<LamaFfcBnAct> encoder_; // model.1 .. model.(1 + n_downsampling)
    std::vector<LamaFfcBnAct> blocks_;  // conv1, conv2 of each residual block, in order
    std::vector<LamaConvTranspose> up_;
    std::vector<LamaBatchNorm> up_bn_;
    nn::Conv2d final_{nullptr};
    std::vector<FoldedConv> folded_;    // encoder (the last one's output is cat(l, g)), then up convs
    std::vector<FoldedFfc> folded_ffc_; // one per residual FFC layer
    torch::Tensor final_w_, final_b_;   // final conv in the folded path's memory format and dtype
    at::MemoryFormat format_ = at::MemoryFormat::Contiguous;
    torch::ScalarType dtype_ = torch::kFloat32;
};
TORCH_MODULE(LamaGenerator);

// Random weights for tests, benchmarks and parity fixtures: convolutions N(0, 1/fan_in), BatchNorm weights and
// running variances in [0.5, 1.5], biases and running means N(0, 0.1). Seeded, the same on every device.
void init_lama_random(LamaGeneratorImpl& gen, uint64_t seed);

// The FourierUnit's spectrum as channels, interleaved per channel like the reference: channel 2c is Re(F_c),
// 2c+1 is Im(F_c).  y [B, C, h, w] -> [B, 2C, h, w/2 + 1]
torch::Tensor lama_spectrum(const torch::Tensor& y);
// Inverse of lama_spectrum for a real signal of width w.  z [B, 2C, h, w/2 + 1] -> [B, C, h, w]
torch::Tensor lama_inverse_spectrum(const torch::Tensor& z, int64_t h, int64_t w);

} // namespace charaforge::engine
