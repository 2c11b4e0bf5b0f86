// Ref: Sanster/IOPaint iopaint/model/lama.py (LAMA_MODEL_MD5, ANIME_LAMA_MODEL_MD5), iopaint/helper.py
//      (load_jit_model); advimman/lama bin/to_jit.py (JITWrapper: the generator at model.generator).
#include "lama_weights.h"

#include "charaforge/engine/error.h"
#include "charaforge/engine/lama.h"
#include "lama_torchscript.h"
#include "md5.h"
#include "safetensors.h"

#include <torch/script.h>

#include <algorithm>
#include <fstream>

namespace charaforge::engine {
namespace {

constexpr const char* kJitPrefix = "model.generator.";

bool is_safetensors(const std::string& path) {
    return path.size() >= 12 && path.compare(path.size() - 12, 12, ".safetensors") == 0;
}

} // namespace

void check_lama_md5(const std::string& path, const std::string& md5) {
    if (md5 == kBigLamaMd5 || md5 == kAnimeBigLamaMd5)
        return;
    throw EngineError("lama: " + path + ": MD5 " + md5 + " is neither big-lama.pt's (" + kBigLamaMd5 +
                      ") nor anime-manga-big-lama.pt's (" + kAnimeBigLamaMd5 +
                      "): the download is incomplete or this is another file (download it again from "
                      "https://github.com/Sanster/models/releases/download/add_big_lama/big-lama.pt, or skip the "
                      "check for your own export)");
}

std::map<std::string, torch::Tensor> read_lama_weights(const std::string& path, bool verify_md5) {
    if (!std::ifstream(path, std::ios::binary))
        throw EngineError("lama: cannot open " + path);
    std::map<std::string, torch::Tensor> out;
    if (is_safetensors(path)) {
        SafetensorsFile file(path);
        for (const auto& info : file.tensors())
            out[info.name] = read_tensor(file, info);
        return out;
    }
    if (verify_md5)
        check_lama_md5(path, md5_file_hex(path));
    const auto all = read_torchscript_tensors(path);
    const std::string prefix = kJitPrefix;
    for (const auto& [name, t] : all)
        if (name.rfind(prefix, 0) == 0)
            out[name.substr(prefix.size())] = t;
    if (out.empty()) {
        std::string seen;
        int n = 0;
        for (const auto& [name, t] : all)
            if (n++ < 5)
                seen += "\n    " + name;
        throw EngineError("lama: " + path + ": no tensor named '" + prefix + "*' (not a big-lama TorchScript file; " +
                          std::to_string(all.size()) + " tensors, e.g.:" + (seen.empty() ? " none" : seen) + ")");
    }
    return out;
}

LamaGenerator make_lama_generator(const std::map<std::string, torch::Tensor>& weights, const std::string& file,
                                  const torch::Device& device) {
    TensorShapes shapes;
    for (const auto& [k, t] : weights)
        shapes[k] = t.sizes().vec();
    LamaConfig cfg;
    try {
        cfg = LamaConfig::from_weights(shapes);
    } catch (const EngineError& e) {
        throw EngineError(std::string(e.what()) + " (in " + file + ")");
    }
    LamaGenerator gen(cfg, torch::TensorOptions().dtype(torch::kFloat32).device(device));
    load_strict(*gen, weights, "lama", file);
    gen->eval();
    gen->fold_batchnorm();
    return gen;
}

// A TorchScript archive written by LibTorch's own serializer: a JITWrapper-like tree holding the generator at
// model.generator, with extra attributes (a discriminator tensor, a bool and an int) around it.
void save_lama_torchscript(const std::map<std::string, torch::Tensor>& generator_state, const std::string& path) {
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

LamaConfig tiny_lama_config() {
    LamaConfig c;
    c.ngf = 4;
    c.n_blocks = 2; // bottleneck 32: 8 local + 24 global channels, Fourier units on 12
    return c;
}

void write_lama_test_model(const std::string& path, uint64_t seed) {
    LamaGenerator g(tiny_lama_config(), torch::TensorOptions().dtype(torch::kFloat32));
    init_lama_random(*g, seed);
    std::map<std::string, torch::Tensor> state;
    for (const auto& p : g->named_parameters(true))
        state[p.key()] = p.value().detach().clone();
    for (const auto& b : g->named_buffers(true))
        state[b.key()] = b.value().detach().clone();
    if (!is_safetensors(path)) {
        save_lama_torchscript(state, path);
        return;
    }
    std::vector<TensorBlob> blobs;
    for (const auto& [k, t] : state)
        blobs.push_back(to_blob(k, t));
    write_safetensors(path, blobs, {{"format", "pt"}, {"charaforge.model", "tiny random big-lama generator (tests)"}});
}

int convert_lama_to_safetensors(const std::string& pt_path, const std::string& out_path, bool verify_md5) {
    const auto weights = read_lama_weights(pt_path, verify_md5);
    make_lama_generator(weights, pt_path, torch::kCPU); // the strict check, before anything is written
    std::vector<TensorBlob> blobs;
    for (const auto& [k, t] : weights)
        blobs.push_back(to_blob(k, t));
    write_safetensors(out_path, blobs, {{"format", "pt"}, {"charaforge.model", "big-lama generator"}});
    return static_cast<int>(blobs.size());
}

} // namespace charaforge::engine
