// The set on disk against its seed-only form: render_demo_image() gives the PNG's pixels, write_demo_captions()
// the .txt captions, so that the GPU machine's trainer (which renders from captions.jsonl) trains on this set.
#include "character_renderer.h"
#include "demo_data_set.h"

#include "charaforge/imaging/png_io.h"
#include "test_util.h" // tests/core/engine: TempDir

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace charaforge::demo;

namespace {

constexpr uint64_t kSeed = 21;
constexpr int kCount = 6;
constexpr int kSize = 64;

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in.good()) << path;
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::vector<std::string> read_lines(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in.good()) << path;
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
    }
    return lines;
}

std::string numbered(int i, const char* ext) {
    std::string digits = std::to_string(i);
    return std::string(6 - digits.size(), '0') + digits + ext;
}

} // namespace

TEST(DemoDataSet, RenderDemoImageGivesThePixelsOfTheWrittenPng) {
    const charaforge::test::TempDir dir;
    write_demo_set(dir.str(), kCount, kSeed, kSize);
    for (int i = 0; i < kCount; ++i) {
        const charaforge::imaging::RgbImage png = charaforge::imaging::read_png(dir.file(numbered(i, ".png")));
        const DemoImage image = render_demo_image(kSeed, static_cast<uint64_t>(i), kSize);
        ASSERT_EQ(image.width, kSize);
        ASSERT_EQ(image.height, kSize);
        ASSERT_EQ(image.rgb.size(), static_cast<size_t>(kSize) * kSize * 3);
        EXPECT_EQ(png.width, image.width) << "image " << i;
        EXPECT_EQ(png.height, image.height) << "image " << i;
        EXPECT_TRUE(png.rgb == image.rgb) << "image " << i << ": the PNG's pixels differ from render_demo_image";
    }
    // Another seed is another image (the equality above is not of constant images).
    EXPECT_FALSE(render_demo_image(kSeed + 1, 0, kSize) == render_demo_image(kSeed, 0, kSize));
    EXPECT_THROW(render_demo_image(kSeed, 0, 100), std::invalid_argument);
}

TEST(DemoDataSet, TheCaptionListHoldsTheSetsSeedsAndCaptions) {
    const charaforge::test::TempDir dir;
    write_demo_set(dir.file("set"), kCount, kSeed, kSize);
    write_demo_captions(dir.file("captions"), kCount, kSeed, kSize);
    EXPECT_FALSE(std::filesystem::exists(dir.file("captions/000000.png")));
    const std::vector<std::string> lines = read_lines(dir.file("captions/captions.jsonl"));
    const std::vector<std::string> manifest = read_lines(dir.file("set/manifest.jsonl"));
    ASSERT_EQ(lines.size(), static_cast<size_t>(kCount));
    ASSERT_EQ(manifest.size(), static_cast<size_t>(kCount));
    for (int i = 0; i < kCount; ++i) {
        const auto line = nlohmann::json::parse(lines[i]);
        const auto entry = nlohmann::json::parse(manifest[i]);
        ASSERT_EQ(line.size(), 5U) << lines[i];
        EXPECT_EQ(line.at("index").get<int>(), i);
        EXPECT_EQ(line.at("seed").get<uint64_t>(), kSeed);
        EXPECT_EQ(line.at("size").get<int>(), kSize);
        EXPECT_EQ(line.at("format"), entry.at("format")) << "line " << i;
        EXPECT_EQ(line.at("caption").get<std::string>(), read_text(dir.file("set/" + numbered(i, ".txt"))))
            << "line " << i;
    }
    EXPECT_THROW(write_demo_captions(dir.file("bad"), 0, kSeed, kSize), std::invalid_argument);
    EXPECT_THROW(write_demo_captions(dir.file("bad"), 1, kSeed, 100), std::invalid_argument);
}
