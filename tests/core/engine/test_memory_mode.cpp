// Memory modes and the per-job memory prediction (issue 15): parsing, auto's thresholds, the prediction's phases
// from component sizes, and the modes on the CPU with the tiny test model (same images; what low cannot do here
// is said, not hidden).
#include "charaforge/engine/error.h"
#include "charaforge/engine/pipeline.h"
#include "memory.h"
#include "torch_compat.h"

#include "core/engine/test_util.h"

#include <gtest/gtest.h>

using namespace charaforge::engine;
using charaforge::test::TempDir;

namespace {

constexpr int64_t GiB = int64_t{1} << 30;

std::vector<Image> generate_in(const std::string& dir, MemoryMode mode, int vae_tile = 0, int size = 64) {
    RuntimeOptions o;
    o.device = "cpu";
    o.memory_mode = mode;
    o.vae_tile = vae_tile;
    auto p = Pipeline::open(dir, o);
    GenerationRequest r;
    r.prompt = "1girl, smile";
    r.negative_prompt = "lowres";
    r.width = r.height = size;
    r.steps = 2;
    r.seed = 7;
    return p->generate({r});
}

int max_level_difference(const Image& a, const Image& b) {
    int worst = 0;
    for (std::size_t i = 0; i < a.rgb.size(); ++i)
        worst = std::max(worst, std::abs(int{a.rgb[i]} - int{b.rgb[i]}));
    return worst;
}

} // namespace

TEST(MemoryMode, NamesParseAndBadOnesNameTheOption) {
    for (auto m : {MemoryMode::Auto, MemoryMode::High, MemoryMode::Balanced, MemoryMode::Low})
        EXPECT_EQ(parse_memory_mode(memory_mode_name(m)), m);
    try {
        parse_memory_mode("medium", "--memory-mode");
        FAIL() << "no error";
    } catch (const EngineError& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("--memory-mode"), std::string::npos) << msg;
        EXPECT_NE(msg.find("medium"), std::string::npos) << msg;
        EXPECT_NE(msg.find("auto, high, balanced or low"), std::string::npos) << msg;
    }
}

TEST(MemoryMode, AutoFollowsTheDevicesMemory) {
    EXPECT_EQ(auto_memory_mode(true, 141 * GiB), MemoryMode::High); // H200
    EXPECT_EQ(auto_memory_mode(true, 32 * GiB), MemoryMode::High);
    EXPECT_EQ(auto_memory_mode(true, 24 * GiB), MemoryMode::Balanced);
    EXPECT_EQ(auto_memory_mode(true, 16376 * (int64_t{1} << 20)), MemoryMode::Balanced); // a "16 GB" card
    EXPECT_EQ(auto_memory_mode(true, 12 * GiB), MemoryMode::Low);
    EXPECT_EQ(auto_memory_mode(true, 8 * GiB), MemoryMode::Low);
    EXPECT_EQ(auto_memory_mode(false, 8 * GiB), MemoryMode::High); // the CPU: host memory is the user's
}

TEST(MemoryPrediction, PhasesFollowWhatEachModeKeepsResident) {
    const ComponentBytes w{7'000, 300, 8'000, 1'000};
    const auto high = predict_peak(MemoryMode::High, w, 50, 900, 5'000);
    EXPECT_EQ(high.weights, 16'300);
    EXPECT_EQ(high.encoding, 16'350);
    EXPECT_EQ(high.sampling, 17'200);
    EXPECT_EQ(high.peak, 21'300); // the decode on top of everything resident
    const auto balanced = predict_peak(MemoryMode::Balanced, w, 50, 900, 5'000);
    EXPECT_EQ(balanced.weights, 7'300);   // the encoders left after encoding
    EXPECT_EQ(balanced.encoding, 16'350); // ... but were all there while encoding
    EXPECT_EQ(balanced.peak, 16'350);
    const ComponentBytes fp8{3'600, 300, 8'000, 1'000};
    const auto low = predict_peak(MemoryMode::Low, fp8, 50, 900, 2'000);
    EXPECT_EQ(low.encoding, 0); // the encoders run on the CPU
    EXPECT_EQ(low.peak, 5'900);
    EXPECT_EQ(predict_peak(MemoryMode::Balanced, {7'000, 300, 0, 0}, 50, 900, 10).encoding, 0); // no encoders
    // What the device already holds beyond the weights (graph pools, another model) is there in every phase.
    const auto held = predict_peak(MemoryMode::Balanced, {7'000, 300, 8'000, 1'000, 400}, 50, 900, 5'000);
    EXPECT_EQ(held.weights, 7'700);
    EXPECT_EQ(held.encoding, 16'750);
    EXPECT_EQ(held.sampling, 8'600);
    EXPECT_EQ(held.decoding, 12'700);
}

TEST(MemoryPrediction, ABatchsSamplingIsItsRequestsPlusWhatEveryBatchHolds) {
    const NextDiTConfig released;
    const int64_t one = transformer_request_bytes(1024, 1024, true, released, 2);
    EXPECT_EQ(transformer_batch_bytes(1, 1024, 1024, true, released, 2), kSamplingBatchBytes + one);
    EXPECT_EQ(transformer_batch_bytes(4, 1024, 1024, true, released, 2), kSamplingBatchBytes + 4 * one);
    EXPECT_EQ(transformer_batch_bytes(0, 1024, 1024, true, released, 2), kSamplingBatchBytes + one); // at least one
    // Per token: three ffn_hidden-wide tensors and eight dim-wide ones, bf16, both CFG branches.
    EXPECT_EQ(one, 2 * (64 * 64 + kEstimatedCaptionTokens) * (3 * 9216 + 8 * 2304) * 2);
}

TEST(MemoryPrediction, TheTiledDecodeNeedsAFractionOfTheUntiled) {
    const VaeConfig flux;
    for (int side : {1024, 2048}) {
        const int64_t untiled = vae_decode_reserve_bytes(side, side, flux);
        const int64_t tiled = vae_tiled_decode_bytes(side, side, kDefaultVaeTile, flux);
        // Untiled: six 256-channel fp32 tensors at full resolution; tiled: two (256 + 128 channels) and the copies
        // that overlap them over part of the image (x 1.6 in all), one tile's temporaries and workspace.
        EXPECT_LT(2 * tiled, untiled) << side;
        EXPECT_GT(tiled, int64_t{384} * side * side * 4) << side; // at least the two stored tensors
    }
    // Larger tiles: larger temporaries.
    EXPECT_GT(vae_tiled_decode_bytes(1024, 1024, 64, flux), vae_tiled_decode_bytes(1024, 1024, 16, flux));
}

TEST(MemoryMode, EveryModeGeneratesTheSameImageOnTheCpu) {
    TempDir dir;
    make_test_model(dir.str(), 3);
    const auto high = generate_in(dir.str(), MemoryMode::High);
    ASSERT_EQ(high.size(), 1u);
    // On the CPU balanced only keeps the encoders "off the device" (a no-op) and decodes untiled.
    EXPECT_EQ(generate_in(dir.str(), MemoryMode::Balanced)[0].rgb, high[0].rgb);
    const auto low = generate_in(dir.str(), MemoryMode::Low)[0];
    if (compat::kHasFp8) {
        // fp8 weights: not the same numbers, the same picture (e4m3 keeps 3 mantissa bits).
        EXPECT_LE(max_level_difference(low, high[0]), 64);
    } else {
        EXPECT_EQ(low.rgb, high[0].rgb);
    }
}

TEST(MemoryMode, LowSaysWhatItCannotDoHereAndPredictsTiledDecodes) {
    TempDir dir;
    make_test_model(dir.str(), 4);
    RuntimeOptions o;
    o.device = "cpu";
    o.memory_mode = MemoryMode::Low;
    auto p = Pipeline::open(dir.str(), o);
    EXPECT_EQ(p->memory_mode(), MemoryMode::Low);
    const auto notes = p->memory_notes();
    if (compat::kHasFp8) {
        EXPECT_TRUE(notes.empty());
    } else {
        ASSERT_EQ(notes.size(), 1u);
        EXPECT_NE(notes[0].find("fp8"), std::string::npos) << notes[0];
        EXPECT_NE(notes[0].find("keeps its"), std::string::npos) << notes[0];
    }
    const auto one = p->predict_memory(1, 1024, 1024, true);
    const auto four = p->predict_memory(4, 1024, 1024, true);
    EXPECT_TRUE(one.vae_tiled);
    EXPECT_EQ(one.encoding, 0);
    EXPECT_GT(four.sampling, one.sampling);
    EXPECT_EQ(four.decoding, one.decoding); // one image decoded at a time
    EXPECT_EQ(p->memory_budget(), 0);       // the CPU: no device budget

    o.memory_mode = MemoryMode::Auto;
    EXPECT_EQ(Pipeline::open(dir.str(), o)->memory_mode(), MemoryMode::High); // auto on the CPU
    o.memory_mode = MemoryMode::High;
    EXPECT_FALSE(Pipeline::open(dir.str(), o)->predict_memory(1, 1024, 1024, true).vae_tiled);
}

TEST(MemoryMode, AForcedTiledDecodeGivesTheSameImage) {
    TempDir dir;
    make_test_model(dir.str(), 5);
    const auto untiled = generate_in(dir.str(), MemoryMode::High, 0, 128);
    const auto tiled = generate_in(dir.str(), MemoryMode::High, 4, 128); // 4 x 4 tiles of the 16 x 16 latent
    ASSERT_EQ(tiled[0].rgb.size(), untiled[0].rgb.size());
    EXPECT_LE(max_level_difference(tiled[0], untiled[0]), 1); // test_vae_tiling.cpp: < 1e-4 before rounding
    RuntimeOptions o;
    o.device = "cpu";
    o.vae_tile = -1;
    EXPECT_THROW(Pipeline::open(dir.str(), o), EngineError);
}
