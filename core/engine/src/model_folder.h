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
// The one checkpoint classifier (the locator, inspect and the VAE's key naming use it): what a checkpoint
// holds, from its tensor names (wrapper prefixes such as model.diffusion_model. tolerated). A FLUX VAE in
// BFL's naming (encoder.down.0.block.0...) is VaeBfl, in diffusers' naming VaeDiffusers.
CheckpointKind classify_keys(const std::vector<std::string>& names);
// classify_keys of a file's tensor names.
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

// The one model locator, for the pipeline and run-component: locates every component under `path`, which is
//   - a model folder (model_index.json, transformer/, text_encoder/ or clip_model/: "diffusers-folder"),
//   - one component's folder (config.json beside its .safetensors shards, e.g. text_encoder/:
//     "component-folder"; the shards go to the component their keys name),
//   - one .safetensors file ("single-file"; classified by its keys), or
//   - a ComfyUI models folder or a folder of single files ("comfyui-files"; each file classified).
// Throws one EngineError naming every missing component that `require` asks for and the places looked in.
// Text encoders are optional unless Everything (requests may carry embeddings).
// Everything: the transformer, the VAE and both text encoders with their tokenizers (text prompts).
enum class Require { TransformerAndVae, Transformer, Vae, Nothing, Everything };
ModelFiles locate_model(const std::string& path, Require require = Require::TransformerAndVae);

// Strips the transformer's known wrapper prefixes (model.diffusion_model., inner_model.).
std::optional<std::string> transformer_key(const std::string& stored);

NextDiT load_transformer(const ComponentFiles& files, const Runtime& rt);
AutoencoderKL load_vae(const ComponentFiles& files, bool bfl, const Runtime& rt);

// The text of a component's config.json; empty when it has none.
std::string read_config(const ComponentFiles& files);

std::vector<std::shared_ptr<SafetensorsFile>> open_all(const std::vector<std::string>& paths);

} // namespace charaforge::engine
