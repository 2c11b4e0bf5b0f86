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
// held; the caller may retry with fewer requests per batch or a smaller size.
class OutOfMemory : public EngineError {
public:
    using EngineError::EngineError;
};

} // namespace charaforge::engine
