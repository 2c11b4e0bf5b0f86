#pragma once
// Tiny random-weight models in the official layouts, for tests and the app's embedded default.
#include "nextdit.h"
#include "vae.h"

#include <string>

namespace charaforge::engine {

NextDiTConfig tiny_nextdit_config(int64_t cap_feat_dim = 32, int64_t clip_text_dim = 24);
VaeConfig tiny_vae_config();

// transformer/config.json's text for `cfg` (the official fields), with the test-model marker when `test_model`.
std::string nextdit_config_json(const NextDiTConfig& cfg, bool test_model);
// model_index.json's text of the official pipeline; with the test-model marker when `test_model`, and a "note" unless
// `note` is empty.
std::string model_index_json(bool test_model, const std::string& note);

// transformer/{config.json, diffusion_pytorch_model.safetensors} under `dir` (official key names, bf16).
// On a CUDA `device` the weights are drawn there (nn::init_random_on_device: fast, for full-size random models);
// on the CPU with nn::init_random(seed, 0.05) (the same values everywhere).
void write_tiny_transformer(const std::string& dir, const NextDiTConfig& cfg, uint64_t seed,
                            const torch::Device& device = torch::kCPU);
// vae/{config.json, diffusion_pytorch_model.safetensors} (diffusers keys) or `ae.safetensors` (BFL keys).
void write_tiny_vae(const std::string& dir, const VaeConfig& cfg, uint64_t seed,
                    const torch::Device& device = torch::kCPU);

} // namespace charaforge::engine
