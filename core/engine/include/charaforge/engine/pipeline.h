#pragma once
// The engine's public API. Torch-free: the GUI, the CLI and the worker see plain values only.
#include "charaforge/engine/memory_mode.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace charaforge::engine {

// DpmMultistep: DPM-Solver++ (2M), the official `--solver dpm`; good images in fewer steps. Its grid is the
// official DPM grid (the request's shift applies); one model evaluation per step like Euler.
enum class SolverKind { Euler, Midpoint, DpmMultistep };

// An 8-bit RGB image, rows top to bottom, pixels interleaved (R, G, B).
struct Image {
    int width = 0;
    int height = 0;
    std::vector<uint8_t> rgb;
};

// The sampler state of one request after `step` integration steps: the latent [channels, height, width]
// (latent resolution, fp32, row-major) exactly as the sampler holds it. The queue saves it every few
// steps so that a job interrupted by a crash or a cancel of its batch resumes where it was.
struct SamplerState {
    int step = 0;
    int64_t channels = 0;
    int64_t height = 0;
    int64_t width = 0;
    std::vector<float> latent;
};

// Text conditioning as the transformer consumes it: Gemma features [length, dim] (row-major) and the
// pooled Jina vector [pooled.size()].
struct TextEmbedding {
    std::vector<float> features;
    int64_t length = 0;
    int64_t dim = 0;
    std::vector<float> pooled;
};

struct GenerationRequest {
    std::string prompt;          // encoded by the text encoders when `cond` is not given
    std::string negative_prompt; // empty: the unconditional branch of training ("" for both encoders)
    // Gemma system prompt; unset: the training prompt for XML prompts or for tag/natural-language prompts.
    std::optional<std::string> system_prompt;
    std::optional<TextEmbedding> cond;   // precomputed conditioning (tools, tests, the embedding cache)
    std::optional<TextEmbedding> uncond; // precomputed unconditional branch
    int width = 1024;
    int height = 1024;
    int steps = 28; // integration steps (the grid has steps + 1 points)
    SolverKind solver = SolverKind::Euler;
    float shift = 6.0f;      // time-shifting factor of the grid
    float guidance = 5.0f;   // CFG scale; 1 disables the unconditional branch
    float cfg_trunc = 1.0f;  // CFG applies while Lumina t < cfg_trunc (1 = every step)
    float renorm_cfg = 0.0f; // > 0 caps the guided velocity norm at renorm * |v_cond|
    uint64_t seed = 0;       // the initial noise depends on seed and size only
    // Continue from this saved state instead of the initial noise (same request settings required;
    // requests resuming from different steps are sampled in different batches).
    std::optional<SamplerState> resume;
};

struct StepProgress {
    std::size_t first_request = 0; // index range [first, first + count) of the batch being sampled
    std::size_t request_count = 0;
    int step = 0; // steps done (1-based after the first; a resumed batch counts on from its resume step)
    int total_steps = 0;
};

struct Callbacks {
    // After every sampler step. May be empty.
    std::function<void(const StepProgress&)> on_step;
    // Polled before each step (not after a batch's last step: its latents are finished and get decoded);
    // returning true stops the run with Cancelled.
    std::function<bool()> should_abort;
    // Each finished image as soon as it is decoded (request index, image). May be empty.
    std::function<void(std::size_t, const Image&)> on_image;
    // Non-fatal notices about a request (e.g. a prompt cut at the token limit). May be empty.
    std::function<void(std::size_t, const std::string&)> on_warning;

    // Every `checkpoint_every` steps (0: never; never after a batch's last step, which is no resume point)
    // the state of each request of the batch. Also called for every request of a batch stopped by
    // should_abort, with the state at that step, before Cancelled is thrown: a cancelled batch loses no
    // finished steps.
    int checkpoint_every = 0;
    std::function<void(std::size_t, const SamplerState&)> on_checkpoint;

    // Every `preview_every` steps (0: never) a cheap preview of each request's predicted final image at
    // latent resolution (width/8 x height/8): a linear latent-to-RGB projection, no VAE decode.
    int preview_every = 0;
    std::function<void(std::size_t, int step, const Image&)> on_preview;
};

// Memory of the device the engine runs on, in bytes (0 where unknown). On a CUDA device: the caching
// allocator's statistics and the driver's free/total; on the CPU: the process's resident memory and the
// machine's physical memory.
struct MemoryReport {
    std::string device; // "cuda:0 NVIDIA H200", "cpu"
    bool gpu = false;
    int64_t allocated = 0; // tensors alive (CUDA allocator)
    int64_t reserved = 0;  // held by the caching allocator
    int64_t peak_allocated = 0;
    int64_t peak_reserved = 0;
    int64_t free = 0;             // driver: free on the device / CPU: available physical memory
    int64_t total = 0;            // driver: device memory / CPU: physical memory
    int64_t process_resident = 0; // resident set of this process (CPU)
};

// Memory of `device` ("auto", "cpu", "cuda", "cuda:N") now. Thread-safe: the monitor calls it while a
// worker thread samples. Never throws; an unknown device gives a report with device = the text given.
MemoryReport memory_report(const std::string& device = "auto");

// Number of CUDA devices (0 without CUDA).
int cuda_device_count();

struct RuntimeOptions {
    std::string device = "auto";        // "auto" (CUDA if available), "cpu", "cuda", "cuda:N"
    std::string dtype = "auto";         // "auto" (bf16 on CUDA, fp32 on CPU), "bf16", "fp16", "fp32"
    int max_batch = 4;                  // requests sampled together at most (per CFG branch)
    bool offload_text_encoders = false; // keep the text encoders in host memory between encodings
    MemoryMode memory_mode = MemoryMode::Auto;
    int vae_tile = 0; // > 0: VAE decode/encode always over tiles of this many latent pixels; 0: as the mode says
};

// Which model files were found and how they are laid out.
struct ModelInfo {
    std::string root;
    std::string layout; // "diffusers-folder", "comfyui-files", ...
    std::string transformer_file;
    std::string vae_file;
    std::string text_encoder_file;
    std::string clip_file;
    std::string summary; // human-readable, multi-line
};

class Pipeline {
public:
    // Opens a model folder (official layout) or a folder of ComfyUI single files. Throws EngineError
    // naming every missing file and where it looked.
    static std::unique_ptr<Pipeline> open(const std::string& path, const RuntimeOptions& options = {});
    ~Pipeline();

    const ModelInfo& info() const;
    std::string device_name() const;

    // Samples all requests; compatible ones (same size, steps, solver, shift) are sampled together in batches of
    // at most max_batch, which share forward passes on a GPU (on the CPU each request runs its own, so that its
    // image does not depend on its batch mates). Returns one image per request, in request order.
    std::vector<Image> generate(const std::vector<GenerationRequest>& requests, const Callbacks& callbacks = {});

    // Bytes of weights per component on the device ("transformer", "vae", "text_encoder", "clip_model"),
    // for the memory monitor's breakdown.
    std::vector<std::pair<std::string, int64_t>> component_bytes() const;
    // The runtime device ("cuda:0", "cpu") for memory_report().
    std::string device() const;
    // How many requests of this size to sample together now: estimated from free device memory (CUDA)
    // and capped by RuntimeOptions::max_batch; at least 1.
    int suggest_batch(int width, int height, bool guidance) const;
    // The memory mode in force (Auto resolved at open) and what it could not do here (e.g. no fp8 in this LibTorch).
    MemoryMode memory_mode() const;
    std::vector<std::string> memory_notes() const;
    // The predicted peak for sampling `batch` requests of this size with captions of `caption_tokens` tokens and
    // decoding them, in the current mode (0 weights on the CPU: the prediction is for device memory).
    MemoryPrediction predict_memory(int batch, int width, int height, bool guidance, int caption_tokens = 300) const;
    // Bytes of device memory this engine may use now: what it holds plus what the device has free; 0 on the CPU
    // (no limit known).
    int64_t memory_budget() const;
    // Returns cached allocator blocks to the driver (after an out-of-memory failure).
    void release_cached_memory();

    // True when the model has text encoders (prompts can be given as text).
    bool has_text_encoders() const;
    // The conditional and unconditional embeddings a request would be sampled with.
    std::pair<TextEmbedding, TextEmbedding> encode(const GenerationRequest& request);
    // Token ids of `text` for each encoder, as the reference tokenizers produce them.
    std::pair<std::vector<int64_t>, std::vector<int64_t>> tokenize(const std::string& text) const;

private:
    Pipeline();
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Writes a complete tiny model folder with the official layout and key names and random weights
// (for tests and the app's embedded default). Returns the folder.
std::string make_test_model(const std::string& dir, uint64_t seed = 0);

// True when `dir` holds a model folder written by make_test_model (random weights, images are noise).
bool is_test_model(const std::string& dir);

} // namespace charaforge::engine
