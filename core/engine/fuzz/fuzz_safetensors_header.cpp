// libFuzzer target: a safetensors file image must give a header or an EngineError, never a crash.
#include "charaforge/engine/error.h"
#include "safetensors.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        auto header = charaforge::engine::parse_safetensors_bytes({data, size}, "fuzz");
        const uint64_t data_size = size; // every range was checked against the data section
        for (const auto& t : header.tensors)
            if (t.end > data_size || t.begin > t.end)
                __builtin_trap();
    } catch (const charaforge::engine::EngineError&) {
    }
    return 0;
}
