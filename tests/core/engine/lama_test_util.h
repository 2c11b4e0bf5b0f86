#pragma once
// Tiny big-lama generators with the real key names, and TorchScript archives of them written by LibTorch's own
// serializer, for the LaMa tests.
#include "lama_ffc.h"

#include <torch/script.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>

namespace charaforge::engine::test {

inline LamaConfig tiny_config() {
    LamaConfig c;
    c.ngf = 4;
    c.n_blocks = 2; // bottleneck 32: 8 local + 24 global channels, Fourier units on 12
    return c;
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

// A TorchScript archive written by LibTorch's own serializer: a JITWrapper-like tree holding the generator at
// model.generator, with extra attributes (a discriminator tensor, a bool and an int) around it.
inline void save_torchscript(const std::map<std::string, torch::Tensor>& generator_state, const std::string& path) {
    torch::jit::Module root(c10::QualifiedName(std::string("__torch__.JITWrapper")));
    std::map<std::string, torch::jit::Module> modules;
    auto module_at = [&](const std::string& dotted) -> torch::jit::Module {
        torch::jit::Module parent = root;
        std::string so_far;
        std::size_t start = 0;
        while (start < dotted.size()) {
            const auto dot = dotted.find('.', start);
            const auto part = dotted.substr(start, dot - start);
            so_far += (so_far.empty() ? "" : ".") + part;
            auto it = modules.find(so_far);
            if (it == modules.end()) {
                std::string cls = "__torch__.M_" + so_far;
                std::replace(cls.begin() + 10, cls.end(), '.', '_');
                torch::jit::Module child{c10::QualifiedName(cls)};
                child.register_attribute("training", c10::BoolType::get(), false);
                parent.register_module(part, child);
                it = modules.emplace(so_far, child).first;
            }
            parent = it->second;
            if (dot == std::string::npos)
                break;
            start = dot + 1;
        }
        return parent;
    };
    for (const auto& [key, t] : generator_state) {
        const std::string full = "model.generator." + key;
        const auto dot = full.rfind('.');
        auto m = module_at(full.substr(0, dot));
        m.register_parameter(full.substr(dot + 1), t, false);
    }
    auto disc = module_at("model.discriminator");
    disc.register_parameter("weight", torch::ones({2, 2}), false);
    disc.register_attribute("steps", c10::IntType::get(), int64_t{3});
    root.save(path);
}

} // namespace charaforge::engine::test
