// Ref: NewBieAI-Lab/NewBie-image-Exp0.1 finetune.py / demo.py (Gemma hidden_states[-2] with the tokenizer's
//      attention mask; Jina get_text_features = mean-pooled text tower).
#include "text_encoders.h"

#include "charaforge/engine/error.h"
#include "file_util.h"
#include "gemma3.h"
#include "jina_xlmr.h"
#include "safetensors.h"

#include <algorithm>
#include <filesystem>

namespace charaforge::engine {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> safetensors_in(const fs::path& dir) {
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.is_regular_file() && e.path().extension() == ".safetensors")
            files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    return files;
}

const torch::Tensor& need(const std::map<std::string, torch::Tensor>& in, const std::string& name,
                          const std::string& component) {
    auto it = in.find(name);
    if (it == in.end())
        throw EngineError("run-component: " + component + " needs the input tensor '" + name + "'");
    return it->second;
}

torch::Tensor optional_input(const std::map<std::string, torch::Tensor>& in, const std::string& name) {
    auto it = in.find(name);
    return it == in.end() ? torch::Tensor() : it->second;
}

} // namespace

TextComponentFiles find_text_component(const std::string& path, const std::string& subfolder) {
    TextComponentFiles out;
    const fs::path p(path);
    if (fs::is_regular_file(p)) {
        out.weights = {p.string()};
        return out;
    }
    fs::path dir = fs::is_directory(p / subfolder) ? p / subfolder : p;
    if (!fs::is_directory(dir))
        throw EngineError("text encoder: " + path + " is neither a folder nor a .safetensors file");
    out.dir = dir.string();
    out.weights = safetensors_in(dir);
    if (out.weights.empty())
        throw EngineError("text encoder: no .safetensors file in " + dir.string() + " (looked for the " + subfolder +
                          " folder of " + path + ")");
    if (fs::is_regular_file(dir / "config.json"))
        out.config_json = read_file((dir / "config.json").string());
    return out;
}

std::string embedded_spiece_model(const std::vector<std::string>& files) {
    for (const auto& path : files) {
        SafetensorsFile f(path);
        if (const auto* info = f.find("spiece_model"); info && info->dtype == DType::U8) {
            auto bytes = f.bytes(*info);
            return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        }
    }
    return {};
}

std::map<std::string, torch::Tensor> run_text_component(const std::string& component, const std::string& model_dir,
                                                        const std::map<std::string, torch::Tensor>& inputs,
                                                        torch::Device device, torch::Dtype dtype) {
    c10::InferenceMode guard;
    std::map<std::string, torch::Tensor> out;
    if (component == "gemma") {
        auto files = find_text_component(model_dir, "text_encoder");
        auto model = load_gemma3(files.weights, files.config_json, device, dtype);
        auto ids = need(inputs, "input_ids", component).to(torch::kInt64);
        auto mask = optional_input(inputs, "attention_mask");
        out["hidden"] = model->forward(ids, mask).to(torch::kCPU);
    } else if (component == "jina") {
        auto files = find_text_component(model_dir, "clip_model");
        auto model = load_jina(files.weights, files.config_json, device, dtype);
        auto ids = need(inputs, "input_ids", component).to(torch::kInt64);
        auto mask = optional_input(inputs, "attention_mask");
        if (!mask.defined())
            mask = ids.ne(model->config().pad_token_id);
        auto hidden = model->forward(ids, mask);
        out["hidden"] = hidden.to(torch::kCPU);
        out["pooled"] = JinaTextModelImpl::mean_pool(hidden, mask).to(hidden.scalar_type()).to(torch::kCPU);
    } else {
        throw EngineError("run-component: unknown text component '" + component + "' (gemma, jina)");
    }
    return out;
}

} // namespace charaforge::engine
