#pragma once
// NewBie-image-Exp0.1 transformer: NextDiT_CLIP (Lumina-Image-2.0 family) with CLIP-pooled AdaLN fusion.
#include "nn.h"

#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace charaforge::engine {

struct NextDiTConfig {
    int64_t patch_size = 2;
    int64_t in_channels = 16;
    int64_t dim = 2304;
    int64_t n_layers = 36;
    int64_t n_refiner_layers = 2;
    int64_t n_heads = 24;
    int64_t n_kv_heads = 8;
    int64_t ffn_hidden = 9216; // round_up(4 * dim, multiple_of 256)
    double norm_eps = 1e-5;    // block norms and cap_embedder norm
    double qk_norm_eps = 1e-5; // apex FusedRMSNorm default, as trained (vanilla fallback would be 1e-6)
    double clip_norm_eps = 1e-5;
    int64_t cap_feat_dim = 2560;
    int64_t clip_text_dim = 1024;
    std::array<int64_t, 3> axes_dims{32, 32, 32};
    std::array<int64_t, 3> axes_lens{1024, 512, 512};
    double rope_theta = 10000.0;
    int64_t t_freq_dim = 256;
    double t_max_period = 10000.0;

    int64_t head_dim() const { return dim / n_heads; }
    int64_t adaln_dim() const { return std::min<int64_t>(dim, 1024); }
    int64_t patch_dim() const { return patch_size * patch_size * in_channels; }

    // Reads the architecture from tensor shapes (keys without prefix, each rank-checked before use);
    // `config_json` is the optional transformer/config.json text, whose fields take precedence where present
    // and are checked for type and range. Errors name `config_file` and the field or tensor.
    static NextDiTConfig from_weights(const std::map<std::string, std::vector<int64_t>>& shapes,
                                      const std::string& config_json = {},
                                      const std::string& config_file = "config.json");
    void validate() const;
};

// Every state-dict key of a model with this config, in the official naming (for tests and tools).
std::vector<std::string> nextdit_expected_keys(const NextDiTConfig& cfg);

class JointAttentionImpl : public torch::nn::Module {
public:
    JointAttentionImpl(const NextDiTConfig& cfg, const torch::TensorOptions& opts);
    // x [B, L, D]; valid_lens: valid (left-aligned) tokens of each sample, empty = all L;
    // cos/sin [B, L, Dh/2] (any float dtype; used in x's) -> [B, L, D]
    torch::Tensor forward(const torch::Tensor& x, const std::vector<int64_t>& valid_lens, const torch::Tensor& cos,
                          const torch::Tensor& sin);
    nn::Linear qkv{nullptr}, out{nullptr};
    nn::RMSNorm q_norm{nullptr}, k_norm{nullptr};
    int64_t n_heads, n_kv_heads, head_dim;
};
TORCH_MODULE(JointAttention);

class FeedForwardImpl : public torch::nn::Module {
public:
    FeedForwardImpl(const NextDiTConfig& cfg, const torch::TensorOptions& opts);
    torch::Tensor forward(const torch::Tensor& x); // [B, L, D] -> [B, L, D]
    nn::Linear w1{nullptr}, w2{nullptr}, w3{nullptr};
};
TORCH_MODULE(FeedForward);

class JointTransformerBlockImpl : public torch::nn::Module {
public:
    JointTransformerBlockImpl(const NextDiTConfig& cfg, bool modulation, const torch::TensorOptions& opts);
    // x [B, L, D]; adaln [B, A] (modulated blocks only, else undefined) -> [B, L, D]
    torch::Tensor forward(const torch::Tensor& x, const std::vector<int64_t>& valid_lens, const torch::Tensor& cos,
                          const torch::Tensor& sin, const torch::Tensor& adaln);
    JointAttention attention{nullptr};
    FeedForward feed_forward{nullptr};
    nn::RMSNorm attention_norm1{nullptr}, attention_norm2{nullptr}, ffn_norm1{nullptr}, ffn_norm2{nullptr};
    torch::nn::Sequential adaLN_modulation{nullptr}; // [SiLU, Linear(A, 4D)]
    bool modulation;
};
TORCH_MODULE(JointTransformerBlock);

// t_embedder: mlp = [Linear(F, A), SiLU, Linear(A, A)]
class TimestepEmbedderImpl : public torch::nn::Module {
public:
    TimestepEmbedderImpl(const NextDiTConfig& cfg, const torch::TensorOptions& opts);
    torch::nn::Sequential mlp{nullptr};
};
TORCH_MODULE(TimestepEmbedder);

// final_layer: LayerNorm (no affine, eps 1e-6), scale-only modulation, linear to patch pixels.
class FinalLayerImpl : public torch::nn::Module {
public:
    FinalLayerImpl(const NextDiTConfig& cfg, const torch::TensorOptions& opts);
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& adaln); // [B, L, D] -> [B, L, p*p*C]
    nn::Linear linear{nullptr};
    torch::nn::Sequential adaLN_modulation{nullptr}; // [SiLU, Linear(A, D)]
};
TORCH_MODULE(FinalLayer);

// What the forward computes from the captions alone (no time, no latent), made once per batch by
// NextDiTImpl::encode_captions and reused by every sampler step of that batch.
struct NextDiTCaptions {
    torch::Tensor capx;               // [B, Lc, D] after the caption embedder and the context refiner
    torch::Tensor cap_pos;            // [B, Lc, 3] int64 position ids (j, 0, 0)
    torch::Tensor lens;               // [B] int64 on the device
    std::vector<int64_t> cap_lens;    // valid caption length of each sample
    int64_t max_len = 0;              // max(cap_lens)
    int64_t grid_h = -1, grid_w = -1; // the image grid (in patches) the tables below were made for
    torch::Tensor img_pos;            // [B, N, 3] int64
    torch::Tensor img_cos, img_sin;   // [B, N, Dh/2] fp32
    torch::Tensor joint_pos;          // [B, max_len + N, 3] int64
    torch::Tensor cos, sin;           // [B, max_len + N, Dh/2] fp32
};

class NextDiTImpl : public torch::nn::Module {
public:
    NextDiTImpl(const NextDiTConfig& cfg, const torch::TensorOptions& opts);

    // Velocity prediction (Lumina convention v = x_data - noise).
    //   x        [B, C, H', W'] latent (any float dtype; cast to the weights' dtype), H', W' multiples of p
    //   t        [B] fp32 Lumina time in [0, 1], 0 = noise
    //   cap      [B, Lc, cap_feat_dim] text features, right-padded
    //   cap_lens valid caption length of each sample (1 <= len <= Lc)
    //   pooled   [B, clip_text_dim] Jina pooled embedding
    //   returns  [B, C, H', W'] in the weights' dtype
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& cap,
                          const std::vector<int64_t>& cap_lens, const torch::Tensor& pooled);
    // The same with the captions encoded beforehand (the rotary tables of x's grid are added to `caps` on first
    // use): the caption embedder and the context refiner do not depend on t, so a sampler runs them once.
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, NextDiTCaptions& caps,
                          const torch::Tensor& pooled);
    //   cap [B, Lc, cap_feat_dim] right-padded, cap_lens as for forward.
    NextDiTCaptions encode_captions(const torch::Tensor& cap, const std::vector<int64_t>& cap_lens);
    // Makes the rotary tables of an image grid of grid_h x grid_w patches in `caps` (nothing when they are already
    // for that grid). forward calls it; a caller that captures the forward as a CUDA graph calls it first.
    void prepare_grid(NextDiTCaptions& caps, int64_t grid_h, int64_t grid_w) const;

    const NextDiTConfig& config() const { return cfg_; }

    nn::Linear x_embedder{nullptr};
    TimestepEmbedder t_embedder{nullptr};
    torch::nn::Sequential cap_embedder{nullptr};
    torch::nn::Sequential clip_text_pooled_proj{nullptr};
    torch::nn::Sequential time_text_embed{nullptr};
    torch::nn::ModuleList noise_refiner{nullptr}, context_refiner{nullptr}, layers{nullptr};
    nn::RMSNorm norm_final{nullptr}; // in the checkpoint but unused by the forward pass (as in the reference)
    FinalLayer final_layer{nullptr};

private:
    torch::Tensor timestep_embedding(const torch::Tensor& t) const; // [B] -> [B, t_freq_dim] fp32
    // Rotary tables for position ids [B, L, 3] (int64): cos/sin [B, L, Dh/2] fp32.
    std::pair<torch::Tensor, torch::Tensor> rope(const torch::Tensor& pos) const;

    NextDiTConfig cfg_;
    std::vector<torch::Tensor> axis_freqs_;             // per axis [axes_dims[a] / 2] float64 on CPU
    mutable std::vector<torch::Tensor> axis_freqs_dev_; // the same on the device last used (one copy, not per call)
};
TORCH_MODULE(NextDiT);

// Applies the interleaved (complex-pair) rotation: x [B, L, H, Dh]; cos/sin [B, L, Dh/2] (cast to x's dtype).
torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin);

} // namespace charaforge::engine
