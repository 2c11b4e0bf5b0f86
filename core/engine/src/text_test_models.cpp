// Ref: transformers Gemma3Config/Gemma3ForConditionalGeneration state-dict layout (language_model.model.*);
//      jinaai/jina-clip-implementation JinaCLIPModel (text_model.transformer.roberta.*) with
//      xlm-roberta-flash-implementation modeling_lora.py LoRAParametrization tensor shapes.
#include "text_test_models.h"

#include "charaforge/engine/error.h"
#include "file_util.h"
#include "safetensors.h"
#include "tokenizer.h"
#include "weights.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <mutex>

namespace charaforge::engine {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// One training per (options, corpus) in a process: training is deterministic, and on Ubuntu 24.04 /
// sentencepiece 0.2 a second unigram training in one process crashed inside the bridge.
std::string train(const std::vector<std::pair<std::string, std::string>>& options,
                  const std::vector<std::string>& corpus) {
    static std::mutex mu;
    static std::map<std::pair<std::vector<std::pair<std::string, std::string>>, std::vector<std::string>>, std::string>
        trained;
    std::lock_guard<std::mutex> lock(mu);
    auto key = std::make_pair(options, corpus);
    auto it = trained.find(key);
    if (it == trained.end())
        it = trained.emplace(std::move(key), train_sentencepiece(options, corpus)).first;
    return it->second;
}

void add_whole_pieces(std::vector<std::pair<std::string, std::string>>& options,
                      const std::vector<std::string>& pieces) {
    if (pieces.empty())
        return;
    std::string list;
    for (const auto& p : pieces) {
        if (p.empty() || p.find(',') != std::string::npos)
            throw EngineError("tokenizer training: a whole piece must be non-empty without commas: '" + p + "'");
        list += (list.empty() ? "" : ",") + p;
    }
    options.emplace_back("user_defined_symbols", list);
}

} // namespace

std::string train_gemma_style_tokenizer(const std::vector<std::string>& corpus, int vocab_size, bool at_most,
                                        const std::vector<std::string>& whole_pieces) {
    // Gemma's conventions: byte-fallback BPE, identity normalisation, no dummy prefix, whitespace kept,
    // digits split, <pad>=0 <eos>=1 <bos>=2 <unk>=3.
    std::vector<std::pair<std::string, std::string>> options{
        {"model_type", "bpe"},
        {"vocab_size", std::to_string(vocab_size)},
        {"byte_fallback", "true"},
        {"character_coverage", "1.0"},
        {"normalization_rule_name", "identity"},
        {"add_dummy_prefix", "false"},
        {"remove_extra_whitespaces", "false"},
        {"allow_whitespace_only_pieces", "true"},
        {"split_digits", "true"},
        {"pad_id", "0"},
        {"eos_id", "1"},
        {"bos_id", "2"},
        {"unk_id", "3"},
        {"pad_piece", "<pad>"},
        {"eos_piece", "<eos>"},
        {"bos_piece", "<bos>"},
        {"unk_piece", "<unk>"},
        {"num_threads", "1"},
    };
    if (at_most)
        options.emplace_back("hard_vocab_limit", "false");
    add_whole_pieces(options, whole_pieces);
    return train(options, corpus);
}

std::string train_xlmr_style_tokenizer(const std::vector<std::string>& corpus, int vocab_size,
                                       const std::vector<std::string>& whole_pieces) {
    // XLM-R's sentencepiece.bpe.model conventions: unigram, NFKC, <unk>=0 <s>=1 </s>=2, no pad piece.
    std::vector<std::pair<std::string, std::string>> options{
        {"model_type", "unigram"},
        {"vocab_size", std::to_string(vocab_size)},
        {"character_coverage", "0.9995"},
        {"unk_id", "0"},
        {"bos_id", "1"},
        {"eos_id", "2"},
        {"pad_id", "-1"},
        {"num_threads", "1"},
        {"hard_vocab_limit", "false"},
    };
    add_whole_pieces(options, whole_pieces);
    return train(options, corpus);
}

namespace {

torch::Tensor randn(std::vector<int64_t> shape, double std, at::Generator& gen) {
    return at::normal(0.0, std, shape, gen);
}

} // namespace

Gemma3TextConfig tiny_gemma_config() {
    Gemma3TextConfig c;
    c.hidden_size = 32;
    c.intermediate_size = 64;
    c.num_layers = 4;
    c.output_layer = 2;
    c.num_heads = 2;
    c.num_kv_heads = 1;
    c.head_dim = 16;
    c.sliding_window = 8;
    c.sliding_window_pattern = 2;
    c.query_pre_attn_scalar = 16;
    c.vocab_size = 512; // replaced by the writer with the trained tokenizer's size
    return c;
}

JinaTextConfig tiny_jina_config() {
    JinaTextConfig c;
    c.hidden_size = 24;
    c.num_layers = 2;
    c.num_heads = 2;
    c.intermediate_size = 48;
    c.vocab_size = 400; // replaced by the writer with the trained tokenizer's size
    return c;
}

const std::vector<std::string>& tiny_text_corpus() {
    static const std::vector<std::string> lines = {
        "1girl, solo, long hair, looking at viewer, smile, blue eyes, school uniform, outdoors, cherry blossoms",
        "masterpiece, best quality, very aesthetic, absurdres, newest, 2024",
        "<character_1><n>hatsune miku</n><gender>1girl</gender><appearance>twintails, aqua hair, aqua eyes"
        "</appearance><clothing>detached sleeves, necktie</clothing></character_1>",
        "<general_tags><style>anime coloring, cel shading</style><background>simple background, white background"
        "</background></general_tags>",
        "<character_2><n>kagamine rin</n><gender>1girl</gender><action>waving, open mouth</action></character_2>",
        "You are an assistant designed to generate high-quality anime images based on xml format prompts. "
        "<Prompt Start> ",
        "You are an assistant designed to generate high-quality anime images with the highest degree of "
        "image-text alignment based on textual prompts. <Prompt Start> ",
        "A girl with silver hair stands on a rooftop at night, the city lights glowing below her.",
        "Two cats sleeping on a windowsill in the afternoon sun, soft light, warm colors.",
        "The quick brown fox jumps over the lazy dog. 0123456789",
        "桜の木の下で微笑む少女、青い目、長い髪、制服。",
        "夜の街を歩く二人の少年、雨、ネオンの光。",
        "こんにちは、世界！今日はいい天気ですね。",
        "一个穿着红色连衣裙的女孩站在海边，夕阳，微风。",
        "高质量，杰作，动漫风格，细节丰富的背景。",
        "你好，世界！我们今天去公园散步吧。",
        "안녕하세요, 세계! 오늘 날씨가 좋네요.",
        "Sonnenuntergang am Meer, ein Mädchen mit Hut. Été, café, naïve façade.",
        "emoji test 😀😃😄 🎨🖌️ ✨🌸🌙 ❤️ 👍🏽 🇯🇵",
        "smile 😊, heart ❤, star ⭐, music 🎵, cat 🐱, dog 🐶",
        "<character_1><n>original</n><appearance>short hair, red eyes, 😊</appearance></character_1>",
        "tags: 1boy, 2girls, multiple girls, from above, dutch angle, depth of field, bokeh",
        "score_9, score_8_up, rating: general, year 2023, @artist_name",
        "   leading spaces and  double  spaces\tand tabs",
        "Mixed 日本語 and English with 中文 and emoji 🎉 in one line.",
    };
    return lines;
}

std::string train_tiny_gemma_tokenizer() {
    return train_gemma_style_tokenizer(tiny_text_corpus(), 480);
}

std::string train_tiny_xlmr_tokenizer() {
    return train_xlmr_style_tokenizer(tiny_text_corpus(), 360);
}

void write_tiny_gemma(const std::string& dir, uint64_t seed) {
    auto cfg = tiny_gemma_config();
    cfg.vocab_size = 0;
    write_random_gemma(dir, cfg, seed, torch::kCPU);
}

void write_random_gemma(const std::string& dir, Gemma3TextConfig cfg, uint64_t seed, const torch::Device& device,
                        const std::string& tokenizer, const std::string& note) {
    torch::NoGradGuard no_grad;
    const auto folder = fs::path(dir) / "text_encoder";
    fs::create_directories(folder);
    const auto spm = tokenizer.empty() ? train_tiny_gemma_tokenizer() : tokenizer;
    write_file_atomic((folder / "tokenizer.model").string(), spm);
    // Like gemma-3-4b-it (262144 pieces, 262208 rows), the table has rows beyond the tokenizer's pieces.
    const int64_t pieces = GemmaTokenizer::from_bytes(spm).vocab_size();
    if (cfg.vocab_size == 0)
        cfg.vocab_size = pieces + 64;
    if (cfg.vocab_size < pieces)
        throw EngineError("gemma3: vocab_size " + std::to_string(cfg.vocab_size) + " is below the tokenizer's " +
                          std::to_string(pieces) + " pieces");
    auto full = cfg;
    full.output_layer = cfg.num_layers - 1; // build every layer of the file, incl. the one the encoder skips
    Gemma3TextModel model(full, torch::TensorOptions().dtype(torch::kFloat32).device(device));
    nn::init_test_weights(*model, seed, device);
    auto gen = at::detail::createCPUGenerator(seed + 1);

    std::vector<TensorBlob> blobs;
    for (const auto& p : model->named_parameters(true))
        blobs.push_back(to_blob("language_model.model." + p.key(), p.value(), torch::kBFloat16));
    blobs.push_back(to_blob("language_model.model.norm.weight", randn({cfg.hidden_size}, 0.05, gen), torch::kBFloat16));
    blobs.push_back(to_blob("vision_tower.vision_model.embeddings.patch_embedding.weight",
                            randn({8, 3, 2, 2}, 0.05, gen), torch::kBFloat16));
    blobs.push_back(to_blob("multi_modal_projector.mm_input_projection_weight", randn({8, cfg.hidden_size}, 0.05, gen),
                            torch::kBFloat16));
    blobs.push_back(to_blob("multi_modal_projector.mm_soft_emb_norm.weight", randn({8}, 0.05, gen), torch::kBFloat16));
    write_safetensors((folder / "model.safetensors").string(), blobs, {{"format", "pt"}});

    json text = {
        {"model_type", "gemma3_text"},
        {"hidden_size", cfg.hidden_size},
        {"intermediate_size", cfg.intermediate_size},
        {"num_hidden_layers", cfg.num_layers},
        {"num_attention_heads", cfg.num_heads},
        {"num_key_value_heads", cfg.num_kv_heads},
        {"head_dim", cfg.head_dim},
        {"vocab_size", cfg.vocab_size},
        {"rms_norm_eps", cfg.rms_norm_eps},
        {"sliding_window", cfg.sliding_window},
        {"sliding_window_pattern", cfg.sliding_window_pattern},
        {"rope_theta", cfg.rope_theta},
        {"rope_local_base_freq", cfg.rope_local_base_freq},
        {"rope_scaling", {{"factor", cfg.rope_scaling_factor}, {"rope_type", "linear"}}},
        {"query_pre_attn_scalar", cfg.query_pre_attn_scalar},
        {"hidden_activation", "gelu_pytorch_tanh"},
        {"attn_logit_softcapping", nullptr},
        {"final_logit_softcapping", nullptr},
        {"max_position_embeddings", 4096},
        {"pad_token_id", 0},
        {"eos_token_id", 1},
        {"bos_token_id", 2},
    };
    json root = {
        {"architectures", {"Gemma3ForConditionalGeneration"}},
        {"model_type", "gemma3"},
        {"text_config", text},
        {"vision_config", {{"model_type", "siglip_vision_model"}, {"hidden_size", 8}, {"patch_size", 2}}},
        {"torch_dtype", "bfloat16"},
        {"_charaforge_note", note.empty() ? "tiny random test model (not a real Gemma3)" : note},
    };
    write_file_atomic((folder / "config.json").string(), root.dump(2));
}

void write_tiny_jina(const std::string& dir, uint64_t seed) {
    auto cfg = tiny_jina_config();
    cfg.vocab_size = 0;
    write_random_jina(dir, cfg, seed, torch::kCPU);
}

void write_random_jina(const std::string& dir, JinaTextConfig cfg, uint64_t seed, const torch::Device& device,
                       const std::string& tokenizer, const std::string& note) {
    torch::NoGradGuard no_grad;
    const auto folder = fs::path(dir) / "clip_model";
    fs::create_directories(folder);
    const auto spm = tokenizer.empty() ? train_tiny_xlmr_tokenizer() : tokenizer;
    write_file_atomic((folder / "sentencepiece.bpe.model").string(), spm);

    const int64_t pieces = XlmrTokenizer::from_bytes(spm).vocab_size();
    if (cfg.vocab_size == 0)
        cfg.vocab_size = pieces;
    if (cfg.vocab_size < pieces)
        throw EngineError("jina: vocab_size " + std::to_string(cfg.vocab_size) + " is below the tokenizer's " +
                          std::to_string(pieces) + " pieces");
    JinaTextModel model(cfg, torch::TensorOptions().dtype(torch::kFloat32).device(device));
    nn::init_test_weights(*model, seed, device);
    auto gen = at::detail::createCPUGenerator(seed + 1);

    const std::string prefix = "text_model.transformer.roberta.";
    std::vector<TensorBlob> blobs;
    for (const auto& p : model->named_parameters(true)) {
        const auto& key = p.key();
        const bool embedding = jina_lora_is_embedding(key);
        const bool linear = key.ends_with("Wqkv.weight") || key.ends_with("out_proj.weight") ||
                            key.ends_with("fc1.weight") || key.ends_with("fc2.weight");
        if (!embedding && !linear) {
            blobs.push_back(to_blob(prefix + key, p.value(), torch::kBFloat16));
            continue;
        }
        const auto base = prefix + key.substr(0, key.size() - std::string_view(".weight").size());
        const auto rows = p.value().size(0), cols = p.value().size(1);
        const auto r = kTinyJinaLoraRank;
        auto a = embedding ? randn({1, rows, r}, 0.05, gen) : randn({1, r, cols}, 0.05, gen);
        auto b = embedding ? randn({1, r, cols}, 0.05, gen) : randn({1, rows, r}, 0.05, gen);
        blobs.push_back(to_blob(base + ".parametrizations.weight.original", p.value(), torch::kBFloat16));
        blobs.push_back(to_blob(base + ".parametrizations.weight.0.lora_A", a, torch::kBFloat16));
        blobs.push_back(to_blob(base + ".parametrizations.weight.0.lora_B", b, torch::kBFloat16));
    }
    blobs.push_back(to_blob("vision_model.patch_embed.proj.weight", randn({4, 3, 2, 2}, 0.05, gen), torch::kBFloat16));
    blobs.push_back(to_blob("logit_scale", torch::tensor(2.6592f), torch::kFloat32));
    write_safetensors((folder / "model.safetensors").string(), blobs, {{"format", "pt"}});

    json kwargs = {
        {"load_trained_adapters", false},
        {"lora_adaptations", {"retrieval.query"}},
        {"lora_alpha", cfg.lora_alpha},
        {"lora_rank", kTinyJinaLoraRank},
        {"lora_dropout_p", 0.0},
        {"lora_main_params_trainable", false},
        {"task_instructions", {{"retrieval.query", "Represent the query for retrieving evidence documents: "}}},
        {"use_flash_attn", false},
        {"hidden_size", cfg.hidden_size},
        {"num_hidden_layers", cfg.num_layers},
        {"num_attention_heads", cfg.num_heads},
        {"intermediate_size", cfg.intermediate_size},
        {"vocab_size", cfg.vocab_size},
        {"type_vocab_size", cfg.type_vocab_size},
        {"rotary_emb_base", cfg.rotary_base},
        {"layer_norm_eps", cfg.layer_norm_eps},
        {"hidden_act", "gelu"},
        {"position_embedding_type", "rotary"},
        {"pad_token_id", 1},
        {"bos_token_id", 0},
        {"eos_token_id", 2},
    };
    json root = {
        {"architectures", {"JinaCLIPModel"}},
        {"model_type", "jina_clip"},
        {"add_projections", false},
        {"projection_dim", cfg.hidden_size},
        {"text_config",
         {{"model_type", "jina_clip_text"},
          {"embed_dim", cfg.hidden_size},
          {"hf_model_name_or_path", "jinaai/jina-embeddings-v3"},
          {"default_instruction_task", nullptr},
          {"default_lora_task", "retrieval.query"},
          {"pooler_type", "mean_pooler"},
          {"proj_type", nullptr},
          {"proj_bias", false},
          {"hf_model_config_kwargs", kwargs}}},
        {"vision_config", {{"model_type", "jina_clip_vision"}, {"embed_dim", cfg.hidden_size}}},
        {"torch_dtype", "bfloat16"},
        {"_charaforge_note", note.empty() ? "tiny random test model (not a real Jina CLIP)" : note},
    };
    write_file_atomic((folder / "config.json").string(), root.dump(2));
}

} // namespace charaforge::engine
