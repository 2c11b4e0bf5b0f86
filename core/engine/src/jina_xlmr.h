#pragma once
// Jina CLIP v2 text tower: the jina-embeddings-v3 XLM-RoBERTa (rotary, post-LN) with its retrieval.query
// LoRA merged at load, mean-pooled over the valid tokens.
#include "nn.h"
#include "weights.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace charaforge::engine {

struct JinaTextConfig {
    int64_t vocab_size = 250002;
    int64_t type_vocab_size = 1;
    int64_t hidden_size = 1024;
    int64_t num_layers = 24;
    int64_t num_heads = 16;
    int64_t intermediate_size = 4096;
    double layer_norm_eps = 1e-5;
    double rotary_base = 20000.0; // jina-embeddings-v3 config (the class default would be 10000)
    int64_t pad_token_id = 1;
    // LoRA merged at load: adapter `lora_adapter` of the stacked adapters, scaled by lora_alpha / rank
    // (jina-clip-v2: one adapter "retrieval.query", rank 4, alpha 4 -> 1.0).
    int64_t lora_adapter = 0;
    double lora_alpha = 4.0;

    int64_t head_dim() const { return hidden_size / num_heads; }

    // Architecture from tensor shapes (keys after jina_key); `config_json` is the optional text of
    // clip_model/config.json: a JinaCLIP config (text_config.hf_model_config_kwargs override the
    // jina-embeddings-v3 values above) or a bare XLMRobertaFlashConfig.
    static JinaTextConfig from_weights(const std::map<std::string, std::vector<int64_t>>& shapes,
                                       const std::string& config_json = {});
    void validate() const;
};

// Every parameter key of a model with this config, sorted.
std::vector<std::string> jina_expected_keys(const JinaTextConfig& cfg);

// Stored name -> key: strips `text_model.transformer.roberta.`, `text_model.transformer.`, `text_model.`,
// `roberta.`, `model.`; drops the vision tower, logit scale/bias, projections and the unused pooler.
// A LoRA-parametrised weight `X.parametrizations.weight.original` becomes `X.weight`; its adapters keep
// their names `X.parametrizations.weight.0.lora_A` / `lora_B` until split_jina_lora() takes them out.
std::optional<std::string> jina_key(const std::string& stored);

struct JinaLoraSplit {
    WeightMap base;                                                    // the model's keys
    std::map<std::string, std::pair<WeightSource, WeightSource>> lora; // "X.weight" -> (lora_A, lora_B)
};
JinaLoraSplit split_jina_lora(const WeightMap& weights);

// Merges one adapter into a weight, in fp32 (returns fp32):
//   linear    W [out, in],   A [n, r, in],   B [n, out, r]:  W + s * B[a] A[a]
//   embedding E [rows, dim], A [n, rows, r], B [n, r, dim]:  E + s * A[a] B[a]
// with s = alpha / r, as jina's LoRAParametrization.lora_forward.
torch::Tensor merge_lora(const torch::Tensor& weight, const torch::Tensor& lora_A, const torch::Tensor& lora_B,
                         bool embedding, int64_t adapter, double alpha);

// True for the keys whose LoRA is of the embedding kind (the token tables).
bool jina_lora_is_embedding(const std::string& key);

class XlmrEmbeddingTableImpl : public torch::nn::Module {
public:
    XlmrEmbeddingTableImpl(int64_t rows, int64_t dim, const torch::TensorOptions& opts);
    torch::Tensor forward(const torch::Tensor& ids); // [...] int64 -> [..., dim]
    torch::Tensor weight;
};
TORCH_MODULE(XlmrEmbeddingTable);

class XlmrEmbeddingsImpl : public torch::nn::Module {
public:
    XlmrEmbeddingsImpl(const JinaTextConfig& cfg, const torch::TensorOptions& opts);
    torch::Tensor forward(const torch::Tensor& ids); // [B, L] -> [B, L, D]: word + token type 0
    XlmrEmbeddingTable word_embeddings{nullptr}, token_type_embeddings{nullptr};
};
TORCH_MODULE(XlmrEmbeddings);

class XlmrMHAImpl : public torch::nn::Module {
public:
    XlmrMHAImpl(const JinaTextConfig& cfg, const torch::TensorOptions& opts);
    // x [B, L, D]; cos/sin [L, Dh] in x's dtype; key_mask [B, L] bool -> [B, L, D]
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                          const torch::Tensor& key_mask);
    nn::Linear Wqkv{nullptr}, out_proj{nullptr};
    int64_t num_heads, head_dim;
};
TORCH_MODULE(XlmrMHA);

class XlmrMlpImpl : public torch::nn::Module {
public:
    XlmrMlpImpl(const JinaTextConfig& cfg, const torch::TensorOptions& opts);
    torch::Tensor forward(const torch::Tensor& x); // [B, L, D] -> [B, L, D]
    nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(XlmrMlp);

class XlmrBlockImpl : public torch::nn::Module {
public:
    XlmrBlockImpl(const JinaTextConfig& cfg, const torch::TensorOptions& opts);
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                          const torch::Tensor& key_mask); // [B, L, D] -> [B, L, D]
    XlmrMHA mixer{nullptr};
    XlmrMlp mlp{nullptr};
    nn::LayerNorm norm1{nullptr}, norm2{nullptr};
};
TORCH_MODULE(XlmrBlock);

class XlmrEncoderImpl : public torch::nn::Module {
public:
    XlmrEncoderImpl(const JinaTextConfig& cfg, const torch::TensorOptions& opts);
    torch::nn::ModuleList layers{nullptr};
};
TORCH_MODULE(XlmrEncoder);

class JinaTextModelImpl : public torch::nn::Module {
public:
    JinaTextModelImpl(const JinaTextConfig& cfg, const torch::TensorOptions& opts);
    // ids [B, L] int64; mask [B, L] (1 = token, right padding) or undefined (= ids != pad id).
    // Returns the last hidden state [B, L, hidden] in the model's dtype.
    torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& mask = {});
    // Mean of the last hidden state over the valid tokens (incl. <s> and </s>) -> [B, hidden], model dtype.
    // No normalisation, no projection (jina-clip-v2 has none for text).
    torch::Tensor pooled(const torch::Tensor& ids, const torch::Tensor& mask = {});
    // Pools an already computed hidden state [B, L, D] with mask [B, L] -> [B, D] (fp32 sums).
    static torch::Tensor mean_pool(const torch::Tensor& hidden, const torch::Tensor& mask);
    const JinaTextConfig& config() const { return cfg_; }
    // Where the encoder runs. The word table may live elsewhere (host memory, when the encoder is offloaded): a
    // lookup there copies only the rows of the ids to this device.
    torch::Device compute_device() const;

    XlmrEmbeddings embeddings{nullptr};
    nn::LayerNorm emb_ln{nullptr};
    XlmrEncoder encoder{nullptr};

private:
    torch::Tensor valid_mask(const torch::Tensor& ids, const torch::Tensor& mask) const;
    JinaTextConfig cfg_;
};
TORCH_MODULE(JinaTextModel);

// Builds the model for `files` (one or more safetensors shards, HF JinaCLIP or ComfyUI layout), merges the
// LoRA adapter when the files carry one, and loads strictly. `config_json` is the text of config.json or empty.
JinaTextModel load_jina(const std::vector<std::string>& files, const std::string& config_json, torch::Device device,
                        torch::Dtype dtype);

} // namespace charaforge::engine
