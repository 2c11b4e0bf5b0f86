// Ref: jinaai/xlm-roberta-flash-implementation modeling_xlm_roberta.py (XLMRobertaModel, XLMRobertaEncoder,
//      create_mixer_cls/create_mlp_cls/create_block), embedding.py (XLMRobertaEmbeddings), block.py (Block,
//      prenorm=False), mha.py (MHA, SelfAttention), rotary.py (RotaryEmbedding, apply_rotary_emb_torch),
//      modeling_lora.py (LoRAParametrization, XLMRobertaLoRA); jinaai/jina-clip-implementation hf_model.py
//      (HFTextEncoder, MeanPooler).
#include "jina_xlmr.h"

#include "charaforge/engine/error.h"
#include "safetensors.h"
#include "torch_compat.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

namespace charaforge::engine {
namespace {

using Shapes = std::map<std::string, std::vector<int64_t>>;
using nlohmann::json;

[[noreturn]] void fail(const std::string& what) {
    throw EngineError("jina: " + what);
}

std::vector<int64_t> shape_of(const Shapes& shapes, const std::string& key, int rank) {
    return required_shape(shapes, key, "jina", "Jina CLIP v2 / XLM-RoBERTa text model", rank);
}

int64_t count_layers(const Shapes& shapes) {
    int64_t n = 0;
    while (shapes.count("encoder.layers." + std::to_string(n) + ".mixer.Wqkv.weight"))
        ++n;
    return n;
}

// The first of `objects` that has `key` (not null), else nullptr.
const json* find_field(const std::vector<const json*>& objects, const char* key) {
    for (const auto* o : objects)
        if (o && o->is_object() && o->contains(key) && !(*o)[key].is_null())
            return &(*o)[key];
    return nullptr;
}

double number(const std::vector<const json*>& objects, const char* key, double fallback) {
    const auto* v = find_field(objects, key);
    if (!v)
        return fallback;
    if (!v->is_number())
        fail(std::string("config.json: '") + key + "' is not a number");
    return v->get<double>();
}

constexpr std::string_view kLoraOriginal = ".parametrizations.weight.original";
constexpr std::string_view kLoraA = ".parametrizations.weight.0.lora_A";
constexpr std::string_view kLoraB = ".parametrizations.weight.0.lora_B";

bool ends_with(const std::string& s, std::string_view suffix) {
    return s.ends_with(suffix);
}

torch::Tensor rotate_half(const torch::Tensor& x) {
    auto halves = x.chunk(2, -1);                   // 2 x [..., Dh/2]
    return torch::cat({-halves[1], halves[0]}, -1); // [..., Dh]
}

} // namespace

JinaTextConfig JinaTextConfig::from_weights(const Shapes& shapes, const std::string& config_json) {
    JinaTextConfig c;
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
    // JinaCLIP: text_config.hf_model_config_kwargs override the backbone's config; a bare
    // XLMRobertaFlashConfig has the fields at the top level.
    const json* text = root.contains("text_config") && root["text_config"].is_object() ? &root["text_config"] : nullptr;
    const json* kwargs =
        text && text->contains("hf_model_config_kwargs") ? &(*text)["hf_model_config_kwargs"] : nullptr;
    const std::vector<const json*> sources = {kwargs, text ? nullptr : &root};

    const auto we = shape_of(shapes, "embeddings.word_embeddings.weight", 2);       // [V, D]
    const auto tt = shape_of(shapes, "embeddings.token_type_embeddings.weight", 2); // [T, D]
    const auto fc1 = shape_of(shapes, "encoder.layers.0.mlp.fc1.weight", 2);        // [F, D]
    const auto qkv = shape_of(shapes, "encoder.layers.0.mixer.Wqkv.weight", 2);     // [3 D, D]
    c.vocab_size = we[0];
    c.hidden_size = we[1];
    c.type_vocab_size = tt[0];
    c.intermediate_size = fc1[0];
    c.num_layers = count_layers(shapes);
    if (qkv[0] != 3 * c.hidden_size)
        fail("Wqkv has " + std::to_string(qkv[0]) + " rows, expected 3 x hidden " + std::to_string(c.hidden_size));
    const double heads = number(sources, "num_attention_heads", static_cast<double>(c.num_heads));
    if (!(heads >= 1 && heads <= static_cast<double>(c.hidden_size)) || heads != std::floor(heads))
        fail("config.json: 'num_attention_heads' must be an integer in [1, " + std::to_string(c.hidden_size) + "]");
    c.num_heads = static_cast<int64_t>(heads);
    c.rotary_base = number(sources, "rotary_emb_base", c.rotary_base);
    c.layer_norm_eps = number(sources, "layer_norm_eps", c.layer_norm_eps);
    const double pad = number(sources, "pad_token_id", static_cast<double>(c.pad_token_id));
    if (!(pad >= 0 && pad < static_cast<double>(c.vocab_size)) || pad != std::floor(pad))
        fail("config.json: 'pad_token_id' must be an integer in [0, " + std::to_string(c.vocab_size - 1) + "]");
    c.pad_token_id = static_cast<int64_t>(pad);
    c.lora_alpha = number(sources, "lora_alpha", c.lora_alpha);
    if (const auto* v = find_field(sources, "num_hidden_layers");
        v && v->is_number_integer() && v->get<int64_t>() != c.num_layers)
        fail("config.json num_hidden_layers " + std::to_string(v->get<int64_t>()) + " disagrees with the " +
             std::to_string(c.num_layers) + " layers in the checkpoint");
    if (const auto* v = find_field(sources, "hidden_act"); v && v->is_string() && v->get<std::string>() != "gelu")
        fail("config.json: hidden_act '" + v->get<std::string>() + "' is not supported (gelu only)");
    if (const auto* v = find_field(sources, "position_embedding_type");
        v && v->is_string() && v->get<std::string>() != "rotary")
        fail("config.json: position_embedding_type '" + v->get<std::string>() + "' is not supported (rotary only)");

    // The adapter HFTextEncoder activates: default_lora_task's index in lora_adaptations (null = none).
    std::string task = "retrieval.query";
    if (text && text->contains("default_lora_task")) {
        const auto& d = (*text)["default_lora_task"];
        task = d.is_string() ? d.get<std::string>() : std::string{};
    }
    if (task.empty()) {
        c.lora_adapter = -1;
    } else if (const auto* list = find_field(sources, "lora_adaptations"); list && list->is_array()) {
        c.lora_adapter = -1;
        for (std::size_t i = 0; i < list->size(); ++i)
            if ((*list)[i].is_string() && (*list)[i].get<std::string>() == task)
                c.lora_adapter = static_cast<int64_t>(i);
        if (c.lora_adapter < 0)
            fail("config.json: LoRA task '" + task + "' is not in lora_adaptations");
    }
    c.validate();
    return c;
}

void JinaTextConfig::validate() const {
    if (hidden_size <= 0 || num_heads <= 0 || hidden_size % num_heads != 0 || head_dim() % 2 != 0)
        fail("hidden size " + std::to_string(hidden_size) + " is not an even multiple of " + std::to_string(num_heads) +
             " heads");
    if (num_layers < 1)
        fail("no encoder layers found");
    if (type_vocab_size < 1)
        fail("the checkpoint has no token type embedding");
    if (!(rotary_base > 0) || !std::isfinite(rotary_base))
        fail("config.json: 'rotary_emb_base' must be a positive finite number");
    if (!(layer_norm_eps > 0 && layer_norm_eps <= 1))
        fail("config.json: 'layer_norm_eps' must be a number in (0, 1]");
    if (!std::isfinite(lora_alpha))
        fail("config.json: 'lora_alpha' must be a finite number");
}

std::vector<std::string> jina_expected_keys(const JinaTextConfig& cfg) {
    std::vector<std::string> keys = {"embeddings.word_embeddings.weight", "embeddings.token_type_embeddings.weight",
                                     "emb_ln.weight", "emb_ln.bias"};
    for (int64_t i = 0; i < cfg.num_layers; ++i) {
        const auto p = "encoder.layers." + std::to_string(i) + ".";
        for (const char* s : {"mixer.Wqkv.weight", "mixer.Wqkv.bias", "mixer.out_proj.weight", "mixer.out_proj.bias",
                              "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias", "norm1.weight",
                              "norm1.bias", "norm2.weight", "norm2.bias"})
            keys.push_back(p + s);
    }
    std::sort(keys.begin(), keys.end());
    return keys;
}

std::optional<std::string> jina_key(const std::string& stored) {
    for (const char* drop : {"vision_model.", "logit_scale", "logit_bias", "text_projection", "visual_projection",
                             "text_model.proj.", "spiece_model"})
        if (stored.starts_with(drop))
            return std::nullopt;
    std::string key = stored;
    for (const char* prefix :
         {"text_model.transformer.roberta.", "text_model.transformer.", "text_model.", "roberta.", "model."})
        if (key.starts_with(prefix)) {
            key = key.substr(std::string_view(prefix).size());
            break;
        }
    if (key.starts_with("pooler.")) // XLMRobertaPooler: unused by the mean-pooled text tower
        return std::nullopt;
    if (ends_with(key, kLoraOriginal))
        key = key.substr(0, key.size() - kLoraOriginal.size()) + ".weight";
    return key;
}

JinaLoraSplit split_jina_lora(const WeightMap& weights) {
    JinaLoraSplit out;
    std::map<std::string, WeightSource> as, bs;
    for (const auto& [key, src] : weights) {
        if (ends_with(key, kLoraA))
            as.emplace(key.substr(0, key.size() - kLoraA.size()) + ".weight", src);
        else if (ends_with(key, kLoraB))
            bs.emplace(key.substr(0, key.size() - kLoraB.size()) + ".weight", src);
        else if (key.find(".parametrizations.") != std::string::npos)
            fail("unexpected parametrization tensor '" + src.info->name + "' in " + src.file->path());
        else
            out.base.emplace(key, src);
    }
    for (const auto& [key, a] : as) {
        auto b = bs.find(key);
        if (b == bs.end())
            fail("LoRA tensor '" + a.info->name + "' has no lora_B partner in " + a.file->path());
        if (!out.base.count(key))
            fail("LoRA tensor '" + a.info->name + "' has no base weight in " + a.file->path());
        out.lora.emplace(key, std::make_pair(a, b->second));
    }
    for (const auto& [key, b] : bs)
        if (!as.count(key))
            fail("LoRA tensor '" + b.info->name + "' has no lora_A partner in " + b.file->path());
    return out;
}

bool jina_lora_is_embedding(const std::string& key) {
    return ends_with(key, "_embeddings.weight");
}

torch::Tensor merge_lora(const torch::Tensor& weight, const torch::Tensor& lora_A, const torch::Tensor& lora_B,
                         bool embedding, int64_t adapter, double alpha) {
    TORCH_CHECK(weight.dim() == 2 && lora_A.dim() == 3 && lora_B.dim() == 3, "jina: LoRA merge needs W [2-D] and "
                                                                             "stacked A, B [3-D]");
    TORCH_CHECK(adapter >= 0 && adapter < lora_A.size(0) && lora_A.size(0) == lora_B.size(0),
                "jina: LoRA adapter index ", adapter, " outside the ", lora_A.size(0), " stacked adapters");
    auto a = lora_A.select(0, adapter).to(torch::kFloat32); // linear [r, in]; embedding [rows, r]
    auto b = lora_B.select(0, adapter).to(torch::kFloat32); // linear [out, r]; embedding [r, dim]
    const auto rank = embedding ? a.size(1) : a.size(0);
    const double scaling = alpha / static_cast<double>(rank);
    auto w = weight.to(torch::kFloat32).clone();
    if (embedding) {
        TORCH_CHECK(a.size(0) == w.size(0) && b.size(0) == rank && b.size(1) == w.size(1),
                    "jina: embedding LoRA shapes ", lora_A.sizes(), " ", lora_B.sizes(), " do not fit ", w.sizes());
        w.addmm_(a, b, 1.0, scaling); // E + s A B
    } else {
        TORCH_CHECK(a.size(1) == w.size(1) && b.size(0) == w.size(0) && b.size(1) == rank, "jina: linear LoRA shapes ",
                    lora_A.sizes(), " ", lora_B.sizes(), " do not fit ", w.sizes());
        w.addmm_(b, a, 1.0, scaling); // W + s B A
    }
    return w;
}

XlmrEmbeddingTableImpl::XlmrEmbeddingTableImpl(int64_t rows, int64_t dim, const torch::TensorOptions& opts) {
    weight = register_parameter("weight", torch::empty({rows, dim}, opts), false);
}

torch::Tensor XlmrEmbeddingTableImpl::forward(const torch::Tensor& ids) {
    return torch::embedding(weight, ids);
}

XlmrEmbeddingsImpl::XlmrEmbeddingsImpl(const JinaTextConfig& cfg, const torch::TensorOptions& opts) {
    word_embeddings = register_module("word_embeddings", XlmrEmbeddingTable(cfg.vocab_size, cfg.hidden_size, opts));
    token_type_embeddings =
        register_module("token_type_embeddings", XlmrEmbeddingTable(cfg.type_vocab_size, cfg.hidden_size, opts));
}

torch::Tensor XlmrEmbeddingsImpl::forward(const torch::Tensor& ids) {
    // Rotary positions: no absolute position table; every token has token type 0.
    const auto device = token_type_embeddings->weight.device();
    return word_embeddings->forward(ids.to(word_embeddings->weight.device())).to(device) +
           token_type_embeddings->weight[0]; // [B, L, D]
}

XlmrMHAImpl::XlmrMHAImpl(const JinaTextConfig& cfg, const torch::TensorOptions& opts)
    : num_heads(cfg.num_heads), head_dim(cfg.head_dim()) {
    Wqkv = register_module("Wqkv", nn::Linear(cfg.hidden_size, 3 * cfg.hidden_size, true, opts));
    out_proj = register_module("out_proj", nn::Linear(cfg.hidden_size, cfg.hidden_size, true, opts));
}

torch::Tensor XlmrMHAImpl::forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                                   const torch::Tensor& key_mask) {
    const auto B = x.size(0), L = x.size(1);
    auto qkv = Wqkv->forward(x).view({B, L, 3, num_heads, head_dim}); // "(three h d)" row order
    auto c = cos.view({1, L, 1, head_dim}), s = sin.view({1, L, 1, head_dim});
    auto q = qkv.select(2, 0), k = qkv.select(2, 1), v = qkv.select(2, 2); // [B, L, H, Dh]
    q = q * c + rotate_half(q) * s;
    k = k * c + rotate_half(k) * s;
    auto out = compat::attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), key_mask,
                                 1.0 / std::sqrt(static_cast<double>(head_dim)));        // [B, H, L, Dh]
    return out_proj->forward(out.transpose(1, 2).reshape({B, L, num_heads * head_dim})); // [B, L, D]
}

XlmrMlpImpl::XlmrMlpImpl(const JinaTextConfig& cfg, const torch::TensorOptions& opts) {
    fc1 = register_module("fc1", nn::Linear(cfg.hidden_size, cfg.intermediate_size, true, opts));
    fc2 = register_module("fc2", nn::Linear(cfg.intermediate_size, cfg.hidden_size, true, opts));
}

torch::Tensor XlmrMlpImpl::forward(const torch::Tensor& x) {
    return fc2->forward(torch::gelu(fc1->forward(x))); // exact (erf) GELU: hidden_act "gelu"
}

XlmrBlockImpl::XlmrBlockImpl(const JinaTextConfig& cfg, const torch::TensorOptions& opts) {
    mixer = register_module("mixer", XlmrMHA(cfg, opts));
    mlp = register_module("mlp", XlmrMlp(cfg, opts));
    norm1 = register_module("norm1", nn::LayerNorm(cfg.hidden_size, cfg.layer_norm_eps, opts));
    norm2 = register_module("norm2", nn::LayerNorm(cfg.hidden_size, cfg.layer_norm_eps, opts));
}

torch::Tensor XlmrBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                                     const torch::Tensor& key_mask) {
    // Post-LN (Block with prenorm=False): add the residual, then normalise.
    auto h = norm1->forward(x + mixer->forward(x, cos, sin, key_mask));
    return norm2->forward(h + mlp->forward(h));
}

XlmrEncoderImpl::XlmrEncoderImpl(const JinaTextConfig& cfg, const torch::TensorOptions& opts) {
    layers = register_module("layers", torch::nn::ModuleList());
    for (int64_t i = 0; i < cfg.num_layers; ++i)
        layers->push_back(XlmrBlock(cfg, opts));
}

JinaTextModelImpl::JinaTextModelImpl(const JinaTextConfig& cfg, const torch::TensorOptions& opts) : cfg_(cfg) {
    cfg_.validate();
    embeddings = register_module("embeddings", XlmrEmbeddings(cfg, opts));
    emb_ln = register_module("emb_ln", nn::LayerNorm(cfg.hidden_size, cfg.layer_norm_eps, opts));
    encoder = register_module("encoder", XlmrEncoder(cfg, opts));
}

torch::Device JinaTextModelImpl::compute_device() const {
    for (const auto& p : encoder->parameters())
        return p.device();
    return embeddings->word_embeddings->weight.device();
}

torch::Tensor JinaTextModelImpl::valid_mask(const torch::Tensor& ids, const torch::Tensor& mask) const {
    auto device = compute_device();
    auto valid = mask.defined() ? mask.to(device).ne(0) : ids.to(device).ne(cfg_.pad_token_id); // [B, L] bool
    TORCH_CHECK(valid.sizes() == ids.sizes(), "jina: mask ", valid.sizes(), " does not match ids ", ids.sizes());
    return valid;
}

torch::Tensor JinaTextModelImpl::forward(const torch::Tensor& ids, const torch::Tensor& mask) {
    TORCH_CHECK(ids.dim() == 2, "jina: ids must be [B, L], got ", ids.sizes());
    const auto device = compute_device();
    const auto dtype = embeddings->word_embeddings->weight.scalar_type();
    const auto L = ids.size(1);
    auto ids_d = ids.to(device, torch::kInt64);
    if ((ids_d.lt(0) | ids_d.ge(cfg_.vocab_size)).any().item<bool>())
        throw EngineError("jina: token id outside the vocabulary of " + std::to_string(cfg_.vocab_size));
    auto valid = valid_mask(ids, mask);

    // RotaryEmbedding: fp32 angles for positions 0..L-1, tables cast to the activation dtype.
    const auto Dh = cfg_.head_dim();
    auto fopts = torch::TensorOptions().dtype(torch::kFloat32).device(device);
    auto inv_freq =
        1.0 / torch::pow(cfg_.rotary_base, torch::arange(0, Dh, 2, fopts) / static_cast<double>(Dh)); // [Dh/2]
    auto freqs = torch::outer(torch::arange(L, fopts), inv_freq);                                     // [L, Dh/2]
    auto emb = torch::cat({freqs, freqs}, -1);                                                        // [L, Dh]
    auto cos = emb.cos().to(dtype), sin = emb.sin().to(dtype);

    auto h = emb_ln->forward(embeddings->forward(ids_d)); // [B, L, D]
    for (const auto& layer : *encoder->layers)
        h = layer->as<XlmrBlockImpl>()->forward(h, cos, sin, valid);
    return h;
}

torch::Tensor JinaTextModelImpl::mean_pool(const torch::Tensor& hidden, const torch::Tensor& mask) {
    auto m = mask.to(hidden.device()).ne(0).to(torch::kFloat32).unsqueeze(-1); // [B, L, 1]
    auto sum = (hidden.to(torch::kFloat32) * m).sum(1);                        // [B, D]
    return sum / m.sum(1).clamp_min(1.0);                                      // [B, D]
}

torch::Tensor JinaTextModelImpl::pooled(const torch::Tensor& ids, const torch::Tensor& mask) {
    auto valid = valid_mask(ids, mask);
    auto hidden = forward(ids, valid);
    return mean_pool(hidden, valid).to(hidden.scalar_type());
}

JinaTextModel load_jina(const std::vector<std::string>& files, const std::string& config_json, torch::Device device,
                        torch::Dtype dtype) {
    if (files.empty())
        fail("no weight files given");
    std::vector<std::shared_ptr<SafetensorsFile>> opened;
    for (const auto& f : files)
        opened.push_back(std::make_shared<SafetensorsFile>(f));
    auto split = split_jina_lora(collect_weights(opened, jina_key));
    auto cfg = JinaTextConfig::from_weights(weight_shapes(split.base), config_json);
    JinaTextModel model(cfg, torch::TensorOptions().device(device).dtype(dtype));
    model->eval();
    TensorTransform merge;
    if (cfg.lora_adapter >= 0 && !split.lora.empty()) {
        merge = [&](const std::string& key, torch::Tensor stored) {
            auto it = split.lora.find(key);
            if (it == split.lora.end())
                return stored;
            const auto& [a, b] = it->second;
            return merge_lora(stored, read_tensor(*a.file, *a.info), read_tensor(*b.file, *b.info),
                              jina_lora_is_embedding(key), cfg.lora_adapter, cfg.lora_alpha);
        };
    }
    load_strict(*model, split.base, "jina", merge);
    return model;
}

} // namespace charaforge::engine
