// Ref: huggingface/transformers src/transformers/models/gemma3/modeling_gemma3.py (Gemma3TextModel,
//      Gemma3DecoderLayer, Gemma3Attention, Gemma3MLP, Gemma3RMSNorm, Gemma3TextScaledWordEmbedding,
//      Gemma3RotaryEmbedding), configuration_gemma3.py (Gemma3TextConfig), masking_utils.py
//      (causal_mask_function, sliding_window_overlay).
#include "gemma3.h"

#include "charaforge/engine/error.h"
#include "safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace charaforge::engine {
namespace {

using Shapes = std::map<std::string, std::vector<int64_t>>;
using nlohmann::json;

[[noreturn]] void fail(const std::string& what) {
    throw EngineError("gemma3: " + what);
}

std::vector<int64_t> shape_of(const Shapes& shapes, const std::string& key, int rank) {
    return required_shape(shapes, key, "gemma3", "Gemma3 text encoder", rank);
}

// A number field, or `fallback` when absent or null.
double number(const json& j, const char* key, double fallback) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null())
        return fallback;
    if (!it->is_number())
        fail(std::string("config.json: '") + key + "' is not a number");
    return it->get<double>();
}

int64_t integer(const json& j, const char* key, int64_t fallback) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null())
        return fallback;
    if (!it->is_number_integer())
        fail(std::string("config.json: '") + key + "' is not an integer");
    return it->get<int64_t>();
}

// One RoPE parameter set ({"rope_type": "linear", "factor": 8, "rope_theta": ...}) into theta/factor.
void read_rope(const json& p, double& theta, double& factor) {
    if (!p.is_object())
        return;
    theta = number(p, "rope_theta", theta);
    std::string type = "default";
    if (p.contains("rope_type") && p["rope_type"].is_string())
        type = p["rope_type"].get<std::string>();
    else if (p.contains("type") && p["type"].is_string())
        type = p["type"].get<std::string>();
    if (type == "default")
        factor = 1.0;
    else if (type == "linear")
        factor = number(p, "factor", 1.0);
    else
        fail("config.json: unsupported rope_type '" + type + "' (only 'default' and 'linear' are implemented)");
}

int64_t count_layers(const Shapes& shapes) {
    int64_t n = 0;
    while (shapes.count("layers." + std::to_string(n) + ".input_layernorm.weight"))
        ++n;
    return n;
}

// Half-rotation RoPE tables of one layer type: cos/sin [L, Dh] in `dtype`, as Gemma3RotaryEmbedding
// (fp32 angles, cast to the activation dtype before use).
std::pair<torch::Tensor, torch::Tensor> rope_tables(int64_t length, int64_t head_dim, double theta, double factor,
                                                    torch::Device device, torch::Dtype dtype) {
    auto fopts = torch::TensorOptions().dtype(torch::kFloat32).device(device);
    auto exponents =
        torch::arange(0, head_dim, 2, torch::TensorOptions().dtype(torch::kInt64).device(device)).to(torch::kFloat32) /
        static_cast<double>(head_dim);                           // [Dh/2]
    auto inv_freq = 1.0 / torch::pow(theta, exponents) / factor; // linear scaling divides the frequencies
    auto pos = torch::arange(length, fopts);                     // [L]
    auto freqs = torch::outer(pos, inv_freq);                    // [L, Dh/2]
    auto emb = torch::cat({freqs, freqs}, -1);                   // [L, Dh]
    return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

torch::Tensor rotate_half(const torch::Tensor& x) {
    auto halves = x.chunk(2, -1);                   // 2 x [..., Dh/2]
    return torch::cat({-halves[1], halves[0]}, -1); // [..., Dh]
}

} // namespace

bool Gemma3TextConfig::is_full_attention(int64_t layer) const {
    if (!full_attention_layers.empty())
        return full_attention_layers.at(static_cast<std::size_t>(layer));
    return (layer + 1) % sliding_window_pattern == 0;
}

double Gemma3TextConfig::attention_scale() const {
    return 1.0 / std::sqrt(query_pre_attn_scalar);
}

Gemma3TextConfig Gemma3TextConfig::from_weights(const Shapes& shapes, const std::string& config_json) {
    Gemma3TextConfig c;
    json root = json::object();
    if (!config_json.empty()) {
        try {
            root = json::parse(config_json);
        } catch (const std::exception& e) {
            fail(std::string("config.json is not valid JSON: ") + e.what());
        }
        if (!root.is_object())
            fail("config.json is not a JSON object");
    }
    // The multimodal Gemma3Config nests the text model's fields in `text_config`.
    const json& t = root.contains("text_config") && root["text_config"].is_object() ? root["text_config"] : root;

    const auto emb = shape_of(shapes, "embed_tokens.weight", 2);             // [V, D]
    const auto qn = shape_of(shapes, "layers.0.self_attn.q_norm.weight", 1); // [Dh]
    const auto q = shape_of(shapes, "layers.0.self_attn.q_proj.weight", 2);  // [Hq Dh, D]
    const auto k = shape_of(shapes, "layers.0.self_attn.k_proj.weight", 2);  // [Hkv Dh, D]
    const auto gate = shape_of(shapes, "layers.0.mlp.gate_proj.weight", 2);  // [F, D]
    c.vocab_size = emb[0];
    c.hidden_size = emb[1];
    c.head_dim = qn[0];
    if (c.head_dim <= 0 || q[0] % c.head_dim != 0 || k[0] % c.head_dim != 0)
        fail("q/k projections are not a multiple of the head dim " + std::to_string(c.head_dim));
    c.num_heads = q[0] / c.head_dim;
    c.num_kv_heads = k[0] / c.head_dim;
    c.intermediate_size = gate[0];
    const int64_t stored_layers = count_layers(shapes);
    c.num_layers = integer(t, "num_hidden_layers", stored_layers);
    // The encoder runs layers 0 .. num_layers - 2: the last one may be absent from the checkpoint.
    if (c.num_layers < 2 || c.num_layers > stored_layers + 1)
        fail("config.json: 'num_hidden_layers' must be an integer in [2, " + std::to_string(stored_layers + 1) +
             "] (the checkpoint has " + std::to_string(stored_layers) + " decoder layers), got " +
             std::to_string(c.num_layers));
    if (integer(t, "hidden_size", c.hidden_size) != c.hidden_size)
        fail("config.json hidden_size disagrees with embed_tokens.weight");
    if (integer(t, "head_dim", c.head_dim) != c.head_dim)
        fail("config.json head_dim disagrees with q_norm.weight");
    c.output_layer = c.num_layers - 2; // hidden_states[-2] = [emb, out_0, ..., out_{n-2}, norm(out_{n-1})][-2]

    c.rms_norm_eps = number(t, "rms_norm_eps", c.rms_norm_eps);
    c.query_pre_attn_scalar = number(t, "query_pre_attn_scalar", c.query_pre_attn_scalar);
    c.sliding_window = integer(t, "sliding_window", c.sliding_window);
    c.sliding_window_pattern =
        integer(t, "sliding_window_pattern", integer(t, "_sliding_window_pattern", c.sliding_window_pattern));
    if (t.contains("layer_types") && t["layer_types"].is_array()) {
        for (const auto& lt : t["layer_types"]) {
            const auto s = lt.is_string() ? lt.get<std::string>() : std::string{};
            if (s != "full_attention" && s != "sliding_attention")
                fail("config.json: unknown layer type '" + s + "'");
            c.full_attention_layers.push_back(s == "full_attention");
        }
    }
    c.pad_token_id = integer(t, "pad_token_id", integer(root, "pad_token_id", c.pad_token_id));
    c.bos_token_id = integer(t, "bos_token_id", integer(root, "bos_token_id", c.bos_token_id));

    // RoPE: transformers 5 writes rope_parameters per layer type; older configs rope_theta,
    // rope_local_base_freq and rope_scaling (which applies to the full-attention layers only).
    if (t.contains("rope_parameters") && t["rope_parameters"].is_object()) {
        const auto& rp = t["rope_parameters"];
        if (rp.contains("full_attention") || rp.contains("sliding_attention")) {
            if (rp.contains("full_attention"))
                read_rope(rp["full_attention"], c.rope_theta, c.rope_scaling_factor);
            if (rp.contains("sliding_attention"))
                read_rope(rp["sliding_attention"], c.rope_local_base_freq, c.local_rope_scaling_factor);
        } else {
            read_rope(rp, c.rope_theta, c.rope_scaling_factor);
        }
    } else {
        c.rope_theta = number(t, "rope_theta", c.rope_theta);
        c.rope_local_base_freq = number(t, "rope_local_base_freq", c.rope_local_base_freq);
        if (t.contains("rope_scaling")) {
            if (t["rope_scaling"].is_null())
                c.rope_scaling_factor = 1.0;
            else
                read_rope(t["rope_scaling"], c.rope_theta, c.rope_scaling_factor);
        }
    }

    for (const char* act_key : {"hidden_activation", "hidden_act"})
        if (t.contains(act_key) && t[act_key].is_string() && t[act_key].get<std::string>() != "gelu_pytorch_tanh")
            fail("config.json: " + std::string(act_key) + " '" + t[act_key].get<std::string>() +
                 "' is not supported (gelu_pytorch_tanh only)");
    if (t.contains("attn_logit_softcapping") && !t["attn_logit_softcapping"].is_null())
        fail("config.json: attn_logit_softcapping is not supported (Gemma3 has none)");
    if (t.value("use_bidirectional_attention", false))
        fail("config.json: use_bidirectional_attention is not supported");
    if (t.value("attention_bias", false))
        fail("config.json: attention_bias is not supported");
    c.validate();
    return c;
}

void Gemma3TextConfig::validate() const {
    if (hidden_size <= 0 || head_dim <= 0 || head_dim % 2 != 0)
        fail("invalid hidden size or head dim");
    if (num_heads <= 0 || num_kv_heads <= 0 || num_heads % num_kv_heads != 0)
        fail("num_heads " + std::to_string(num_heads) + " is not a multiple of num_kv_heads " +
             std::to_string(num_kv_heads));
    if (output_layer < 0 || output_layer >= num_layers)
        fail("output layer " + std::to_string(output_layer) + " is outside the " + std::to_string(num_layers) +
             " decoder layers");
    if (!full_attention_layers.empty() && static_cast<int64_t>(full_attention_layers.size()) != num_layers)
        fail("config.json: layer_types has " + std::to_string(full_attention_layers.size()) + " entries for " +
             std::to_string(num_layers) + " layers");
    if (sliding_window < 1 || sliding_window_pattern < 1)
        fail("sliding_window and sliding_window_pattern must be positive");
    if (!(query_pre_attn_scalar > 0) || !std::isfinite(query_pre_attn_scalar))
        fail("config.json: 'query_pre_attn_scalar' must be a positive finite number");
    if (!(rope_scaling_factor > 0) || !(local_rope_scaling_factor > 0) || !std::isfinite(rope_scaling_factor) ||
        !std::isfinite(local_rope_scaling_factor))
        fail("config.json: the RoPE scaling 'factor' must be a positive finite number");
    if (!(rope_theta > 0) || !(rope_local_base_freq > 0) || !std::isfinite(rope_theta) ||
        !std::isfinite(rope_local_base_freq))
        fail("config.json: 'rope_theta' and 'rope_local_base_freq' must be positive finite numbers");
    if (!(rms_norm_eps > 0 && rms_norm_eps <= 1))
        fail("config.json: 'rms_norm_eps' must be a number in (0, 1]");
    if (pad_token_id < 0 || pad_token_id >= vocab_size || bos_token_id < 0 || bos_token_id >= vocab_size)
        fail("config.json: 'pad_token_id' and 'bos_token_id' must be in [0, " + std::to_string(vocab_size - 1) + "]");
}

double gemma3_embed_scale(int64_t hidden_size, torch::Dtype dtype) {
    // transformers keeps sqrt(hidden) in an fp32 buffer and casts it to the weight dtype at use.
    return torch::tensor(std::sqrt(static_cast<double>(hidden_size)), torch::kFloat32)
        .to(dtype)
        .to(torch::kFloat64)
        .item<double>();
}

std::vector<std::string> gemma3_expected_keys(const Gemma3TextConfig& cfg) {
    std::vector<std::string> keys = {"embed_tokens.weight"};
    for (int64_t i = 0; i <= cfg.output_layer; ++i) {
        const auto p = "layers." + std::to_string(i) + ".";
        for (const char* s :
             {"self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight",
              "self_attn.o_proj.weight", "self_attn.q_norm.weight", "self_attn.k_norm.weight", "mlp.gate_proj.weight",
              "mlp.up_proj.weight", "mlp.down_proj.weight", "input_layernorm.weight", "post_attention_layernorm.weight",
              "pre_feedforward_layernorm.weight", "post_feedforward_layernorm.weight"})
            keys.push_back(p + s);
    }
    std::sort(keys.begin(), keys.end());
    return keys;
}

std::optional<std::string> gemma3_key(const std::string& stored) {
    // Multimodal parts and the LM head are not used by a text encoder; ComfyUI files may also embed the
    // tokenizer as a byte tensor.
    for (const char* drop : {"vision_tower.", "multi_modal_projector.", "model.vision_tower.",
                             "model.multi_modal_projector.", "lm_head.", "language_model.lm_head.", "spiece_model"})
        if (stored.starts_with(drop))
            return std::nullopt;
    for (const char* prefix : {"language_model.model.", "model.language_model.", "language_model.", "model."})
        if (stored.starts_with(prefix))
            return stored.substr(std::string_view(prefix).size());
    return stored;
}

WeightMap gemma3_select(const WeightMap& weights, const Gemma3TextConfig& cfg) {
    WeightMap out;
    for (const auto& [key, src] : weights) {
        if (key == "norm.weight")
            continue;
        if (key.starts_with("layers.")) {
            const auto dot = key.find('.', 7);
            try {
                if (std::stoll(key.substr(7, dot - 7)) > cfg.output_layer)
                    continue;
            } catch (const std::exception&) {
                // not a numbered layer: keep it so that strict loading reports it
            }
        }
        out.emplace(key, src);
    }
    return out;
}

Gemma3RMSNormImpl::Gemma3RMSNormImpl(int64_t dim, double eps_, const torch::TensorOptions& opts) : eps(eps_) {
    weight = register_parameter("weight", torch::empty({dim}, opts), false);
}

torch::Tensor Gemma3RMSNormImpl::forward(const torch::Tensor& x) {
    auto xf = x.to(torch::kFloat32);
    auto normed = xf * torch::rsqrt(xf.pow(2).mean(-1, true) + eps);
    return (normed * (1.0 + weight.to(torch::kFloat32))).to(x.scalar_type());
}

Gemma3AttentionImpl::Gemma3AttentionImpl(const Gemma3TextConfig& cfg, const torch::TensorOptions& opts)
    : num_heads(cfg.num_heads), num_kv_heads(cfg.num_kv_heads), head_dim(cfg.head_dim), scale(cfg.attention_scale()) {
    q_proj = register_module("q_proj", nn::Linear(cfg.hidden_size, num_heads * head_dim, false, opts));
    k_proj = register_module("k_proj", nn::Linear(cfg.hidden_size, num_kv_heads * head_dim, false, opts));
    v_proj = register_module("v_proj", nn::Linear(cfg.hidden_size, num_kv_heads * head_dim, false, opts));
    o_proj = register_module("o_proj", nn::Linear(num_heads * head_dim, cfg.hidden_size, false, opts));
    q_norm = register_module("q_norm", Gemma3RMSNorm(head_dim, cfg.rms_norm_eps, opts));
    k_norm = register_module("k_norm", Gemma3RMSNorm(head_dim, cfg.rms_norm_eps, opts));
}

torch::Tensor Gemma3AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                                           const torch::Tensor& mask) {
    const auto B = x.size(0), L = x.size(1);
    const auto groups = num_heads / num_kv_heads;
    auto q = q_proj->forward(x).view({B, L, num_heads, head_dim}).transpose(1, 2);    // [B, Hq, L, Dh]
    auto k = k_proj->forward(x).view({B, L, num_kv_heads, head_dim}).transpose(1, 2); // [B, Hkv, L, Dh]
    auto v = v_proj->forward(x).view({B, L, num_kv_heads, head_dim}).transpose(1, 2); // [B, Hkv, L, Dh]
    q = q_norm->forward(q);
    k = k_norm->forward(k);
    q = q * cos + rotate_half(q) * sin; // cos/sin [L, Dh] broadcast over batch and heads
    k = k * cos + rotate_half(k) * sin;

    // Grouped-query attention without copying K/V: query head h reads kv head h / groups.
    auto qg = q.to(torch::kFloat32).view({B, num_kv_heads, groups, L, head_dim}); // [B, Hkv, G, L, Dh]
    auto kf = k.to(torch::kFloat32).unsqueeze(2);                                 // [B, Hkv, 1, L, Dh]
    auto vf = v.to(torch::kFloat32).unsqueeze(2);                                 // [B, Hkv, 1, L, Dh]
    auto scores = torch::matmul(qg, kf.transpose(-2, -1)) * scale;                // [B, Hkv, G, L, L]
    scores = scores.masked_fill(mask.logical_not().unsqueeze(1), -std::numeric_limits<float>::infinity());
    auto probs = torch::softmax(scores, -1);
    auto out = torch::matmul(probs, vf).to(x.scalar_type()); // [B, Hkv, G, L, Dh]
    out = out.view({B, num_heads, L, head_dim}).transpose(1, 2).reshape({B, L, num_heads * head_dim}); // [B, L, Hq Dh]
    return o_proj->forward(out);
}

Gemma3MLPImpl::Gemma3MLPImpl(const Gemma3TextConfig& cfg, const torch::TensorOptions& opts) {
    gate_proj = register_module("gate_proj", nn::Linear(cfg.hidden_size, cfg.intermediate_size, false, opts));
    up_proj = register_module("up_proj", nn::Linear(cfg.hidden_size, cfg.intermediate_size, false, opts));
    down_proj = register_module("down_proj", nn::Linear(cfg.intermediate_size, cfg.hidden_size, false, opts));
}

torch::Tensor Gemma3MLPImpl::forward(const torch::Tensor& x) {
    return down_proj->forward(torch::gelu(gate_proj->forward(x), "tanh") * up_proj->forward(x));
}

Gemma3DecoderLayerImpl::Gemma3DecoderLayerImpl(const Gemma3TextConfig& cfg, const torch::TensorOptions& opts) {
    self_attn = register_module("self_attn", Gemma3Attention(cfg, opts));
    mlp = register_module("mlp", Gemma3MLP(cfg, opts));
    input_layernorm = register_module("input_layernorm", Gemma3RMSNorm(cfg.hidden_size, cfg.rms_norm_eps, opts));
    post_attention_layernorm =
        register_module("post_attention_layernorm", Gemma3RMSNorm(cfg.hidden_size, cfg.rms_norm_eps, opts));
    pre_feedforward_layernorm =
        register_module("pre_feedforward_layernorm", Gemma3RMSNorm(cfg.hidden_size, cfg.rms_norm_eps, opts));
    post_feedforward_layernorm =
        register_module("post_feedforward_layernorm", Gemma3RMSNorm(cfg.hidden_size, cfg.rms_norm_eps, opts));
}

torch::Tensor Gemma3DecoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& cos,
                                              const torch::Tensor& sin, const torch::Tensor& mask) {
    // Sandwich norms: each sub-block's output is normalised before it joins the residual stream.
    auto h = x + post_attention_layernorm->forward(self_attn->forward(input_layernorm->forward(x), cos, sin, mask));
    return h + post_feedforward_layernorm->forward(mlp->forward(pre_feedforward_layernorm->forward(h)));
}

Gemma3EmbeddingImpl::Gemma3EmbeddingImpl(int64_t vocab, int64_t dim, const torch::TensorOptions& opts) {
    weight = register_parameter("weight", torch::empty({vocab, dim}, opts), false);
}

torch::Tensor Gemma3EmbeddingImpl::forward(const torch::Tensor& ids) {
    const auto scale = gemma3_embed_scale(weight.size(1), weight.scalar_type());
    return torch::embedding(weight, ids) * scale; // [B, L, D]; scale is exact in the weight dtype
}

Gemma3TextModelImpl::Gemma3TextModelImpl(const Gemma3TextConfig& cfg, const torch::TensorOptions& opts) : cfg_(cfg) {
    cfg_.validate();
    embed_tokens = register_module("embed_tokens", Gemma3Embedding(cfg.vocab_size, cfg.hidden_size, opts));
    layers = register_module("layers", torch::nn::ModuleList());
    for (int64_t i = 0; i <= cfg.output_layer; ++i)
        layers->push_back(Gemma3DecoderLayer(cfg, opts));
}

torch::Tensor Gemma3TextModelImpl::forward(const torch::Tensor& ids, const torch::Tensor& attention_mask) {
    TORCH_CHECK(ids.dim() == 2, "gemma3: ids must be [B, L], got ", ids.sizes());
    const auto B = ids.size(0), L = ids.size(1);
    const auto device = compute_device();
    const auto dtype = embed_tokens->weight.scalar_type();
    auto ids_d = ids.to(device, torch::kInt64);
    auto valid = attention_mask.defined()
                     ? attention_mask.to(device).ne(0)
                     : torch::ones({B, L}, torch::TensorOptions().dtype(torch::kBool).device(device));
    TORCH_CHECK(valid.sizes() == ids.sizes(), "gemma3: attention_mask ", valid.sizes(), " does not match ids ",
                ids.sizes());
    if ((ids_d.lt(0) | ids_d.ge(cfg_.vocab_size)).any().item<bool>())
        throw EngineError("gemma3: token id outside the vocabulary of " + std::to_string(cfg_.vocab_size));

    // Masks: causal, key padding, and for sliding layers q - k < window. Every query may also attend
    // to itself so that padded rows are never fully masked (their outputs are discarded).
    auto pos = torch::arange(L, torch::TensorOptions().dtype(torch::kInt64).device(device));
    auto qi = pos.view({L, 1}), ki = pos.view({1, L});                               // [L, 1], [1, L]
    auto keys = valid.view({B, 1, 1, L});                                            // [B, 1, 1, L]
    auto diag = qi.eq(ki);                                                           // [L, L]
    auto full_mask = (ki.le(qi) & keys) | diag;                                      // [B, 1, L, L]
    auto local_mask = (ki.le(qi) & (qi - ki).lt(cfg_.sliding_window) & keys) | diag; // [B, 1, L, L]

    auto [cos_full, sin_full] = rope_tables(L, cfg_.head_dim, cfg_.rope_theta, cfg_.rope_scaling_factor, device, dtype);
    auto [cos_local, sin_local] =
        rope_tables(L, cfg_.head_dim, cfg_.rope_local_base_freq, cfg_.local_rope_scaling_factor, device, dtype);

    auto h = embed_tokens->forward(ids_d.to(embed_tokens->weight.device())).to(device); // [B, L, D]
    for (int64_t i = 0; i <= cfg_.output_layer; ++i) {
        auto layer = layers->ptr<Gemma3DecoderLayerImpl>(static_cast<std::size_t>(i));
        if (cfg_.is_full_attention(i))
            h = layer->forward(h, cos_full, sin_full, full_mask);
        else
            h = layer->forward(h, cos_local, sin_local, local_mask);
    }
    return h * valid.unsqueeze(-1).to(h.scalar_type()); // [B, L, D], padded positions zero
}

torch::Device Gemma3TextModelImpl::compute_device() const {
    for (const auto& p : layers->parameters())
        return p.device();
    return embed_tokens->weight.device();
}

Gemma3TextModel load_gemma3(const std::vector<std::string>& files, const std::string& config_json, torch::Device device,
                            torch::Dtype dtype) {
    if (files.empty())
        fail("no weight files given");
    std::vector<std::shared_ptr<SafetensorsFile>> opened;
    for (const auto& f : files)
        opened.push_back(std::make_shared<SafetensorsFile>(f));
    auto all = collect_weights(opened, gemma3_key);
    auto cfg = Gemma3TextConfig::from_weights(weight_shapes(all), config_json);
    Gemma3TextModel model(cfg, torch::TensorOptions().device(device).dtype(dtype));
    model->eval();
    load_strict(*model, gemma3_select(all, cfg), "gemma3");
    return model;
}

} // namespace charaforge::engine
