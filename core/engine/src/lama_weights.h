#pragma once
// Where big-lama's tensors come from: the TorchScript big-lama.pt (MD5-checked, tensors read without running
// its code, "model.generator." stripped) or a safetensors file of the generator keys.
#include "lama_ffc.h"

#include <map>
#include <string>

namespace charaforge::engine {

// The generator's state-dict (keys "model.<i>...."), CPU tensors. Throws EngineError naming the file.
std::map<std::string, torch::Tensor> read_lama_weights(const std::string& path, bool verify_md5);

// Throws unless `md5` is one of the published big-lama files'.
void check_lama_md5(const std::string& path, const std::string& md5);

// Builds the generator from the shapes of `weights`, loads them strictly and folds the BatchNorms.
LamaGenerator make_lama_generator(const std::map<std::string, torch::Tensor>& weights, const std::string& file,
                                  const torch::Device& device);

// A TorchScript archive written by LibTorch's own serializer: a JITWrapper-like tree holding the generator at
// model.generator, with extra attributes (a discriminator tensor, a bool and an int) around it, like big-lama.pt.
void save_lama_torchscript(const std::map<std::string, torch::Tensor>& generator_state, const std::string& path);

// The tiny generator of the tests (ngf 4, 2 blocks) with the real key names.
LamaConfig tiny_lama_config();

} // namespace charaforge::engine
