// Ref: huggingface/transformers models/gemma/tokenization_gemma.py (GemmaTokenizer: sentencepiece, add_bos_token,
//      no eos), models/xlm_roberta/tokenization_xlm_roberta.py (XLMRobertaTokenizer: fairseq_tokens_to_ids,
//      fairseq_offset = 1, build_inputs_with_special_tokens = <s> X </s>).
#include "tokenizer.h"

#include "charaforge/engine/error.h"
#include "file_util.h"
#include "spm_probe.h"
#include "spm_shim.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

namespace charaforge::engine {

// ---- the SentencePiece bridge ----

namespace {

namespace fs = std::filesystem;

struct Bridge {
    const CfSpmApi* api = nullptr;
    std::string path;
};

const Bridge& bridge() {
    static const Bridge loaded = [] {
        std::vector<std::string> candidates;
        if (const char* env = std::getenv("CHARAFORGE_SPM_LIBRARY"); env && *env)
            candidates.push_back(env);
        // Beside the executable before the build tree: an installed program uses its own copy even on the
        // machine that built it (where the build-tree file may be newer, older, or rebuilt mid-run).
        for (auto& c : beside_executable("libcharaforge_spm.so", {".", "../lib", "../lib/charaforge"}))
            candidates.push_back(std::move(c));
#if __has_include("spm_library_path.h")
#include "spm_library_path.h"
#endif
#ifdef CHARAFORGE_SPM_LIBRARY_PATH
        candidates.push_back(CHARAFORGE_SPM_LIBRARY_PATH);
#endif
        candidates.push_back("libcharaforge_spm.so"); // the dynamic loader's search path
        const char* ns = std::getenv("CHARAFORGE_SPM_NAMESPACE");
        const bool shared = ns && std::string(ns) == "shared";
        std::error_code ec;
        std::string tried;
        for (const auto& c : candidates) {
            if (c.find('/') != std::string::npos && !fs::exists(c, ec)) {
                tried += "\n    " + c + " (absent)";
                continue;
            }
            // A new link-map namespace: sentencepiece and the protobuf it bundles stay out of the process's
            // symbol scope (and libtorch's libprotobuf out of theirs). CHARAFORGE_SPM_NAMESPACE=shared loads
            // it into the main namespace instead (for platforms without that conflict or without dlmopen).
            void* handle = shared ? dlopen(c.c_str(), RTLD_NOW | RTLD_LOCAL)
                                  : dlmopen(LM_ID_NEWLM, c.c_str(), RTLD_NOW | RTLD_LOCAL);
            if (!handle) {
                const char* why = dlerror();
                tried += "\n    " + c + " (" + (why ? why : "dlopen failed") + ")";
                continue;
            }
            auto entry = reinterpret_cast<CfSpmApiEntry>(dlsym(handle, "charaforge_spm_api"));
            const CfSpmApi* api = entry ? entry(kCfSpmAbiVersion) : nullptr;
            if (!api) {
                tried += "\n    " + c + " (not a compatible libcharaforge_spm)";
                dlclose(handle);
                continue;
            }
            return Bridge{api, c}; // the handle stays open for the life of the process
        }
        throw EngineError("tokenizer: cannot load libcharaforge_spm.so, the SentencePiece bridge; tried:" + tried);
    }();
    return loaded;
}

const CfSpmApi& api() {
    return *bridge().api;
}

struct Buffer {
    void* p = nullptr;
    ~Buffer() {
        if (p)
            api().free_buffer(p);
    }
};

} // namespace

std::string sentencepiece_bridge_path() {
    return bridge().path;
}

class SpmModel {
public:
    // `bytes` is a serialized model that check_sentencepiece_model has passed; `source` names its origin.
    SpmModel(const std::string& what, const std::string& source, const std::string& bytes) : what_(what) {
        char err[512] = {};
        handle_ = api().load(bytes.data(), bytes.size(), 0, err, sizeof err);
        if (!handle_)
            throw EngineError(what + ": " + source + ": cannot load the SentencePiece model: " + err);
    }
    ~SpmModel() { api().free_model(handle_); }
    SpmModel(const SpmModel&) = delete;
    SpmModel& operator=(const SpmModel&) = delete;

    std::vector<int> encode(const std::string& text) const {
        char err[512] = {};
        std::size_t n = 0;
        Buffer b{api().encode(handle_, text.data(), text.size(), &n, err, sizeof err)};
        if (!b.p)
            throw EngineError(what_ + ": tokenization failed: " + err);
        const auto* ids = static_cast<const int*>(b.p);
        return std::vector<int>(ids, ids + n);
    }
    std::string decode(const std::vector<int>& ids) const {
        char err[512] = {};
        std::size_t n = 0;
        Buffer b{api().decode(handle_, ids.data(), ids.size(), &n, err, sizeof err)};
        if (!b.p)
            throw EngineError(what_ + ": decoding failed: " + err);
        return std::string(static_cast<const char*>(b.p), n);
    }
    int piece_size() const { return api().piece_size(handle_); }
    int unk_id() const { return api().special_id(handle_, 0); }
    int bos_id() const { return api().special_id(handle_, 1); }
    int eos_id() const { return api().special_id(handle_, 2); }
    int pad_id() const { return api().special_id(handle_, 3); }
    bool is_byte(int id) const { return api().is_byte(handle_, id) != 0; }

private:
    std::string what_;
    void* handle_ = nullptr;
};

std::string train_sentencepiece(const std::vector<std::pair<std::string, std::string>>& options,
                                const std::vector<std::string>& lines) {
    std::vector<const char*> keys, values, texts;
    std::vector<std::size_t> sizes;
    for (const auto& [k, v] : options) {
        keys.push_back(k.c_str());
        values.push_back(v.c_str());
    }
    for (const auto& l : lines) {
        texts.push_back(l.data());
        sizes.push_back(l.size());
    }
    char err[1024] = {};
    std::size_t n = 0;
    Buffer b{api().train(keys.data(), values.data(), keys.size(), texts.data(), sizes.data(), texts.size(), &n, err,
                         sizeof err)};
    if (!b.p)
        throw EngineError(std::string("tokenizer: SentencePiece training failed: ") + err);
    return std::string(static_cast<const char*>(b.p), n);
}

namespace {

// A SentencePiece model is larger than 1 MiB for real vocabularies (Gemma's is 4.5 MiB) and never near this.
constexpr std::uintmax_t kMaxSpmFileSize = std::uintmax_t{256} << 20;

std::shared_ptr<SpmModel> load_spm(const std::string& what, const std::string* path, const std::string* bytes,
                                   const std::string& source) {
    // Always from bytes read once: the bytes that the check process passed are the bytes loaded here.
    std::string data;
    if (path) {
        std::error_code ec;
        const auto size = fs::file_size(*path, ec);
        if (!ec && size > kMaxSpmFileSize)
            throw EngineError(what + ": " + *path + ": " + std::to_string(size) +
                              " bytes is too large for a SentencePiece model (at most 256 MiB)");
        data = read_file(*path);
        if (data.size() > kMaxSpmFileSize)
            throw EngineError(what + ": " + *path + ": too large for a SentencePiece model (at most 256 MiB)");
    }
    const std::string& model = path ? data : *bytes;
    const std::string& origin = path ? *path : source;
    if (model.empty())
        throw EngineError(what + ": " + origin + ": the SentencePiece model is empty");
    check_sentencepiece_model(what, origin, model);
    return std::make_shared<SpmModel>(what, origin, model);
}

void check_specials(const std::string& what, const SpmModel& sp, int unk, int bos, int eos, int pad) {
    // pad < -1: the model's pad piece does not matter (XLM-R pads with a fairseq-only id)
    if (sp.unk_id() != unk || sp.bos_id() != bos || sp.eos_id() != eos || (pad >= -1 && sp.pad_id() != pad))
        throw EngineError(what + ": the SentencePiece model numbers its special pieces unk=" +
                          std::to_string(sp.unk_id()) + " bos=" + std::to_string(sp.bos_id()) +
                          " eos=" + std::to_string(sp.eos_id()) + " pad=" + std::to_string(sp.pad_id()) +
                          "; expected unk=" + std::to_string(unk) + " bos=" + std::to_string(bos) +
                          " eos=" + std::to_string(eos) + (pad >= -1 ? " pad=" + std::to_string(pad) : std::string{}));
}

std::string folder_tokenizer(const std::string& what, const std::string& dir, const std::string& file,
                             const std::string& origin) {
    const auto path = fs::path(dir) / file;
    if (fs::is_regular_file(path))
        return path.string();
    std::string msg = what + ": " + dir + " has no " + file + " (the SentencePiece model of " + origin + ")";
    if (fs::is_regular_file(fs::path(dir) / "tokenizer.json"))
        msg += "; it has tokenizer.json, which CharaForge does not read: put " + file + " next to it";
    throw EngineError(msg);
}

void check_max_length(const std::string& what, int64_t max_length, int64_t minimum) {
    if (max_length < minimum)
        throw EngineError(what + ": max_length " + std::to_string(max_length) + " is below " + std::to_string(minimum));
}

} // namespace

TokenBatch pad_batch(const std::vector<TokenizedText>& rows, int64_t pad_id, int64_t multiple_of) {
    TokenBatch b;
    b.batch = static_cast<int64_t>(rows.size());
    for (const auto& r : rows)
        b.length = std::max<int64_t>(b.length, static_cast<int64_t>(r.ids.size()));
    b.length = std::max<int64_t>(b.length, 1);
    if (multiple_of > 1)
        b.length = (b.length + multiple_of - 1) / multiple_of * multiple_of;
    b.ids.assign(static_cast<std::size_t>(b.batch * b.length), pad_id);
    b.mask.assign(b.ids.size(), 0);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        std::copy(rows[i].ids.begin(), rows[i].ids.end(), b.ids.begin() + static_cast<std::ptrdiff_t>(i * b.length));
        std::fill_n(b.mask.begin() + static_cast<std::ptrdiff_t>(i * b.length), rows[i].ids.size(), 1);
        b.truncated.push_back(rows[i].truncated);
    }
    return b;
}

// ---- Gemma ----

GemmaTokenizer::GemmaTokenizer(std::shared_ptr<SpmModel> sp, int64_t max_length)
    : sp_(std::move(sp)), max_length_(max_length) {
    check_specials("gemma3", *sp_, kUnkId, kBosId, kEosId, kPadId);
    check_max_length("gemma3", max_length_, 1);
}

GemmaTokenizer GemmaTokenizer::from_file(const std::string& path, int64_t max_length) {
    return GemmaTokenizer(load_spm("gemma3", &path, nullptr, path), max_length);
}

GemmaTokenizer GemmaTokenizer::from_bytes(const std::string& serialized_model, int64_t max_length,
                                          const std::string& source) {
    return GemmaTokenizer(load_spm("gemma3", nullptr, &serialized_model, source), max_length);
}

GemmaTokenizer GemmaTokenizer::from_folder(const std::string& dir, int64_t max_length) {
    return from_file(folder_tokenizer("gemma3", dir, "tokenizer.model", "google/gemma-3-4b-it"), max_length);
}

TokenizedText GemmaTokenizer::encode(const std::string& text) const {
    TokenizedText out;
    out.ids.push_back(kBosId);
    for (int id : sp_->encode(text))
        out.ids.push_back(id);
    if (static_cast<int64_t>(out.ids.size()) > max_length_) {
        out.ids.resize(static_cast<std::size_t>(max_length_));
        out.truncated = true;
    }
    return out;
}

std::string GemmaTokenizer::decode(const std::vector<int64_t>& ids) const {
    std::vector<int> pieces;
    for (auto id : ids) {
        if (id == kBosId || id == kEosId || id == kPadId)
            continue;
        if (id < 0 || id >= vocab_size())
            throw EngineError("gemma3: cannot decode id " + std::to_string(id) + " (" + std::to_string(vocab_size()) +
                              " pieces)");
        pieces.push_back(static_cast<int>(id));
    }
    return sp_->decode(pieces);
}

int64_t GemmaTokenizer::vocab_size() const {
    return sp_->piece_size();
}

bool GemmaTokenizer::is_byte_piece(int64_t id) const {
    return id >= 0 && id < vocab_size() && sp_->is_byte(static_cast<int>(id));
}

// ---- XLM-RoBERTa ----

XlmrTokenizer::XlmrTokenizer(std::shared_ptr<SpmModel> sp, int64_t max_length)
    : sp_(std::move(sp)), max_length_(max_length) {
    check_specials("jina", *sp_, 0, 1, 2, -2);
    check_max_length("jina", max_length_, 2);
}

XlmrTokenizer XlmrTokenizer::from_file(const std::string& path, int64_t max_length) {
    return XlmrTokenizer(load_spm("jina", &path, nullptr, path), max_length);
}

XlmrTokenizer XlmrTokenizer::from_bytes(const std::string& serialized_model, int64_t max_length,
                                        const std::string& source) {
    return XlmrTokenizer(load_spm("jina", nullptr, &serialized_model, source), max_length);
}

XlmrTokenizer XlmrTokenizer::from_folder(const std::string& dir, int64_t max_length) {
    return from_file(folder_tokenizer("jina", dir, "sentencepiece.bpe.model", "XLM-RoBERTa (jina-embeddings-v3)"),
                     max_length);
}

int64_t XlmrTokenizer::from_spm_id(int spm_id) {
    return spm_id == 0 ? kUnkId : static_cast<int64_t>(spm_id) + 1;
}

int XlmrTokenizer::to_spm_id(int64_t fairseq_id) {
    if (fairseq_id == kUnkId)
        return 0;
    if (fairseq_id < kUnkId)
        return -1;
    return static_cast<int>(fairseq_id - 1);
}

TokenizedText XlmrTokenizer::encode(const std::string& text) const {
    TokenizedText out;
    auto pieces = sp_->encode(text);
    const auto room = static_cast<std::size_t>(max_length_ - 2); // <s> and </s> always fit
    if (pieces.size() > room) {
        pieces.resize(room);
        out.truncated = true;
    }
    out.ids.reserve(pieces.size() + 2);
    out.ids.push_back(kBosId);
    for (int p : pieces)
        out.ids.push_back(from_spm_id(p));
    out.ids.push_back(kEosId);
    return out;
}

std::string XlmrTokenizer::decode(const std::vector<int64_t>& ids) const {
    std::vector<int> pieces;
    for (auto id : ids) {
        const int p = to_spm_id(id);
        if (p < 0)
            continue;
        if (p >= sp_->piece_size())
            throw EngineError("jina: cannot decode id " + std::to_string(id));
        pieces.push_back(p);
    }
    return sp_->decode(pieces);
}

int64_t XlmrTokenizer::vocab_size() const {
    return piece_count() + 2;
}

int64_t XlmrTokenizer::piece_count() const {
    return sp_->piece_size();
}

} // namespace charaforge::engine
