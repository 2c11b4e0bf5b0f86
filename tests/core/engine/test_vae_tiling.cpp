// Tiled VAE decode/encode on the tiny VAE. The halo covers the receptive field and GroupNorm uses whole-image
// statistics, so a tiled result may differ from the untiled one only by floating-point rounding: the
// operations per output pixel are the same, only the order of the GroupNorm sums (per tile in fp32, combined in
// fp64, vs one fp32 reduction) and the convolution kernels' blocking differ. fp32 carries ~6e-8 relative error
// per operation; over the ~30 layers of the tiny decoder that stays far below kTol = 1e-4 of the [0, 1] pixel
// range (1/40 of an 8-bit level), so the 8-bit images agree. A tiling without the halo or with per-tile
// statistics (what a naive tiled decode does) misses kTol by orders of magnitude (checked below), so the
// tolerance does discriminate.
#include "charaforge/engine/error.h"
#include "nn.h"
#include "test_model.h"
#include "vae.h"
#include "vae_tiling.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

using namespace charaforge::engine;

namespace {

constexpr double kTol = 1e-4;

// The test model's VAE (channels 32 at every level, one resnet per level, groups of one channel).
VaeConfig tiny_config() {
    return tiny_vae_config();
}

AutoencoderKL tiny_model(uint64_t seed) {
    AutoencoderKL m(tiny_config(), torch::TensorOptions().dtype(torch::kFloat32));
    nn::init_random(*m, seed, 0.1);
    m->eval();
    return m;
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
    return (a - b).abs().max().item<double>();
}

} // namespace

TEST(VaeTiling, HaloCoversTheReceptiveField) {
    // FLUX decoder, counted by hand: 6 convs at latent resolution, then per level (upsampler conv + 6 convs) at
    // 2x, 4x, 8x and conv_out: 6 + 7/2 + 7/4 + 8/8 = 12.25 latent pixels -> 13.
    EXPECT_EQ(decoder_tile_halo(VaeConfig{}), 13);
    // The test model's decoder (2 convs per resnet, 2 resnets per level): 4 + 5/2 + 5/4 + 6/8 = 8.5 -> 9.
    EXPECT_EQ(decoder_tile_halo(tiny_config()), 9);
    // FLUX encoder: 4 convs per level, each downsample doubling (+2): ((4*2+2+4)*2+2+4)*2+2+4 = 74, conv_in 75,
    // rounded up to the factor 8 -> 80 image pixels.
    EXPECT_EQ(encoder_tile_halo(VaeConfig{}), 80);
}

TEST(VaeTiling, TiledDecodeMatchesUntiledAtOddSizes) {
    c10::InferenceMode guard;
    auto m = tiny_model(11);
    torch::manual_seed(5);
    auto z = torch::randn({2, 16, 37, 29}); // odd latent sizes: cores of 12/13 and 9/10 pixels
    auto full = m->decode(z);
    for (int64_t tile : {12, 9, 20}) {
        auto tiled = m->decode(z, tile);
        ASSERT_EQ(tiled.sizes(), full.sizes());
        EXPECT_LT(max_diff(tiled, full), kTol) << "tile " << tile;
        // 8-bit output: equal up to a rare rounding at a level boundary.
        auto q = [](const torch::Tensor& t) { return (t * 255).round(); };
        EXPECT_LE(max_diff(q(tiled), q(full)), 1.0) << "tile " << tile;
    }
}

TEST(VaeTiling, PerTileDecodeWithoutGlobalStatisticsWouldShowSeams) {
    // The tolerance above must be able to fail: decoding a tile with its halo as an image of its own (per-tile
    // GroupNorm statistics and attention, as naive tiling does) differs from the untiled core by far more.
    c10::InferenceMode guard;
    auto m = tiny_model(11);
    torch::manual_seed(5);
    auto z = torch::randn({1, 16, 37, 29});
    auto full = m->decode(z);
    const int64_t h = decoder_tile_halo(tiny_config());
    auto crop = z.narrow(2, 0, 12 + h).narrow(3, 0, 10 + h);
    auto alone = m->decode(crop).narrow(2, 0, 96).narrow(3, 0, 80);
    EXPECT_GT(max_diff(alone, full.narrow(2, 0, 96).narrow(3, 0, 80)), 100 * kTol);
}

TEST(VaeTiling, TheTiledPathChecksItsHaloAgainstTheReceptiveField) {
    // The results above come from the tiled path: with one latent pixel less halo than computed, a core would read
    // zeros instead of its neighbours, and the tiling says so instead of returning a seam.
    c10::InferenceMode guard;
    const auto cfg = tiny_config();
    VaeDecoder decoder(cfg, torch::TensorOptions().dtype(torch::kFloat32));
    VaeEncoder encoder(cfg, torch::TensorOptions().dtype(torch::kFloat32));
    nn::init_random(*decoder, 15, 0.1);
    nn::init_random(*encoder, 16, 0.1);
    auto z = torch::randn({1, 16, 30, 30});
    const int64_t h = decoder_tile_halo(cfg);
    EXPECT_NO_THROW(tiled_decoder_forward(*decoder, cfg, z, 10, h));
    EXPECT_THROW(tiled_decoder_forward(*decoder, cfg, z, 10, h - 1), EngineError);
    auto img = torch::rand({1, 3, 160, 160});
    const int64_t he = encoder_tile_halo(cfg);
    EXPECT_NO_THROW(tiled_encoder_forward(*encoder, cfg, img, 5, he));
    // The encoder's halo is an upper bound (each downsample adds room for an odd start); one 8-pixel step of
    // context is far too little for its 2 x 4 convs per level.
    EXPECT_THROW(tiled_encoder_forward(*encoder, cfg, img, 5, 8), EngineError);
}

TEST(VaeTiling, TileLargerThanTheImageIsTheUntiledDecode) {
    c10::InferenceMode guard;
    auto m = tiny_model(12);
    torch::manual_seed(6);
    auto z = torch::randn({1, 16, 7, 5});
    EXPECT_TRUE(torch::equal(m->decode(z, 64), m->decode(z)));
    EXPECT_TRUE(torch::equal(m->decode(z, 7), m->decode(z)));
    auto rgb = torch::rand({1, 3, 56, 40});
    EXPECT_TRUE(torch::equal(m->encode(rgb, 64), m->encode(rgb)));
}

TEST(VaeTiling, TiledEncodeMatchesUntiledAtOddSizes) {
    c10::InferenceMode guard;
    auto m = tiny_model(13);
    torch::manual_seed(7);
    auto rgb = torch::rand({2, 3, 200, 136}); // latent 25 x 17
    auto full = m->encode(rgb);
    for (int64_t tile : {8, 5, 13}) {
        auto tiled = m->encode(rgb, tile);
        ASSERT_EQ(tiled.sizes(), full.sizes());
        // The latent is scaled by 0.3611 from moments of the same magnitude as pixels: the same bound holds.
        EXPECT_LT(max_diff(tiled, full), kTol) << "tile " << tile;
    }
}

TEST(VaeTiling, NegativeTileIsAnError) {
    auto m = tiny_model(14);
    try {
        m->decode(torch::zeros({1, 16, 4, 4}), -1);
        FAIL() << "no error";
    } catch (const EngineError& e) {
        EXPECT_NE(std::string(e.what()).find("tile"), std::string::npos) << e.what();
    }
}
