// Ref: advimman/lama saicinpainting/training/modules/ffc.py (FFCResNetGenerator, FFCResnetBlock, FFC_BN_ACT,
//      FFC, SpectralTransform, FourierUnit) with configs/training/big-lama.yaml (generator block);
//      saicinpainting/training/trainers/default.py (DefaultInpaintingTrainingModule.forward, concat_mask).
#include "lama_ffc.h"

#include "fused_ops.h"
#ifdef CHARAFORGE_WITH_CUDA_KERNELS
#include "cuda/lama_kernels.h"
#endif

#include "charaforge/engine/error.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>

namespace charaforge::engine {
namespace {

[[noreturn]] void lama_error(const std::string& what) {
    throw EngineError("lama: " + what);
}

torch::Tensor reflect(const torch::Tensor& x, int64_t p) {
    if (p == 0)
        return x;
    // LibTorch 1.13's CPU kernel takes no 16-bit floats; padding only copies values, so fp32 is exact here.
    if (x.device().is_cpu() && (x.scalar_type() == torch::kBFloat16 || x.scalar_type() == torch::kHalf))
        return torch::reflection_pad2d(x.to(torch::kFloat32), {p, p, p, p}).to(x.scalar_type());
    return torch::reflection_pad2d(x, {p, p, p, p});
}

bool cuda_float(const torch::Tensor& x) {
    const auto t = x.scalar_type();
    return x.is_cuda() && (t == torch::kFloat32 || t == torch::kHalf || t == torch::kBFloat16);
}

// reflect(cat(l, g), p) (g undefined: reflect(l, p)). On CUDA one kernel (cuda/lama_kernels.cu) reads both parts
// once and writes the padded concatenation; it copies values, so both paths give the same tensor.
torch::Tensor reflect_cat(const torch::Tensor& l, const torch::Tensor& g, int64_t p) {
#ifdef CHARAFORGE_WITH_CUDA_KERNELS
    const bool g_ok =
        !g.defined() || (g.is_contiguous() && g.scalar_type() == l.scalar_type() && g.device() == l.device() &&
                         g.dim() == 4 && g.size(0) == l.size(0) && g.size(2) == l.size(2) && g.size(3) == l.size(3));
    if (fused::fused_enabled() && cuda_float(l) && l.dim() == 4 && l.is_contiguous() && g_ok && p < l.size(2) &&
        p < l.size(3))
        return cuda::reflect_pad_cat(l, g, p);
#endif
    return reflect(g.defined() ? torch::cat({l, g}, 1) : l, p);
}

// Whether convolutions run through cuDNN's fused convolution + bias (+ residual) + ReLU. The environment variable
// CHARAFORGE_CUDNN_FUSION=0 turns it off (separate kernels, for before/after timings). Read once.
bool cudnn_fusion_enabled() {
    static const bool on = [] {
        const char* v = std::getenv("CHARAFORGE_CUDNN_FUSION");
        return !(v && std::string(v) == "0");
    }();
    return on;
}

bool cudnn_fusable(const torch::Tensor& x) {
    return cudnn_fusion_enabled() && cuda_float(x) && at::globalContext().userEnabledCuDNN();
}

// relu(conv2d(x, w, b, stride)), x already padded.
torch::Tensor conv_relu(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b, int64_t stride = 1) {
    if (cudnn_fusable(x))
        return at::cudnn_convolution_relu(x, w, b, {stride, stride}, {0, 0}, {1, 1}, 1);
    return torch::conv2d(x, w, b, stride).relu_();
}

// relu(conv2d(x, w, b) + z), x already padded, z of the output's shape.
torch::Tensor conv_add_relu(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b,
                            const torch::Tensor& z) {
    if (cudnn_fusable(x) && z.scalar_type() == x.scalar_type())
        return at::cudnn_convolution_add_relu(x, w, z, at::Scalar(1.0), b, {1, 1}, {0, 0}, {1, 1}, 1);
    return torch::conv2d(x, w, b).add_(z).relu_();
}

// The decoder's ConvTranspose2d(k3, s2, p1, output_padding 1). LibTorch 1.13's CPU (mkldnn) kernel mistakes a
// 16-bit transposed convolution for a plain one; there it runs in fp32 and rounds its output like the GPU does.
torch::Tensor up_conv(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
    if (x.device().is_cpu() && (x.scalar_type() == torch::kBFloat16 || x.scalar_type() == torch::kHalf))
        return torch::conv_transpose2d(x.to(torch::kFloat32), w.to(torch::kFloat32), b.to(torch::kFloat32), 2, 1, 1)
            .to(x.scalar_type());
    return torch::conv_transpose2d(x, w, b, 2, 1, 1);
}

torch::Tensor per_out(const torch::Tensor& s) { // [C] -> [C, 1, 1, 1] (scales a conv weight's output channels)
    return s.view({-1, 1, 1, 1});
}

// A convolution of one of our weight holders (reflect padding, where needed, is applied before).
torch::Tensor conv(const nn::Conv2d& c, const torch::Tensor& x) {
    return torch::conv2d(x, c->weight, c->bias, c->stride);
}

std::string key(int64_t i, const std::string& rest) {
    return "model." + std::to_string(i) + "." + rest;
}

} // namespace

int64_t LamaConfig::bottleneck() const {
    return std::min(max_features, ngf << n_downsampling);
}

LamaConfig LamaConfig::from_weights(const TensorShapes& shapes) {
    LamaConfig c;
    const auto first = required_shape(shapes, key(1, "ffc.convl2l.weight"), "lama", "big-lama generator", 4);
    c.ngf = first[0];
    c.input_nc = first[1];
    c.n_downsampling = 0;
    while (shapes.count(key(2 + c.n_downsampling, "ffc.convl2l.weight")) &&
           !shapes.count(key(1 + c.n_downsampling, "ffc.convl2g.weight")))
        ++c.n_downsampling;
    const int64_t last_down = 1 + c.n_downsampling;
    if (c.n_downsampling < 1 || !shapes.count(key(last_down, "ffc.convl2g.weight")))
        lama_error("the checkpoint has no downsampling layer with a global branch (model.<i>.ffc.convl2g.weight): "
                   "not a big-lama FFC generator");
    const int64_t local = shapes.at(key(last_down, "ffc.convl2l.weight"))[0];
    const int64_t global = shapes.at(key(last_down, "ffc.convl2g.weight"))[0];
    c.max_features = std::max(local + global, c.ngf);
    if (c.bottleneck() != local + global)
        lama_error("the bottleneck has " + std::to_string(local + global) + " channels, expected ngf * 2^" +
                   std::to_string(c.n_downsampling) + " = " + std::to_string(c.ngf << c.n_downsampling));
    c.ratio_g = static_cast<double>(global) / static_cast<double>(local + global);
    if (c.global_channels() != global)
        lama_error("cannot express the global share " + std::to_string(global) + "/" + std::to_string(local + global));
    c.n_blocks = 0;
    while (shapes.count(key(c.first_block() + c.n_blocks, "conv1.ffc.convl2l.weight")))
        ++c.n_blocks;
    c.output_nc = required_shape(shapes, key(c.final_conv(), "weight"), "lama", "big-lama generator", 4)[0];
    return c;
}

// ---------------------------------------------------------------------------------------------------------

LamaBatchNormImpl::LamaBatchNormImpl(int64_t c, double eps_, const torch::TensorOptions& opts) : eps(eps_) {
    weight = register_parameter("weight", torch::ones({c}, opts), false);
    bias = register_parameter("bias", torch::zeros({c}, opts), false);
    running_mean = register_buffer("running_mean", torch::zeros({c}, opts));
    running_var = register_buffer("running_var", torch::ones({c}, opts));
    num_batches_tracked = register_buffer("num_batches_tracked", torch::zeros({}, opts.dtype(torch::kInt64)));
}

torch::Tensor LamaBatchNormImpl::forward(const torch::Tensor& x) const {
    return torch::batch_norm(x, weight, bias, running_mean, running_var, false, 0.0, eps, false);
}

torch::Tensor LamaBatchNormImpl::scale() const {
    return weight / torch::sqrt(running_var + eps);
}

torch::Tensor LamaBatchNormImpl::shift() const {
    return bias - running_mean * scale();
}

LamaSpectralTransformImpl::LamaSpectralTransformImpl(int64_t c, double eps, const torch::TensorOptions& opts) {
    auto conv1 = register_module("conv1", std::make_shared<torch::nn::Module>());
    conv1_conv = conv1->register_module("0", nn::Conv2d(c, c / 2, 1, 1, 0, false, opts));
    conv1_bn = conv1->register_module("1", LamaBatchNorm(c / 2, eps, opts));
    auto fu = register_module("fu", std::make_shared<torch::nn::Module>());
    fu_conv = fu->register_module("conv_layer", nn::Conv2d(c, c, 1, 1, 0, false, opts));
    fu_bn = fu->register_module("bn", LamaBatchNorm(c, eps, opts));
    conv2 = register_module("conv2", nn::Conv2d(c / 2, c, 1, 1, 0, false, opts));
}

torch::Tensor LamaSpectralTransformImpl::forward(const torch::Tensor& g) const {
    auto y = torch::relu(conv1_bn->forward(conv(conv1_conv, g))); // [B, c/2, h, w]
    auto z = torch::relu(fu_bn->forward(conv(fu_conv, lama_spectrum(y))));
    return conv(conv2, y + lama_inverse_spectrum(z, y.size(2), y.size(3))); // [B, c, h, w]
}

void init_lama_random(LamaGeneratorImpl& gen, uint64_t seed) {
    torch::NoGradGuard no_grad;
    auto rng = at::detail::createCPUGenerator(seed);
    auto fill = [&](torch::Tensor& t, const torch::Tensor& cpu) { t.copy_(cpu); };
    for (auto& p : gen.named_parameters(true)) {
        auto t = p.value();
        const auto& name = p.key();
        const bool ends_weight = name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0;
        if (t.dim() == 4) // conv [out, in, k, k] and conv-transpose [in, out, k, k] weights alike
            fill(t, at::normal(0.0, 1.0 / std::sqrt(static_cast<double>(t.size(1) * t.size(2) * t.size(3))), t.sizes(),
                               rng));
        else if (ends_weight) // only BatchNorm weights are 1-D ".weight"s
            fill(t, at::rand(t.sizes(), rng) + 0.5);
        else
            fill(t, at::normal(0.0, 0.1, t.sizes(), rng));
    }
    for (auto& b : gen.named_buffers(true)) {
        auto t = b.value();
        if (t.scalar_type() == torch::kInt64)
            continue;
        const auto& name = b.key();
        if (name.compare(name.size() - 11, 11, "running_var") == 0)
            fill(t, at::rand(t.sizes(), rng) + 0.5);
        else
            fill(t, at::normal(0.0, 0.1, t.sizes(), rng));
    }
}

torch::Tensor lama_spectrum(const torch::Tensor& y) {
    const auto B = y.size(0), C = y.size(1);
    auto f = torch::fft::rfftn(y, c10::nullopt, std::vector<int64_t>{-2, -1}, "ortho"); // [B, C, h, wf] complex
    auto ri = torch::view_as_real(f);                                                   // [B, C, h, wf, 2]
    return ri.permute({0, 1, 4, 2, 3}).reshape({B, 2 * C, f.size(2), f.size(3)});       // [B, 2C, h, wf]
}

torch::Tensor lama_inverse_spectrum(const torch::Tensor& z, int64_t h, int64_t w) {
    const auto B = z.size(0), C = z.size(1) / 2;
    auto ri = z.view({B, C, 2, z.size(2), z.size(3)}).permute({0, 1, 3, 4, 2}).contiguous(); // [B, C, h, wf, 2]
    return torch::fft::irfftn(torch::view_as_complex(ri), std::vector<int64_t>{h, w}, std::vector<int64_t>{-2, -1},
                              "ortho"); // [B, C, h, w]
}

LamaFfcBnActImpl::LamaFfcBnActImpl(int64_t in_l, int64_t in_g, int64_t out_l, int64_t out_g, int64_t kernel,
                                   int64_t stride_, int64_t padding_, double eps, const torch::TensorOptions& opts)
    : stride(stride_), padding(padding_) {
    ffc = register_module("ffc", std::make_shared<torch::nn::Module>());
    if (in_l > 0 && out_l > 0)
        convl2l = ffc->register_module("convl2l", nn::Conv2d(in_l, out_l, kernel, stride, 0, false, opts));
    if (in_l > 0 && out_g > 0)
        convl2g = ffc->register_module("convl2g", nn::Conv2d(in_l, out_g, kernel, stride, 0, false, opts));
    if (in_g > 0 && out_l > 0)
        convg2l = ffc->register_module("convg2l", nn::Conv2d(in_g, out_l, kernel, stride, 0, false, opts));
    if (in_g > 0 && out_g > 0) {
        if (stride != 1)
            lama_error("a strided spectral transform is not part of big-lama");
        convg2g = ffc->register_module("convg2g", LamaSpectralTransform(in_g, eps, opts));
    }
    if (out_l > 0)
        bn_l = register_module("bn_l", LamaBatchNorm(out_l, eps, opts));
    if (out_g > 0)
        bn_g = register_module("bn_g", LamaBatchNorm(out_g, eps, opts));
}

std::pair<torch::Tensor, torch::Tensor> LamaFfcBnActImpl::forward(const torch::Tensor& l,
                                                                  const torch::Tensor& g) const {
    const auto lp = reflect(l, padding);
    const auto gp = g.defined() ? reflect(g, padding) : torch::Tensor();
    torch::Tensor out_l, out_g;
    if (bn_l) {
        out_l = conv(convl2l, lp);
        if (convg2l)
            out_l = out_l + conv(convg2l, gp);
        out_l = torch::relu(bn_l->forward(out_l));
    }
    if (bn_g) {
        out_g = conv(convl2g, lp);
        if (convg2g)
            out_g = out_g + convg2g->forward(g);
        out_g = torch::relu(bn_g->forward(out_g));
    }
    return {out_l, out_g};
}

LamaConvTransposeImpl::LamaConvTransposeImpl(int64_t in, int64_t out, const torch::TensorOptions& opts) {
    weight = register_parameter("weight", torch::empty({in, out, 3, 3}, opts), false);
    bias = register_parameter("bias", torch::empty({out}, opts), false);
}

torch::Tensor LamaConvTransposeImpl::forward(const torch::Tensor& x) const {
    return torch::conv_transpose2d(x, weight, bias, 2, 1, 1);
}

// ---------------------------------------------------------------------------------------------------------

LamaGeneratorImpl::LamaGeneratorImpl(const LamaConfig& cfg, const torch::TensorOptions& opts) : cfg_(cfg) {
    if (cfg.n_downsampling < 1 || cfg.n_blocks < 0 || cfg.ngf < 1 || cfg.local_channels() < 1 ||
        cfg.global_channels() < 2)
        lama_error("invalid generator config");
    model_ = register_module("model", std::make_shared<torch::nn::Module>());
    const double eps = cfg.bn_eps;
    // model.0 is ReflectionPad2d(3); model.1 the 7x7 FFC_BN_ACT, local only.
    encoder_.push_back(model_->register_module("1", LamaFfcBnAct(cfg.input_nc, 0, cfg.ngf, 0, 7, 1, 0, eps, opts)));
    for (int64_t i = 0; i < cfg.n_downsampling; ++i) {
        const int64_t in = std::min(cfg.max_features, cfg.ngf << i);
        const int64_t out = std::min(cfg.max_features, cfg.ngf << (i + 1));
        const bool last = i == cfg.n_downsampling - 1;
        const int64_t out_g = last ? cfg.global_channels() : 0;
        encoder_.push_back(model_->register_module(std::to_string(2 + i),
                                                   LamaFfcBnAct(in, 0, out - out_g, out_g, 3, 2, 1, eps, opts)));
    }
    const int64_t cl = cfg.local_channels(), cg = cfg.global_channels();
    for (int64_t b = 0; b < cfg.n_blocks; ++b) {
        auto block =
            model_->register_module(std::to_string(cfg.first_block() + b), std::make_shared<torch::nn::Module>());
        for (const char* name : {"conv1", "conv2"})
            blocks_.push_back(block->register_module(name, LamaFfcBnAct(cl, cg, cl, cg, 3, 1, 1, eps, opts)));
    }
    for (int64_t i = 0; i < cfg.n_downsampling; ++i) {
        const int64_t in = std::min(cfg.max_features, cfg.ngf << (cfg.n_downsampling - i));
        const int64_t out = std::min(cfg.max_features, cfg.ngf << (cfg.n_downsampling - i - 1));
        up_.push_back(
            model_->register_module(std::to_string(cfg.first_up() + 3 * i), LamaConvTranspose(in, out, opts)));
        up_bn_.push_back(
            model_->register_module(std::to_string(cfg.first_up() + 3 * i + 1), LamaBatchNorm(out, eps, opts)));
    }
    final_ = model_->register_module(std::to_string(cfg.final_conv()),
                                     nn::Conv2d(cfg.ngf, cfg.output_nc, 7, 1, 0, true, opts));
}

void LamaGeneratorImpl::fold_batchnorm() {
    torch::NoGradGuard no_grad;
    folded_.clear();
    folded_ffc_.clear();
    for (const auto& e : encoder_) {
        // Encoder layers have no global input: one conv gives cat(l, g) when the layer has a global output.
        auto w = per_out(e->bn_l->scale()) * e->convl2l->weight;
        auto b = e->bn_l->shift();
        if (e->convl2g) {
            w = torch::cat({w, per_out(e->bn_g->scale()) * e->convl2g->weight}, 0);
            b = torch::cat({b, e->bn_g->shift()}, 0);
        }
        folded_.push_back({w.contiguous(), b.contiguous()});
    }
    for (const auto& f : blocks_) {
        FoldedFfc o;
        const auto s_l = per_out(f->bn_l->scale()), s_g = per_out(f->bn_g->scale());
        o.w_to_l = (s_l * torch::cat({f->convl2l->weight, f->convg2l->weight}, 1)).contiguous();
        o.b_l = f->bn_l->shift().contiguous();
        o.w_l2g = (s_g * f->convl2g->weight).contiguous();
        o.b_g = f->bn_g->shift().contiguous();
        const auto& st = f->convg2g;
        o.w_st1 = (per_out(st->conv1_bn->scale()) * st->conv1_conv->weight).contiguous();
        o.b_st1 = st->conv1_bn->shift().contiguous();
        o.w_fu = (per_out(st->fu_bn->scale()) * st->fu_conv->weight).contiguous();
        o.b_fu = st->fu_bn->shift().contiguous();
        o.w_st2 = (s_g * st->conv2->weight).contiguous(); // bn_g's scale; its shift is in b_g
        folded_ffc_.push_back(std::move(o));
    }
    for (std::size_t i = 0; i < up_.size(); ++i) {
        const auto s = up_bn_[i]->scale();
        folded_.push_back({(up_[i]->weight * s.view({1, -1, 1, 1})).contiguous(),
                           (up_[i]->bias * s + up_bn_[i]->shift()).contiguous()});
    }
    final_w_ = final_->weight.contiguous();
    final_b_ = final_->bias;
    format_ = at::MemoryFormat::Contiguous;
    dtype_ = torch::kFloat32;
}

void LamaGeneratorImpl::set_channels_last(bool on) {
    TORCH_CHECK(folded(), "lama: set_channels_last needs fold_batchnorm() first");
    format_ = on ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
    const auto to = [this](torch::Tensor& w) { w = w.contiguous(format_); };
    for (auto& c : folded_)
        to(c.w);
    for (auto& f : folded_ffc_)
        for (auto* w : {&f.w_to_l, &f.w_l2g, &f.w_st1, &f.w_fu, &f.w_st2})
            to(*w);
    to(final_w_);
}

void LamaGeneratorImpl::set_compute_dtype(torch::ScalarType dtype) {
    TORCH_CHECK(folded(), "lama: set_compute_dtype needs fold_batchnorm() first");
    TORCH_CHECK(dtype == torch::kFloat32 || dtype == torch::kHalf || dtype == torch::kBFloat16,
                "lama: the generator computes in float32, float16 or bfloat16, not ", dtype);
    // From the fp32 parameters again, so that switching between narrow types never rounds twice.
    const bool channels_last = format_ == at::MemoryFormat::ChannelsLast;
    fold_batchnorm();
    if (channels_last)
        set_channels_last(true);
    dtype_ = dtype;
    const auto to = [this](torch::Tensor& w) { w = w.to(dtype_); }; // keeps the memory format
    for (auto& c : folded_) {
        to(c.w);
        to(c.b);
    }
    for (auto& f : folded_ffc_)
        for (auto* w : {&f.w_to_l, &f.b_l, &f.w_l2g, &f.b_g, &f.w_st1, &f.b_st1, &f.w_fu, &f.b_fu, &f.w_st2})
            to(*w);
    to(final_w_);
    to(final_b_);
}

torch::Tensor LamaGeneratorImpl::spectral_folded(const FoldedFfc& f, const torch::Tensor& g) const {
    // In place where a temporary is ours alone: fewer passes over the activations, the same values.
    auto y = conv_relu(g, f.w_st1, f.b_st1); // [B, cg/2, h, w]
    // The transforms run in fp32 (.to() of a tensor already of that type returns it, no copy).
    auto z = conv_relu(lama_spectrum(y.to(torch::kFloat32)).to(dtype_), f.w_fu, f.b_fu); // [B, cg, h, w/2+1]
    auto back = lama_inverse_spectrum(z.to(torch::kFloat32), y.size(2), y.size(3));
    return torch::conv2d(y.add_(back.to(dtype_)), f.w_st2); // [B, cg, h, w]
}

torch::Tensor LamaGeneratorImpl::forward(const torch::Tensor& x) const {
    if (!folded())
        return forward_unfolded(x);
    TORCH_CHECK(x.dim() == 4 && x.size(1) == cfg_.input_nc, "lama: generator input must be [B, ", cfg_.input_nc,
                ", H, W], got ", x.sizes());
    TORCH_CHECK(x.size(2) % cfg_.size_multiple() == 0 && x.size(3) % cfg_.size_multiple() == 0 &&
                    x.size(2) >= 2 * cfg_.size_multiple() && x.size(3) >= 2 * cfg_.size_multiple(),
                "lama: input sides must be multiples of ", cfg_.size_multiple(), " and at least ",
                2 * cfg_.size_multiple(), ", got ", x.sizes());
    auto h = conv_relu(reflect(x.to(dtype_).contiguous(format_), 3), folded_[0].w, folded_[0].b); // [B, ngf, H, W]
    for (int64_t i = 1; i <= cfg_.n_downsampling; ++i)
        h = conv_relu(reflect_cat(h, {}, 1), folded_[i].w, folded_[i].b, 2); // [B, 2^i ngf, H/2^i, W/2^i]
    const int64_t cl = cfg_.local_channels();
    auto l = h.narrow(1, 0, cl);                      // [B, cl, h, w]
    auto g = h.narrow(1, cl, cfg_.global_channels()); // [B, cg, h, w]
    for (std::size_t b = 0; b < folded_ffc_.size(); b += 2) {
        const auto l_in = l, g_in = g;
        for (std::size_t k = b; k < b + 2; ++k) {
            const auto& f = folded_ffc_[k];
            const auto hp = reflect_cat(l, g, 1);                                          // [B, cl + cg, h+2, w+2]
            auto nl = conv_relu(hp, f.w_to_l, f.b_l);                                      // [B, cl, h, w]
            g = conv_add_relu(hp.narrow(1, 0, cl), f.w_l2g, f.b_g, spectral_folded(f, g)); // [B, cg, h, w]
            l = nl;
        }
        l = l.add_(l_in); // l and g are this block's own outputs here, never the narrowed encoder output
        g = g.add_(g_in);
    }
    h = torch::cat({l, g}, 1); // [B, bottleneck, h, w]
    const auto first_up = static_cast<std::size_t>(1 + cfg_.n_downsampling);
    for (std::size_t i = 0; i < up_.size(); ++i)
        h = up_conv(h, folded_[first_up + i].w, folded_[first_up + i].b).relu_();
    return torch::sigmoid(torch::conv2d(reflect_cat(h, {}, 3), final_w_, final_b_).to(torch::kFloat32))
        .contiguous(); // [B, 3, H, W]
}

torch::Tensor LamaGeneratorImpl::forward_unfolded(const torch::Tensor& x) const {
    auto [l, g] = encoder_[0]->forward(reflect(x, 3), torch::Tensor());
    for (std::size_t i = 1; i < encoder_.size(); ++i)
        std::tie(l, g) = encoder_[i]->forward(l, g);
    for (std::size_t b = 0; b < blocks_.size(); b += 2) {
        auto [l1, g1] = blocks_[b]->forward(l, g);
        auto [l2, g2] = blocks_[b + 1]->forward(l1, g1);
        l = l + l2;
        g = g + g2;
    }
    auto h = torch::cat({l, g}, 1); // [B, bottleneck, h, w]
    for (std::size_t i = 0; i < up_.size(); ++i)
        h = torch::relu(up_bn_[i]->forward(up_[i]->forward(h)));
    return torch::sigmoid(conv(final_, reflect(h, 3))); // [B, 3, H, W]
}

torch::Tensor LamaGeneratorImpl::inpaint(const torch::Tensor& image, const torch::Tensor& mask) const {
    TORCH_CHECK(image.dim() == 4 && image.size(1) == 3 && mask.dim() == 4 && mask.size(1) == 1 &&
                    image.size(0) == mask.size(0) && image.size(2) == mask.size(2) && image.size(3) == mask.size(3),
                "lama: image must be [B, 3, H, W] and mask [B, 1, H, W], got ", image.sizes(), " and ", mask.sizes());
    const auto m = mask.to(image.scalar_type());
    const auto pred = forward(torch::cat({image * (1 - m), m}, 1)); // [B, 3, H, W]
    return m * pred + (1 - m) * image;
}

} // namespace charaforge::engine
