#pragma once
// Errors the engine throws. Messages start with the component ("safetensors: ...", "nextdit: ...")
// and name the file and key involved, so the worker can show them to the user unchanged.
#include <stdexcept>
#include <string>

namespace charaforge::engine {

class EngineError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Thrown when the caller's abort callback asked to stop between sampler steps.
class Cancelled : public EngineError {
public:
    Cancelled() : EngineError("pipeline: cancelled") {}
};

// The device (or host) ran out of memory while sampling or decoding. The pipeline has released what it
// held; after a sampling failure the caller may retry with fewer requests per batch or a smaller size. A
// decoding failure (during_decoding()) concerns one image alone, already retried by the pipeline (and on a
// GPU, decoded on the CPU): a smaller batch cannot help it, only a smaller image or more free memory.
class OutOfMemory : public EngineError {
public:
    explicit OutOfMemory(const std::string& what, bool during_decoding = false)
        : EngineError(what), during_decoding_(during_decoding) {}
    bool during_decoding() const { return during_decoding_; }

private:
    bool during_decoding_;
};

} // namespace charaforge::engine
