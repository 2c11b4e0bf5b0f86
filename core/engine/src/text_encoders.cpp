// Ref: NewBieAI-Lab/NewBie-image-Exp0.1 finetune.py / demo.py (Gemma hidden_states[-2] with the tokenizer's
//      attention mask; Jina get_text_features = mean-pooled text tower).
#include "text_encoders.h"

#include "charaforge/engine/error.h"
#include "file_util.h"
#include "gemma3.h"
#include "jina_xlmr.h"
#include "model_folder.h"
#include "safetensors.h"

namespace charaforge::engine {
namespace {

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

// The weights of a text encoder wherever locate_model finds them. Throws EngineError naming the place.
ComponentFiles text_component(const std::string& path, bool gemma) {
    const ModelFiles m = locate_model(path, Require::Nothing);
    const ComponentFiles& c = gemma ? m.text_encoder : m.clip;
    if (c.weights.empty())
        throw EngineError(std::string("text encoder: no ") + (gemma ? "Gemma3" : "Jina CLIP v2") + " weights in " +
                          path + " (looked for the " + (gemma ? "text_encoder" : "clip_model") +
                          " folder of a model folder, a component folder or a file with its keys)");
    return c;
}

} // namespace

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
        const auto files = text_component(model_dir, true);
        auto model = load_gemma3(files.weights, read_config(files), device, dtype);
        auto ids = need(inputs, "input_ids", component).to(torch::kInt64);
        auto mask = optional_input(inputs, "attention_mask");
        out["hidden"] = model->forward(ids, mask).to(torch::kCPU);
    } else if (component == "jina") {
        const auto files = text_component(model_dir, false);
        auto model = load_jina(files.weights, read_config(files), device, dtype);
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
