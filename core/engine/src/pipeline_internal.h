#pragma once
// Pipeline pieces shared with tests and tools (torch side).
#include "charaforge/engine/pipeline.h"
#include "nextdit.h"
#include "runtime.h"
#include "vae.h"

namespace charaforge::engine {

// The initial noise of one request: N(0, 1) [1, C, h, w] fp32 from a generator seeded with `seed` alone.
torch::Tensor initial_noise(uint64_t seed, int64_t channels, int64_t height, int64_t width);

// Samples and decodes requests[idx...] (all of one size, steps, solver and shift) as one batch.
void sample_batch(NextDiT& transformer, AutoencoderKL& vae, const Runtime& rt,
                  const std::vector<GenerationRequest>& requests, const std::vector<std::size_t>& idx,
                  const Callbacks& callbacks, std::vector<Image>& images);

} // namespace charaforge::engine
