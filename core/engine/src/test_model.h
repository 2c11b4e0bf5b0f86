#pragma once
// Tiny random-weight models in the official layouts, for tests and the app's embedded default.
#include "nextdit.h"
#include "vae.h"

#include <string>

namespace charaforge::engine {

NextDiTConfig tiny_nextdit_config(int64_t cap_feat_dim = 32, int64_t clip_text_dim = 24);
VaeConfig tiny_vae_config();

// transformer/{config.json, diffusion_pytorch_model.safetensors} under `dir` (official key names, bf16).
void write_tiny_transformer(const std::string& dir, const NextDiTConfig& cfg, uint64_t seed);
// vae/{config.json, diffusion_pytorch_model.safetensors} (diffusers keys) or `ae.safetensors` (BFL keys).
void write_tiny_vae(const std::string& dir, const VaeConfig& cfg, uint64_t seed);

} // namespace charaforge::engine
