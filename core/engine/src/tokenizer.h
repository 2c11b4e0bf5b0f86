#pragma once
// SentencePiece tokenizers of the two text encoders, with the id conventions of their reference
// tokenizers (transformers' slow GemmaTokenizer and XLMRobertaTokenizer: sentencepiece plus these rules).
// Torch-free: ids are plain vectors. SentencePiece itself is reached through the dlopen()ed bridge
// libcharaforge_spm (spm_shim.h explains why).
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace charaforge::engine {

class SpmModel; // a loaded SentencePiece model inside the bridge

// Trains a SentencePiece model on in-memory lines (trainer options as in spm_train, without dashes);
// returns the serialized model. Throws EngineError.
std::string train_sentencepiece(const std::vector<std::pair<std::string, std::string>>& options,
                                const std::vector<std::string>& lines);

// Loads the bridge if needed and returns the path it was loaded from. Looked for, in order: the file named
// by $CHARAFORGE_SPM_LIBRARY; next to the executable, in ../lib and ../lib/charaforge from it (an installed
// program's own copy); the build-tree path compiled in (CHARAFORGE_SPM_LIBRARY_PATH); then the dynamic
// loader's search path. It is
// loaded into its own link-map namespace (dlmopen), or with CHARAFORGE_SPM_NAMESPACE=shared into the
// main one.
std::string sentencepiece_bridge_path();

struct TokenizedText {
    std::vector<int64_t> ids;
    bool truncated = false; // the text did not fit into max_length
};

// A right-padded batch, row-major [batch, length]; mask 1 = token, 0 = padding.
struct TokenBatch {
    int64_t batch = 0, length = 0;
    std::vector<int64_t> ids, mask;
    std::vector<bool> truncated;
};
// Pads every row to the longest one, rounded up to `multiple_of`.
TokenBatch pad_batch(const std::vector<TokenizedText>& rows, int64_t pad_id, int64_t multiple_of = 1);

// Gemma3 (tokenizer.model, byte-fallback BPE). encode = <bos> + pieces, no <eos>, truncated to
// max_length tokens including <bos>. Pad with kPadId, right side. No chat template.
class GemmaTokenizer {
public:
    static constexpr int64_t kPadId = 0, kEosId = 1, kBosId = 2, kUnkId = 3;
    static constexpr int64_t kDefaultMaxLength = 512;

    // From a tokenizer.model file, or from its bytes (ComfyUI files embed it as the tensor `spiece_model`).
    static GemmaTokenizer from_file(const std::string& path, int64_t max_length = kDefaultMaxLength);
    static GemmaTokenizer from_bytes(const std::string& serialized_model, int64_t max_length = kDefaultMaxLength,
                                     const std::string& source = "the serialized SentencePiece model");
    // The tokenizer of a component folder (tokenizer.model). Throws naming the needed file when the
    // folder only has tokenizer.json (not supported) or nothing.
    static GemmaTokenizer from_folder(const std::string& dir, int64_t max_length = kDefaultMaxLength);

    TokenizedText encode(const std::string& text) const;
    std::string decode(const std::vector<int64_t>& ids) const; // skips <bos>, <eos> and <pad>
    int64_t vocab_size() const;                                // number of pieces
    bool is_byte_piece(int64_t id) const;                      // a byte-fallback piece <0xNN>
    int64_t max_length() const { return max_length_; }

private:
    GemmaTokenizer(std::shared_ptr<SpmModel> sp, int64_t max_length);
    std::shared_ptr<SpmModel> sp_;
    int64_t max_length_;
};

// XLM-RoBERTa (sentencepiece.bpe.model) with the fairseq ids: <s>=0, <pad>=1, </s>=2, <unk>=3 and the
// sentencepiece id p of every other piece shifted to p + 1 (the model file numbers <unk>=0, <s>=1, </s>=2).
// encode = <s> + pieces + </s>, truncated to max_length tokens keeping the final </s>.
class XlmrTokenizer {
public:
    static constexpr int64_t kBosId = 0, kPadId = 1, kEosId = 2, kUnkId = 3;
    static constexpr int64_t kDefaultMaxLength = 2048;

    static XlmrTokenizer from_file(const std::string& path, int64_t max_length = kDefaultMaxLength);
    static XlmrTokenizer from_bytes(const std::string& serialized_model, int64_t max_length = kDefaultMaxLength,
                                    const std::string& source = "the serialized SentencePiece model");
    // sentencepiece.bpe.model in `dir`; throws naming the needed file otherwise.
    static XlmrTokenizer from_folder(const std::string& dir, int64_t max_length = kDefaultMaxLength);

    TokenizedText encode(const std::string& text) const;
    std::string decode(const std::vector<int64_t>& ids) const; // skips <s>, </s>, <pad>
    int64_t vocab_size() const;                                // fairseq vocabulary: pieces + 1 (offset) + 1 (<mask>)
    int64_t piece_count() const;                               // pieces of the SentencePiece model
    int64_t max_length() const { return max_length_; }

    static int64_t from_spm_id(int spm_id);   // unk (0) -> 3, p -> p + 1
    static int to_spm_id(int64_t fairseq_id); // inverse for normal pieces; -1 for <s>, <pad>, </s>

private:
    XlmrTokenizer(std::shared_ptr<SpmModel> sp, int64_t max_length);
    std::shared_ptr<SpmModel> sp_;
    int64_t max_length_;
};

} // namespace charaforge::engine
