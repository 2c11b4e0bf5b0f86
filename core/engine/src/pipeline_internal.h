#pragma once
// Pipeline pieces shared with tests and tools (torch side).
#include "charaforge/engine/pipeline.h"
#include "latent_preview.h"
#include "memory.h"
#include "nextdit.h"
#include "runtime.h"
#include "vae.h"

#include <functional>
#include <optional>
#include <string>

namespace charaforge::engine {

// The initial noise of one request: N(0, 1) [1, C, h, w] fp32 from a generator seeded with `seed` alone.
torch::Tensor initial_noise(uint64_t seed, int64_t channels, int64_t height, int64_t width);

// What a batch is sampled with. `preview` is fitted from the VAE by the first batch that sends previews and
// kept for the pipeline's lifetime.
struct BatchModels {
    NextDiT& transformer;
    AutoencoderKL& vae;
    const Runtime& rt;
    std::optional<LatentRgbProjection>& preview;
    int64_t vae_tile = 0; // > 0: decode over tiles of this many latent pixels
};

// Decodes one latent [1, C, h, w] to RGB [1, 3, H, W] in [0, 1]. Out of memory, it frees the allocator's
// cache and tries again; on a GPU that still has no room it decodes on the CPU (`warn` says so). The batch
// size does not matter here (images are decoded one at a time), so a decode failure must never be answered
// by splitting the batch: it throws OutOfMemory only when even this fails.
torch::Tensor decode_one(const BatchModels& models, const torch::Tensor& latent,
                         const std::function<void(const std::string&)>& warn);
// Tests: the next `count` decode attempts fail as an allocation failure would.
void inject_decode_out_of_memory_for_tests(int count);

// Samples and decodes requests[idx...] (all of one size, steps, solver, shift and resume step) as one
// batch: one transformer forward for all on a GPU, one per request on the CPU. `stage` tells what it was doing
// when it throws.
void sample_batch(const BatchModels& models, const std::vector<GenerationRequest>& requests,
                  const std::vector<std::size_t>& idx, const Callbacks& callbacks, std::vector<Image>& images,
                  BatchStage& stage);

} // namespace charaforge::engine
