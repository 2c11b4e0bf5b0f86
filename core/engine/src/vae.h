#pragma once
// FLUX.1 AutoencoderKL (16 latent channels), diffusers module naming; BFL `ae.safetensors` keys are
// mapped onto it at load time.
#include "nn.h"
#include "weights.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace charaforge::engine {

struct VaeConfig {
    int64_t in_channels = 3;
    int64_t out_channels = 3;
    int64_t latent_channels = 16;
    std::vector<int64_t> block_out_channels{128, 256, 512, 512};
    int64_t layers_per_block = 2; // encoder resnets per level; the decoder has one more
    int64_t norm_num_groups = 32;
    double norm_eps = 1e-6;
    double scaling_factor = 0.3611;
    double shift_factor = 0.1159;
    bool mid_block_add_attention = true;

    // From diffusers-named shapes (rank-checked) plus the optional vae/config.json text (fields override, each
    // checked for type and range; errors name `config_file` and the field).
    static VaeConfig from_weights(const std::map<std::string, std::vector<int64_t>>& shapes,
                                  const std::string& config_json = {}, const std::string& config_file = "config.json");
};

// Maps a BFL `ae.safetensors` key to the diffusers key (std::nullopt for keys that are not VAE weights).
// BFL numbers the decoder's levels from the highest resolution (up.0 runs last), diffusers in the order
// they run, so the mapping needs the level count; the one-argument form assumes FLUX's four levels.
// Keys under encoder./decoder. that fit no known pattern are returned unchanged, so that strict loading
// reports them instead of dropping them silently.
std::optional<std::string> bfl_vae_key_to_diffusers(const std::string& key);
std::optional<std::string> bfl_vae_key_to_diffusers(const std::string& key, int64_t n_levels);
// Tensor transform for BFL files: attention q/k/v/proj_out 1x1 convs [C, C, 1, 1] -> linear [C, C].
torch::Tensor bfl_vae_tensor_transform(const std::string& diffusers_key, torch::Tensor t);

// ResnetBlock2D without time embedding: GN -> SiLU -> conv3x3 -> GN -> SiLU -> conv3x3, plus the input
// (through a 1x1 conv_shortcut when the channel count changes).
class VaeResnetBlockImpl : public torch::nn::Module {
public:
    VaeResnetBlockImpl(int64_t in, int64_t out, const VaeConfig& cfg, const torch::TensorOptions& opts);
    torch::Tensor forward(const torch::Tensor& x); // [B, in, H, W] -> [B, out, H, W]
    nn::GroupNorm norm1{nullptr}, norm2{nullptr};
    nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv_shortcut{nullptr}; // conv_shortcut only when in != out
};
TORCH_MODULE(VaeResnetBlock);

// Single-head spatial self-attention over all H*W positions with a residual connection (diffusers
// Attention with heads = 1, dim_head = C; BFL AttnBlock).
class VaeAttentionImpl : public torch::nn::Module {
public:
    VaeAttentionImpl(int64_t channels, const VaeConfig& cfg, const torch::TensorOptions& opts);
    torch::Tensor forward(const torch::Tensor& x); // [B, C, H, W] -> [B, C, H, W]
    nn::GroupNorm group_norm{nullptr};
    nn::Linear to_q{nullptr}, to_k{nullptr}, to_v{nullptr};
    torch::nn::ModuleList to_out{nullptr}; // [Linear(C, C)]; diffusers' dropout at index 1 has no weights
};
TORCH_MODULE(VaeAttention);

// UNetMidBlock2D: resnets.0 -> attentions.0 -> resnets.1 at constant channels.
class VaeMidBlockImpl : public torch::nn::Module {
public:
    VaeMidBlockImpl(int64_t channels, const VaeConfig& cfg, const torch::TensorOptions& opts);
    torch::Tensor forward(const torch::Tensor& x); // [B, C, h, w] -> [B, C, h, w]
    torch::nn::ModuleList resnets{nullptr}, attentions{nullptr};
};
TORCH_MODULE(VaeMidBlock);

// Downsample2D (padding 0): zero-pad right and bottom by one, then conv3x3 stride 2.
class VaeDownsampleImpl : public torch::nn::Module {
public:
    VaeDownsampleImpl(int64_t channels, const torch::TensorOptions& opts);
    torch::Tensor forward(const torch::Tensor& x); // [B, C, H, W] -> [B, C, H/2, W/2] (H, W even)
    nn::Conv2d conv{nullptr};
};
TORCH_MODULE(VaeDownsample);

// Upsample2D: nearest-neighbour x2, then conv3x3.
class VaeUpsampleImpl : public torch::nn::Module {
public:
    VaeUpsampleImpl(int64_t channels, const torch::TensorOptions& opts);
    torch::Tensor forward(const torch::Tensor& x); // [B, C, H, W] -> [B, C, 2H, 2W]
    nn::Conv2d conv{nullptr};
};
TORCH_MODULE(VaeUpsample);

// DownEncoderBlock2D / UpDecoderBlock2D: resnets, then an optional resampler in a one-element list.
class VaeDownBlockImpl : public torch::nn::Module {
public:
    VaeDownBlockImpl(int64_t in, int64_t out, int64_t n_resnets, bool downsample, const VaeConfig& cfg,
                     const torch::TensorOptions& opts);
    torch::Tensor forward(const torch::Tensor& x); // [B, in, H, W] -> [B, out, H or H/2, W or W/2]
    torch::nn::ModuleList resnets{nullptr}, downsamplers{nullptr};
};
TORCH_MODULE(VaeDownBlock);

class VaeUpBlockImpl : public torch::nn::Module {
public:
    VaeUpBlockImpl(int64_t in, int64_t out, int64_t n_resnets, bool upsample, const VaeConfig& cfg,
                   const torch::TensorOptions& opts);
    torch::Tensor forward(const torch::Tensor& x); // [B, in, h, w] -> [B, out, h or 2h, w or 2w]
    torch::nn::ModuleList resnets{nullptr}, upsamplers{nullptr};
};
TORCH_MODULE(VaeUpBlock);

class VaeEncoderImpl : public torch::nn::Module {
public:
    VaeEncoderImpl(const VaeConfig& cfg, const torch::TensorOptions& opts);
    torch::Tensor forward(const torch::Tensor& x); // [B, in, H, W] -> [B, 2 latent, H/f, W/f]
    nn::Conv2d conv_in{nullptr}, conv_out{nullptr};
    torch::nn::ModuleList down_blocks{nullptr};
    VaeMidBlock mid_block{nullptr};
    nn::GroupNorm conv_norm_out{nullptr};
};
TORCH_MODULE(VaeEncoder);

class VaeDecoderImpl : public torch::nn::Module {
public:
    VaeDecoderImpl(const VaeConfig& cfg, const torch::TensorOptions& opts);
    torch::Tensor forward(const torch::Tensor& z); // [B, latent, h, w] -> [B, out, f h, f w]
    nn::Conv2d conv_in{nullptr}, conv_out{nullptr};
    VaeMidBlock mid_block{nullptr};
    torch::nn::ModuleList up_blocks{nullptr};
    nn::GroupNorm conv_norm_out{nullptr};
};
TORCH_MODULE(VaeDecoder);

class AutoencoderKLImpl : public torch::nn::Module {
public:
    AutoencoderKLImpl(const VaeConfig& cfg, const torch::TensorOptions& opts);

    // z [B, 16, h, w] normalised latent (as the sampler produces) -> RGB [B, 3, 8h, 8w] fp32 in [0, 1].
    // tile > 0: the up path runs over tiles of tile x tile latent pixels (vae_tiling.h), same result.
    torch::Tensor decode(const torch::Tensor& z, int64_t tile = 0);
    // rgb [B, 3, H, W] in [0, 1] (H, W multiples of 8) -> normalised latent mean [B, 16, H/8, W/8] fp32.
    // tile > 0: the down path runs over tiles of 8 tile x 8 tile pixels, same result.
    torch::Tensor encode(const torch::Tensor& rgb, int64_t tile = 0);

    // Raw decoder/encoder without the scale/shift and pixel range conversion.
    // tile as decode/encode.
    torch::Tensor decoder_forward(const torch::Tensor& z, int64_t tile = 0); // [B, 16, h, w] -> [B, 3, 8h, 8w] ~[-1, 1]
    torch::Tensor encoder_forward(const torch::Tensor& img,
                                  int64_t tile = 0); // [B, 3, H, W] in [-1, 1] -> moments [B, 32, H/8, W/8]

    const VaeConfig& config() const { return cfg_; }
    // Spatial factor between pixels and latent: 2^(levels - 1), 8 for FLUX.
    int64_t downscale_factor() const { return int64_t{1} << (cfg_.block_out_channels.size() - 1); }

private:
    VaeConfig cfg_;
    VaeEncoder encoder_{nullptr};
    VaeDecoder decoder_{nullptr};
};
TORCH_MODULE(AutoencoderKL);

} // namespace charaforge::engine
