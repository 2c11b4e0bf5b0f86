#pragma once
// The engine's public API. Torch-free: the GUI, the CLI and the worker see plain values only.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace charaforge::engine {

enum class SolverKind { Euler, Midpoint };

// An 8-bit RGB image, rows top to bottom, pixels interleaved (R, G, B).
struct Image {
    int width = 0;
    int height = 0;
    std::vector<uint8_t> rgb;
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
};

struct StepProgress {
    std::size_t first_request = 0; // index range [first, first + count) of the batch being sampled
    std::size_t request_count = 0;
    int step = 0; // steps done in this batch (1-based after the first)
    int total_steps = 0;
};

struct Callbacks {
    // After every sampler step. May be empty.
    std::function<void(const StepProgress&)> on_step;
    // Polled between steps; returning true stops the run with Cancelled.
    std::function<bool()> should_abort;
    // Each finished image as soon as it is decoded (request index, image). May be empty.
    std::function<void(std::size_t, const Image&)> on_image;
    // Non-fatal notices about a request (e.g. a prompt cut at the token limit). May be empty.
    std::function<void(std::size_t, const std::string&)> on_warning;
};

struct RuntimeOptions {
    std::string device = "auto";        // "auto" (CUDA if available), "cpu", "cuda", "cuda:N"
    std::string dtype = "auto";         // "auto" (bf16 on CUDA, fp32 on CPU), "bf16", "fp16", "fp32"
    int max_batch = 4;                  // requests sampled together at most (per CFG branch)
    bool offload_text_encoders = false; // keep the text encoders in host memory between encodings
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

    // Samples all requests; compatible ones (same size, steps, solver, shift) share forward passes in
    // batches of at most max_batch. Returns one image per request, in request order.
    std::vector<Image> generate(const std::vector<GenerationRequest>& requests, const Callbacks& callbacks = {});

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
