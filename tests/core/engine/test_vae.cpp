// FLUX AutoencoderKL on CPU with a tiny config and the real key names: naming, shapes, BFL key mapping,
// strict loading, numbers that follow from the architecture rather than from the code under test, and
// golden numbers from BFL's reference autoencoder (tools/parity/vae_parity.py --golden).
#include "charaforge/engine/error.h"
#include "model_folder.h"
#include "nn.h"
#include "safetensors.h"
#include "vae.h"
#include "weights.h"

#include "core/engine/test_util.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace charaforge::engine;

namespace {

VaeConfig tiny_config() {
    VaeConfig c;
    c.block_out_channels = {16, 32, 32, 32};
    c.layers_per_block = 1;
    c.norm_num_groups = 8;
    return c; // in 3, out 3, latent 16, scaling/shift as FLUX
}

AutoencoderKL tiny_model(uint64_t seed, double std = 0.1, torch::Dtype dtype = torch::kFloat32) {
    AutoencoderKL m(tiny_config(), torch::TensorOptions().dtype(dtype));
    nn::init_random(*m, seed, std);
    m->eval();
    return m;
}

std::map<std::string, torch::Tensor> params_of(const torch::nn::Module& m) {
    std::map<std::string, torch::Tensor> out;
    for (const auto& p : m.named_parameters(true))
        out[p.key()] = p.value();
    return out;
}

std::set<std::string> key_set(const torch::nn::Module& m) {
    std::set<std::string> keys;
    for (const auto& p : m.named_parameters(true))
        keys.insert(p.key());
    for (const auto& b : m.named_buffers(true))
        keys.insert(b.key());
    return keys;
}

// The diffusers state-dict keys, written out from the naming in the spec (section 4.3), not from the module.
std::set<std::string> expected_diffusers_keys(int64_t n_levels, int64_t layers, const std::set<std::string>& shortcuts,
                                              bool attention = true) {
    std::set<std::string> keys;
    auto wb = [&](const std::string& p) {
        keys.insert(p + ".weight");
        keys.insert(p + ".bias");
    };
    auto resnet = [&](const std::string& p) {
        for (const char* s : {"norm1", "conv1", "norm2", "conv2"})
            wb(p + "." + s);
        if (shortcuts.count(p))
            wb(p + ".conv_shortcut");
    };
    auto mid = [&](const std::string& p) {
        resnet(p + ".mid_block.resnets.0");
        resnet(p + ".mid_block.resnets.1");
        if (attention)
            for (const char* s : {"group_norm", "to_q", "to_k", "to_v", "to_out.0"})
                wb(p + ".mid_block.attentions.0." + s);
    };
    for (const char* side : {"encoder", "decoder"}) {
        wb(std::string(side) + ".conv_in");
        wb(std::string(side) + ".conv_norm_out");
        wb(std::string(side) + ".conv_out");
        mid(side);
    }
    for (int64_t i = 0; i < n_levels; ++i) {
        const auto p = "encoder.down_blocks." + std::to_string(i);
        for (int64_t j = 0; j < layers; ++j)
            resnet(p + ".resnets." + std::to_string(j));
        if (i != n_levels - 1)
            wb(p + ".downsamplers.0.conv");
    }
    for (int64_t k = 0; k < n_levels; ++k) {
        const auto p = "decoder.up_blocks." + std::to_string(k);
        for (int64_t j = 0; j < layers + 1; ++j)
            resnet(p + ".resnets." + std::to_string(j));
        if (k != n_levels - 1)
            wb(p + ".upsamplers.0.conv");
    }
    return keys;
}

std::string diff(const std::set<std::string>& got, const std::set<std::string>& want) {
    std::string s;
    for (const auto& k : got)
        if (!want.count(k))
            s += "\n  unexpected " + k;
    for (const auto& k : want)
        if (!got.count(k))
            s += "\n  missing " + k;
    return s;
}

// Inverse of the BFL mapping, written from flux/modules/autoencoder.py's attribute names: Encoder.down[i].block[j],
// .downsample, .mid.block_1/attn_1/block_2, .norm_out; Decoder.up[i] indexed by resolution level (up[0] is the last
// to run); ResnetBlock.nin_shortcut; AttnBlock.norm/q/k/v/proj_out.
std::string diffusers_to_bfl(const std::string& key, int64_t n_levels) {
    auto replace = [](std::string s, const std::string& from, const std::string& to) {
        auto pos = s.find(from);
        if (pos != std::string::npos)
            s.replace(pos, from.size(), to);
        return s;
    };
    std::string k = key;
    k = replace(k, "conv_shortcut", "nin_shortcut");
    k = replace(k, "conv_norm_out", "norm_out");
    k = replace(k, "mid_block.resnets.0", "mid.block_1");
    k = replace(k, "mid_block.resnets.1", "mid.block_2");
    k = replace(k, "mid_block.attentions.0.group_norm", "mid.attn_1.norm");
    k = replace(k, "mid_block.attentions.0.to_q", "mid.attn_1.q");
    k = replace(k, "mid_block.attentions.0.to_k", "mid.attn_1.k");
    k = replace(k, "mid_block.attentions.0.to_v", "mid.attn_1.v");
    k = replace(k, "mid_block.attentions.0.to_out.0", "mid.attn_1.proj_out");
    k = replace(k, "downsamplers.0", "downsample");
    k = replace(k, "upsamplers.0", "upsample");
    k = replace(k, "down_blocks.", "down.");
    if (k.rfind("decoder.up_blocks.", 0) == 0) {
        const auto rest = k.substr(std::string("decoder.up_blocks.").size());
        const auto dot = rest.find('.');
        const int64_t level = n_levels - 1 - std::stoll(rest.substr(0, dot));
        k = "decoder.up." + std::to_string(level) + rest.substr(dot);
    }
    k = replace(k, ".resnets.", ".block.");
    return k;
}

class VaeFiles : public ::testing::Test {
protected:
    void SetUp() override { dir_ = charaforge::test::make_temp_dir("vae"); }
    void TearDown() override { charaforge::test::remove_tree(dir_); }
    std::string path(const std::string& name) const { return (dir_ / name).string(); }
    fs::path dir_;
};

} // namespace

TEST(Vae, ModuleKeysAreTheDiffusersKeys) {
    auto m = tiny_model(1);
    // Channels change (and a 1x1 shortcut appears) at encoder level 1 (16 -> 32) and decoder level 3 (32 -> 16).
    const auto want =
        expected_diffusers_keys(4, 1, {"encoder.down_blocks.1.resnets.0", "decoder.up_blocks.3.resnets.0"});
    const auto got = key_set(*m);
    EXPECT_EQ(got, want) << diff(got, want);

    auto p = params_of(*m);
    EXPECT_EQ(p.at("encoder.conv_in.weight").sizes(), (std::vector<int64_t>{16, 3, 3, 3}));
    EXPECT_EQ(p.at("encoder.conv_out.weight").sizes(), (std::vector<int64_t>{32, 32, 3, 3})); // 2 x 16 latent
    EXPECT_EQ(p.at("encoder.down_blocks.1.resnets.0.conv_shortcut.weight").sizes(),
              (std::vector<int64_t>{32, 16, 1, 1}));
    EXPECT_EQ(p.at("encoder.mid_block.attentions.0.to_q.weight").sizes(), (std::vector<int64_t>{32, 32}));
    EXPECT_EQ(p.at("decoder.mid_block.attentions.0.to_out.0.weight").sizes(), (std::vector<int64_t>{32, 32}));
    EXPECT_EQ(p.at("decoder.conv_in.weight").sizes(), (std::vector<int64_t>{32, 16, 3, 3}));
    EXPECT_EQ(p.at("decoder.up_blocks.3.resnets.0.conv_shortcut.weight").sizes(), (std::vector<int64_t>{16, 32, 1, 1}));
    EXPECT_EQ(p.at("decoder.conv_out.weight").sizes(), (std::vector<int64_t>{3, 16, 3, 3}));
}

TEST(Vae, FluxConfigHasTheReleasedParameterCount) {
    // Uninitialised parameters: allocating them touches no memory.
    AutoencoderKL m(VaeConfig{}, torch::TensorOptions().dtype(torch::kFloat32));
    int64_t n = 0;
    for (const auto& p : m->parameters())
        n += p.numel();
    // Counted by hand from the architecture in spec 4.3 (= diffusers' FLUX.1 VAE, 83.8 M).
    EXPECT_EQ(n, 83819683);
    const auto want = expected_diffusers_keys(4, 2,
                                              {"encoder.down_blocks.1.resnets.0", "encoder.down_blocks.2.resnets.0",
                                               "decoder.up_blocks.2.resnets.0", "decoder.up_blocks.3.resnets.0"});
    const auto got = key_set(*m);
    EXPECT_EQ(got, want) << diff(got, want);
    EXPECT_EQ(m->downscale_factor(), 8);
}

TEST(Vae, ConfigFromWeights) {
    auto m = tiny_model(1);
    std::map<std::string, std::vector<int64_t>> shapes;
    for (const auto& [k, t] : params_of(*m))
        shapes[k] = t.sizes().vec();

    auto c = VaeConfig::from_weights(shapes, R"({"norm_num_groups": 8})");
    EXPECT_EQ(c.block_out_channels, (std::vector<int64_t>{16, 32, 32, 32}));
    EXPECT_EQ(c.layers_per_block, 1);
    EXPECT_EQ(c.latent_channels, 16);
    EXPECT_EQ(c.in_channels, 3);
    EXPECT_EQ(c.out_channels, 3);
    EXPECT_EQ(c.norm_num_groups, 8);
    EXPECT_TRUE(c.mid_block_add_attention);
    EXPECT_DOUBLE_EQ(c.scaling_factor, 0.3611); // FLUX defaults when config.json does not say
    EXPECT_DOUBLE_EQ(c.shift_factor, 0.1159);

    // config.json values win; a null shift (diffusers' "no shift") is zero.
    c = VaeConfig::from_weights(shapes, R"({"norm_num_groups": 4, "scaling_factor": 0.5, "shift_factor": null})");
    EXPECT_EQ(c.norm_num_groups, 4);
    EXPECT_DOUBLE_EQ(c.scaling_factor, 0.5);
    EXPECT_DOUBLE_EQ(c.shift_factor, 0.0);

    // A stated architecture that contradicts the weights is an error, not a silent override.
    EXPECT_THROW(VaeConfig::from_weights(shapes, R"({"norm_num_groups": 8, "latent_channels": 4})"), EngineError);
    EXPECT_THROW(VaeConfig::from_weights(shapes, R"({"norm_num_groups": 8, "use_quant_conv": true})"), EngineError);
    EXPECT_THROW(VaeConfig::from_weights(shapes, "{not json"), EngineError);
    // 32 groups do not divide 16 channels.
    EXPECT_THROW(VaeConfig::from_weights(shapes), EngineError);

    auto no_attn = shapes;
    for (auto it = no_attn.begin(); it != no_attn.end();)
        it = it->first.find(".attentions.") != std::string::npos ? no_attn.erase(it) : std::next(it);
    EXPECT_FALSE(VaeConfig::from_weights(no_attn, R"({"norm_num_groups": 8})").mid_block_add_attention);

    auto missing = shapes;
    missing.erase("decoder.conv_in.weight");
    try {
        VaeConfig::from_weights(missing, R"({"norm_num_groups": 8})");
        FAIL() << "no error for a missing tensor";
    } catch (const EngineError& e) {
        EXPECT_NE(std::string(e.what()).find("vae: "), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("decoder.conv_in.weight"), std::string::npos) << e.what();
    }
    auto quant = shapes;
    quant["quant_conv.weight"] = {32, 32, 1, 1};
    EXPECT_THROW(VaeConfig::from_weights(quant, R"({"norm_num_groups": 8})"), EngineError);
}

TEST(Vae, DecodeShapeRangeAndBatchConsistency) {
    auto m = tiny_model(2);
    torch::manual_seed(0);
    auto z = torch::randn({2, 16, 4, 6});
    auto rgb = m->decode(z);
    ASSERT_EQ(rgb.sizes(), (std::vector<int64_t>{2, 3, 32, 48}));
    EXPECT_EQ(rgb.scalar_type(), torch::kFloat32);
    EXPECT_GE(rgb.min().item<float>(), 0.0f);
    EXPECT_LE(rgb.max().item<float>(), 1.0f);
    EXPECT_GT(rgb.std().item<float>(), 1e-3f); // not a constant image
    // Each sample is decoded independently of the others in the batch.
    auto one = m->decode(z.narrow(0, 1, 1));
    EXPECT_TRUE(torch::allclose(one[0], rgb[1], 1e-5, 1e-5));
    EXPECT_THROW(m->decode(torch::zeros({1, 4, 4, 4})), EngineError);
}

TEST(Vae, EncodeShapeAndBatchConsistency) {
    auto m = tiny_model(3);
    torch::manual_seed(1);
    auto rgb = torch::rand({2, 3, 32, 40});
    auto z = m->encode(rgb);
    ASSERT_EQ(z.sizes(), (std::vector<int64_t>{2, 16, 4, 5}));
    EXPECT_EQ(z.scalar_type(), torch::kFloat32);
    auto one = m->encode(rgb.narrow(0, 0, 1));
    EXPECT_TRUE(torch::allclose(one[0], z[0], 1e-5, 1e-5));
    EXPECT_THROW(m->encode(torch::rand({1, 3, 36, 32})), EngineError); // not a multiple of 8
}

TEST(Vae, DecodeAndEncodeNormaliseWithFluxScaleAndShift) {
    auto m = tiny_model(4, 0.05);
    torch::manual_seed(2);
    auto z = torch::randn({1, 16, 4, 4});
    auto raw = m->decoder_forward(z / 0.3611 + 0.1159);
    auto want_rgb = ((raw + 1) / 2).clamp(0, 1);
    EXPECT_TRUE(torch::allclose(m->decode(z), want_rgb, 1e-6, 1e-6));

    auto rgb = torch::rand({1, 3, 32, 32});
    auto moments = m->encoder_forward(rgb * 2 - 1); // [1, 32, 4, 4]
    ASSERT_EQ(moments.sizes(), (std::vector<int64_t>{1, 32, 4, 4}));
    auto want_z = (moments.narrow(1, 0, 16) - 0.1159) * 0.3611;
    EXPECT_TRUE(torch::allclose(m->encode(rgb), want_z, 1e-6, 1e-6));
}

TEST(Vae, ZeroNetworkDecodesToConvOutBias) {
    // With every weight zero, each layer outputs zeros (GroupNorm of zeros is its zero bias) and the
    // image is decoder.conv_out's bias: rgb = clamp((b + 1) / 2, 0, 1) per channel, whatever z is.
    auto m = tiny_model(5);
    torch::NoGradGuard no_grad;
    for (auto& p : m->parameters())
        p.zero_();
    params_of(*m).at("decoder.conv_out.bias").copy_(torch::tensor({-0.5f, 0.2f, 3.0f}));
    auto rgb = m->decode(torch::randn({1, 16, 2, 3}));
    ASSERT_EQ(rgb.sizes(), (std::vector<int64_t>{1, 3, 16, 24}));
    const float want[3] = {0.25f, 0.6f, 1.0f};
    for (int c = 0; c < 3; ++c) {
        EXPECT_NEAR(rgb[0][c].min().item<float>(), want[c], 1e-6) << "channel " << c;
        EXPECT_NEAR(rgb[0][c].max().item<float>(), want[c], 1e-6) << "channel " << c;
    }

    // Encoding: the latent is the mean half (channels 0..15) of encoder.conv_out, normalised; the
    // log-variance half (16..31) must not leak in.
    auto bias = torch::cat({torch::arange(16, torch::kFloat32) * 0.1, torch::full({16}, 5.0f)}); // [32]
    params_of(*m).at("encoder.conv_out.bias").copy_(bias);
    auto z = m->encode(torch::rand({1, 3, 16, 16}));
    ASSERT_EQ(z.sizes(), (std::vector<int64_t>{1, 16, 2, 2}));
    for (int c = 0; c < 16; ++c)
        EXPECT_NEAR(z[0][c].mean().item<float>(), (0.1f * c - 0.1159f) * 0.3611f, 1e-6) << "channel " << c;
}

TEST(Vae, DownsamplePadsRightAndBottomOnly) {
    VaeDownsample d(1, torch::TensorOptions().dtype(torch::kFloat32));
    torch::NoGradGuard no_grad;
    auto x = torch::arange(1, 17, torch::kFloat32).view({1, 1, 4, 4}); // [B, C, H, W]
    d->conv->bias.zero_();
    // Kernel tap (0, 0): out[i][j] = x[2i][2j] (no padding before the image).
    d->conv->weight.zero_();
    d->conv->weight[0][0][0][0] = 1.0f;
    auto top_left = d(x);
    EXPECT_TRUE(torch::equal(top_left, torch::tensor({1.0f, 3.0f, 9.0f, 11.0f}).view({1, 1, 2, 2})));
    // Kernel tap (2, 2): out[i][j] = x[2i+2][2j+2], with zeros past the right and bottom edges.
    d->conv->weight.zero_();
    d->conv->weight[0][0][2][2] = 1.0f;
    auto bottom_right = d(x);
    EXPECT_TRUE(torch::equal(bottom_right, torch::tensor({11.0f, 0.0f, 0.0f, 0.0f}).view({1, 1, 2, 2})));
}

TEST(Vae, UpsampleIsNearestNeighbour) {
    VaeUpsample u(2, torch::TensorOptions().dtype(torch::kFloat32));
    torch::NoGradGuard no_grad;
    u->conv->weight.zero_();
    u->conv->bias.zero_();
    for (int c = 0; c < 2; ++c)
        u->conv->weight[c][c][1][1] = 1.0f; // identity through the centre tap
    auto x = torch::randn({1, 2, 3, 2});
    auto y = u(x);
    ASSERT_EQ(y.sizes(), (std::vector<int64_t>{1, 2, 6, 4}));
    for (int c = 0; c < 2; ++c)
        for (int i = 0; i < 6; ++i)
            for (int j = 0; j < 4; ++j)
                EXPECT_EQ(y[0][c][i][j].item<float>(), x[0][c][i / 2][j / 2].item<float>());
}

TEST(Vae, ResnetBlockMatchesItsFormula) {
    auto cfg = tiny_config();
    cfg.norm_num_groups = 4;
    VaeResnetBlock r(8, 12, cfg, torch::TensorOptions().dtype(torch::kFloat32));
    nn::init_random(*r, 7, 0.2);
    torch::NoGradGuard no_grad;
    auto x = torch::randn({2, 8, 5, 3});
    // GN -> SiLU -> conv3x3 -> GN -> SiLU -> conv3x3, plus the 1x1-projected input.
    auto h = torch::group_norm(x, 4, r->norm1->weight, r->norm1->bias, 1e-6);
    h = torch::conv2d(torch::silu(h), r->conv1->weight, r->conv1->bias, 1, 1);
    h = torch::group_norm(h, 4, r->norm2->weight, r->norm2->bias, 1e-6);
    h = torch::conv2d(torch::silu(h), r->conv2->weight, r->conv2->bias, 1, 1);
    auto want = torch::conv2d(x, r->conv_shortcut->weight, r->conv_shortcut->bias) + h;
    EXPECT_TRUE(torch::allclose(r(x), want, 1e-5, 1e-5));
    EXPECT_FALSE(VaeResnetBlock(8, 8, cfg, torch::TensorOptions())->conv_shortcut); // same width: identity skip
}

TEST(Vae, AttentionIsSingleHeadSoftmaxOverPositions) {
    auto cfg = tiny_config();
    cfg.norm_num_groups = 2;
    VaeAttention a(8, cfg, torch::TensorOptions().dtype(torch::kFloat32));
    nn::init_random(*a, 11, 0.3);
    torch::NoGradGuard no_grad;
    auto p = params_of(*a);
    auto x = torch::randn({2, 8, 3, 5});
    auto g = torch::group_norm(x, 2, p.at("group_norm.weight"), p.at("group_norm.bias"), 1e-6);
    auto t = g.flatten(2).transpose(1, 2); // [B, L, C]
    auto q = torch::linear(t, p.at("to_q.weight"), p.at("to_q.bias"));
    auto k = torch::linear(t, p.at("to_k.weight"), p.at("to_k.bias"));
    auto v = torch::linear(t, p.at("to_v.weight"), p.at("to_v.bias"));
    auto w = torch::softmax(torch::matmul(q, k.transpose(1, 2)) / std::sqrt(8.0), -1); // [B, L, L]
    auto o = torch::linear(torch::matmul(w, v), p.at("to_out.0.weight"), p.at("to_out.0.bias"));
    auto want = x + o.transpose(1, 2).reshape({2, 8, 3, 5});
    EXPECT_TRUE(torch::allclose(a(x), want, 1e-5, 1e-5));
}

TEST(Vae, BflKeyNames) {
    const std::vector<std::pair<std::string, std::string>> table = {
        {"encoder.conv_in.weight", "encoder.conv_in.weight"},
        {"encoder.down.0.block.1.norm2.bias", "encoder.down_blocks.0.resnets.1.norm2.bias"},
        {"encoder.down.1.block.0.nin_shortcut.weight", "encoder.down_blocks.1.resnets.0.conv_shortcut.weight"},
        {"encoder.down.2.downsample.conv.bias", "encoder.down_blocks.2.downsamplers.0.conv.bias"},
        {"encoder.mid.block_1.conv1.weight", "encoder.mid_block.resnets.0.conv1.weight"},
        {"encoder.mid.block_2.norm1.weight", "encoder.mid_block.resnets.1.norm1.weight"},
        {"encoder.mid.attn_1.norm.bias", "encoder.mid_block.attentions.0.group_norm.bias"},
        {"encoder.mid.attn_1.q.weight", "encoder.mid_block.attentions.0.to_q.weight"},
        {"encoder.mid.attn_1.k.bias", "encoder.mid_block.attentions.0.to_k.bias"},
        {"encoder.mid.attn_1.v.weight", "encoder.mid_block.attentions.0.to_v.weight"},
        {"encoder.norm_out.weight", "encoder.conv_norm_out.weight"},
        {"encoder.conv_out.bias", "encoder.conv_out.bias"},
        {"decoder.conv_in.bias", "decoder.conv_in.bias"},
        {"decoder.mid.attn_1.proj_out.weight", "decoder.mid_block.attentions.0.to_out.0.weight"},
        {"decoder.up.3.block.2.conv1.weight", "decoder.up_blocks.0.resnets.2.conv1.weight"},
        {"decoder.up.3.upsample.conv.weight", "decoder.up_blocks.0.upsamplers.0.conv.weight"},
        {"decoder.up.1.upsample.conv.bias", "decoder.up_blocks.2.upsamplers.0.conv.bias"},
        {"decoder.up.0.block.0.nin_shortcut.bias", "decoder.up_blocks.3.resnets.0.conv_shortcut.bias"},
        {"decoder.norm_out.bias", "decoder.conv_norm_out.bias"},
    };
    for (const auto& [bfl, diffusers] : table) {
        auto got = bfl_vae_key_to_diffusers(bfl);
        ASSERT_TRUE(got.has_value()) << bfl;
        EXPECT_EQ(*got, diffusers) << bfl;
    }
    EXPECT_EQ(bfl_vae_key_to_diffusers("decoder.up.2.block.0.conv1.weight", 3).value(),
              "decoder.up_blocks.0.resnets.0.conv1.weight");
    EXPECT_FALSE(bfl_vae_key_to_diffusers("model.diffusion_model.x_embedder.weight").has_value());
    // The one classifier tells the VAE's two namings apart (prefixes tolerated), and the other checkpoints.
    EXPECT_EQ(classify_keys({"decoder.conv_in.weight", "encoder.down.0.block.0.conv1.weight"}), CheckpointKind::VaeBfl);
    EXPECT_EQ(classify_keys({"vae.encoder.down.0.block.0.conv1.weight"}), CheckpointKind::VaeBfl);
    EXPECT_EQ(classify_keys({"decoder.conv_in.weight", "encoder.down_blocks.0.resnets.0.conv1.weight"}),
              CheckpointKind::VaeDiffusers);
    EXPECT_EQ(classify_keys({"model.diffusion_model.cap_embedder.1.weight",
                             "model.diffusion_model.clip_text_pooled_proj.1.weight"}),
              CheckpointKind::Transformer);
    EXPECT_EQ(classify_keys({"model.layers.0.self_attn.q_norm.weight"}), CheckpointKind::Gemma);
    EXPECT_EQ(classify_keys({"text_model.transformer.roberta.emb_ln.weight"}), CheckpointKind::Jina);
    EXPECT_EQ(classify_keys({"decoder.conv_in.weight"}), CheckpointKind::Unknown);
    EXPECT_EQ(classify_keys({}), CheckpointKind::Unknown);

    auto conv = torch::randn({4, 4, 1, 1});
    auto lin = bfl_vae_tensor_transform("decoder.mid_block.attentions.0.to_k.weight", conv);
    EXPECT_EQ(lin.sizes(), (std::vector<int64_t>{4, 4}));
    EXPECT_TRUE(torch::equal(lin, conv.view({4, 4})));
    // Real 1x1 convs and attention biases keep their shapes.
    EXPECT_EQ(bfl_vae_tensor_transform("decoder.up_blocks.3.resnets.0.conv_shortcut.weight", conv).dim(), 4);
    EXPECT_EQ(bfl_vae_tensor_transform("decoder.mid_block.attentions.0.to_k.bias", torch::zeros({4})).dim(), 1);
}

TEST_F(VaeFiles, BflFileLoadsTheSameWeights) {
    auto a = tiny_model(21);
    // Save with BFL names and BFL shapes (attention projections as 1x1 convs).
    std::vector<TensorBlob> blobs;
    std::set<std::string> bfl_names;
    for (const auto& [key, t] : params_of(*a)) {
        const auto name = diffusers_to_bfl(key, 4);
        bfl_names.insert(name);
        const bool attn_proj = key.find(".attentions.0.to_") != std::string::npos && t.dim() == 2;
        blobs.push_back(to_blob(name, attn_proj ? t.view({t.size(0), t.size(1), 1, 1}) : t));
    }
    ASSERT_EQ(bfl_names.size(), blobs.size()); // the inverse map is one to one
    ASSERT_TRUE(bfl_names.count("decoder.up.0.block.1.conv2.weight"));
    ASSERT_TRUE(bfl_names.count("encoder.mid.attn_1.proj_out.weight"));
    write_safetensors(path("ae.safetensors"), blobs);

    auto file = std::make_shared<SafetensorsFile>(path("ae.safetensors"));
    std::vector<std::string> names;
    for (const auto& info : file->tensors())
        names.push_back(info.name);
    EXPECT_EQ(classify_keys(names), CheckpointKind::VaeBfl);
    auto weights = collect_weights({file}, [](const std::string& k) { return bfl_vae_key_to_diffusers(k); });
    auto cfg = VaeConfig::from_weights(weight_shapes(weights), R"({"norm_num_groups": 8})");
    EXPECT_EQ(cfg.block_out_channels, tiny_config().block_out_channels);
    EXPECT_EQ(cfg.layers_per_block, 1);
    AutoencoderKL b(cfg, torch::TensorOptions().dtype(torch::kFloat32));
    load_strict(*b, weights, "vae", bfl_vae_tensor_transform);

    auto pa = params_of(*a), pb = params_of(*b);
    ASSERT_EQ(pa.size(), pb.size());
    for (const auto& [key, t] : pa)
        EXPECT_TRUE(torch::equal(t, pb.at(key))) << key;
    torch::manual_seed(3);
    auto z = torch::randn({1, 16, 3, 4});
    EXPECT_TRUE(torch::equal(a->decode(z), b->decode(z)));
    auto rgb = torch::rand({1, 3, 24, 16});
    EXPECT_TRUE(torch::equal(a->encode(rgb), b->encode(rgb)));
}

TEST_F(VaeFiles, StrictLoadNamesTheMissingKey) {
    auto a = tiny_model(22);
    auto blobs = to_blobs(*a, torch::kFloat32);
    const std::string dropped = "decoder.up_blocks.1.upsamplers.0.conv.bias";
    const auto before = blobs.size();
    blobs.erase(std::remove_if(blobs.begin(), blobs.end(), [&](const TensorBlob& b) { return b.name == dropped; }),
                blobs.end());
    ASSERT_EQ(blobs.size(), before - 1);
    write_safetensors(path("vae.safetensors"), blobs);
    auto weights = collect_weights({std::make_shared<SafetensorsFile>(path("vae.safetensors"))},
                                   [](const std::string& k) { return std::optional<std::string>(k); });
    AutoencoderKL b(tiny_config(), torch::TensorOptions().dtype(torch::kFloat32));
    try {
        load_strict(*b, weights, "vae");
        FAIL() << "loading succeeded without " << dropped;
    } catch (const EngineError& e) {
        EXPECT_NE(std::string(e.what()).find(dropped), std::string::npos) << e.what();
    }
}

// Layers with weights under `prefix` ("decoder.", "encoder."): convs, norms and linears, each of which rounds its
// output to bf16 once, and each followed by one more rounded elementwise op (activation or residual add).
int bf16_roundings(const torch::nn::Module& m, const std::string& prefix) {
    int layers = 0;
    for (const auto& [key, t] : params_of(m))
        if (key.rfind(prefix, 0) == 0 && key.ends_with(".weight"))
            ++layers;
    return 2 * layers + 1; // + the cast of the input to bf16
}

TEST(Vae, Bfloat16WeightsGiveFp32OutputCloseToFp32) {
    auto f32 = tiny_model(23);
    AutoencoderKL bf16(tiny_config(), torch::TensorOptions().dtype(torch::kBFloat16));
    {
        torch::NoGradGuard no_grad;
        auto src = params_of(*f32);
        for (auto& [k, t] : params_of(*bf16))
            t.copy_(src.at(k));
    }
    // The fp32 model with the bf16-rounded weights is the reference: what remains is the activations' rounding,
    // bounded by bf16's unit roundoff times the number of roundings on the path, relative to the tensor's scale.
    {
        torch::NoGradGuard no_grad;
        for (auto& [k, t] : params_of(*f32))
            t.copy_(t.to(torch::kBFloat16).to(torch::kFloat32));
    }
    torch::manual_seed(4);
    auto z = torch::randn({1, 16, 4, 4});
    auto a = f32->decode(z), b = bf16->decode(z);
    EXPECT_EQ(b.scalar_type(), torch::kFloat32);
    // decode() is (img + 1) / 2: the decoder's output scale max |img| is 2 max |a - 1/2|, and its error halves.
    const double dec_scale = (a - 0.5).abs().max().item<double>();
    const int dec_roundings = bf16_roundings(*bf16, "decoder.");
    const double dec_err = (a - b).abs().max().item<double>();
    EXPECT_LT(dec_err, charaforge::test::bf16_bound(dec_scale, dec_roundings))
        << "scale " << dec_scale << ", " << dec_roundings << " roundings";
    auto rgb = torch::rand({1, 3, 32, 32});
    auto za = f32->encode(rgb), zb = bf16->encode(rgb);
    EXPECT_EQ(zb.scalar_type(), torch::kFloat32);
    // encode() returns (mean - shift) * scaling: the scale of the encoder's mean is max |za / scaling + shift|.
    const auto& c = tiny_config();
    const double enc_scale = (za / c.scaling_factor + c.shift_factor).abs().max().item<double>() * c.scaling_factor;
    const int enc_roundings = bf16_roundings(*bf16, "encoder.");
    EXPECT_LT((za - zb).abs().max().item<double>(), charaforge::test::bf16_bound(enc_scale, enc_roundings))
        << "scale " << enc_scale << ", " << enc_roundings << " roundings";
}

TEST(Vae, MatchesBflReferenceOnFormulaWeights) {
    // Golden numbers from BFL flux's autoencoder.py (CPU, fp32), printed by
    // `tools/parity/vae_parity.py --golden`: ch 32, ch_mult [1, 2, 1, 1], one resnet per level, 32 groups.
    // Weights follow a closed formula over the BFL key order, so no weight file is needed.
    VaeConfig cfg;
    cfg.block_out_channels = {32, 64, 32, 32};
    cfg.layers_per_block = 1;
    AutoencoderKL m(cfg, torch::TensorOptions().dtype(torch::kFloat32));
    {
        torch::NoGradGuard no_grad;
        std::map<std::string, torch::Tensor> by_bfl_name; // sorted as Python's sorted(state_dict)
        for (const auto& [key, t] : params_of(*m))
            by_bfl_name[diffusers_to_bfl(key, 4)] = t;
        int64_t idx = 0;
        for (const auto& [name, t] : by_bfl_name) {
            auto v = torch::sin(torch::arange(t.numel(), torch::kFloat64) * 0.7 + static_cast<double>(idx++));
            if (name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0)
                v = v * 0.05;
            else if (t.dim() == 1)
                v = 1 + 0.1 * v;
            else
                v = v / std::sqrt(static_cast<double>(t.numel()) / static_cast<double>(t.size(0)));
            t.copy_(v.to(torch::kFloat32).view(t.sizes()));
        }
    }
    auto z = torch::sin(torch::arange(16 * 2 * 3, torch::kFloat64) * 0.5).to(torch::kFloat32).view({1, 16, 2, 3});
    auto rgb = (0.5 + 0.5 * torch::sin(torch::arange(3 * 16 * 24, torch::kFloat64) * 0.3))
                   .to(torch::kFloat32)
                   .view({1, 3, 16, 24}); // [B, C, H, W]

    auto dec = m->decode(z).flatten();
    EXPECT_NEAR(dec.mean().item<double>(), 0.5081857, 2e-5);
    EXPECT_NEAR(dec.std().item<double>(), 0.2479288, 2e-5);
    const std::vector<int64_t> dec_at{0, 100, 333, 575, 800, 1151};
    const std::vector<double> dec_want{0.5237362, 0.5248482, 0.5267051, 0.5097018, 0.5429126, 0.4987868};
    for (std::size_t i = 0; i < dec_at.size(); ++i)
        EXPECT_NEAR(dec[dec_at[i]].item<double>(), dec_want[i], 2e-5) << "decode element " << dec_at[i];

    auto enc = m->encode(rgb).flatten();
    EXPECT_NEAR(enc.mean().item<double>(), -0.04915608, 2e-5);
    EXPECT_NEAR(enc.std().item<double>(), 0.212702, 2e-5);
    const std::vector<int64_t> enc_at{0, 17, 45, 70, 95};
    const std::vector<double> enc_want{0.04987915, -0.2846324, 0.1919567, -0.2425882, -0.2302895};
    for (std::size_t i = 0; i < enc_at.size(); ++i)
        EXPECT_NEAR(enc[enc_at[i]].item<double>(), enc_want[i], 2e-5) << "encode element " << enc_at[i];
}
