// Ref: google/sentencepiece src/sentencepiece_processor.h, src/sentencepiece_trainer.h (C++ API wrapped here).
// Built as the module libcharaforge_spm (see spm_shim.h for why); never linked into the engine itself.
#include "spm_shim.h"

#include <sentencepiece_processor.h>

#include <fcntl.h>
#include <sentencepiece_trainer.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

void set_error(char* err, std::size_t err_size, const std::string& message) {
    if (!err || err_size == 0)
        return;
    const auto n = std::min(message.size(), err_size - 1);
    std::memcpy(err, message.data(), n);
    err[n] = '\0';
}

template <typename T> T* copy_out(const T* data, std::size_t count) {
    auto* out = static_cast<T*>(std::malloc(count ? count * sizeof(T) : 1));
    if (out && count)
        std::memcpy(out, data, count * sizeof(T));
    return out;
}

sentencepiece::SentencePieceProcessor* processor(void* model) {
    return static_cast<sentencepiece::SentencePieceProcessor*>(model);
}

class LineIterator : public sentencepiece::SentenceIterator {
public:
    LineIterator(const char* const* lines, const std::size_t* sizes, std::size_t count)
        : lines_(lines), sizes_(sizes), count_(count) {
        load();
    }
    bool done() const override { return i_ >= count_; }
    void Next() override {
        ++i_;
        load();
    }
    const std::string& value() const override { return current_; }
    sentencepiece::util::Status status() const override { return {}; }

private:
    void load() {
        if (i_ < count_)
            current_.assign(lines_[i_], sizes_[i_]);
    }
    const char* const* lines_;
    const std::size_t* sizes_;
    std::size_t count_, i_ = 0;
    std::string current_;
};

void* spm_load(const char* data, std::size_t size, int is_path, char* err, std::size_t err_size) {
    try {
        auto sp = std::make_unique<sentencepiece::SentencePieceProcessor>();
        auto status = is_path ? sp->Load(std::string(data, size)) : sp->LoadFromSerializedProto({data, size});
        if (!status.ok()) {
            set_error(err, err_size, status.ToString());
            return nullptr;
        }
        return sp.release();
    } catch (const std::exception& e) {
        set_error(err, err_size, e.what());
        return nullptr;
    }
}

void spm_free_model(void* model) {
    delete processor(model);
}

int* spm_encode(void* model, const char* text, std::size_t size, std::size_t* count, char* err, std::size_t err_size) {
    try {
        std::vector<int> ids;
        auto status = processor(model)->Encode({text, size}, &ids);
        if (!status.ok()) {
            set_error(err, err_size, status.ToString());
            return nullptr;
        }
        *count = ids.size();
        return copy_out(ids.data(), ids.size());
    } catch (const std::exception& e) {
        set_error(err, err_size, e.what());
        return nullptr;
    }
}

char* spm_decode(void* model, const int* ids, std::size_t count, std::size_t* size, char* err, std::size_t err_size) {
    try {
        std::string text;
        auto status = processor(model)->Decode(std::vector<int>(ids, ids + count), &text);
        if (!status.ok()) {
            set_error(err, err_size, status.ToString());
            return nullptr;
        }
        *size = text.size();
        return copy_out(text.data(), text.size());
    } catch (const std::exception& e) {
        set_error(err, err_size, e.what());
        return nullptr;
    }
}

int spm_piece_size(void* model) {
    return processor(model)->GetPieceSize();
}

int spm_special_id(void* model, int which) {
    auto* sp = processor(model);
    switch (which) {
    case 0:
        return sp->unk_id();
    case 1:
        return sp->bos_id();
    case 2:
        return sp->eos_id();
    case 3:
        return sp->pad_id();
    default:
        return -1;
    }
}

int spm_is_byte(void* model, int id) {
    return processor(model)->IsByte(id) ? 1 : 0;
}

char* spm_train(const char* const* keys, const char* const* values, std::size_t option_count, const char* const* lines,
                const std::size_t* line_sizes, std::size_t line_count, std::size_t* size, char* err,
                std::size_t err_size) {
    try {
        std::unordered_map<std::string, std::string> options;
        for (std::size_t i = 0; i < option_count; ++i)
            options[keys[i]] = values[i];
        LineIterator it(lines, line_sizes, line_count);
        std::string model;
        // The trainer logs every step to stderr and this version has no switch for it; its failures come
        // back in `status`, so its chatter is silenced for the duration of the call.
        const int saved = ::dup(2);
        const int null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (saved >= 0 && null_fd >= 0)
            ::dup2(null_fd, 2);
        auto status = sentencepiece::SentencePieceTrainer::Train(options, &it, &model);
        if (saved >= 0) {
            ::dup2(saved, 2);
            ::close(saved);
        }
        if (null_fd >= 0)
            ::close(null_fd);
        if (!status.ok()) {
            set_error(err, err_size, status.ToString());
            return nullptr;
        }
        *size = model.size();
        return copy_out(model.data(), model.size());
    } catch (const std::exception& e) {
        set_error(err, err_size, e.what());
        return nullptr;
    }
}

void spm_free_buffer(void* buffer) {
    std::free(buffer);
}

const CfSpmApi kApi = {kCfSpmAbiVersion, spm_load,       spm_free_model, spm_encode, spm_decode,
                       spm_piece_size,   spm_special_id, spm_is_byte,    spm_train,  spm_free_buffer};

} // namespace

extern "C" __attribute__((visibility("default"))) const CfSpmApi* charaforge_spm_api(int abi_version) {
    return abi_version == kCfSpmAbiVersion ? &kApi : nullptr;
}
