// Ref: NewBie-image-Exp0.1 finetune.py (T2IItemProcessor system prompts, encode_prompt: Gemma
//      hidden_states[-2], Jina get_text_features), demo.py (unconditional branch). Spec §3.1.
#include "text_conditioning.h"

#include "charaforge/engine/error.h"
#include "file_util.h"
#include "memory.h"
#include "text_encoders.h"

#include <map>

namespace charaforge::engine {
namespace {

GemmaTokenizer load_gemma_tokenizer(const ComponentFiles& c) {
    if (!c.tokenizer.empty())
        return GemmaTokenizer::from_file(c.tokenizer);
    auto embedded = embedded_spiece_model(c.weights);
    if (!embedded.empty())
        return GemmaTokenizer::from_bytes(embedded, GemmaTokenizer::kDefaultMaxLength,
                                          "the spiece_model tensor of " + c.weights.front());
    throw EngineError("gemma3: no tokenizer.model next to " + c.weights.front() +
                      " (put Gemma3's tokenizer.model in the text_encoder/ folder)");
}

XlmrTokenizer load_jina_tokenizer(const ComponentFiles& c) {
    if (!c.tokenizer.empty())
        return XlmrTokenizer::from_file(c.tokenizer);
    auto embedded = embedded_spiece_model(c.weights);
    if (!embedded.empty())
        return XlmrTokenizer::from_bytes(embedded, XlmrTokenizer::kDefaultMaxLength,
                                         "the spiece_model tensor of " + c.weights.front());
    throw EngineError("jina: no sentencepiece.bpe.model next to " + c.weights.front() +
                      " (put XLM-RoBERTa's sentencepiece.bpe.model in the clip_model/ folder)");
}

const ComponentFiles& require(const ComponentFiles& c, const char* what, const std::string& root) {
    if (c.weights.empty())
        throw EngineError(std::string("pipeline: ") + root + " has no " + what +
                          " weights; prompts need both text encoders (requests can carry embeddings instead)");
    return c;
}

} // namespace

bool is_xml_prompt(const std::string& prompt) {
    const auto pos = prompt.find_first_not_of(" \t\r\n");
    return pos != std::string::npos && prompt[pos] == '<' && prompt.find('>', pos) != std::string::npos;
}

EncoderTexts conditional_texts(const GenerationRequest& r) {
    const std::string system = r.system_prompt           ? *r.system_prompt
                               : is_xml_prompt(r.prompt) ? kXmlSystemPrompt
                                                         : kTagSystemPrompt;
    return {system + r.prompt, r.prompt};
}

EncoderTexts unconditional_texts(const GenerationRequest& r) {
    if (r.negative_prompt.empty())
        return {"", ""};
    const std::string system = r.system_prompt           ? *r.system_prompt
                               : is_xml_prompt(r.prompt) ? kXmlSystemPrompt
                                                         : kTagSystemPrompt;
    return {system + r.negative_prompt, r.negative_prompt};
}

TextEncoders::TextEncoders(const ModelFiles& files, const Runtime& rt, bool offload)
    : rt_(rt), offload_(offload),
      gemma_tok_(load_gemma_tokenizer(require(files.text_encoder, "Gemma3 text encoder", files.root))),
      jina_tok_(load_jina_tokenizer(require(files.clip, "Jina CLIP", files.root))) {
    const auto home = offload_ ? torch::Device(torch::kCPU) : rt_.device;
    gemma_ = load_gemma3(files.text_encoder.weights, read_config(files.text_encoder), home, rt_.dtype);
    jina_ = load_jina(files.clip.weights, read_config(files.clip), home, rt_.dtype);
    gemma_->eval();
    jina_->eval();
    gemma_bytes_ = module_bytes(*gemma_);
    jina_bytes_ = module_bytes(*jina_);
    gemma_table_bytes_ = module_bytes(*gemma_->embed_tokens);
    jina_table_bytes_ = module_bytes(*jina_->embeddings->word_embeddings);
    on_device_ = !offload_ || rt_.device.is_cpu();
}

void TextEncoders::move_layers(const torch::Device& device) {
    gemma_->layers->to(device);
    jina_->embeddings->token_type_embeddings->to(device);
    jina_->emb_ln->to(device);
    jina_->encoder->to(device);
}

int64_t TextEncoders::feature_dim() const {
    return gemma_->config().hidden_size;
}
int64_t TextEncoders::pooled_dim() const {
    return jina_->config().hidden_size;
}

void TextEncoders::to_device() {
    if (on_device_)
        return;
    move_layers(rt_.device);
    on_device_ = true;
}

void TextEncoders::release_device_memory() {
    if (!offload_ || !on_device_ || rt_.device.is_cpu())
        return;
    move_layers(torch::kCPU);
    on_device_ = false;
}

TextEmbedding TextEncoders::encode(const EncoderTexts& texts, std::vector<std::string>* warnings) {
    c10::InferenceMode guard;
    auto g = gemma_cache_.find(texts.gemma);
    if (g == gemma_cache_.end()) {
        to_device();
        auto tok = gemma_tok_.encode(texts.gemma);
        auto ids = torch::tensor(tok.ids, torch::kInt64).unsqueeze(0).to(rt_.device); // [1, L]
        auto hidden = gemma_->forward(ids).to(torch::kFloat32).cpu().contiguous();    // [1, L, D]
        ++runs_;
        Features f;
        f.length = hidden.size(1);
        f.values.assign(hidden.data_ptr<float>(), hidden.data_ptr<float>() + hidden.numel());
        f.truncated = tok.truncated;
        if (gemma_order_.size() >= kMaxCached) {
            gemma_cache_.erase(gemma_order_.front());
            gemma_order_.pop_front();
        }
        gemma_order_.push_back(texts.gemma);
        g = gemma_cache_.emplace(texts.gemma, std::move(f)).first;
    }
    auto j = jina_cache_.find(texts.jina);
    if (j == jina_cache_.end()) {
        to_device();
        auto tok = jina_tok_.encode(texts.jina);
        auto ids = torch::tensor(tok.ids, torch::kInt64).unsqueeze(0).to(rt_.device); // [1, L]
        auto pooled = jina_->pooled(ids).to(torch::kFloat32).cpu().contiguous();      // [1, D]
        ++runs_;
        if (jina_order_.size() >= kMaxCached) {
            jina_cache_.erase(jina_order_.front());
            jina_order_.pop_front();
        }
        jina_order_.push_back(texts.jina);
        j = jina_cache_
                .emplace(texts.jina, std::make_pair(std::vector<float>(pooled.data_ptr<float>(),
                                                                       pooled.data_ptr<float>() + pooled.numel()),
                                                    tok.truncated))
                .first;
    }
    if (warnings && g->second.truncated)
        warnings->push_back("the prompt was cut to " + std::to_string(gemma_tok_.max_length()) +
                            " Gemma tokens; the rest is ignored");
    if (warnings && j->second.second)
        warnings->push_back("the prompt was cut to " + std::to_string(jina_tok_.max_length()) +
                            " Jina tokens for the pooled embedding");
    TextEmbedding e;
    e.features = g->second.values;
    e.length = g->second.length;
    e.dim = feature_dim();
    e.pooled = j->second.first;
    return e;
}

TextEmbeddingBatch TextEncoders::encode_many(const std::vector<EncoderTexts>& texts, int64_t max_batch) {
    if (max_batch < 1)
        throw EngineError("text encoders: encode_many needs max_batch >= 1");
    // No InferenceMode: the results are ordinary tensors, which a training loop can save for its backward pass.
    torch::NoGradGuard no_grad;
    to_device();
    const auto n = static_cast<int64_t>(texts.size());
    std::vector<std::vector<int64_t>> gemma_ids(texts.size()), jina_ids(texts.size());
    int64_t max_len = 1;
    for (size_t i = 0; i < texts.size(); ++i) {
        gemma_ids[i] = gemma_tok_.encode(texts[i].gemma).ids;
        jina_ids[i] = jina_tok_.encode(texts[i].jina).ids;
        max_len = std::max<int64_t>(max_len, static_cast<int64_t>(gemma_ids[i].size()));
    }
    const auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(rt_.device);
    TextEmbeddingBatch out;
    out.features = torch::zeros({n, max_len, feature_dim()}, f32); // [N, Lmax, D]
    out.pooled = torch::zeros({n, pooled_dim()}, f32);             // [N, Dp]
    for (const auto& ids : gemma_ids)
        out.lengths.push_back(static_cast<int64_t>(ids.size()));
    // Runs of texts with the same token count, each run in chunks of max_batch: [n, len] without padding.
    auto by_length = [&](const std::vector<std::vector<int64_t>>& all, const auto& run) {
        std::map<size_t, std::vector<int64_t>> groups;
        for (size_t i = 0; i < all.size(); ++i)
            groups[all[i].size()].push_back(static_cast<int64_t>(i));
        for (const auto& [len, members] : groups) {
            for (size_t from = 0; from < members.size(); from += static_cast<size_t>(max_batch)) {
                const size_t count = std::min(members.size() - from, static_cast<size_t>(max_batch));
                std::vector<int64_t> flat;
                flat.reserve(count * len);
                for (size_t k = 0; k < count; ++k) {
                    const auto& ids = all[static_cast<size_t>(members[from + k])];
                    flat.insert(flat.end(), ids.begin(), ids.end());
                }
                const auto ids = torch::tensor(flat, torch::kInt64)
                                     .view({static_cast<int64_t>(count), static_cast<int64_t>(len)})
                                     .to(rt_.device); // [n, len]
                const auto index =
                    torch::tensor(std::vector<int64_t>(members.begin() + static_cast<std::ptrdiff_t>(from),
                                                       members.begin() + static_cast<std::ptrdiff_t>(from + count)),
                                  torch::kInt64)
                        .to(rt_.device); // [n]
                run(ids, index, static_cast<int64_t>(len));
                ++runs_;
            }
        }
    };
    by_length(gemma_ids, [&](const torch::Tensor& ids, const torch::Tensor& index, int64_t len) {
        out.features.narrow(1, 0, len).index_copy_(0, index, gemma_->forward(ids).to(torch::kFloat32)); // [n, len, D]
    });
    by_length(jina_ids, [&](const torch::Tensor& ids, const torch::Tensor& index, int64_t) {
        out.pooled.index_copy_(0, index, jina_->pooled(ids).to(torch::kFloat32)); // [n, Dp]
    });
    return out;
}

} // namespace charaforge::engine
