#pragma once
// Prompt text -> transformer conditioning: prompt assembly as NewBie was trained, the Gemma3 and Jina
// encoders, and an embedding cache keyed by encoder and exact text.
#include "charaforge/engine/pipeline.h"
#include "gemma3.h"
#include "jina_xlmr.h"
#include "model_folder.h"
#include "runtime.h"
#include "tokenizer.h"

#include <atomic>
#include <deque>
#include <map>
#include <optional>
#include <string>

namespace charaforge::engine {

// The two training system prompts (NewBie finetune.py T2IItemProcessor).
inline constexpr const char* kXmlSystemPrompt =
    "You are an assistant designed to generate high-quality anime images based on xml format prompts. "
    "<Prompt Start> ";
inline constexpr const char* kTagSystemPrompt =
    "You are an assistant designed to generate high-quality anime images with the highest degree of "
    "image-text alignment based on textual prompts. <Prompt Start> ";

// True when the prompt is NewBie XML (its first non-blank character opens an element).
bool is_xml_prompt(const std::string& prompt);

// What each encoder reads for one branch of a request.
struct EncoderTexts {
    std::string gemma;
    std::string jina;
};
// Conditional branch: system prompt (the request's override, else by prompt kind) + prompt for Gemma, the
// raw prompt for Jina. Unconditional: "" for both when there is no negative prompt (the training dropout
// branch), else system prompt + negative for Gemma and the negative for Jina (official demo).
EncoderTexts conditional_texts(const GenerationRequest& r);
EncoderTexts unconditional_texts(const GenerationRequest& r);

// The conditioning of many texts at once (training tools): Gemma features right-padded on the runtime device.
struct TextEmbeddingBatch {
    torch::Tensor features;       // [N, Lmax, D] fp32, zeros beyond each text's length
    std::vector<int64_t> lengths; // valid Gemma tokens of each text
    torch::Tensor pooled;         // [N, Dp] fp32 Jina pooled embeddings
};

class TextEncoders {
public:
    // Loads both encoders and their tokenizers; throws naming what is missing.
    TextEncoders(const ModelFiles& files, const Runtime& rt, bool offload);

    // Encodes (or takes from the cache) the texts; `warnings` receives truncation notices.
    TextEmbedding encode(const EncoderTexts& texts, std::vector<std::string>* warnings = nullptr);
    // What encode gives for each of `texts` (to fp32 rounding), without the cache: texts of equal token length run
    // together, up to `max_batch` a forward pass, so that no padding (and no mask) enters either encoder.
    TextEmbeddingBatch encode_many(const std::vector<EncoderTexts>& texts, int64_t max_batch = 256);

    const GemmaTokenizer& gemma_tokenizer() const { return gemma_tok_; }
    const XlmrTokenizer& jina_tokenizer() const { return jina_tok_; }
    int64_t feature_dim() const;
    int64_t pooled_dim() const;
    std::size_t encoder_runs() const { return runs_; }

    // Moves the encoders off the GPU until the next encode (when the runtime offloads them).
    void release_device_memory();
    // Whether the encoders are on the runtime device now (read by the memory monitor's thread).
    bool on_device() const { return on_device_.load(); }
    // Whether they hold GPU memory now (encoders that run on the CPU, as in mode low, never do).
    bool on_gpu() const { return on_device_.load() && !rt_.device.is_cpu(); }
    // Bytes of each encoder's weights.
    int64_t gemma_bytes() const { return gemma_bytes_; }
    int64_t jina_bytes() const { return jina_bytes_; }
    // Bytes that come to the GPU to encode: offloaded encoders keep their token tables (Gemma3-4B's 262k x 2560
    // rows are 1.25 GiB, Jina's 250k x 1024 0.48 GiB) in host memory and copy only the rows a prompt uses.
    int64_t gemma_device_bytes() const { return gemma_bytes_ - (tables_on_host() ? gemma_table_bytes_ : 0); }
    int64_t jina_device_bytes() const { return jina_bytes_ - (tables_on_host() ? jina_table_bytes_ : 0); }

private:
    void to_device();
    // Moves everything but the token tables to `device`.
    void move_layers(const torch::Device& device);
    bool tables_on_host() const { return offload_ && !rt_.device.is_cpu(); }

    Runtime rt_;
    bool offload_;
    std::atomic<bool> on_device_{false};
    int64_t gemma_bytes_ = 0, jina_bytes_ = 0, gemma_table_bytes_ = 0, jina_table_bytes_ = 0;
    Gemma3TextModel gemma_{nullptr};
    JinaTextModel jina_{nullptr};
    GemmaTokenizer gemma_tok_;
    XlmrTokenizer jina_tok_;
    struct Features {
        std::vector<float> values; // [length, dim]
        int64_t length = 0;
        bool truncated = false;
    };
    // Bounded: a Gemma entry of 512 tokens holds 5 MB; the oldest entries go first.
    static constexpr std::size_t kMaxCached = 64;
    std::map<std::string, Features> gemma_cache_;
    std::map<std::string, std::pair<std::vector<float>, bool>> jina_cache_;
    std::deque<std::string> gemma_order_, jina_order_;
    std::size_t runs_ = 0;
};

} // namespace charaforge::engine
