// Ref: spec newbie-model.md §1 (official HF folder, ComfyUI repackaged files, loader prefix rules).
#include "model_folder.h"

#include "charaforge/engine/error.h"
#include "charaforge/engine/model_check.h"
#include "file_util.h"
#include "text_encoders.h"

#include <algorithm>
#include <filesystem>
#include <sstream>

namespace fs = std::filesystem;

namespace charaforge::engine {
namespace {

bool has_key_suffix(const std::vector<std::string>& names, std::string_view suffix) {
    for (const auto& name : names)
        if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
            return true;
    return false;
}

std::vector<std::string> safetensors_in(const fs::path& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        return out;
    for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.is_regular_file() && e.path().extension() == ".safetensors")
            out.push_back(e.path().string());
    std::sort(out.begin(), out.end());
    return out;
}

std::string existing(const std::vector<fs::path>& candidates) {
    std::error_code ec;
    for (const auto& c : candidates)
        if (fs::is_regular_file(c, ec))
            return c.string();
    return {};
}

} // namespace

std::string_view checkpoint_kind_name(CheckpointKind kind) {
    switch (kind) {
    case CheckpointKind::Transformer:
        return "NewBie NextDiT transformer";
    case CheckpointKind::Gemma:
        return "Gemma3 text encoder";
    case CheckpointKind::Jina:
        return "Jina CLIP v2 (XLM-RoBERTa text tower)";
    case CheckpointKind::VaeDiffusers:
        return "FLUX VAE (diffusers keys)";
    case CheckpointKind::VaeBfl:
        return "FLUX VAE (BFL ae.safetensors keys)";
    case CheckpointKind::Unknown:
        return "unknown";
    }
    return "unknown";
}

CheckpointKind classify_keys(const std::vector<std::string>& f) {
    if (has_key_suffix(f, "cap_embedder.1.weight") && has_key_suffix(f, "clip_text_pooled_proj.1.weight"))
        return CheckpointKind::Transformer;
    if (has_key_suffix(f, "layers.0.self_attn.q_norm.weight"))
        return CheckpointKind::Gemma;
    if (has_key_suffix(f, "mixer.Wqkv.bias") || has_key_suffix(f, "emb_ln.weight"))
        return CheckpointKind::Jina;
    if (has_key_suffix(f, "encoder.down.0.block.0.conv1.weight"))
        return CheckpointKind::VaeBfl;
    if (has_key_suffix(f, "encoder.down_blocks.0.resnets.0.conv1.weight"))
        return CheckpointKind::VaeDiffusers;
    return CheckpointKind::Unknown;
}

CheckpointKind classify_checkpoint(const SafetensorsFile& file) {
    std::vector<std::string> names;
    for (const auto& t : file.tensors())
        names.push_back(t.name);
    return classify_keys(names);
}

std::string ModelFiles::summary() const {
    std::ostringstream ss;
    auto line = [&](const char* what, const ComponentFiles& c) {
        ss << what << ": ";
        if (c.weights.empty())
            ss << "(none)";
        for (std::size_t i = 0; i < c.weights.size(); ++i)
            ss << (i ? ", " : "") << c.weights[i];
        if (!c.tokenizer.empty())
            ss << " [tokenizer " << c.tokenizer << "]";
        ss << "\n";
    };
    ss << "model: " << root << " (" << layout << ")\n";
    line("transformer", transformer);
    line("vae", vae);
    line("text encoder (Gemma3)", text_encoder);
    line("clip (Jina CLIP v2)", clip);
    return ss.str();
}

ModelFiles locate_model(const std::string& path, Require require) {
    const fs::path root(path);
    std::error_code ec;
    if (!fs::exists(root, ec))
        throw EngineError("model: " + path + " does not exist");
    ModelFiles m;
    m.root = path;
    const bool diffusers = fs::is_regular_file(root / "model_index.json", ec) ||
                           fs::is_directory(root / "transformer", ec) || fs::is_directory(root / "text_encoder", ec) ||
                           fs::is_directory(root / "clip_model", ec);
    // Files of one kind go to their component (a later one of the same kind replaces an earlier one).
    auto assign = [&m](CheckpointKind kind, std::vector<std::string> weights, std::string config,
                       const fs::path& folder) {
        ComponentFiles* c = nullptr;
        std::string tokenizer;
        switch (kind) {
        case CheckpointKind::Transformer:
            c = &m.transformer;
            break;
        case CheckpointKind::Gemma:
            c = &m.text_encoder;
            tokenizer = "tokenizer.model";
            break;
        case CheckpointKind::Jina:
            c = &m.clip;
            tokenizer = "sentencepiece.bpe.model";
            break;
        case CheckpointKind::VaeBfl:
        case CheckpointKind::VaeDiffusers:
            c = &m.vae;
            m.vae_bfl = kind == CheckpointKind::VaeBfl;
            break;
        case CheckpointKind::Unknown:
            return;
        }
        c->weights = std::move(weights);
        c->config_json = std::move(config);
        if (!tokenizer.empty() && !folder.empty())
            c->tokenizer = existing({folder / tokenizer});
    };
    const std::vector<std::string> own = safetensors_in(root);
    // One component's folder: config.json beside shards whose keys name one kind of checkpoint (a shard
    // without the telling keys is Unknown). Files of several kinds are a ComfyUI folder of single files.
    CheckpointKind own_kind = CheckpointKind::Unknown;
    bool one_kind = !diffusers && fs::is_regular_file(root / "config.json", ec) && !own.empty();
    for (std::size_t i = 0; one_kind && i < own.size(); ++i) {
        const CheckpointKind kind = classify_checkpoint(SafetensorsFile(own[i]));
        if (kind != CheckpointKind::Unknown && own_kind != CheckpointKind::Unknown && kind != own_kind)
            one_kind = false;
        else if (kind != CheckpointKind::Unknown)
            own_kind = kind;
    }
    if (fs::is_regular_file(root, ec)) {
        m.layout = "single-file";
        assign(classify_checkpoint(SafetensorsFile(path)), {path}, {}, {});
    } else if (one_kind && own_kind != CheckpointKind::Unknown) {
        m.layout = "component-folder";
        assign(own_kind, own, (root / "config.json").string(), root);
    } else if (diffusers) {
        m.layout = "diffusers-folder";
        auto component = [&](std::initializer_list<const char*> dirs, ComponentFiles& c) {
            for (const char* d : dirs) {
                auto files = safetensors_in(root / d);
                if (!files.empty()) {
                    c.weights = files;
                    c.config_json = existing({root / d / "config.json"});
                    return;
                }
            }
        };
        component({"transformer"}, m.transformer);
        component({"vae"}, m.vae);
        component({"text_encoder"}, m.text_encoder);
        component({"clip_model", "text_encoder_2"}, m.clip);
        m.text_encoder.tokenizer =
            existing({root / "text_encoder" / "tokenizer.model", root / "tokenizer" / "tokenizer.model"});
        m.clip.tokenizer = existing({root / "clip_model" / "sentencepiece.bpe.model",
                                     root / "clip_tokenizer" / "sentencepiece.bpe.model",
                                     root / "tokenizer_2" / "sentencepiece.bpe.model"});
    } else {
        // ComfyUI: classify every safetensors file in the folder and its usual subfolders by its keys.
        m.layout = "comfyui-files";
        std::vector<std::string> candidates;
        for (const char* d : {".", "diffusion_models", "unet", "checkpoints", "text_encoders", "clip", "vae"})
            for (auto& f : safetensors_in(root / d))
                candidates.push_back(f);
        for (const auto& f : candidates)
            assign(classify_checkpoint(SafetensorsFile(f)), {f}, {}, {});
        m.text_encoder.tokenizer = existing({root / "tokenizer.model", root / "text_encoders" / "tokenizer.model"});
        m.clip.tokenizer =
            existing({root / "sentencepiece.bpe.model", root / "text_encoders" / "sentencepiece.bpe.model"});
    }
    if (!m.vae.weights.empty() && m.layout == "diffusers-folder") {
        SafetensorsFile vf(m.vae.weights.front());
        m.vae_bfl = classify_checkpoint(vf) == CheckpointKind::VaeBfl;
    }
    std::vector<std::string> missing;
    const bool everything = require == Require::Everything;
    const bool need_transformer =
        everything || require == Require::TransformerAndVae || require == Require::Transformer;
    const bool need_vae = everything || require == Require::TransformerAndVae || require == Require::Vae;
    if (need_transformer && m.transformer.weights.empty())
        missing.push_back(diffusers ? "transformer weights: no .safetensors in " + (root / "transformer").string()
                                    : "transformer weights (NewBie-Image-Exp0.1-bf16.safetensors) in " + path +
                                          " or its diffusion_models/ folder");
    if (need_vae && m.vae.weights.empty())
        missing.push_back(diffusers ? "VAE weights: no .safetensors in " + (root / "vae").string()
                                    : "VAE weights (FLUX ae.safetensors) in " + path + " or its vae/ folder");
    if (everything) {
        // The tokenizers are SentencePiece model files, beside the weights or inside them (a spiece_model
        // tensor, as some ComfyUI files carry); a folder with only tokenizer.json is told so.
        auto no_tokenizer = [](const ComponentFiles& c) {
            return c.tokenizer.empty() && (c.weights.empty() || embedded_spiece_model(c.weights).empty());
        };
        auto tokenizer_hint = [&](const fs::path& dir) {
            return fs::is_regular_file(dir / "tokenizer.json", ec)
                       ? "; " + (dir / "tokenizer.json").string() + " is there, which CharaForge does not read"
                       : std::string();
        };
        if (diffusers) {
            if (m.text_encoder.weights.empty())
                missing.push_back("Gemma3 text encoder: no .safetensors in " + (root / "text_encoder").string());
            if (no_tokenizer(m.text_encoder))
                missing.push_back("Gemma3 tokenizer: no tokenizer.model in " + (root / "text_encoder").string() +
                                  tokenizer_hint(root / "text_encoder"));
            if (m.clip.weights.empty())
                missing.push_back("Jina CLIP v2 text encoder: no .safetensors in " + (root / "clip_model").string());
            if (no_tokenizer(m.clip))
                missing.push_back("Jina CLIP v2 tokenizer: no sentencepiece.bpe.model in " +
                                  (root / "clip_model").string() + tokenizer_hint(root / "clip_model"));
        } else {
            const std::string where = " in " + path + " or its text_encoders/ folder";
            if (m.text_encoder.weights.empty())
                missing.push_back("Gemma3 text encoder (gemma_3_4b_it_bf16.safetensors)" + where);
            if (no_tokenizer(m.text_encoder))
                missing.push_back("Gemma3 tokenizer (tokenizer.model)" + where + tokenizer_hint(root));
            if (m.clip.weights.empty())
                missing.push_back("Jina CLIP v2 text encoder (jina_clip_v2_bf16.safetensors)" + where);
            if (no_tokenizer(m.clip))
                missing.push_back("Jina CLIP v2 tokenizer (sentencepiece.bpe.model)" + where);
        }
    }
    if (!missing.empty()) {
        std::string msg = "model: " + path + " is not a complete NewBie-image model folder; missing:";
        for (const auto& s : missing)
            msg += "\n  " + s;
        throw EngineError(msg);
    }
    return m;
}

std::string check_model_folder(const std::string& dir) {
    try {
        locate_model(dir, Require::Everything);
        return {};
    } catch (const std::exception& e) { // EngineError, or a header the safetensors reader refuses
        return e.what();
    }
}

std::string read_config(const ComponentFiles& files) {
    return files.config_json.empty() ? std::string() : read_file(files.config_json);
}

std::vector<std::shared_ptr<SafetensorsFile>> open_all(const std::vector<std::string>& paths) {
    std::vector<std::shared_ptr<SafetensorsFile>> files;
    for (const auto& p : paths)
        files.push_back(std::make_shared<SafetensorsFile>(p));
    return files;
}

std::optional<std::string> transformer_key(const std::string& stored) {
    for (std::string_view prefix : {"model.diffusion_model.", "inner_model."})
        if (stored.rfind(prefix, 0) == 0)
            return stored.substr(prefix.size());
    return stored;
}

namespace {

// The config file for error messages; without one, the weights it would sit next to.
std::string config_name(const ComponentFiles& files) {
    if (!files.config_json.empty())
        return files.config_json;
    return "config.json (none next to " + (files.weights.empty() ? std::string("the weights") : files.weights.front()) +
           ")";
}

// Runs a from_weights(): an error about a tensor gets the weight files appended, so that it names the file.
template <typename Read> auto config_from(const ComponentFiles& files, Read read) {
    try {
        return read();
    } catch (const EngineError& e) {
        std::string msg = e.what();
        if (files.config_json.empty() || msg.find(files.config_json) == std::string::npos) {
            msg += " (in";
            for (const auto& w : files.weights)
                msg += " " + w;
            msg += ")";
        }
        throw EngineError(msg);
    }
}

} // namespace

NextDiT load_transformer(const ComponentFiles& files, const Runtime& rt) {
    auto weights = collect_weights(open_all(files.weights), transformer_key);
    const std::string json = files.config_json.empty() ? std::string() : read_file(files.config_json);
    auto cfg = config_from(
        files, [&] { return NextDiTConfig::from_weights(weight_shapes(weights), json, config_name(files)); });
    NextDiT model(cfg, rt.options());
    load_strict(*model, weights, "nextdit");
    model->eval();
    return model;
}

AutoencoderKL load_vae(const ComponentFiles& files, bool bfl, const Runtime& rt) {
    KeyMapper mapper = [bfl](const std::string& k) -> std::optional<std::string> {
        return bfl ? bfl_vae_key_to_diffusers(k) : std::optional<std::string>(k);
    };
    auto weights = collect_weights(open_all(files.weights), mapper);
    const std::string json = files.config_json.empty() ? std::string() : read_file(files.config_json);
    auto cfg =
        config_from(files, [&] { return VaeConfig::from_weights(weight_shapes(weights), json, config_name(files)); });
    AutoencoderKL vae(cfg, torch::TensorOptions().device(rt.device).dtype(rt.vae_dtype));
    if (bfl)
        load_strict(*vae, weights, "vae", bfl_vae_tensor_transform);
    else
        load_strict(*vae, weights, "vae");
    vae->eval();
    return vae;
}

} // namespace charaforge::engine
