// Text encoders (Gemma3 decoder, Jina XLM-R text tower, SentencePiece tokenizers) on tiny CPU models.
// Golden values come from properties (causality, window, padding, LoRA algebra), from formulas written
// out here, from the official key lists typed out here, and from the spm_encode CLI.
#include "charaforge/engine/error.h"
#include "gemma3.h"
#include "jina_xlmr.h"
#include "model_folder.h"
#include "safetensors.h"
#include "text_encoders.h"
#include "text_test_models.h"
#include "tokenizer.h"
#include "weights.h"

#include "core/engine/test_util.h"

#include <gtest/gtest.h>

#include <ftw.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

namespace fs = std::filesystem;
using namespace charaforge::engine;

namespace {

using charaforge::test::make_temp_dir;
using charaforge::test::remove_tree;
using charaforge::test::TempDir;

std::vector<std::string> sorted_keys(const torch::nn::Module& m) {
    std::vector<std::string> keys;
    for (const auto& p : m.named_parameters(true))
        keys.push_back(p.key());
    std::sort(keys.begin(), keys.end());
    return keys;
}

double max_abs(const torch::Tensor& a, const torch::Tensor& b) {
    return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

Gemma3TextModel random_gemma(const Gemma3TextConfig& cfg, uint64_t seed) {
    Gemma3TextModel m(cfg, torch::TensorOptions().dtype(torch::kFloat32));
    nn::init_random(*m, seed, 0.2);
    m->eval();
    return m;
}

JinaTextModel random_jina(const JinaTextConfig& cfg, uint64_t seed) {
    JinaTextModel m(cfg, torch::TensorOptions().dtype(torch::kFloat32));
    nn::init_random(*m, seed, 0.2);
    m->eval();
    return m;
}

torch::Tensor random_ids(int64_t batch, int64_t length, int64_t lo, int64_t hi, uint64_t seed) {
    auto gen = at::detail::createCPUGenerator(seed);
    return at::randint(lo, hi, {batch, length}, gen, torch::TensorOptions().dtype(torch::kInt64));
}

// Rows of the word-embedding table the tiny Jina writer sized from its tokenizer.
int64_t model_vocab_of(const fs::path& clip_dir) {
    SafetensorsFile f((clip_dir / "model.safetensors").string());
    return f.at("text_model.transformer.roberta.embeddings.word_embeddings.parametrizations.weight.original").shape[0];
}

// Per-position max |a - b| over the feature dim of [1, L, D] outputs.
std::vector<double> position_diffs(const torch::Tensor& a, const torch::Tensor& b) {
    auto d = (a - b).abs().amax(-1)[0];
    std::vector<double> out;
    for (int64_t i = 0; i < d.size(0); ++i)
        out.push_back(d[i].item<double>());
    return out;
}

} // namespace

// ---------------------------------------------------------------- configs and key names

TEST(Gemma3Config, DefaultsAreGemma3_4bIt) {
    Gemma3TextConfig c;
    EXPECT_EQ(c.hidden_size, 2560);
    EXPECT_EQ(c.intermediate_size, 10240);
    EXPECT_EQ(c.num_layers, 34);
    EXPECT_EQ(c.output_layer, 32);
    EXPECT_EQ(c.num_heads, 8);
    EXPECT_EQ(c.num_kv_heads, 4);
    EXPECT_EQ(c.head_dim, 256);
    EXPECT_EQ(c.vocab_size, 262208);
    EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-6);
    EXPECT_EQ(c.sliding_window, 1024);
    EXPECT_DOUBLE_EQ(c.rope_theta, 1e6);
    EXPECT_DOUBLE_EQ(c.rope_scaling_factor, 8.0);
    EXPECT_DOUBLE_EQ(c.rope_local_base_freq, 1e4);
    EXPECT_DOUBLE_EQ(c.attention_scale(), 1.0 / 16.0);
    std::vector<int64_t> full;
    for (int64_t i = 0; i < c.num_layers; ++i)
        if (c.is_full_attention(i))
            full.push_back(i);
    EXPECT_EQ(full, (std::vector<int64_t>{5, 11, 17, 23, 29}));
}

TEST(Gemma3Config, FromWeightsWithTheMultimodalConfigJson) {
    // Shapes of gemma-3-4b-it's text weights and its config.json (text_config relies on class defaults
    // for heads and head_dim).
    std::map<std::string, std::vector<int64_t>> shapes = {
        {"embed_tokens.weight", {262208, 2560}},
        {"layers.0.self_attn.q_norm.weight", {256}},
        {"layers.0.self_attn.q_proj.weight", {2048, 2560}},
        {"layers.0.self_attn.k_proj.weight", {1024, 2560}},
        {"layers.0.mlp.gate_proj.weight", {10240, 2560}},
    };
    for (int i = 0; i < 34; ++i)
        shapes["layers." + std::to_string(i) + ".input_layernorm.weight"] = {2560};
    const std::string json = R"({
      "architectures": ["Gemma3ForConditionalGeneration"], "model_type": "gemma3",
      "boi_token_index": 255999, "eoi_token_index": 256000, "eos_token_id": [1, 106],
      "text_config": {"hidden_size": 2560, "intermediate_size": 10240, "model_type": "gemma3_text",
                      "num_hidden_layers": 34, "rope_scaling": {"factor": 8.0, "rope_type": "linear"},
                      "sliding_window": 1024},
      "vision_config": {"hidden_size": 1152, "model_type": "siglip_vision_model"}})";
    auto c = Gemma3TextConfig::from_weights(shapes, json);
    EXPECT_EQ(c.num_heads, 8);
    EXPECT_EQ(c.num_kv_heads, 4);
    EXPECT_EQ(c.head_dim, 256);
    EXPECT_EQ(c.num_layers, 34);
    EXPECT_EQ(c.output_layer, 32);
    EXPECT_EQ(c.sliding_window, 1024);
    EXPECT_DOUBLE_EQ(c.rope_scaling_factor, 8.0);
    EXPECT_DOUBLE_EQ(c.query_pre_attn_scalar, 256.0);
    EXPECT_TRUE(c.is_full_attention(5));
    EXPECT_FALSE(c.is_full_attention(32));

    // transformers 5 writes rope_parameters per layer type and layer_types explicitly.
    const std::string v5 = R"({"text_config": {"num_hidden_layers": 34,
      "layer_types": ["full_attention"],
      "rope_parameters": {"full_attention": {"rope_type": "linear", "factor": 4.0, "rope_theta": 500000.0},
                          "sliding_attention": {"rope_type": "default", "rope_theta": 20000.0}}}})";
    std::string types;
    for (int i = 0; i < 34; ++i)
        types += std::string(i ? "," : "") + (i % 2 ? "\"full_attention\"" : "\"sliding_attention\"");
    auto v5_json = v5;
    v5_json.replace(v5_json.find("[\"full_attention\"]"), 18, "[" + types + "]");
    auto c5 = Gemma3TextConfig::from_weights(shapes, v5_json);
    EXPECT_DOUBLE_EQ(c5.rope_theta, 500000.0);
    EXPECT_DOUBLE_EQ(c5.rope_scaling_factor, 4.0);
    EXPECT_DOUBLE_EQ(c5.rope_local_base_freq, 20000.0);
    EXPECT_DOUBLE_EQ(c5.local_rope_scaling_factor, 1.0);
    EXPECT_TRUE(c5.is_full_attention(1));
    EXPECT_FALSE(c5.is_full_attention(2));

    EXPECT_THROW(Gemma3TextConfig::from_weights(shapes, R"({"rope_scaling": {"rope_type": "yarn", "factor": 8}})"),
                 EngineError);
    EXPECT_THROW(Gemma3TextConfig::from_weights(shapes, R"({"attn_logit_softcapping": 50.0})"), EngineError);
}

TEST(Gemma3Keys, ModelParametersAreTheOfficialNames) {
    auto cfg = tiny_gemma_config(); // 4 layers, runs 0..2
    std::vector<std::string> expected = {"embed_tokens.weight"};
    for (int i = 0; i <= 2; ++i)
        for (const char* s : {"input_layernorm.weight", "mlp.down_proj.weight", "mlp.gate_proj.weight",
                              "mlp.up_proj.weight", "post_attention_layernorm.weight",
                              "post_feedforward_layernorm.weight", "pre_feedforward_layernorm.weight",
                              "self_attn.k_norm.weight", "self_attn.k_proj.weight", "self_attn.o_proj.weight",
                              "self_attn.q_norm.weight", "self_attn.q_proj.weight", "self_attn.v_proj.weight"})
            expected.push_back("layers." + std::to_string(i) + "." + s);
    std::sort(expected.begin(), expected.end());
    Gemma3TextModel m(cfg, torch::TensorOptions().dtype(torch::kFloat32));
    EXPECT_EQ(sorted_keys(*m), expected);
    EXPECT_EQ(gemma3_expected_keys(cfg), expected);
}

TEST(Gemma3Keys, MapperStripsPrefixesAndDropsNonTextTensors) {
    EXPECT_EQ(gemma3_key("language_model.model.layers.3.mlp.up_proj.weight"), "layers.3.mlp.up_proj.weight");
    EXPECT_EQ(gemma3_key("model.language_model.embed_tokens.weight"), "embed_tokens.weight");
    EXPECT_EQ(gemma3_key("language_model.layers.0.self_attn.q_norm.weight"), "layers.0.self_attn.q_norm.weight");
    EXPECT_EQ(gemma3_key("model.norm.weight"), "norm.weight"); // ComfyUI layout
    EXPECT_EQ(gemma3_key("layers.0.input_layernorm.weight"), "layers.0.input_layernorm.weight");
    EXPECT_FALSE(gemma3_key("vision_tower.vision_model.embeddings.patch_embedding.weight"));
    EXPECT_FALSE(gemma3_key("model.vision_tower.vision_model.post_layernorm.weight"));
    EXPECT_FALSE(gemma3_key("multi_modal_projector.mm_input_projection_weight"));
    EXPECT_FALSE(gemma3_key("lm_head.weight"));
    EXPECT_FALSE(gemma3_key("language_model.lm_head.weight"));
    EXPECT_FALSE(gemma3_key("spiece_model"));
}

TEST(JinaConfig, DefaultsAreJinaClipV2Text) {
    JinaTextConfig c;
    EXPECT_EQ(c.hidden_size, 1024);
    EXPECT_EQ(c.num_layers, 24);
    EXPECT_EQ(c.num_heads, 16);
    EXPECT_EQ(c.head_dim(), 64);
    EXPECT_EQ(c.intermediate_size, 4096);
    EXPECT_EQ(c.vocab_size, 250002);
    EXPECT_EQ(c.type_vocab_size, 1);
    EXPECT_DOUBLE_EQ(c.rotary_base, 20000.0);
    EXPECT_DOUBLE_EQ(c.layer_norm_eps, 1e-5);
    EXPECT_EQ(c.lora_adapter, 0);
    EXPECT_DOUBLE_EQ(c.lora_alpha, 4.0);
}

TEST(JinaKeys, ModelParametersAreTheOfficialNames) {
    auto cfg = tiny_jina_config();
    std::vector<std::string> expected = {"embeddings.word_embeddings.weight", "embeddings.token_type_embeddings.weight",
                                         "emb_ln.weight", "emb_ln.bias"};
    for (int i = 0; i < 2; ++i)
        for (const char* s : {"mixer.Wqkv.weight", "mixer.Wqkv.bias", "mixer.out_proj.weight", "mixer.out_proj.bias",
                              "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias", "norm1.weight",
                              "norm1.bias", "norm2.weight", "norm2.bias"}) {
            std::string key = "encoder.layers.";
            key.append(std::to_string(i)).append(".").append(s);
            expected.push_back(key);
        }
    std::sort(expected.begin(), expected.end());
    JinaTextModel m(cfg, torch::TensorOptions().dtype(torch::kFloat32));
    EXPECT_EQ(sorted_keys(*m), expected);
    EXPECT_EQ(jina_expected_keys(cfg), expected);
}

TEST(JinaKeys, MapperStripsPrefixesAndDropsNonTextTensors) {
    EXPECT_EQ(jina_key("text_model.transformer.roberta.encoder.layers.0.norm1.weight"),
              "encoder.layers.0.norm1.weight");
    EXPECT_EQ(jina_key("text_model.transformer.roberta.embeddings.word_embeddings.parametrizations.weight.original"),
              "embeddings.word_embeddings.weight");
    EXPECT_EQ(jina_key("text_model.transformer.roberta.encoder.layers.1.mlp.fc1.parametrizations.weight.0.lora_A"),
              "encoder.layers.1.mlp.fc1.parametrizations.weight.0.lora_A");
    EXPECT_EQ(jina_key("model.encoder.layers.0.mixer.Wqkv.weight"), "encoder.layers.0.mixer.Wqkv.weight"); // ComfyUI
    EXPECT_EQ(jina_key("roberta.emb_ln.bias"), "emb_ln.bias");
    EXPECT_FALSE(jina_key("vision_model.blocks.0.attn.qkv.weight"));
    EXPECT_FALSE(jina_key("logit_scale"));
    EXPECT_FALSE(jina_key("text_model.transformer.roberta.pooler.dense.weight"));
    EXPECT_FALSE(jina_key("spiece_model"));
}

// ---------------------------------------------------------------- Gemma numerics and properties

TEST(Gemma3Numerics, RmsNormIsOnePlusWeightInFp32) {
    auto gen = at::detail::createCPUGenerator(3);
    auto x = at::normal(0.0, 3.0, {4, 16}, gen).to(torch::kBFloat16);
    Gemma3RMSNorm norm(16, 1e-6, torch::TensorOptions().dtype(torch::kBFloat16));
    {
        torch::NoGradGuard ng;
        norm->weight.copy_(at::normal(0.0, 0.5, {16}, gen));
    }
    auto xf = x.to(torch::kFloat32);
    auto expected = (xf / torch::sqrt(xf.pow(2).mean(-1, true) + 1e-6) * (1 + norm->weight.to(torch::kFloat32)))
                        .to(torch::kBFloat16);
    auto got = norm->forward(x);
    EXPECT_EQ(got.scalar_type(), torch::kBFloat16);
    // Both are one rounding of the same fp32 value to bf16, but the fp32 mean may be summed in another order
    // (the CPU's vector width picks the kernel): a value next to a rounding boundary may land one bf16 ulp away.
    auto g = got.to(torch::kFloat64).flatten(), e = expected.to(torch::kFloat64).flatten();
    for (int64_t i = 0; i < e.numel(); ++i)
        EXPECT_LE(std::fabs(g[i].item<double>() - e[i].item<double>()), charaforge::test::bf16_ulp(e[i].item<double>()))
            << "element " << i;
}

TEST(Gemma3Numerics, EmbedScaleIsRoundedToTheComputeDtype) {
    EXPECT_DOUBLE_EQ(gemma3_embed_scale(2560, torch::kBFloat16), 50.5);
    EXPECT_NEAR(gemma3_embed_scale(2560, torch::kFloat32), std::sqrt(2560.0), 1e-5);
    Gemma3Embedding emb(4, 2560, torch::TensorOptions().dtype(torch::kBFloat16));
    {
        torch::NoGradGuard ng;
        emb->weight.fill_(1.0);
    }
    auto out = emb->forward(torch::tensor({{1, 3}}, torch::kInt64));
    EXPECT_EQ(out.sizes(), (std::vector<int64_t>{1, 2, 2560}));
    EXPECT_DOUBLE_EQ(out.to(torch::kFloat64).min().item<double>(), 50.5);
    EXPECT_DOUBLE_EQ(out.to(torch::kFloat64).max().item<double>(), 50.5);
}

TEST(Gemma3Properties, CausalLaterTokensDoNotChangeEarlierOutputs) {
    auto cfg = tiny_gemma_config();
    cfg.vocab_size = 100;
    auto model = random_gemma(cfg, 1);
    torch::NoGradGuard ng;
    auto ids = random_ids(1, 12, 4, 100, 5);
    auto changed = ids.clone();
    changed[0][9] = (ids[0][9].item<int64_t>() + 7) % 96 + 4;
    auto d = position_diffs(model->forward(ids), model->forward(changed));
    for (int i = 0; i < 9; ++i)
        EXPECT_LT(d[i], 1e-6) << "position " << i;
    for (int i = 9; i < 12; ++i)
        EXPECT_GT(d[i], 1e-4) << "position " << i;
}

TEST(Gemma3Properties, SlidingLayerSeesExactlyTheLastWindowKeys) {
    // One decoder layer run (output layer 0), sliding, window 4: token j reaches queries j .. j+3 only,
    // i.e. key k is visible to query q iff 0 <= q - k < 4.
    auto cfg = tiny_gemma_config();
    cfg.vocab_size = 100;
    cfg.num_layers = 2;
    cfg.output_layer = 0;
    cfg.sliding_window = 4;
    cfg.sliding_window_pattern = 2; // layer 0 sliding
    ASSERT_FALSE(cfg.is_full_attention(0));
    auto model = random_gemma(cfg, 2);
    torch::NoGradGuard ng;
    auto ids = random_ids(1, 12, 4, 100, 6);
    auto changed = ids.clone();
    changed[0][2] = (ids[0][2].item<int64_t>() + 11) % 96 + 4;
    auto d = position_diffs(model->forward(ids), model->forward(changed));
    for (int q = 0; q < 12; ++q) {
        if (q >= 2 && q < 6)
            EXPECT_GT(d[q], 1e-4) << "query " << q << " must see key 2";
        else
            EXPECT_LT(d[q], 1e-6) << "query " << q << " must not see key 2";
    }
    // The same layer with full attention sees key 2 from every later query.
    cfg.sliding_window_pattern = 1;
    ASSERT_TRUE(cfg.is_full_attention(0));
    auto global = random_gemma(cfg, 2);
    auto dg = position_diffs(global->forward(ids), global->forward(changed));
    for (int q = 2; q < 12; ++q)
        EXPECT_GT(dg[q], 1e-4) << "query " << q;
}

TEST(Gemma3Properties, RightPaddingDoesNotChangeValidOutputs) {
    auto cfg = tiny_gemma_config();
    cfg.vocab_size = 100;
    cfg.sliding_window = 3; // make the local layers' window bite inside the sequence
    auto model = random_gemma(cfg, 3);
    torch::NoGradGuard ng;
    auto a = random_ids(1, 10, 4, 100, 7);
    auto b = random_ids(1, 6, 4, 100, 8);
    auto batch = torch::zeros({2, 10}, torch::kInt64); // pad id 0
    batch[0] = a[0];
    batch.slice(1, 0, 6)[1] = b[0];
    auto mask = torch::zeros({2, 10}, torch::kInt64);
    mask[0].fill_(1);
    mask.slice(1, 0, 6)[1].fill_(1);
    auto out = model->forward(batch, mask);
    EXPECT_LT(max_abs(out[0], model->forward(a)[0]), 1e-5);
    EXPECT_LT(max_abs(out[1].slice(0, 0, 6), model->forward(b)[0]), 1e-5);
    EXPECT_EQ(out[1].slice(0, 6, 10).abs().max().item<float>(), 0.0f);
    // What sits in the padded slots does not matter.
    auto noisy = batch.clone();
    noisy.slice(1, 6, 10)[1] = torch::tensor({50, 60, 70, 80}, torch::kInt64);
    EXPECT_LT(max_abs(model->forward(noisy, mask), out), 1e-6);
}

// ---------------------------------------------------------------- LoRA merge

TEST(JinaLora, MergedLinearEqualsWxPlusBAx) {
    auto gen = at::detail::createCPUGenerator(9);
    auto W = at::normal(0.0, 1.0, {5, 7}, gen);
    auto A = at::normal(0.0, 1.0, {2, 3, 7}, gen); // 2 stacked adapters, rank 3
    auto B = at::normal(0.0, 1.0, {2, 5, 3}, gen);
    auto x = at::normal(0.0, 1.0, {4, 7}, gen);
    const double alpha = 6.0, s = alpha / 3.0;
    auto merged = merge_lora(W, A, B, false, 1, alpha);
    auto expected = torch::matmul(x, W.t()) + s * torch::matmul(torch::matmul(x, A[1].t()), B[1].t());
    EXPECT_LT(max_abs(torch::matmul(x, merged.t()), expected), 1e-4);
    // Adapter 0 differs from adapter 1.
    EXPECT_GT(max_abs(merge_lora(W, A, B, false, 0, alpha), merged), 1e-3);
}

TEST(JinaLora, MergedEmbeddingEqualsTableLookupPlusAB) {
    auto gen = at::detail::createCPUGenerator(10);
    auto E = at::normal(0.0, 1.0, {9, 5}, gen);
    auto A = at::normal(0.0, 1.0, {1, 9, 3}, gen);
    auto B = at::normal(0.0, 1.0, {1, 3, 5}, gen);
    auto ids = torch::tensor({2, 4, 4, 8}, torch::kInt64);
    const double alpha = 3.0, s = 1.0;
    auto merged = merge_lora(E, A, B, true, 0, alpha);
    auto expected = E.index_select(0, ids) + s * torch::matmul(A[0].index_select(0, ids), B[0]);
    EXPECT_LT(max_abs(merged.index_select(0, ids), expected), 1e-5);
}

// ---------------------------------------------------------------- Jina properties

TEST(JinaProperties, PaddingAndPoolingIgnorePads) {
    auto cfg = tiny_jina_config();
    cfg.vocab_size = 100;
    auto model = random_jina(cfg, 4);
    torch::NoGradGuard ng;
    auto a = random_ids(1, 9, 3, 100, 11);
    auto b = random_ids(1, 5, 3, 100, 12);
    a[0][0] = 0, a[0][8] = 2, b[0][0] = 0, b[0][4] = 2; // <s> ... </s>
    auto batch = torch::ones({2, 9}, torch::kInt64);    // pad id 1
    batch[0] = a[0];
    batch.slice(1, 0, 5)[1] = b[0];
    auto mask = batch.ne(1);
    auto hidden = model->forward(batch);
    EXPECT_LT(max_abs(hidden[0], model->forward(a)[0]), 1e-5);
    EXPECT_LT(max_abs(hidden[1].slice(0, 0, 5), model->forward(b)[0]), 1e-5);

    auto pooled = model->pooled(batch);
    EXPECT_EQ(pooled.sizes(), (std::vector<int64_t>{2, 24}));
    EXPECT_LT(max_abs(pooled[1], model->pooled(b)[0]), 1e-5);
    auto mean_b = model->forward(b)[0].mean(0); // mean over all 5 tokens, <s> and </s> included
    EXPECT_LT(max_abs(pooled[1], mean_b), 1e-5);
    // Ids in padded slots (masked out) do not change the pooled vector.
    auto noisy = batch.clone();
    noisy.slice(1, 5, 9)[1] = torch::tensor({40, 41, 42, 43}, torch::kInt64);
    EXPECT_LT(max_abs(model->pooled(noisy, mask), pooled), 1e-6);
    // ... while an unmasked change does (the test can fail).
    EXPECT_GT(max_abs(model->pooled(noisy), pooled), 1e-4);
}

TEST(JinaProperties, AttentionIsBidirectional) {
    auto cfg = tiny_jina_config();
    cfg.vocab_size = 100;
    auto model = random_jina(cfg, 5);
    torch::NoGradGuard ng;
    auto ids = random_ids(1, 6, 3, 100, 13);
    auto changed = ids.clone();
    changed[0][5] = (ids[0][5].item<int64_t>() + 5) % 97 + 3;
    auto d = position_diffs(model->forward(ids), model->forward(changed));
    EXPECT_GT(d[0], 1e-4);
}

// ---------------------------------------------------------------- tiny model folders and tokenizers

class TextModelFolder : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        root_ = new fs::path(make_temp_dir("text_encoders"));
        write_tiny_gemma(root_->string(), 7);
        write_tiny_jina(root_->string(), 11);
    }
    static void TearDownTestSuite() {
        remove_tree(*root_);
        delete root_;
        root_ = nullptr;
    }
    static fs::path gemma_dir() { return *root_ / "text_encoder"; }
    static fs::path jina_dir() { return *root_ / "clip_model"; }
    static inline fs::path* root_ = nullptr;
};

TEST_F(TextModelFolder, GemmaFileHasTheMultimodalLayoutAndLoads) {
    SafetensorsFile f((gemma_dir() / "model.safetensors").string());
    EXPECT_NE(f.find("language_model.model.embed_tokens.weight"), nullptr);
    EXPECT_NE(f.find("language_model.model.layers.3.mlp.up_proj.weight"), nullptr);
    EXPECT_NE(f.find("language_model.model.norm.weight"), nullptr);
    EXPECT_NE(f.find("vision_tower.vision_model.embeddings.patch_embedding.weight"), nullptr);
    EXPECT_EQ(f.find("embed_tokens.weight"), nullptr);

    auto files = locate_model(root_->string(), Require::Nothing).text_encoder;
    ASSERT_EQ(files.weights.size(), 1u);
    auto model = load_gemma3(files.weights, read_config(files), torch::kCPU, torch::kFloat32);
    const auto& c = model->config();
    EXPECT_EQ(c.num_layers, 4);
    EXPECT_EQ(c.output_layer, 2);
    EXPECT_EQ(c.hidden_size, 32);
    EXPECT_EQ(c.num_heads, 2);
    EXPECT_EQ(c.num_kv_heads, 1);
    EXPECT_EQ(c.sliding_window, 8);
    EXPECT_TRUE(c.is_full_attention(1));
    EXPECT_FALSE(c.is_full_attention(2));
    auto expected = tiny_gemma_config();
    expected.vocab_size = c.vocab_size;
    EXPECT_EQ(sorted_keys(*model), gemma3_expected_keys(expected));
    // The loaded weights are the stored ones (bf16 -> fp32 is exact).
    auto stored = read_tensor(f, f.at("language_model.model.layers.2.self_attn.k_norm.weight"));
    auto layer2 = model->layers->ptr<Gemma3DecoderLayerImpl>(2);
    EXPECT_EQ(max_abs(layer2->self_attn->k_norm->weight, stored), 0.0);
}

TEST_F(TextModelFolder, GemmaComfyUiSingleFileWithEmbeddedTokenizerLoads) {
    // ComfyUI's layout: `model.*` keys, no config.json, the tokenizer embedded as the uint8 tensor spiece_model.
    SafetensorsFile official((gemma_dir() / "model.safetensors").string());
    std::vector<TensorBlob> blobs;
    for (const auto& t : official.tensors())
        if (t.name.starts_with("language_model.model."))
            blobs.push_back(to_blob("model." + t.name.substr(21), read_tensor(official, t)));
    std::ifstream tf(gemma_dir() / "tokenizer.model", std::ios::binary);
    const std::string spm((std::istreambuf_iterator<char>(tf)), {});
    TensorBlob spiece{"spiece_model", DType::U8, {static_cast<int64_t>(spm.size())}, {spm.begin(), spm.end()}};
    blobs.push_back(spiece);
    const auto file = (*root_ / "gemma_comfy.safetensors").string();
    write_safetensors(file, blobs);

    auto files = locate_model(file, Require::Nothing).text_encoder;
    ASSERT_EQ(files.weights, std::vector<std::string>{file});
    EXPECT_TRUE(files.config_json.empty());
    auto model = load_gemma3(files.weights, read_config(files), torch::kCPU, torch::kFloat32);
    EXPECT_EQ(model->config().output_layer, 2);
    auto bytes = embedded_spiece_model(files.weights);
    ASSERT_EQ(bytes, spm);
    const std::string text = "<n>miku</n> 桜 😊";
    EXPECT_EQ(GemmaTokenizer::from_bytes(bytes).encode(text).ids,
              GemmaTokenizer::from_folder(gemma_dir().string()).encode(text).ids);
    EXPECT_EQ(embedded_spiece_model({(gemma_dir() / "model.safetensors").string()}), "");
}

TEST_F(TextModelFolder, JinaFileHasLoraParametrizationsAndLoadsMerged) {
    SafetensorsFile f((jina_dir() / "model.safetensors").string());
    const std::string p = "text_model.transformer.roberta.";
    for (const char* k :
         {"embeddings.word_embeddings", "embeddings.token_type_embeddings", "encoder.layers.1.mixer.Wqkv",
          "encoder.layers.1.mixer.out_proj", "encoder.layers.1.mlp.fc1", "encoder.layers.1.mlp.fc2"}) {
        EXPECT_NE(f.find(p + k + ".parametrizations.weight.original"), nullptr) << k;
        EXPECT_NE(f.find(p + k + ".parametrizations.weight.0.lora_A"), nullptr) << k;
        EXPECT_NE(f.find(p + k + ".parametrizations.weight.0.lora_B"), nullptr) << k;
    }
    EXPECT_NE(f.find(p + "encoder.layers.0.norm1.weight"), nullptr);
    EXPECT_NE(f.find(p + "emb_ln.bias"), nullptr);
    EXPECT_NE(f.find("logit_scale"), nullptr);

    auto files = locate_model(root_->string(), Require::Nothing).clip;
    auto model = load_jina(files.weights, read_config(files), torch::kCPU, torch::kFloat32);
    auto cfg = model->config();
    EXPECT_EQ(cfg.num_heads, 2);
    EXPECT_EQ(cfg.num_layers, 2);
    EXPECT_EQ(cfg.lora_adapter, 0);
    EXPECT_DOUBLE_EQ(cfg.lora_alpha, 4.0);
    EXPECT_EQ(sorted_keys(*model), jina_expected_keys(cfg));

    // Unmerged computation from the stored tensors: W x + b + (alpha / r) B (A x), here alpha / r = 1.
    auto read = [&](const std::string& k) { return read_tensor(f, f.at(p + k)).to(torch::kFloat32); };
    auto W = read("encoder.layers.1.mixer.Wqkv.parametrizations.weight.original");
    auto A = read("encoder.layers.1.mixer.Wqkv.parametrizations.weight.0.lora_A")[0];
    auto B = read("encoder.layers.1.mixer.Wqkv.parametrizations.weight.0.lora_B")[0];
    auto bias = read("encoder.layers.1.mixer.Wqkv.bias");
    auto gen = at::detail::createCPUGenerator(21);
    auto x = at::normal(0.0, 1.0, {3, cfg.hidden_size}, gen);
    auto unmerged = torch::matmul(x, W.t()) + bias + torch::matmul(torch::matmul(x, A.t()), B.t());
    auto layer1 = model->encoder->layers->ptr<XlmrBlockImpl>(1);
    torch::NoGradGuard ng;
    EXPECT_LT(max_abs(layer1->mixer->Wqkv->forward(x), unmerged), 1e-4);
    EXPECT_GT(max_abs(unmerged, torch::matmul(x, W.t()) + bias), 1e-3); // the adapter matters

    // Embedding table: E[ids] + A[ids] B.
    auto E = read("embeddings.word_embeddings.parametrizations.weight.original");
    auto EA = read("embeddings.word_embeddings.parametrizations.weight.0.lora_A")[0];
    auto EB = read("embeddings.word_embeddings.parametrizations.weight.0.lora_B")[0];
    auto ids = torch::tensor({0, 2, 5, 17}, torch::kInt64);
    auto expected_rows = E.index_select(0, ids) + torch::matmul(EA.index_select(0, ids), EB);
    EXPECT_LT(max_abs(model->embeddings->word_embeddings->forward(ids), expected_rows), 1e-5);
}

TEST_F(TextModelFolder, RunTextComponentMatchesTheModels) {
    auto gem_ids = torch::tensor({{2, 10, 11, 12, 13}, {2, 20, 21, 0, 0}}, torch::kInt64);
    auto gem_mask = torch::tensor({{1, 1, 1, 1, 1}, {1, 1, 1, 0, 0}}, torch::kInt64);
    auto g = run_text_component("gemma", root_->string(), {{"input_ids", gem_ids}, {"attention_mask", gem_mask}},
                                torch::kCPU, torch::kFloat32);
    ASSERT_TRUE(g.count("hidden"));
    EXPECT_EQ(g["hidden"].sizes(), (std::vector<int64_t>{2, 5, 32}));
    auto files = locate_model(root_->string(), Require::Nothing).text_encoder;
    auto gm = load_gemma3(files.weights, read_config(files), torch::kCPU, torch::kFloat32);
    torch::NoGradGuard ng;
    EXPECT_LT(max_abs(g["hidden"][1].slice(0, 0, 3), gm->forward(gem_ids.slice(0, 1, 2).slice(1, 0, 3))[0]), 1e-5);

    auto jina_ids = torch::tensor({{0, 10, 11, 12, 2}, {0, 20, 2, 1, 1}}, torch::kInt64);
    auto j = run_text_component("jina", jina_dir().string(), {{"input_ids", jina_ids}}, torch::kCPU, torch::kFloat32);
    ASSERT_TRUE(j.count("hidden") && j.count("pooled"));
    EXPECT_EQ(j["pooled"].sizes(), (std::vector<int64_t>{2, 24}));
    EXPECT_LT(max_abs(j["pooled"][1], j["hidden"][1].slice(0, 0, 3).mean(0)), 1e-5);

    EXPECT_THROW(run_text_component("t5", root_->string(), {}, torch::kCPU, torch::kFloat32), EngineError);
    EXPECT_THROW(run_text_component("gemma", root_->string(), {}, torch::kCPU, torch::kFloat32), EngineError);
}

TEST_F(TextModelFolder, PromptsEncodeEndToEndInBf16) {
    auto gtok = GemmaTokenizer::from_folder(gemma_dir().string());
    auto jtok = XlmrTokenizer::from_folder(jina_dir().string());
    std::vector<TokenizedText> g_rows, j_rows;
    for (const char* text : {"<character_1><n>miku</n></character_1> 桜 😊", ""}) {
        g_rows.push_back(gtok.encode(text));
        j_rows.push_back(jtok.encode(text));
    }
    auto gb = pad_batch(g_rows, GemmaTokenizer::kPadId, 8);
    auto jb = pad_batch(j_rows, XlmrTokenizer::kPadId);
    auto gids = torch::tensor(gb.ids, torch::kInt64).view({gb.batch, gb.length});
    auto gmask = torch::tensor(gb.mask, torch::kInt64).view({gb.batch, gb.length});
    auto jids = torch::tensor(jb.ids, torch::kInt64).view({jb.batch, jb.length});
    auto g = run_text_component("gemma", root_->string(), {{"input_ids", gids}, {"attention_mask", gmask}}, torch::kCPU,
                                torch::kBFloat16);
    auto j = run_text_component("jina", root_->string(), {{"input_ids", jids}}, torch::kCPU, torch::kBFloat16);
    EXPECT_EQ(g["hidden"].scalar_type(), torch::kBFloat16);
    EXPECT_EQ(g["hidden"].size(1) % 8, 0);
    EXPECT_TRUE(torch::isfinite(g["hidden"]).all().item<bool>());
    EXPECT_TRUE(torch::isfinite(j["pooled"]).all().item<bool>());
    // The uncond prompt "" is one Gemma token (<bos>) and two Jina tokens (<s> </s>).
    EXPECT_EQ(gmask[1].sum().item<int64_t>(), 1);
    EXPECT_EQ(jids[1][0].item<int64_t>(), 0);
    EXPECT_EQ(jids[1][1].item<int64_t>(), 2);
}

TEST_F(TextModelFolder, GemmaTokenizerAddsBosOnlyAndTruncates) {
    auto tok = GemmaTokenizer::from_folder(gemma_dir().string());
    EXPECT_EQ(tok.encode("").ids, (std::vector<int64_t>{2}));
    auto t = tok.encode("1girl, solo, long hair");
    ASSERT_GT(t.ids.size(), 2u);
    EXPECT_EQ(t.ids.front(), 2);
    EXPECT_NE(t.ids.back(), 1); // no <eos>
    EXPECT_EQ(std::count(t.ids.begin(), t.ids.end(), 0), 0);
    EXPECT_FALSE(t.truncated);

    const auto n = static_cast<int64_t>(t.ids.size());
    auto exact = GemmaTokenizer::from_folder(gemma_dir().string(), n);
    EXPECT_FALSE(exact.encode("1girl, solo, long hair").truncated);
    auto short_tok = GemmaTokenizer::from_folder(gemma_dir().string(), n - 1);
    auto cut = short_tok.encode("1girl, solo, long hair");
    EXPECT_TRUE(cut.truncated);
    EXPECT_EQ(cut.ids, std::vector<int64_t>(t.ids.begin(), t.ids.end() - 1)); // keeps <bos> and the head
}

TEST_F(TextModelFolder, GemmaByteFallbackRoundTripsCjkEmojiAndXml) {
    auto tok = GemmaTokenizer::from_folder(gemma_dir().string());
    bool saw_byte = false;
    for (const std::string text :
         {"<character_1><n>hatsune miku</n><gender>1girl</gender></character_1>", "桜の木の下で微笑む少女、青い目。",
          "一个穿着红色连衣裙的女孩", "emoji 😀🎨✨ 👍🏽 🇯🇵",
          "unseen 🦄 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 Ωμέγα ♞", "  two  spaces\tand a tab ",
          "Mixed 日本語 and English 🎉"}) {
        auto ids = tok.encode(text).ids;
        EXPECT_EQ(tok.decode(ids), text);
        for (auto id : ids)
            saw_byte = saw_byte || tok.is_byte_piece(id);
    }
    EXPECT_TRUE(saw_byte) << "characters outside the training corpus must fall back to byte pieces";
}

TEST_F(TextModelFolder, XlmrTokenizerUsesTheFairseqIds) {
    auto tok = XlmrTokenizer::from_folder(jina_dir().string());
    EXPECT_EQ(tok.encode("").ids, (std::vector<int64_t>{0, 2}));
    auto t = tok.encode("1girl, solo, long hair 桜");
    EXPECT_EQ(t.ids.front(), 0);
    EXPECT_EQ(t.ids.back(), 2);
    for (std::size_t i = 1; i + 1 < t.ids.size(); ++i)
        EXPECT_GE(t.ids[i], 3) << "no <s>, <pad> or </s> inside the text";
    // A character the tokenizer has never seen is <unk> = 3 (sentencepiece's id 0).
    auto unk = tok.encode("🦄").ids;
    EXPECT_NE(std::find(unk.begin(), unk.end(), 3), unk.end());
    EXPECT_EQ(XlmrTokenizer::from_spm_id(0), 3);
    EXPECT_EQ(XlmrTokenizer::from_spm_id(3), 4);
    EXPECT_EQ(XlmrTokenizer::to_spm_id(4), 3);
    EXPECT_EQ(XlmrTokenizer::to_spm_id(1), -1);

    EXPECT_EQ(tok.vocab_size(), tok.piece_count() + 2);
    EXPECT_EQ(tok.vocab_size(), model_vocab_of(jina_dir()));
    EXPECT_EQ(tok.decode(tok.encode("long hair, smile").ids), "long hair, smile");

    auto small = XlmrTokenizer::from_folder(jina_dir().string(), 6);
    auto cut = small.encode("1girl, solo, long hair, looking at viewer, smile");
    EXPECT_TRUE(cut.truncated);
    ASSERT_EQ(cut.ids.size(), 6u);
    EXPECT_EQ(cut.ids.front(), 0);
    EXPECT_EQ(cut.ids.back(), 2); // the final </s> is kept
    auto full = tok.encode("1girl, solo, long hair, looking at viewer, smile").ids;
    EXPECT_EQ(std::vector<int64_t>(cut.ids.begin(), cut.ids.end() - 1),
              std::vector<int64_t>(full.begin(), full.begin() + 5));
}

// Expected ids from Debian's spm_encode CLI on the trained models, with the documented rules applied:
// Gemma [2] + ids; XLM-R [0] + (p == 0 ? 3 : p + 1) + [2].
TEST_F(TextModelFolder, IdsMatchSpmEncodeWithTheDocumentedOffsets) {
    if (std::system("spm_encode --help > /dev/null 2>&1") != 0)
        GTEST_SKIP() << "spm_encode (Debian package 'sentencepiece') is not installed";
    auto gtok = GemmaTokenizer::from_folder(gemma_dir().string());
    auto jtok = XlmrTokenizer::from_folder(jina_dir().string());
    auto tmp = make_temp_dir("spm");
    auto spm_ids = [&](const fs::path& model, const std::string& text) {
        const auto in = tmp / "in.txt", out = tmp / "out.txt";
        std::ofstream(in, std::ios::binary) << text << "\n";
        const auto cmd = "spm_encode --model=" + model.string() + " --output_format=id < " + in.string() + " > " +
                         out.string() + " 2>/dev/null";
        EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
        std::ifstream f(out);
        std::vector<int64_t> ids;
        for (int64_t v; f >> v;)
            ids.push_back(v);
        return ids;
    };
    for (const std::string text :
         {"1girl, solo, long hair, looking at viewer", "<character_1><n>hatsune miku</n></character_1>",
          "桜の木の下で微笑む少女", "一个穿着红色连衣裙的女孩站在海边", "emoji 😀🎨✨ 🦄 👍🏽",
          "Été, café, naïve façade",
          "You are an assistant designed to generate high-quality anime images. <Prompt Start> 1girl"}) {
        auto g = spm_ids(gemma_dir() / "tokenizer.model", text);
        g.insert(g.begin(), 2);
        EXPECT_EQ(gtok.encode(text).ids, g) << text;

        auto raw = spm_ids(jina_dir() / "sentencepiece.bpe.model", text);
        std::vector<int64_t> x = {0};
        for (auto p : raw)
            x.push_back(p == 0 ? 3 : p + 1);
        x.push_back(2);
        EXPECT_EQ(jtok.encode(text).ids, x) << text;
    }
    remove_tree(tmp);
}

TEST(Tokenizers, FolderWithOnlyTokenizerJsonNamesTheNeededFile) {
    auto dir = make_temp_dir("tokjson");
    std::ofstream(dir / "tokenizer.json") << "{}";
    try {
        GemmaTokenizer::from_folder(dir.string());
        ADD_FAILURE() << "expected an EngineError";
    } catch (const EngineError& e) {
        EXPECT_NE(std::string(e.what()).find("tokenizer.model"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("tokenizer.json"), std::string::npos) << e.what();
    }
    try {
        XlmrTokenizer::from_folder(dir.string());
        ADD_FAILURE() << "expected an EngineError";
    } catch (const EngineError& e) {
        EXPECT_NE(std::string(e.what()).find("sentencepiece.bpe.model"), std::string::npos) << e.what();
    }
    remove_tree(dir);
}

TEST(Tokenizers, PadBatchRightPadsToAMultiple) {
    auto b = pad_batch({{{2, 5, 6}, false}, {{2, 7, 8, 9, 10}, true}}, 0, 8);
    EXPECT_EQ(b.batch, 2);
    EXPECT_EQ(b.length, 8);
    EXPECT_EQ(b.ids, (std::vector<int64_t>{2, 5, 6, 0, 0, 0, 0, 0, 2, 7, 8, 9, 10, 0, 0, 0}));
    EXPECT_EQ(b.mask, (std::vector<int64_t>{1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0}));
    EXPECT_EQ(b.truncated, (std::vector<bool>{false, true}));
}

// Run in a child process by the test below: writes the tokenizers trained in a fresh process.
TEST(Tokenizers, DISABLED_TrainTinyTokenizersInto) {
    const char* out = std::getenv("CHARAFORGE_TEST_TOKENIZER_OUT");
    ASSERT_NE(out, nullptr);
    std::ofstream(fs::path(out) / "gemma.model", std::ios::binary) << train_tiny_gemma_tokenizer();
    std::ofstream(fs::path(out) / "xlmr.model", std::ios::binary) << train_tiny_xlmr_tokenizer();
}

TEST(Tokenizers, TinyTokenizerTrainingIsDeterministicAcrossProcesses) {
    auto dir = make_temp_dir("spm_train");
    const auto cmd = "CHARAFORGE_TEST_TOKENIZER_OUT=" + dir.string() + " " +
                     fs::read_symlink("/proc/self/exe").string() +
                     " --gtest_also_run_disabled_tests --gtest_filter=Tokenizers.DISABLED_TrainTinyTokenizersInto" +
                     " > " + (dir / "log.txt").string() + " 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    auto slurp = [](const fs::path& p) {
        std::ifstream f(p, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(f), {});
    };
    const auto gemma = train_tiny_gemma_tokenizer(), xlmr = train_tiny_xlmr_tokenizer();
    EXPECT_GT(gemma.size(), 1000u);
    EXPECT_EQ(slurp(dir / "gemma.model"), gemma);
    EXPECT_EQ(slurp(dir / "xlmr.model"), xlmr);
    remove_tree(dir);
}

TEST(TextEncoderConfigChecks, ShapesAreRankCheckedAndFieldsRangeChecked) {
    // Before: a rank-0 tensor was indexed before the rank check (out of bounds), and the message named no tensor.
    const std::map<std::string, std::vector<int64_t>> gemma = {{"embed_tokens.weight", {32, 16}},
                                                               {"layers.0.self_attn.q_norm.weight", {8}},
                                                               {"layers.0.self_attn.q_proj.weight", {16, 16}},
                                                               {"layers.0.self_attn.k_proj.weight", {8, 16}},
                                                               {"layers.0.mlp.gate_proj.weight", {24, 16}},
                                                               {"layers.0.input_layernorm.weight", {16}},
                                                               {"layers.1.input_layernorm.weight", {16}},
                                                               {"layers.2.input_layernorm.weight", {16}}};
    auto gemma_error = [](const std::map<std::string, std::vector<int64_t>>& s, const std::string& json) {
        try {
            Gemma3TextConfig::from_weights(s, json);
        } catch (const EngineError& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    ASSERT_EQ(gemma_error(gemma, "{}"), "");
    for (const auto& [key, shape] : gemma) {
        if (key.find("input_layernorm") != std::string::npos)
            continue; // only counted
        auto bad = gemma;
        bad[key] = {};
        EXPECT_NE(gemma_error(bad, "{}").find("'" + key + "'"), std::string::npos) << gemma_error(bad, "{}");
    }
    for (const char* json :
         {R"({"num_hidden_layers": 1099511627776})", R"({"num_hidden_layers": 1})", R"({"rope_theta": 0})",
          R"({"rms_norm_eps": -1})", R"({"pad_token_id": 99})", R"({"query_pre_attn_scalar": 0})"}) {
        const auto msg = gemma_error(gemma, json);
        EXPECT_NE(msg.find("config.json: '"), std::string::npos) << json << ": " << msg;
    }

    const std::map<std::string, std::vector<int64_t>> jina = {{"embeddings.word_embeddings.weight", {40, 16}},
                                                              {"embeddings.token_type_embeddings.weight", {1, 16}},
                                                              {"encoder.layers.0.mlp.fc1.weight", {32, 16}},
                                                              {"encoder.layers.0.mixer.Wqkv.weight", {48, 16}}};
    auto jina_error = [](const std::map<std::string, std::vector<int64_t>>& s, const std::string& json) {
        try {
            JinaTextConfig::from_weights(s, json);
        } catch (const EngineError& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    const std::string ok = R"({"num_attention_heads": 2, "pad_token_id": 1})";
    ASSERT_EQ(jina_error(jina, ok), "");
    for (const auto& [key, shape] : jina) {
        auto bad = jina;
        bad[key] = {};
        EXPECT_NE(jina_error(bad, ok).find("'" + key + "'"), std::string::npos) << jina_error(bad, ok);
    }
    for (const char* json :
         {R"({"num_attention_heads": 1e30})", R"({"num_attention_heads": 0})",
          R"({"num_attention_heads": 2, "pad_token_id": -1})", R"({"num_attention_heads": 2, "rotary_emb_base": -5})",
          R"({"num_attention_heads": 2, "layer_norm_eps": 0})"}) {
        const auto msg = jina_error(jina, json);
        EXPECT_NE(msg.find("config.json: '"), std::string::npos) << json << ": " << msg;
    }
}

// One locator for the pipeline and run-component: the text encoders of a model folder, of one component's
// folder, of one file and of a ComfyUI folder (files classified by their keys, not their names), and the
// run-component entry point on each.
TEST_F(TextModelFolder, OneLocatorFindsTheTextEncodersInEveryLayout) {
    const auto gemma_file = (gemma_dir() / "model.safetensors").string();
    const auto jina_file = (jina_dir() / "model.safetensors").string();

    auto folder = locate_model(root_->string(), Require::Nothing);
    EXPECT_EQ(folder.layout, "diffusers-folder");
    EXPECT_EQ(folder.text_encoder.weights, std::vector<std::string>{gemma_file});
    EXPECT_EQ(folder.text_encoder.config_json, (gemma_dir() / "config.json").string());
    EXPECT_EQ(folder.text_encoder.tokenizer, (gemma_dir() / "tokenizer.model").string());
    EXPECT_EQ(folder.clip.weights, std::vector<std::string>{jina_file});
    EXPECT_TRUE(folder.transformer.weights.empty());

    auto component = locate_model(jina_dir().string(), Require::Nothing);
    EXPECT_EQ(component.layout, "component-folder");
    EXPECT_EQ(component.clip.weights, std::vector<std::string>{jina_file});
    EXPECT_EQ(component.clip.config_json, (jina_dir() / "config.json").string());
    EXPECT_EQ(component.clip.tokenizer, (jina_dir() / "sentencepiece.bpe.model").string());
    EXPECT_TRUE(component.text_encoder.weights.empty());

    auto single = locate_model(gemma_file, Require::Nothing);
    EXPECT_EQ(single.layout, "single-file");
    EXPECT_EQ(single.text_encoder.weights, std::vector<std::string>{gemma_file});
    EXPECT_TRUE(single.clip.weights.empty());

    // ComfyUI: names that say nothing, in text_encoders/.
    TempDir comfy;
    fs::create_directories(comfy.path() / "text_encoders");
    fs::copy_file(gemma_file, comfy.path() / "text_encoders" / "a.safetensors");
    fs::copy_file(jina_file, comfy.path() / "text_encoders" / "b.safetensors");
    auto files = locate_model(comfy.path().string(), Require::Nothing);
    EXPECT_EQ(files.layout, "comfyui-files");
    EXPECT_EQ(files.text_encoder.weights,
              std::vector<std::string>{(comfy.path() / "text_encoders" / "a.safetensors").string()});
    EXPECT_EQ(files.clip.weights,
              std::vector<std::string>{(comfy.path() / "text_encoders" / "b.safetensors").string()});

    // run-component reaches the same files from each (it used to take every .safetensors of a folder as the
    // encoder's shards, and found nothing in a ComfyUI folder).
    auto ids = torch::tensor({{2, 10, 11, 12}}, torch::kInt64);
    const auto expected =
        run_text_component("gemma", root_->string(), {{"input_ids", ids}}, torch::kCPU, torch::kFloat32);
    auto from_component =
        run_text_component("gemma", gemma_dir().string(), {{"input_ids", ids}}, torch::kCPU, torch::kFloat32);
    EXPECT_EQ(max_abs(from_component.at("hidden"), expected.at("hidden")), 0.0) << "the same files, config included";
    // A lone file has no config.json beside it (its config comes from the weights' shapes): the same file, run.
    for (const auto& where : {gemma_file, comfy.path().string()})
        EXPECT_EQ(
            run_text_component("gemma", where, {{"input_ids", ids}}, torch::kCPU, torch::kFloat32).at("hidden").sizes(),
            expected.at("hidden").sizes())
            << where;
    EXPECT_THROW(run_text_component("gemma", jina_dir().string(), {{"input_ids", ids}}, torch::kCPU, torch::kFloat32),
                 EngineError);
    EXPECT_THROW(locate_model((comfy.path() / "missing").string(), Require::Nothing), EngineError);
    EXPECT_THROW(locate_model(comfy.path().string(), Require::Transformer), EngineError);
}
