#include "charaforge/engine/error.h"
#include "charaforge/engine/tools.h"
#include "model_folder.h"
#include "text_encoders.h"
#include "weights.h"

#include <sstream>

namespace charaforge::engine {
namespace {

std::map<std::string, torch::Tensor> read_inputs(const std::string& path) {
    SafetensorsFile f(path);
    std::map<std::string, torch::Tensor> out;
    for (const auto& t : f.tensors())
        out[t.name] = read_tensor(f, t);
    return out;
}

const torch::Tensor& need(const std::map<std::string, torch::Tensor>& in, const std::string& name,
                          const std::string& file) {
    auto it = in.find(name);
    if (it == in.end())
        throw EngineError("run-component: " + file + " has no input tensor '" + name + "'");
    return it->second;
}

} // namespace

std::string run_component(const ComponentRun& run) {
    c10::InferenceMode guard;
    auto rt = make_runtime(run.runtime);
    auto in = read_inputs(run.inputs);
    std::vector<TensorBlob> out;
    auto put = [&](const std::string& name, const torch::Tensor& t) {
        out.push_back(to_blob(name, t, torch::kFloat32));
    };

    if (run.component == "gemma" || run.component == "jina") {
        for (const auto& [name, t] : run_text_component(run.component, run.model_dir, in, rt.device, rt.dtype))
            put(name, t);
    } else if (run.component == "transformer") {
        auto files = locate_model(run.model_dir, Require::Transformer);
        auto model = load_transformer(files.transformer, rt);
        auto x = need(in, "x", run.inputs).to(rt.device);
        auto t = need(in, "t", run.inputs).to(rt.device, torch::kFloat32);
        auto cap = need(in, "cap_feats", run.inputs).to(rt.device);
        auto mask = need(in, "cap_mask", run.inputs).to(torch::kInt64);
        auto pooled = need(in, "clip_pooled", run.inputs).to(rt.device);
        std::vector<int64_t> lens;
        for (int64_t b = 0; b < mask.size(0); ++b)
            lens.push_back(mask[b].sum().item<int64_t>());
        put("v", model->forward(x, t, cap, lens, pooled));
    } else if (run.component == "vae-decode" || run.component == "vae-encode") {
        auto files = locate_model(run.model_dir, Require::Vae);
        Runtime vrt = rt;
        vrt.vae_dtype = rt.dtype; // parity runs choose the VAE precision explicitly
        auto vae = load_vae(files.vae, files.vae_bfl, vrt);
        const auto& vc = vae->config();
        if (run.component == "vae-decode") {
            auto z = need(in, "z", run.inputs).to(rt.device, vrt.vae_dtype);
            auto sample = vae->decoder_forward(z / vc.scaling_factor + vc.shift_factor);
            put("sample", sample);
            put("image", ((sample.to(torch::kFloat32) + 1) / 2).clamp(0, 1));
        } else {
            auto img = need(in, "image", run.inputs).to(rt.device, vrt.vae_dtype);
            auto moments = vae->encoder_forward(img * 2 - 1);
            put("moments", moments);
            put("latent",
                (moments.narrow(1, 0, vc.latent_channels).to(torch::kFloat32) - vc.shift_factor) * vc.scaling_factor);
        }
    } else {
        throw EngineError("run-component: unknown component '" + run.component +
                          "' (transformer, vae-decode, vae-encode, gemma, jina)");
    }
    write_safetensors(run.output, out);
    std::ostringstream ss;
    ss << run.component << " on " << rt.describe() << ": wrote " << out.size() << " tensors to " << run.output;
    return ss.str();
}

} // namespace charaforge::engine
