#pragma once
// Gemma3-4B-it text decoder (transformers Gemma3TextModel), run only up to the layer whose output NewBie
// conditions on: hidden_states[-2] = output of decoder layer 32 of 34, before the final norm.
#include "nn.h"
#include "weights.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace charaforge::engine {

struct Gemma3TextConfig {
    int64_t vocab_size = 262208;
    int64_t hidden_size = 2560;
    int64_t intermediate_size = 10240;
    int64_t num_layers = 34;   // decoder layers in the checkpoint
    int64_t output_layer = 32; // index of the layer whose output is returned: num_layers - 2 (hidden_states[-2])
    int64_t num_heads = 8;
    int64_t num_kv_heads = 4;
    int64_t head_dim = 256;
    double rms_norm_eps = 1e-6;
    // Sliding-window layers attend to keys k with q - window < k <= q (transformers' sliding_window_overlay).
    int64_t sliding_window = 1024;
    // Layer i uses full attention when (i + 1) % pattern == 0, unless `layer_types` lists them explicitly.
    int64_t sliding_window_pattern = 6;
    std::vector<bool> full_attention_layers; // from config.json "layer_types"; empty = use the pattern
    double rope_theta = 1e6;                 // full-attention layers
    double rope_scaling_factor = 8.0;        // full-attention layers, "linear": positions / factor
    double rope_local_base_freq = 1e4;       // sliding layers (no scaling)
    double local_rope_scaling_factor = 1.0;
    double query_pre_attn_scalar = 256; // attention scale = query_pre_attn_scalar^-0.5
    int64_t pad_token_id = 0;
    int64_t bos_token_id = 2;

    bool is_full_attention(int64_t layer) const;
    double attention_scale() const;

    // Architecture from tensor shapes (keys after gemma3_key); `config_json` is the optional text of
    // text_encoder/config.json (multimodal Gemma3Config with a `text_config` object, or a bare
    // Gemma3TextConfig), whose fields take precedence. Fields it lacks keep the gemma-3-4b-it values above.
    static Gemma3TextConfig from_weights(const std::map<std::string, std::vector<int64_t>>& shapes,
                                         const std::string& config_json = {});
    void validate() const;
};

// embed_tokens output scale: sqrt(hidden) rounded to the compute dtype, as transformers does
// (bf16: sqrt(2560) = 50.596 -> 50.5).
double gemma3_embed_scale(int64_t hidden_size, torch::Dtype dtype);

// Every parameter key of a model with this config (layers 0..output_layer), sorted.
std::vector<std::string> gemma3_expected_keys(const Gemma3TextConfig& cfg);

// Stored name -> model key: strips `language_model.model.`, `model.language_model.`, `language_model.`,
// `model.`; drops the vision tower, the multimodal projector and lm_head. Keeps `norm.weight` and every
// layer (from_weights counts them); gemma3_select() then drops what the model does not run.
std::optional<std::string> gemma3_key(const std::string& stored);
WeightMap gemma3_select(const WeightMap& weights, const Gemma3TextConfig& cfg);

// Gemma's RMSNorm: computed in fp32 as x * rsqrt(mean(x^2) + eps) * (1 + w), then cast to x's dtype.
class Gemma3RMSNormImpl : public torch::nn::Module {
public:
    Gemma3RMSNormImpl(int64_t dim, double eps, const torch::TensorOptions& opts);
    torch::Tensor forward(const torch::Tensor& x); // [..., dim] -> same shape and dtype
    torch::Tensor weight;
    double eps;
};
TORCH_MODULE(Gemma3RMSNorm);

class Gemma3AttentionImpl : public torch::nn::Module {
public:
    Gemma3AttentionImpl(const Gemma3TextConfig& cfg, const torch::TensorOptions& opts);
    // x [B, L, D]; cos/sin [L, Dh] in x's dtype; mask [B, 1, L, L] bool (true = attend) -> [B, L, D]
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                          const torch::Tensor& mask);
    nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
    Gemma3RMSNorm q_norm{nullptr}, k_norm{nullptr};
    int64_t num_heads, num_kv_heads, head_dim;
    double scale;
};
TORCH_MODULE(Gemma3Attention);

class Gemma3MLPImpl : public torch::nn::Module {
public:
    Gemma3MLPImpl(const Gemma3TextConfig& cfg, const torch::TensorOptions& opts);
    torch::Tensor forward(const torch::Tensor& x); // [B, L, D] -> [B, L, D]
    nn::Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(Gemma3MLP);

class Gemma3DecoderLayerImpl : public torch::nn::Module {
public:
    Gemma3DecoderLayerImpl(const Gemma3TextConfig& cfg, const torch::TensorOptions& opts);
    // x [B, L, D] -> [B, L, D]; cos/sin and mask as Gemma3Attention
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                          const torch::Tensor& mask);
    Gemma3Attention self_attn{nullptr};
    Gemma3MLP mlp{nullptr};
    Gemma3RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr}, pre_feedforward_layernorm{nullptr},
        post_feedforward_layernorm{nullptr};
};
TORCH_MODULE(Gemma3DecoderLayer);

// The token table; the output is scaled by gemma3_embed_scale().
class Gemma3EmbeddingImpl : public torch::nn::Module {
public:
    Gemma3EmbeddingImpl(int64_t vocab, int64_t dim, const torch::TensorOptions& opts);
    torch::Tensor forward(const torch::Tensor& ids); // [B, L] int64 -> [B, L, D] in the weight's dtype
    torch::Tensor weight;
};
TORCH_MODULE(Gemma3Embedding);

class Gemma3TextModelImpl : public torch::nn::Module {
public:
    Gemma3TextModelImpl(const Gemma3TextConfig& cfg, const torch::TensorOptions& opts);
    // ids [B, L] int64; attention_mask [B, L] (any integer or bool dtype, 1 = token, right padding) or
    // undefined (all tokens). Returns the output of layer cfg.output_layer [B, L, hidden] in the model's
    // dtype; padded positions are zero.
    torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& attention_mask = {});
    const Gemma3TextConfig& config() const { return cfg_; }
    // Where the layers run. The token table may live elsewhere (host memory, when the encoder is offloaded): a
    // lookup there copies only the rows of the ids to this device.
    torch::Device compute_device() const;

    Gemma3Embedding embed_tokens{nullptr};
    torch::nn::ModuleList layers{nullptr};

private:
    Gemma3TextConfig cfg_;
};
TORCH_MODULE(Gemma3TextModel);

// Builds the model for `files` (one or more safetensors shards, any of the accepted key layouts) and
// loads it strictly. `config_json` is the text of config.json or empty.
Gemma3TextModel load_gemma3(const std::vector<std::string>& files, const std::string& config_json, torch::Device device,
                            torch::Dtype dtype);

} // namespace charaforge::engine
