#pragma once
// Finding the model files as users have them (official diffusers-style folder, ComfyUI single files)
// and loading each component strictly from them.
#include "nextdit.h"
#include "runtime.h"
#include "safetensors.h"
#include "vae.h"

#include <memory>
#include <string>
#include <vector>

namespace charaforge::engine {

enum class CheckpointKind { Transformer, Gemma, Jina, VaeDiffusers, VaeBfl, Unknown };
std::string_view checkpoint_kind_name(CheckpointKind kind);
// Detects what a safetensors file holds from its key names (prefixes tolerated).
CheckpointKind classify_checkpoint(const SafetensorsFile& file);

struct ComponentFiles {
    std::vector<std::string> weights; // one or more shards
    std::string config_json;          // path, empty when absent
    std::string tokenizer;            // tokenizer model file, empty when absent or not applicable
};

struct ModelFiles {
    std::string root;
    std::string layout; // "diffusers-folder" or "comfyui-files"
    ComponentFiles transformer, vae, text_encoder, clip;
    bool vae_bfl = false;
    std::string summary() const;
};

// Locates every component under `path` (a model folder, a ComfyUI models folder, or a folder of
// single files). Throws one EngineError naming every missing component and the places looked in.
// Text encoders are optional here (requests may carry embeddings); the transformer and VAE are not.
// Everything: the transformer, the VAE and both text encoders with their tokenizers (text prompts).
enum class Require { TransformerAndVae, Transformer, Vae, Nothing, Everything };
ModelFiles locate_model(const std::string& path, Require require = Require::TransformerAndVae);

// Strips the transformer's known wrapper prefixes (model.diffusion_model., inner_model.).
std::optional<std::string> transformer_key(const std::string& stored);

NextDiT load_transformer(const ComponentFiles& files, const Runtime& rt);
AutoencoderKL load_vae(const ComponentFiles& files, bool bfl, const Runtime& rt);

std::vector<std::shared_ptr<SafetensorsFile>> open_all(const std::vector<std::string>& paths);

} // namespace charaforge::engine
