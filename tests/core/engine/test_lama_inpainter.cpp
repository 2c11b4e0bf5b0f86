// The torch-free LamaInpainter and the big-lama weight files: MD5 check, TorchScript and safetensors forms.
#include "charaforge/engine/error.h"
#include "charaforge/engine/lama.h"
#include "lama_test_util.h"
#include "lama_weights.h"
#include "md5.h"

#include <gtest/gtest.h>

using namespace charaforge::engine;
using namespace charaforge::engine::test;

TEST(LamaWeights, Md5CheckNamesTheFileAndTheKnownValue) {
    const auto path = temp_path("tiny-md5.pt");
    save_torchscript(state_of(*tiny_generator()), path);
    try {
        read_lama_weights(path, true);
        FAIL() << "accepted a file that is not big-lama.pt";
    } catch (const EngineError& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find(path), std::string::npos) << msg;
        EXPECT_NE(msg.find(kBigLamaMd5), std::string::npos) << msg;
        EXPECT_NE(msg.find(md5_file_hex(path)), std::string::npos) << msg; // the file's own hash too
    }
}

TEST(LamaInpainter, SafetensorsConversionGivesTheSameResults) {
    const auto pt = temp_path("tiny-conv.pt");
    const auto st = temp_path("tiny-conv.safetensors");
    save_torchscript(state_of(*tiny_generator(5)), pt);
    EXPECT_EQ(convert_lama_to_safetensors(pt, st, false), static_cast<int>(state_of(*tiny_generator()).size()));
    LamaOptions opt;
    opt.device = "cpu";
    opt.verify_md5 = false;
    auto a = LamaInpainter::load(pt, opt);
    auto b = LamaInpainter::load(st, opt);
    LamaTile tile;
    tile.width = 40;
    tile.height = 24;
    tile.rgb.resize(40 * 24 * 3);
    tile.mask.assign(40 * 24, 0);
    for (std::size_t i = 0; i < tile.rgb.size(); ++i)
        tile.rgb[i] = static_cast<uint8_t>((i * 37) % 251);
    for (int y = 6; y < 18; ++y)
        for (int x = 10; x < 30; ++x)
            tile.mask[y * 40 + x] = 255;
    const auto ra = a->inpaint({&tile});
    const auto rb = b->inpaint({&tile});
    ASSERT_EQ(ra.size(), 1u);
    EXPECT_EQ(ra[0].rgb, rb[0].rgb);
    // Outside the hole the composite returns the input (uint8 -> /255 -> *255 truncation may lose one).
    int changed_inside = 0;
    for (int i = 0; i < 40 * 24; ++i)
        for (int c = 0; c < 3; ++c) {
            const int d = std::abs(int(ra[0].rgb[i * 3 + c]) - int(tile.rgb[i * 3 + c]));
            if (tile.mask[i] == 0)
                EXPECT_LE(d, 1) << i;
            else
                changed_inside += d > 1;
        }
    EXPECT_GT(changed_inside, 0);
    tile.width = 36; // not a multiple of 8
    EXPECT_THROW(a->inpaint({&tile}), EngineError);
}

TEST(LamaInpainter, AMissingKeyInTheArchiveNamesTheFileAndTheKey) {
    auto state = state_of(*tiny_generator());
    state.erase("model.5.conv1.ffc.convg2g.fu.bn.running_var");
    const auto path = temp_path("tiny-missing.pt");
    save_torchscript(state, path);
    LamaOptions opt;
    opt.device = "cpu";
    opt.verify_md5 = false;
    try {
        LamaInpainter::load(path, opt);
        FAIL() << "loaded an archive without "
               << "model.5.conv1.ffc.convg2g.fu.bn.running_var";
    } catch (const EngineError& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find(path), std::string::npos) << msg;
        EXPECT_NE(msg.find("model.5.conv1.ffc.convg2g.fu.bn.running_var"), std::string::npos) << msg;
    }
}

TEST(LamaInpainter, ABatchGivesWhatEachTileGivesAlone) {
    const auto path = temp_path("tiny-batch.safetensors");
    write_lama_test_model(path, 11);
    LamaOptions opt;
    opt.device = "cpu";
    auto lama = LamaInpainter::load(path, opt);
    std::vector<LamaTile> tiles(3);
    for (std::size_t k = 0; k < tiles.size(); ++k) {
        auto& t = tiles[k];
        t.width = 32;
        t.height = 16;
        t.rgb.resize(32 * 16 * 3);
        t.mask.assign(32 * 16, 0);
        for (std::size_t i = 0; i < t.rgb.size(); ++i)
            t.rgb[i] = static_cast<uint8_t>((i * (31 + k * 6)) % 253);
        for (int y = 2 + int(k); y < 12; ++y)
            for (int x = 4; x < 20 + int(k) * 3; ++x)
                t.mask[y * 32 + x] = 255;
    }
    const auto batch = lama->inpaint({&tiles[0], &tiles[1], &tiles[2]});
    ASSERT_EQ(batch.size(), 3u);
    for (std::size_t k = 0; k < tiles.size(); ++k)
        EXPECT_EQ(batch[k].rgb, lama->inpaint({&tiles[k]})[0].rgb) << "tile " << k;
    LamaTile other = tiles[0];
    other.width = 16;
    other.height = 32;
    EXPECT_THROW(lama->inpaint({&tiles[0], &other}), EngineError); // one size per batch
}
