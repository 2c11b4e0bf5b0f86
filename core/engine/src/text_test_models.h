#pragma once
// Tiny random-weight text encoders in the official folder layouts, for tests and the app's generated
// test model. Tokenizers are real SentencePiece models trained at write time on a small built-in
// multilingual corpus (English, XML-tagged prompts, Japanese, Chinese, emoji).
#include "gemma3.h"
#include "jina_xlmr.h"

#include <string>
#include <vector>

namespace charaforge::engine {

// hidden 32, 4 layers (full attention at layers 1 and 3: sliding_window_pattern 2), output layer 2
// (= num_layers - 2, mirroring 32 of 34), 2 heads / 1 kv head, head_dim 16, intermediate 64, window 8.
// vocab_size is set from the trained tokenizer by the writer.
Gemma3TextConfig tiny_gemma_config();
// hidden 24, 2 layers, 2 heads, FFN 48; LoRA rank 4, alpha 4 (scaling 1) like jina-clip-v2.
JinaTextConfig tiny_jina_config();
inline constexpr int64_t kTinyJinaLoraRank = 4;

// The built-in training corpus (also handy as test sentences).
const std::vector<std::string>& tiny_text_corpus();

// The serialized SentencePiece models, trained on first use and kept for the life of the process
// (training is deterministic for a fixed libsentencepiece version: one thread, no sampling; and on
// Ubuntu 24.04 / sentencepiece 0.2 a second unigram training in one process crashed inside the bridge).
std::string train_tiny_gemma_tokenizer();
std::string train_tiny_xlmr_tokenizer();
// The same trainers over any corpus (one line a sentence) and vocabulary size: Gemma's conventions (byte-fallback
// BPE, identity normalisation, <pad>=0 <eos>=1 <bos>=2 <unk>=3) and XLM-R's (unigram, NFKC, <unk>=0 <s>=1 </s>=2;
// vocab_size is a soft limit there). Deterministic; one training per (corpus, size) in a process, then reused.
// at_most: vocab_size is an upper bound for the BPE too (a small corpus may not have that many merges).
// `whole_pieces`: strings that are always one piece (sentencepiece's user_defined_symbols), e.g. a caption
// vocabulary's tags; none may be empty or hold a comma.
std::string train_gemma_style_tokenizer(const std::vector<std::string>& corpus, int vocab_size, bool at_most = false,
                                        const std::vector<std::string>& whole_pieces = {});
std::string train_xlmr_style_tokenizer(const std::vector<std::string>& corpus, int vocab_size,
                                       const std::vector<std::string>& whole_pieces = {});

// `dir`/text_encoder/{config.json (multimodal Gemma3Config with text_config), tokenizer.model,
// model.safetensors (keys `language_model.model.*` incl. the unused last layer and final norm, plus a
// vision-tower and projector tensor)}, bf16.
void write_tiny_gemma(const std::string& dir, uint64_t seed);
// The same files for any `cfg` (vocab_size 0: the tokenizer's pieces + 64), the weights drawn on `device`
// (nn::init_test_weights): with Gemma3TextConfig{} a full-size random Gemma3-4B (benchmarks). `tokenizer`: the
// serialized tokenizer.model to write (empty: the tiny one); `note`: config.json's _charaforge_note (empty: the
// test model's).
void write_random_gemma(const std::string& dir, Gemma3TextConfig cfg, uint64_t seed, const torch::Device& device,
                        const std::string& tokenizer = {}, const std::string& note = {});
// `dir`/clip_model/{config.json (JinaCLIP config), sentencepiece.bpe.model, model.safetensors (keys
// `text_model.transformer.roberta.*` with LoRA parametrizations on the embeddings and every linear,
// plus vision and logit_scale tensors)}, bf16.
void write_tiny_jina(const std::string& dir, uint64_t seed);
// The same files for any `cfg` (vocab_size 0: the tokenizer's pieces), the weights drawn on `device`; `tokenizer`
// and `note` as for write_random_gemma (sentencepiece.bpe.model).
void write_random_jina(const std::string& dir, JinaTextConfig cfg, uint64_t seed, const torch::Device& device,
                       const std::string& tokenizer = {}, const std::string& note = {});

} // namespace charaforge::engine
