#pragma once
// Tiny big-lama generators with the real key names, and TorchScript archives of them written by LibTorch's own
// serializer, for the LaMa tests.
#include "lama_ffc.h"
#include "lama_weights.h"

#include <torch/script.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>

namespace charaforge::engine::test {

inline LamaConfig tiny_config() {
    return tiny_lama_config();
}

inline LamaGenerator tiny_generator(uint64_t seed = 7) {
    LamaGenerator g(tiny_config(), torch::TensorOptions().dtype(torch::kFloat32));
    init_lama_random(*g, seed);
    g->eval();
    return g;
}

inline std::map<std::string, torch::Tensor> state_of(torch::nn::Module& m) {
    std::map<std::string, torch::Tensor> out;
    for (const auto& p : m.named_parameters(true))
        out[p.key()] = p.value().detach().clone();
    for (const auto& b : m.named_buffers(true))
        out[b.key()] = b.value().detach().clone();
    return out;
}

inline std::string temp_path(const std::string& name) {
    auto dir = std::filesystem::temp_directory_path() / ("charaforge_lama_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    return (dir / name).string();
}

// A TorchScript archive written by LibTorch's own serializer (save_lama_torchscript in lama_weights.h).
inline void save_torchscript(const std::map<std::string, torch::Tensor>& generator_state, const std::string& path) {
    save_lama_torchscript(generator_state, path);
}

} // namespace charaforge::engine::test
