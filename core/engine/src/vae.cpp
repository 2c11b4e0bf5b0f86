// Ref: diffusers src/diffusers/models/autoencoders/autoencoder_kl.py (AutoencoderKL), vae.py (Encoder, Decoder),
//      unets/unet_2d_blocks.py (DownEncoderBlock2D, UpDecoderBlock2D, UNetMidBlock2D), resnet.py (ResnetBlock2D),
//      downsampling.py/upsampling.py (Downsample2D, Upsample2D), attention_processor.py (Attention);
//      BFL flux src/flux/modules/autoencoder.py (AutoEncoder, Encoder, Decoder, AttnBlock) for ae.safetensors keys.
#include "vae.h"

#include "charaforge/engine/error.h"
#include "config_json.h"
#include "torch_compat.h"
#include "vae_tiling.h"

#include <cmath>
#include <regex>

namespace charaforge::engine {
namespace {

[[noreturn]] void vae_error(const std::string& what) {
    throw EngineError("vae: " + what);
}

std::vector<int64_t> shape_of(const TensorShapes& shapes, const std::string& key, int rank) {
    return required_shape(shapes, key, "vae", "FLUX AutoencoderKL", rank);
}

void validate(const VaeConfig& c) {
    if (c.block_out_channels.empty())
        vae_error("block_out_channels is empty");
    if (c.layers_per_block < 1)
        vae_error("layers_per_block must be at least 1");
    if (c.in_channels < 1 || c.out_channels < 1 || c.latent_channels < 1)
        vae_error("channel counts must be positive");
    if (c.norm_num_groups < 1)
        vae_error("norm_num_groups must be positive");
    for (auto ch : c.block_out_channels)
        if (ch < 1 || ch % c.norm_num_groups != 0)
            vae_error("block channel count " + std::to_string(ch) + " is not a multiple of norm_num_groups " +
                      std::to_string(c.norm_num_groups));
    if (c.scaling_factor == 0.0)
        vae_error("scaling_factor must not be zero");
}

// Activations run in the weights' dtype and on their device: the options of a conv's weight.
torch::TensorOptions weight_options(const nn::Conv2d& conv) {
    return conv->weight.options();
}

} // namespace

VaeConfig VaeConfig::from_weights(const std::map<std::string, std::vector<int64_t>>& shapes,
                                  const std::string& config_json, const std::string& config_file) {
    VaeConfig c;
    const ConfigJson j("vae", config_file, config_json);
    for (const char* key : {"quant_conv.weight", "post_quant_conv.weight"})
        if (shapes.count(key))
            vae_error(std::string("the checkpoint has '") + key +
                      "': a VAE with quant convs (Stable Diffusion style) is not the FLUX VAE");

    const auto enc_in = shape_of(shapes, "encoder.conv_in.weight", 4);   // [C0, in, 3, 3]
    const auto dec_in = shape_of(shapes, "decoder.conv_in.weight", 4);   // [C_last, latent, 3, 3]
    const auto dec_out = shape_of(shapes, "decoder.conv_out.weight", 4); // [out, C0, 3, 3]
    const auto enc_out = shape_of(shapes, "encoder.conv_out.weight", 4); // [2 latent, C_last, 3, 3]
    c.in_channels = enc_in[1];
    c.out_channels = dec_out[0];
    c.latent_channels = dec_in[1];
    c.block_out_channels.clear();
    for (int64_t i = 0;; ++i) {
        const auto key = "encoder.down_blocks." + std::to_string(i) + ".resnets.0.conv1.weight";
        if (!shapes.count(key))
            break;
        c.block_out_channels.push_back(shape_of(shapes, key, 4)[0]);
    }
    if (c.block_out_channels.empty())
        shape_of(shapes, "encoder.down_blocks.0.resnets.0.conv1.weight", 4); // throws naming the key
    if (c.block_out_channels.size() > 16)
        vae_error("the checkpoint has " + std::to_string(c.block_out_channels.size()) +
                  " encoder down blocks, at most 16 are supported");
    c.layers_per_block = 0;
    while (shapes.count("encoder.down_blocks.0.resnets." + std::to_string(c.layers_per_block) + ".conv1.weight"))
        ++c.layers_per_block;
    c.mid_block_add_attention = shapes.count("encoder.mid_block.attentions.0.to_q.weight") > 0;
    if (enc_out[0] != 2 * c.latent_channels)
        vae_error("encoder.conv_out has " + std::to_string(enc_out[0]) + " output channels, expected 2 x " +
                  std::to_string(c.latent_channels) + " (mean and log-variance)");
    if (dec_in[0] != c.block_out_channels.back() || dec_out[1] != c.block_out_channels.front())
        vae_error("decoder channel counts do not match the encoder's block_out_channels");

    j.check_agrees("in_channels", c.in_channels);
    j.check_agrees("out_channels", c.out_channels);
    j.check_agrees("latent_channels", c.latent_channels);
    j.check_agrees("layers_per_block", c.layers_per_block);
    if (auto stated = j.integers("block_out_channels", 0, 1, int64_t{1} << 20);
        stated && *stated != c.block_out_channels)
        j.fail("block_out_channels", "does not match the weights' channel counts");
    if (auto act = j.string("act_fn"); act && *act != "silu")
        j.fail("act_fn", "is '" + *act + "', only 'silu' is supported (FLUX uses silu)");
    for (const char* flag : {"use_quant_conv", "use_post_quant_conv"})
        if (j.boolean(flag, false))
            j.fail(flag, "is true, which the FLUX VAE does not use");
    c.norm_num_groups = j.integer("norm_num_groups", c.norm_num_groups, 1, c.block_out_channels.front());
    c.mid_block_add_attention = j.boolean("mid_block_add_attention", c.mid_block_add_attention);
    c.scaling_factor = j.number("scaling_factor", c.scaling_factor, 0.0, 1e6, true);
    c.shift_factor = j.number("shift_factor", c.shift_factor, -1e6, 1e6);
    if (j.json().contains("shift_factor") && j.json()["shift_factor"].is_null())
        c.shift_factor = 0.0; // diffusers pipelines skip the shift when it is null
    c.norm_eps = j.number("norm_eps", c.norm_eps, 0.0, 1.0, true);
    for (auto ch : c.block_out_channels)
        if (ch % c.norm_num_groups != 0)
            j.fail("norm_num_groups", "is " + std::to_string(c.norm_num_groups) +
                                          ", which does not divide the block channel count " + std::to_string(ch));
    validate(c);
    return c;
}

// ---- BFL key mapping ----

std::optional<std::string> bfl_vae_key_to_diffusers(const std::string& key) {
    return bfl_vae_key_to_diffusers(key, static_cast<int64_t>(VaeConfig{}.block_out_channels.size()));
}

std::optional<std::string> bfl_vae_key_to_diffusers(const std::string& key, int64_t n_levels) {
    static const std::regex same(R"(^(encoder|decoder)\.(conv_in|conv_out)\.(weight|bias)$)");
    static const std::regex norm_out(R"(^(encoder|decoder)\.norm_out\.(weight|bias)$)");
    static const std::regex down_block(R"(^encoder\.down\.(\d{1,6})\.block\.(\d{1,6})\.(\w+)\.(weight|bias)$)");
    static const std::regex down_sample(R"(^encoder\.down\.(\d{1,6})\.downsample\.conv\.(weight|bias)$)");
    static const std::regex up_block(R"(^decoder\.up\.(\d{1,6})\.block\.(\d{1,6})\.(\w+)\.(weight|bias)$)");
    static const std::regex up_sample(R"(^decoder\.up\.(\d{1,6})\.upsample\.conv\.(weight|bias)$)");
    static const std::regex mid_block(R"(^(encoder|decoder)\.mid\.block_([12])\.(\w+)\.(weight|bias)$)");
    static const std::regex mid_attn(R"(^(encoder|decoder)\.mid\.attn_1\.(norm|q|k|v|proj_out)\.(weight|bias)$)");

    if (key.rfind("encoder.", 0) != 0 && key.rfind("decoder.", 0) != 0)
        return std::nullopt;
    // ResnetBlock layer names agree except the 1x1 shortcut.
    auto resnet_part = [](const std::string& p) { return p == "nin_shortcut" ? std::string("conv_shortcut") : p; };
    // Diffusers runs up_blocks.0 first (lowest resolution); BFL's up.0 is the highest resolution.
    auto up_index = [&](const std::string& i) -> std::optional<int64_t> {
        const int64_t bfl = std::stoll(i);
        if (bfl >= n_levels)
            return std::nullopt;
        return n_levels - 1 - bfl;
    };
    std::smatch m;
    if (std::regex_match(key, m, same))
        return key;
    if (std::regex_match(key, m, norm_out))
        return m[1].str() + ".conv_norm_out." + m[2].str();
    if (std::regex_match(key, m, down_block))
        return "encoder.down_blocks." + m[1].str() + ".resnets." + m[2].str() + "." + resnet_part(m[3].str()) + "." +
               m[4].str();
    if (std::regex_match(key, m, down_sample))
        return "encoder.down_blocks." + m[1].str() + ".downsamplers.0.conv." + m[2].str();
    if (std::regex_match(key, m, up_block)) {
        if (auto k = up_index(m[1].str()))
            return "decoder.up_blocks." + std::to_string(*k) + ".resnets." + m[2].str() + "." +
                   resnet_part(m[3].str()) + "." + m[4].str();
        return key;
    }
    if (std::regex_match(key, m, up_sample)) {
        if (auto k = up_index(m[1].str()))
            return "decoder.up_blocks." + std::to_string(*k) + ".upsamplers.0.conv." + m[2].str();
        return key;
    }
    if (std::regex_match(key, m, mid_block))
        return m[1].str() + ".mid_block.resnets." + std::to_string(std::stoi(m[2].str()) - 1) + "." +
               resnet_part(m[3].str()) + "." + m[4].str();
    if (std::regex_match(key, m, mid_attn)) {
        static const std::map<std::string, std::string> names{
            {"norm", "group_norm"}, {"q", "to_q"}, {"k", "to_k"}, {"v", "to_v"}, {"proj_out", "to_out.0"}};
        return m[1].str() + ".mid_block.attentions.0." + names.at(m[2].str()) + "." + m[3].str();
    }
    return key; // unknown VAE-looking key: let strict loading name it
}

torch::Tensor bfl_vae_tensor_transform(const std::string& diffusers_key, torch::Tensor t) {
    static const std::regex attn_weight(R"(mid_block\.attentions\.0\.(to_q|to_k|to_v|to_out\.0)\.weight$)");
    if (!std::regex_search(diffusers_key, attn_weight))
        return t;
    // BFL's AttnBlock uses 1x1 convs; a 1x1 conv over [B, C, H, W] is the linear map on each position.
    if (t.dim() == 4 && t.size(2) == 1 && t.size(3) == 1)
        return t.reshape({t.size(0), t.size(1)}); // [C, C]
    if (t.dim() == 3 && t.size(2) == 1)
        return t.reshape({t.size(0), t.size(1)}); // [C, C]
    return t;
}

// ---- modules ----

VaeResnetBlockImpl::VaeResnetBlockImpl(int64_t in, int64_t out, const VaeConfig& cfg,
                                       const torch::TensorOptions& opts) {
    norm1 = register_module("norm1", nn::GroupNorm(cfg.norm_num_groups, in, cfg.norm_eps, opts));
    conv1 = register_module("conv1", nn::Conv2d(in, out, 3, 1, 1, true, opts));
    norm2 = register_module("norm2", nn::GroupNorm(cfg.norm_num_groups, out, cfg.norm_eps, opts));
    conv2 = register_module("conv2", nn::Conv2d(out, out, 3, 1, 1, true, opts));
    if (in != out)
        conv_shortcut = register_module("conv_shortcut", nn::Conv2d(in, out, 1, 1, 0, true, opts));
}

torch::Tensor VaeResnetBlockImpl::forward(const torch::Tensor& x) {
    auto h = conv1(torch::silu(norm1(x)));
    h = conv2(torch::silu(norm2(h)));
    return (conv_shortcut ? conv_shortcut(x) : x) + h;
}

VaeAttentionImpl::VaeAttentionImpl(int64_t channels, const VaeConfig& cfg, const torch::TensorOptions& opts) {
    group_norm = register_module("group_norm", nn::GroupNorm(cfg.norm_num_groups, channels, cfg.norm_eps, opts));
    to_q = register_module("to_q", nn::Linear(channels, channels, true, opts));
    to_k = register_module("to_k", nn::Linear(channels, channels, true, opts));
    to_v = register_module("to_v", nn::Linear(channels, channels, true, opts));
    to_out = register_module("to_out", torch::nn::ModuleList(nn::Linear(channels, channels, true, opts)));
}

torch::Tensor VaeAttentionImpl::forward(const torch::Tensor& x) {
    const int64_t B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
    // Every spatial position is a token of C features; one head spans all channels.
    const double scale = 1.0 / std::sqrt(static_cast<double>(C));
    auto h = group_norm(x).view({B, C, H * W}).transpose(1, 2);             // [B, HW, C]
    auto q = to_q(h).unsqueeze(1);                                          // [B, 1, HW, C]
    auto k = to_k(h).unsqueeze(1);                                          // [B, 1, HW, C]
    auto v = to_v(h).unsqueeze(1);                                          // [B, 1, HW, C]
    auto o = compat::attention(q, k, v, {}, scale).squeeze(1);              // [B, HW, C]
    o = to_out[0]->as<nn::Linear>()->forward(o);                            // [B, HW, C]
    return x + o.transpose(1, 2).reshape({B, C, H, W}).to(x.scalar_type()); // [B, C, H, W]
}

VaeMidBlockImpl::VaeMidBlockImpl(int64_t channels, const VaeConfig& cfg, const torch::TensorOptions& opts) {
    resnets = register_module("resnets", torch::nn::ModuleList(VaeResnetBlock(channels, channels, cfg, opts),
                                                               VaeResnetBlock(channels, channels, cfg, opts)));
    attentions = register_module("attentions", torch::nn::ModuleList());
    if (cfg.mid_block_add_attention)
        attentions->push_back(VaeAttention(channels, cfg, opts));
}

torch::Tensor VaeMidBlockImpl::forward(const torch::Tensor& x) {
    auto h = resnets[0]->as<VaeResnetBlock>()->forward(x);
    if (!attentions->is_empty())
        h = attentions[0]->as<VaeAttention>()->forward(h);
    return resnets[1]->as<VaeResnetBlock>()->forward(h);
}

VaeDownsampleImpl::VaeDownsampleImpl(int64_t channels, const torch::TensorOptions& opts) {
    conv = register_module("conv", nn::Conv2d(channels, channels, 3, 2, 0, true, opts));
}

torch::Tensor VaeDownsampleImpl::forward(const torch::Tensor& x) {
    // Asymmetric padding (right and bottom only), which a conv's own padding cannot express.
    return conv(torch::constant_pad_nd(x, {0, 1, 0, 1}, 0.0)); // [B, C, H+1, W+1] -> [B, C, H/2, W/2]
}

VaeUpsampleImpl::VaeUpsampleImpl(int64_t channels, const torch::TensorOptions& opts) {
    conv = register_module("conv", nn::Conv2d(channels, channels, 3, 1, 1, true, opts));
}

torch::Tensor VaeUpsampleImpl::forward(const torch::Tensor& x) {
    const int64_t B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
    // Nearest x2 as a broadcast copy: exact in every dtype (LibTorch 1.13 has no bf16 upsample_nearest2d on CPU).
    auto up = x.view({B, C, H, 1, W, 1}).expand({B, C, H, 2, W, 2}).reshape({B, C, 2 * H, 2 * W}); // [B, C, 2H, 2W]
    return conv(up);
}

VaeDownBlockImpl::VaeDownBlockImpl(int64_t in, int64_t out, int64_t n_resnets, bool downsample, const VaeConfig& cfg,
                                   const torch::TensorOptions& opts) {
    resnets = register_module("resnets", torch::nn::ModuleList());
    for (int64_t j = 0; j < n_resnets; ++j)
        resnets->push_back(VaeResnetBlock(j == 0 ? in : out, out, cfg, opts));
    downsamplers = register_module("downsamplers", torch::nn::ModuleList());
    if (downsample)
        downsamplers->push_back(VaeDownsample(out, opts));
}

torch::Tensor VaeDownBlockImpl::forward(const torch::Tensor& x) {
    auto h = x;
    for (const auto& r : *resnets)
        h = r->as<VaeResnetBlock>()->forward(h);
    for (const auto& d : *downsamplers)
        h = d->as<VaeDownsample>()->forward(h);
    return h;
}

VaeUpBlockImpl::VaeUpBlockImpl(int64_t in, int64_t out, int64_t n_resnets, bool upsample, const VaeConfig& cfg,
                               const torch::TensorOptions& opts) {
    resnets = register_module("resnets", torch::nn::ModuleList());
    for (int64_t j = 0; j < n_resnets; ++j)
        resnets->push_back(VaeResnetBlock(j == 0 ? in : out, out, cfg, opts));
    upsamplers = register_module("upsamplers", torch::nn::ModuleList());
    if (upsample)
        upsamplers->push_back(VaeUpsample(out, opts));
}

torch::Tensor VaeUpBlockImpl::forward(const torch::Tensor& x) {
    auto h = x;
    for (const auto& r : *resnets)
        h = r->as<VaeResnetBlock>()->forward(h);
    for (const auto& u : *upsamplers)
        h = u->as<VaeUpsample>()->forward(h);
    return h;
}

VaeEncoderImpl::VaeEncoderImpl(const VaeConfig& cfg, const torch::TensorOptions& opts) {
    const auto& ch = cfg.block_out_channels;
    const auto n = static_cast<int64_t>(ch.size());
    conv_in = register_module("conv_in", nn::Conv2d(cfg.in_channels, ch[0], 3, 1, 1, true, opts));
    down_blocks = register_module("down_blocks", torch::nn::ModuleList());
    for (int64_t i = 0; i < n; ++i)
        down_blocks->push_back(
            VaeDownBlock(i == 0 ? ch[0] : ch[i - 1], ch[i], cfg.layers_per_block, i != n - 1, cfg, opts));
    mid_block = register_module("mid_block", VaeMidBlock(ch.back(), cfg, opts));
    conv_norm_out = register_module("conv_norm_out", nn::GroupNorm(cfg.norm_num_groups, ch.back(), cfg.norm_eps, opts));
    // Mean and log-variance of the diagonal Gaussian posterior, stacked on channels.
    conv_out = register_module("conv_out", nn::Conv2d(ch.back(), 2 * cfg.latent_channels, 3, 1, 1, true, opts));
}

torch::Tensor VaeEncoderImpl::forward(const torch::Tensor& x) {
    auto h = conv_in(x);
    for (const auto& b : *down_blocks)
        h = b->as<VaeDownBlock>()->forward(h);
    h = mid_block(h);
    return conv_out(torch::silu(conv_norm_out(h)));
}

VaeDecoderImpl::VaeDecoderImpl(const VaeConfig& cfg, const torch::TensorOptions& opts) {
    // The decoder walks the levels from the lowest resolution up, so channel counts run reversed.
    const std::vector<int64_t> ch(cfg.block_out_channels.rbegin(), cfg.block_out_channels.rend());
    const auto n = static_cast<int64_t>(ch.size());
    conv_in = register_module("conv_in", nn::Conv2d(cfg.latent_channels, ch[0], 3, 1, 1, true, opts));
    mid_block = register_module("mid_block", VaeMidBlock(ch[0], cfg, opts));
    up_blocks = register_module("up_blocks", torch::nn::ModuleList());
    for (int64_t k = 0; k < n; ++k)
        up_blocks->push_back(
            VaeUpBlock(k == 0 ? ch[0] : ch[k - 1], ch[k], cfg.layers_per_block + 1, k != n - 1, cfg, opts));
    conv_norm_out = register_module("conv_norm_out", nn::GroupNorm(cfg.norm_num_groups, ch.back(), cfg.norm_eps, opts));
    conv_out = register_module("conv_out", nn::Conv2d(ch.back(), cfg.out_channels, 3, 1, 1, true, opts));
}

torch::Tensor VaeDecoderImpl::forward(const torch::Tensor& z) {
    auto h = mid_block(conv_in(z));
    for (const auto& b : *up_blocks)
        h = b->as<VaeUpBlock>()->forward(h);
    return conv_out(torch::silu(conv_norm_out(h)));
}

AutoencoderKLImpl::AutoencoderKLImpl(const VaeConfig& cfg, const torch::TensorOptions& opts) : cfg_(cfg) {
    validate(cfg_);
    encoder_ = register_module("encoder", VaeEncoder(cfg_, opts));
    decoder_ = register_module("decoder", VaeDecoder(cfg_, opts));
}

torch::Tensor AutoencoderKLImpl::decoder_forward(const torch::Tensor& z, int64_t tile) {
    if (z.dim() != 4 || z.size(1) != cfg_.latent_channels)
        vae_error("decoder expects a latent [B, " + std::to_string(cfg_.latent_channels) + ", h, w], got " +
                  c10::str(z.sizes()));
    if (tile < 0)
        vae_error("tile size must not be negative, got " + std::to_string(tile));
    auto x = z.to(weight_options(decoder_->conv_in));
    return tile > 0 ? tiled_decoder_forward(*decoder_, cfg_, x, tile) : decoder_(x);
}

torch::Tensor AutoencoderKLImpl::encoder_forward(const torch::Tensor& img, int64_t tile) {
    const int64_t f = downscale_factor();
    if (img.dim() != 4 || img.size(1) != cfg_.in_channels)
        vae_error("encoder expects an image [B, " + std::to_string(cfg_.in_channels) + ", H, W], got " +
                  c10::str(img.sizes()));
    if (img.size(2) % f != 0 || img.size(3) % f != 0)
        vae_error("image size " + std::to_string(img.size(2)) + "x" + std::to_string(img.size(3)) +
                  " is not a multiple of " + std::to_string(f));
    if (tile < 0)
        vae_error("tile size must not be negative, got " + std::to_string(tile));
    auto x = img.to(weight_options(encoder_->conv_in));
    return tile > 0 ? tiled_encoder_forward(*encoder_, cfg_, x, tile) : encoder_(x);
}

torch::Tensor AutoencoderKLImpl::decode(const torch::Tensor& z, int64_t tile) {
    c10::InferenceMode guard;
    const auto dev = decoder_->conv_in->weight.device();
    // Undo the sampler-space normalisation in fp32 before the (possibly lower precision) decoder.
    auto latent = z.to(dev, torch::kFloat32) / cfg_.scaling_factor + cfg_.shift_factor; // [B, 16, h, w]
    auto img = decoder_forward(latent, tile).to(torch::kFloat32);                       // [B, 3, 8h, 8w]
    return ((img + 1.0) * 0.5).clamp(0.0, 1.0);
}

torch::Tensor AutoencoderKLImpl::encode(const torch::Tensor& rgb, int64_t tile) {
    c10::InferenceMode guard;
    const auto dev = encoder_->conv_in->weight.device();
    auto x = rgb.to(dev, torch::kFloat32) * 2.0 - 1.0;           // [B, 3, H, W] in [-1, 1]
    auto moments = encoder_forward(x, tile).to(torch::kFloat32); // [B, 32, H/8, W/8]
    // The posterior's mode (its mean, the first half); the log-variance half is not sampled from.
    auto mean = moments.narrow(1, 0, cfg_.latent_channels); // [B, 16, H/8, W/8]
    return (mean - cfg_.shift_factor) * cfg_.scaling_factor;
}

} // namespace charaforge::engine
