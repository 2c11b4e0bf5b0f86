#pragma once
// Developer tools behind charaforge-cli: checkpoint inspection and single-component runs (parity).
#include "charaforge/engine/pipeline.h"

#include <string>

namespace charaforge::engine {

// The LibTorch version the engine was built with, e.g. "1.13.1" (for About boxes and --version; torch-free).
std::string torch_version();

// Lists a safetensors file's tensors (name, dtype, shape) and the detected model kind; for a folder,
// the located model files. Throws EngineError on unreadable input.
std::string inspect_checkpoint(const std::string& path);

struct ComponentRun {
    std::string model_dir;
    std::string component; // transformer | vae-decode | vae-encode | gemma | jina
    std::string inputs;    // safetensors with named input tensors
    std::string output;    // safetensors to write
    RuntimeOptions runtime;
};

// Runs one component on named inputs and writes named outputs (fp32):
//   transformer: x [B,16,h,w], t [B], cap_feats [B,L,Dc], cap_mask [B,L] (0/1), clip_pooled [B,Dp] -> v
//   vae-decode:  z [B,16,h,w] (normalised latent) -> sample (raw decoder output), image (RGB in [0,1])
//   vae-encode:  image [B,3,H,W] in [0,1] -> moments (raw encoder output), latent (normalised mean)
//   gemma:       input_ids [B,L] int64, attention_mask [B,L] (optional) -> hidden (output of layer N-2)
//   jina:        input_ids [B,L] int64, attention_mask [B,L] (optional) -> hidden, pooled
// Returns a one-line summary.
std::string run_component(const ComponentRun& run);

} // namespace charaforge::engine
