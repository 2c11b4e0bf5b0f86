#include "charaforge/engine/error.h"
#include "charaforge/engine/pipeline.h"
#include "core/engine/test_util.h"
#include "file_util.h"
#include "model_folder.h"
#include "nextdit.h"
#include "test_model.h"
#include "weights.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <tuple>

using namespace charaforge::engine;
using charaforge::test::TempDir;

namespace {

NextDiT random_tiny(uint64_t seed = 1) {
    NextDiT m(tiny_nextdit_config(), torch::TensorOptions().dtype(torch::kFloat32));
    nn::init_random(*m, seed, 0.05);
    m->eval();
    return m;
}

std::set<std::string> module_keys(torch::nn::Module& m) {
    std::set<std::string> keys;
    for (auto& p : m.named_parameters(true))
        keys.insert(p.key());
    return keys;
}

} // namespace

TEST(NextDiT, ReleasedConfigHasTheSpecsParameterListAndCount) {
    // Spec §2.2: 535 tensors, 3,486,636,096 parameters. Built on the meta device: no memory is used.
    NextDiTConfig cfg;
    NextDiT m(cfg, torch::TensorOptions().dtype(torch::kBFloat16).device(torch::kMeta));
    auto params = m->named_parameters(true);
    EXPECT_EQ(params.size(), 535u);
    int64_t total = 0;
    for (auto& p : params)
        total += p.value().numel();
    EXPECT_EQ(total, 3486636096LL);
    auto shape = [&](const std::string& k) { return params[k].sizes().vec(); };
    EXPECT_EQ(shape("layers.35.attention.qkv.weight"), (std::vector<int64_t>{3840, 2304}));
    EXPECT_EQ(shape("layers.0.feed_forward.w2.weight"), (std::vector<int64_t>{2304, 9216}));
    EXPECT_EQ(shape("noise_refiner.1.adaLN_modulation.1.weight"), (std::vector<int64_t>{9216, 1024}));
    EXPECT_EQ(shape("cap_embedder.1.weight"), (std::vector<int64_t>{2304, 2560}));
    EXPECT_EQ(shape("time_text_embed.1.weight"), (std::vector<int64_t>{1024, 2048}));
    EXPECT_EQ(shape("final_layer.linear.weight"), (std::vector<int64_t>{64, 2304}));
    EXPECT_EQ(shape("x_embedder.weight"), (std::vector<int64_t>{2304, 64}));
    EXPECT_EQ(shape("t_embedder.mlp.0.weight"), (std::vector<int64_t>{1024, 256}));
    EXPECT_EQ(shape("layers.0.attention.q_norm.weight"), (std::vector<int64_t>{96}));
    EXPECT_FALSE(params.contains("context_refiner.0.adaLN_modulation.1.weight"));
    auto expected = nextdit_expected_keys(cfg);
    EXPECT_EQ(module_keys(*m), std::set<std::string>(expected.begin(), expected.end()));
}

TEST(NextDiT, ConfigIsRecoveredFromTensorShapes) {
    auto cfg = tiny_nextdit_config();
    NextDiT m(cfg, torch::TensorOptions().device(torch::kMeta));
    std::map<std::string, std::vector<int64_t>> shapes;
    for (auto& p : m->named_parameters(true))
        shapes[p.key()] = p.value().sizes().vec();
    auto got = NextDiTConfig::from_weights(shapes);
    EXPECT_EQ(got.dim, cfg.dim);
    EXPECT_EQ(got.n_heads, cfg.n_heads);
    EXPECT_EQ(got.n_kv_heads, cfg.n_kv_heads);
    EXPECT_EQ(got.n_layers, cfg.n_layers);
    EXPECT_EQ(got.n_refiner_layers, cfg.n_refiner_layers);
    EXPECT_EQ(got.ffn_hidden, cfg.ffn_hidden);
    EXPECT_EQ(got.cap_feat_dim, cfg.cap_feat_dim);
    EXPECT_EQ(got.clip_text_dim, cfg.clip_text_dim);
    EXPECT_EQ(got.axes_dims, cfg.axes_dims);
    // Released shapes give the released architecture.
    NextDiT full(NextDiTConfig{}, torch::TensorOptions().device(torch::kMeta));
    shapes.clear();
    for (auto& p : full->named_parameters(true))
        shapes[p.key()] = p.value().sizes().vec();
    auto rel = NextDiTConfig::from_weights(shapes);
    EXPECT_EQ(rel.n_heads, 24);
    EXPECT_EQ(rel.n_kv_heads, 8);
    EXPECT_EQ(rel.n_layers, 36);
    EXPECT_EQ(rel.axes_dims, (std::array<int64_t, 3>{32, 32, 32}));
}

TEST(NextDiT, RopeRotatesAdjacentPairsPerAxis) {
    // Pair k (dims 2k, 2k+1) belongs to axis k / (d/2) and rotates by pos_axis * theta^(-2j/d), j = k mod (d/2).
    const int64_t d = 4, pairs = 6; // head dim 12, axes 4/4/4
    const std::array<double, 3> pos{3, 5, 7};
    auto x = torch::zeros({1, 1, 1, 2 * pairs});
    for (int64_t k = 0; k < pairs; ++k)
        x[0][0][0][2 * k] = 1.0; // unit real part
    auto cos = torch::empty({1, 1, pairs}), sin = torch::empty({1, 1, pairs});
    for (int64_t k = 0; k < pairs; ++k) {
        const int64_t axis = k / (d / 2), j = k % (d / 2);
        const double ang = pos[axis] * std::pow(10000.0, -2.0 * j / d);
        cos[0][0][k] = std::cos(ang);
        sin[0][0][k] = std::sin(ang);
    }
    auto y = apply_rope(x, cos, sin);
    for (int64_t k = 0; k < pairs; ++k) {
        EXPECT_NEAR(y[0][0][0][2 * k].item<double>(), cos[0][0][k].item<double>(), 1e-6);
        EXPECT_NEAR(y[0][0][0][2 * k + 1].item<double>(), sin[0][0][k].item<double>(), 1e-6);
    }
}

TEST(NextDiT, PaddedBatchEqualsUnpaddedSingles) {
    // Spec §2.5: padding and masks change nothing for the valid tokens.
    torch::NoGradGuard ng;
    auto m = random_tiny();
    const auto& c = m->config();
    torch::manual_seed(3);
    auto x = torch::randn({2, 16, 8, 6});
    auto t = torch::tensor({0.3f, 0.7f});
    auto cap = torch::randn({2, 5, c.cap_feat_dim});
    auto pooled = torch::randn({2, c.clip_text_dim});
    auto batched = m->forward(x, t, cap, {5, 2}, pooled);
    auto a = m->forward(x.narrow(0, 0, 1), t.narrow(0, 0, 1), cap.narrow(0, 0, 1), {5}, pooled.narrow(0, 0, 1));
    auto b = m->forward(x.narrow(0, 1, 1), t.narrow(0, 1, 1), cap.narrow(0, 1, 1).narrow(1, 0, 2), {2},
                        pooled.narrow(0, 1, 1));
    EXPECT_EQ(batched.sizes(), x.sizes());
    EXPECT_LT((batched[0] - a[0]).abs().max().item<float>(), 1e-5);
    EXPECT_LT((batched[1] - b[0]).abs().max().item<float>(), 1e-5);
    // Garbage in the padded caption slots must not leak into the output.
    auto cap2 = cap.clone();
    cap2[1].narrow(0, 2, 3).fill_(1e3);
    auto batched2 = m->forward(x, t, cap2, {5, 2}, pooled);
    EXPECT_LT((batched2 - batched).abs().max().item<float>(), 1e-5);
}

TEST(NextDiT, CaptionsEncodedOnceEqualTheFullForwardAtEveryStepAndGrid) {
    // The sampler encodes the captions once per batch; each step and grid must get what the plain forward gives.
    torch::NoGradGuard ng;
    auto m = random_tiny();
    const auto& c = m->config();
    torch::manual_seed(5);
    auto cap = torch::randn({2, 5, c.cap_feat_dim});
    auto pooled = torch::randn({2, c.clip_text_dim});
    auto caps = m->encode_captions(cap, {5, 2});
    for (auto [h, w, tv] : {std::tuple{8, 6, 0.3f}, std::tuple{8, 6, 0.8f}, std::tuple{4, 10, 0.5f}}) {
        auto x = torch::randn({2, 16, h, w});
        auto t = torch::full({2}, tv);
        auto once = m->forward(x, t, caps, pooled);
        auto full = m->forward(x, t, cap, {5, 2}, pooled);
        EXPECT_EQ(once.sizes(), x.sizes());
        EXPECT_TRUE(torch::equal(once, full)) << h << "x" << w << " t " << tv;
    }
    EXPECT_THROW(m->encode_captions(cap, {5}), c10::Error);
    EXPECT_THROW(m->encode_captions(cap, {6, 2}), c10::Error);
}

TEST(NextDiT, OutputDependsOnEveryInput) {
    torch::NoGradGuard ng;
    auto m = random_tiny();
    const auto& c = m->config();
    torch::manual_seed(4);
    auto x = torch::randn({1, 16, 4, 4});
    auto t = torch::tensor({0.5f});
    auto cap = torch::randn({1, 3, c.cap_feat_dim});
    auto pooled = torch::randn({1, c.clip_text_dim});
    auto base = m->forward(x, t, cap, {3}, pooled);
    auto differs = [&](const torch::Tensor& y) { return (y - base).abs().max().item<float>() > 1e-6; };
    EXPECT_TRUE(differs(m->forward(x, torch::tensor({0.6f}), cap, {3}, pooled)));
    // (Scaling `cap` would change nothing: the caption embedder starts with an RMSNorm.)
    EXPECT_FALSE(differs(m->forward(x, t, cap * 2, {3}, pooled)));
    EXPECT_TRUE(differs(m->forward(x, t, cap + torch::randn_like(cap), {3}, pooled)));
    EXPECT_TRUE(differs(m->forward(x, t, cap, {3}, pooled + 1)));
    EXPECT_TRUE(differs(m->forward(x + 0.1, t, cap, {3}, pooled)));
}

TEST(NextDiT, LoadingIsStrictAndNamesMissingKeysAndFile) {
    TempDir dir;
    write_tiny_transformer(dir.str(), tiny_nextdit_config(), 7);
    const auto path = dir.file("transformer/diffusion_pytorch_model.safetensors");
    SafetensorsFile f(path);
    // Rewrite the file without one tensor and with an extra one.
    std::vector<TensorBlob> blobs;
    for (const auto& t : f.tensors())
        if (t.name != "layers.1.attention.k_norm.weight")
            blobs.push_back(to_blob(t.name, read_tensor(f, t)));
    blobs.push_back(to_blob("layers.9.extra.weight", torch::zeros({2})));
    TempDir bad;
    std::filesystem::create_directories(bad.path() / "transformer");
    write_safetensors(bad.file("transformer/model.safetensors"), blobs);
    ComponentFiles files{{bad.file("transformer/model.safetensors")}, "", ""};
    try {
        load_transformer(files, Runtime{});
        FAIL() << "loaded an incomplete checkpoint";
    } catch (const EngineError& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("layers.1.attention.k_norm.weight"), std::string::npos) << msg;
        EXPECT_NE(msg.find("layers.9.extra.weight"), std::string::npos) << msg;
        EXPECT_NE(msg.find("model.safetensors"), std::string::npos) << msg;
    }
}

TEST(NextDiT, WrapperPrefixesAreStripped) {
    EXPECT_EQ(*transformer_key("model.diffusion_model.layers.0.attention.qkv.weight"), "layers.0.attention.qkv.weight");
    EXPECT_EQ(*transformer_key("inner_model.x_embedder.weight"), "x_embedder.weight");
    EXPECT_EQ(*transformer_key("x_embedder.weight"), "x_embedder.weight");
}

namespace {

std::map<std::string, std::vector<int64_t>> tiny_shapes() {
    NextDiT m(tiny_nextdit_config(), torch::TensorOptions().device(torch::kMeta));
    std::map<std::string, std::vector<int64_t>> shapes;
    for (auto& p : m->named_parameters(true))
        shapes[p.key()] = p.value().sizes().vec();
    return shapes;
}

// The message of the EngineError that from_weights throws (an empty string when it does not throw).
std::string from_weights_error(const std::map<std::string, std::vector<int64_t>>& shapes,
                               const std::string& json = {}) {
    try {
        NextDiTConfig::from_weights(shapes, json, "/m/transformer/config.json");
    } catch (const EngineError& e) {
        return e.what();
    }
    return {};
}

} // namespace

TEST(NextDiTConfigChecks, EveryShapeReadIsRankCheckedFirst) {
    // Before: rank 0 of these read past an empty shape (SIGSEGV); rank 1 read garbage ("n_kv_heads -124").
    for (const char* key : {"x_embedder.weight", "t_embedder.mlp.0.weight", "layers.0.attention.qkv.weight",
                            "layers.0.attention.q_norm.weight", "layers.0.feed_forward.w1.weight",
                            "cap_embedder.1.weight", "clip_text_pooled_proj.1.weight"}) {
        for (const std::vector<int64_t>& bad :
             {std::vector<int64_t>{}, std::vector<int64_t>{4}, std::vector<int64_t>{2, 3, 4}}) {
            auto shapes = tiny_shapes();
            const bool matrix = shapes.at(key).size() == 2;
            if (!matrix && bad.size() == 1)
                continue; // q_norm is rank 1: {4} is a valid rank
            shapes[key] = bad;
            const auto msg = from_weights_error(shapes);
            EXPECT_NE(msg.find(std::string("'") + key + "'"), std::string::npos)
                << key << " rank " << bad.size() << ": " << msg;
            EXPECT_NE(msg.find("rank"), std::string::npos) << msg;
        }
    }
}

TEST(NextDiTConfigChecks, ZeroSizedAndInconsistentShapesAreErrors) {
    auto shapes = tiny_shapes();
    shapes["layers.0.attention.q_norm.weight"] = {0};
    EXPECT_NE(from_weights_error(shapes).find("q_norm"), std::string::npos);
    shapes = tiny_shapes();
    shapes["layers.0.attention.qkv.weight"][0] = 4; // fewer rows than the query heads need
    EXPECT_NE(from_weights_error(shapes).find("layers.0.attention.qkv.weight"), std::string::npos);
    shapes = tiny_shapes();
    shapes["x_embedder.weight"][1] = 7; // not patch_size^2 x channels
    EXPECT_NE(from_weights_error(shapes).find("x_embedder.weight"), std::string::npos);
}

TEST(NextDiTConfigChecks, ConfigFieldsAreTypeAndRangeChecked) {
    const auto shapes = tiny_shapes();
    ASSERT_EQ(from_weights_error(shapes, R"({"patch_size": 2, "rope_theta": 10000.0})"), "");
    struct Case {
        const char* json;
        const char* field;
        const char* allowed;
    };
    // Before: patch_size 0 / 2^32 / 1e30 gave SIGFPE, rope_theta <= 0 an all-black image, type errors no file.
    for (const Case& c : std::vector<Case>{{R"({"patch_size": 0})", "'patch_size'", "[1, 16]"},
                                           {R"({"patch_size": 4294967296})", "'patch_size'", "[1, 16]"},
                                           {R"({"patch_size": 1e30})", "'patch_size'", "[1, 16]"},
                                           {R"({"patch_size": "2"})", "'patch_size'", "[1, 16]"},
                                           {R"({"patch_size": -2})", "'patch_size'", "[1, 16]"},
                                           {R"({"rope_theta": 0})", "'rope_theta'", "(0, "},
                                           {R"({"rope_theta": -10000})", "'rope_theta'", "(0, "},
                                           {R"({"rope_theta": "big"})", "'rope_theta'", "(0, "},
                                           {R"({"norm_eps": 0})", "'norm_eps'", "(0, 1]"},
                                           {R"({"in_channels": 0})", "'in_channels'", "[1, "},
                                           {R"({"in_channels": 3})", "'in_channels'", "x_embedder"},
                                           {R"({"axes_dims": [4, 4]})", "'axes_dims'", "3 integers"},
                                           {R"({"axes_dims": [2, 2, 2]})", "'axes_dims'", "sum"},
                                           {R"({"axes_lens": [0, 1, 1]})", "'axes_lens'", "[1, "},
                                           {R"({"n_heads": 3})", "'n_heads'", "weights"},
                                           {R"({"dim": 1.5})", "'dim'", "weights"},
                                           {R"([1, 2])", "not a JSON object", ""},
                                           {R"({"patch_size": )", "not valid JSON", ""}}) {
        const auto msg = from_weights_error(shapes, c.json);
        EXPECT_EQ(msg.rfind("nextdit: /m/transformer/config.json", 0), 0u) << c.json << ": " << msg;
        EXPECT_NE(msg.find(c.field), std::string::npos) << c.json << ": " << msg;
        EXPECT_NE(msg.find(c.allowed), std::string::npos) << c.json << ": " << msg;
    }
}

TEST(NextDiTConfigChecks, ABadConfigInAModelFolderNamesTheFile) {
    TempDir dir;
    make_test_model(dir.str(), 3);
    const auto config = (dir.path() / "transformer" / "config.json").string();
    auto text = read_file(config);
    const auto at = text.find("\"patch_size\": 2");
    ASSERT_NE(at, std::string::npos) << text;
    text.replace(at, 15, "\"patch_size\": 0");
    write_file_atomic(config, text);
    RuntimeOptions o;
    o.device = "cpu";
    try {
        Pipeline::open(dir.str(), o);
        FAIL() << "opened a model with patch_size 0";
    } catch (const EngineError& e) {
        EXPECT_NE(std::string(e.what()).find("transformer/config.json: 'patch_size' must be an integer in [1, 16]"),
                  std::string::npos)
            << e.what();
        EXPECT_NE(std::string(e.what()).find("'patch_size'"), std::string::npos) << e.what();
    }
}
