#pragma once
// Memory modes and the per-job memory prediction's arithmetic (torch-free: the queue and the CLI use them without
// loading LibTorch). The sizes that go in come from the engine (memory.h); what comes out is plain bytes.
#include <cstdint>
#include <string>

namespace charaforge::engine {

// How much of the model stays on the device (issue 15):
//   High      everything resident (big GPUs);
//   Balanced  the text encoders come to the device only to encode a prompt the embedding cache lacks, then go
//             back to host memory; transformer and VAE resident; the VAE decodes over tiles when the untiled
//             decode is predicted not to fit;
//   Low       the text encoders run on the CPU; the transformer's block linears are stored in fp8 (e4m3, one
//             scale per output channel, upcast to the model dtype for each matmul; a LibTorch without fp8 keeps
//             the original weights and says so in memory_notes()); the VAE always decodes over tiles.
// Auto picks from the device's total memory: CUDA >= kHighModeBytes high, >= kBalancedModeBytes balanced, else
// low; the CPU high (host memory is the user's to manage; the modes still work there when asked for).
enum class MemoryMode { Auto, High, Balanced, Low };
inline constexpr int64_t kHighModeBytes = int64_t{30} << 30;     // 32 GB cards and up: all weights (~16 GiB) fit
inline constexpr int64_t kBalancedModeBytes = int64_t{14} << 30; // 16 GB cards report ~15-16 GiB
// "auto", "high", "balanced", "low"; anything else throws EngineError naming `option` and the choices.
MemoryMode parse_memory_mode(const std::string& text, const std::string& option = "memory mode");
std::string memory_mode_name(MemoryMode mode);
MemoryMode auto_memory_mode(bool gpu, int64_t device_total_bytes);

// Predicted peak of allocated device memory for one batch, by phase (bytes; an estimate from the weights as
// loaded and activation sizes per token and pixel, see memory.h).
struct MemoryPrediction {
    int64_t weights = 0;    // resident while sampling
    int64_t encoding = 0;   // peak while the text encoders run on the device (0: they run on the CPU or not at all)
    int64_t sampling = 0;   // peak while sampling the batch
    int64_t decoding = 0;   // peak while decoding one image
    int64_t peak = 0;       // the largest of the three
    bool vae_tiled = false; // the decode runs over tiles
};

// Weights of each component on the device as the mode loads them (the transformer's in fp8 in mode low).
// `other`: what the device already holds beyond these (resident through every phase).
struct ComponentBytes {
    int64_t transformer = 0, vae = 0, text_encoder = 0, clip = 0, other = 0;
};

// The peak by phase in a resolved mode: High keeps every component resident; Balanced brings the text encoders
// in only while encoding; Low runs them on the CPU (no encoding phase on the device). Activations: the text
// encoders' (the larger of the two), the batch's sampling, one image's decode.
MemoryPrediction predict_peak(MemoryMode mode, const ComponentBytes& weights, int64_t encoding_activations,
                              int64_t sampling_activations, int64_t decoding_activations);

} // namespace charaforge::engine
