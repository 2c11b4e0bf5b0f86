// Ref: issue 15 (memory modes, thresholds) and memory.h (where the sizes come from).
#include "charaforge/engine/memory_mode.h"

#include "charaforge/engine/error.h"

#include <algorithm>

namespace charaforge::engine {

MemoryMode parse_memory_mode(const std::string& text, const std::string& option) {
    for (auto m : {MemoryMode::Auto, MemoryMode::High, MemoryMode::Balanced, MemoryMode::Low})
        if (text == memory_mode_name(m))
            return m;
    throw EngineError(option + ": '" + text + "' is not a memory mode (use auto, high, balanced or low)");
}

std::string memory_mode_name(MemoryMode mode) {
    switch (mode) {
    case MemoryMode::High:
        return "high";
    case MemoryMode::Balanced:
        return "balanced";
    case MemoryMode::Low:
        return "low";
    case MemoryMode::Auto:
        break;
    }
    return "auto";
}

MemoryMode auto_memory_mode(bool gpu, int64_t device_total_bytes) {
    if (!gpu)
        return MemoryMode::High;
    if (device_total_bytes >= kHighModeBytes)
        return MemoryMode::High;
    return device_total_bytes >= kBalancedModeBytes ? MemoryMode::Balanced : MemoryMode::Low;
}

MemoryPrediction predict_peak(MemoryMode mode, const ComponentBytes& w, int64_t encoding_activations,
                              int64_t sampling_activations, int64_t decoding_activations) {
    MemoryPrediction p;
    const int64_t text = w.text_encoder + w.clip;
    const int64_t core = w.transformer + w.vae + w.other;
    p.weights = mode == MemoryMode::High ? core + text : core;
    if (mode != MemoryMode::Low && text > 0)
        p.encoding = core + text + encoding_activations;
    p.sampling = p.weights + sampling_activations;
    p.decoding = p.weights + decoding_activations;
    p.peak = std::max({p.encoding, p.sampling, p.decoding});
    return p;
}

} // namespace charaforge::engine
