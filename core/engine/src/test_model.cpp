// Tiny models with the official folder layout and key names (spec newbie-model.md §1.1, §2.2, §4.3).
#include "test_model.h"

#include "text_test_models.h"

#include "charaforge/engine/error.h"
#include "charaforge/engine/pipeline.h"
#include "file_util.h"
#include "weights.h"

#include <nlohmann/json.hpp>

#include <filesystem>

namespace fs = std::filesystem;

namespace charaforge::engine {
namespace {
constexpr const char* kMarker = "charaforge_test_model";
}

NextDiTConfig tiny_nextdit_config(int64_t cap_feat_dim, int64_t clip_text_dim) {
    NextDiTConfig c;
    c.dim = 48;
    c.n_heads = 4; // head dim 12 = 4 + 4 + 4
    c.n_kv_heads = 2;
    c.n_layers = 2;
    c.n_refiner_layers = 2;
    c.ffn_hidden = 128;
    c.cap_feat_dim = cap_feat_dim;
    c.clip_text_dim = clip_text_dim;
    c.axes_dims = {4, 4, 4};
    return c;
}

VaeConfig tiny_vae_config() {
    VaeConfig c;
    // 32 channels everywhere keeps the released 32 GroupNorm groups, so the tiny VAE also loads from a
    // ComfyUI folder, where no config.json says otherwise.
    c.block_out_channels = {32, 32, 32, 32};
    c.layers_per_block = 1;
    c.norm_num_groups = 32;
    return c;
}

std::string nextdit_config_json(const NextDiTConfig& cfg, bool test_model) {
    nlohmann::ordered_json j = {
        {"_class_name", "NextDiT_3B_GQA_patch2_Adaln_Refiner_WHIT_CLIP"},
        {"patch_size", cfg.patch_size},
        {"in_channels", cfg.in_channels},
        {"dim", cfg.dim},
        {"n_layers", cfg.n_layers},
        {"n_refiner_layers", cfg.n_refiner_layers},
        {"n_heads", cfg.n_heads},
        {"n_kv_heads", cfg.n_kv_heads},
        {"qk_norm", true},
        {"cap_feat_dim", cfg.cap_feat_dim},
        {"clip_text_dim", cfg.clip_text_dim},
        {"clip_img_dim", cfg.clip_text_dim},
        {"axes_dims", cfg.axes_dims},
        {"axes_lens", cfg.axes_lens},
    };
    if (test_model)
        j[kMarker] = true;
    return j.dump(2);
}

std::string model_index_json(bool test_model, const std::string& note) {
    nlohmann::ordered_json index = {{"_class_name", "NewbiePipeline"},
                                    {"transformer", {"newbie", "NextDiT_CLIP"}},
                                    {"vae", {"diffusers", "AutoencoderKL"}},
                                    {"text_encoder", {"transformers", "Gemma3ForConditionalGeneration"}},
                                    {"clip_model", {"transformers", "AutoModel"}}};
    if (test_model)
        index[kMarker] = true;
    if (!note.empty())
        index["note"] = note;
    return index.dump(2);
}

void write_tiny_transformer(const std::string& dir, const NextDiTConfig& cfg, uint64_t seed,
                            const torch::Device& device) {
    fs::create_directories(fs::path(dir) / "transformer");
    NextDiT model(cfg, torch::TensorOptions().dtype(torch::kFloat32).device(device));
    nn::init_test_weights(*model, seed, device);
    write_safetensors((fs::path(dir) / "transformer" / "diffusion_pytorch_model.safetensors").string(),
                      to_blobs(*model, torch::kBFloat16));
    write_file_atomic((fs::path(dir) / "transformer" / "config.json").string(), nextdit_config_json(cfg, true));
}

void write_tiny_vae(const std::string& dir, const VaeConfig& cfg, uint64_t seed, const torch::Device& device) {
    fs::create_directories(fs::path(dir) / "vae");
    AutoencoderKL vae(cfg, torch::TensorOptions().dtype(torch::kFloat32).device(device));
    nn::init_test_weights(*vae, seed, device);
    write_safetensors((fs::path(dir) / "vae" / "diffusion_pytorch_model.safetensors").string(),
                      to_blobs(*vae, torch::kFloat32));
    nlohmann::ordered_json j = {{"_class_name", "AutoencoderKL"},
                                {"in_channels", cfg.in_channels},
                                {"out_channels", cfg.out_channels},
                                {"latent_channels", cfg.latent_channels},
                                {"block_out_channels", cfg.block_out_channels},
                                {"layers_per_block", cfg.layers_per_block},
                                {"norm_num_groups", cfg.norm_num_groups},
                                {"scaling_factor", cfg.scaling_factor},
                                {"shift_factor", cfg.shift_factor},
                                {"use_quant_conv", false},
                                {"use_post_quant_conv", false},
                                {"mid_block_add_attention", cfg.mid_block_add_attention},
                                {kMarker, true}};
    write_file_atomic((fs::path(dir) / "vae" / "config.json").string(), j.dump(2));
}

std::string make_test_model(const std::string& dir, uint64_t seed) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
        throw EngineError("test model: cannot create " + dir + ": " + ec.message());
    c10::InferenceMode guard(false);
    torch::NoGradGuard no_grad;
    write_tiny_gemma(dir, seed + 2);
    write_tiny_jina(dir, seed + 3);
    write_tiny_transformer(dir, tiny_nextdit_config(tiny_gemma_config().hidden_size, tiny_jina_config().hidden_size),
                           seed);
    write_tiny_vae(dir, tiny_vae_config(), seed + 1);
    write_file_atomic((fs::path(dir) / "model_index.json").string(),
                      model_index_json(true, "CharaForge test model: random weights, its images are noise"));
    return dir;
}

bool is_test_model(const std::string& dir) {
    try {
        auto j = nlohmann::json::parse(read_file((fs::path(dir) / "model_index.json").string()));
        return j.value(kMarker, false);
    } catch (const std::exception&) {
        return false;
    }
}

} // namespace charaforge::engine
