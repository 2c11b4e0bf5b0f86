#pragma once
// Pipeline pieces shared with tests and tools (torch side).
#include "charaforge/engine/pipeline.h"
#include "latent_preview.h"
#include "memory.h"
#include "nextdit.h"
#include "runtime.h"
#include "vae.h"

#include <optional>

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
};

// Samples and decodes requests[idx...] (all of one size, steps, solver, shift and resume step) as one
// batch. `stage` tells what it was doing when it throws.
void sample_batch(const BatchModels& models, const std::vector<GenerationRequest>& requests,
                  const std::vector<std::size_t>& idx, const Callbacks& callbacks, std::vector<Image>& images,
                  BatchStage& stage);

} // namespace charaforge::engine
