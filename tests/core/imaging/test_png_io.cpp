#include "charaforge/imaging/png_io.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using namespace charaforge::imaging;

namespace {
RgbImage gradient(int w, int h) {
    RgbImage img{w, h, std::vector<uint8_t>(static_cast<std::size_t>(w) * h * 3)};
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            for (int c = 0; c < 3; ++c)
                img.rgb[(static_cast<std::size_t>(y) * w + x) * 3 + c] =
                    static_cast<uint8_t>((x * 7 + y * 13 + c * 50) & 0xff);
    return img;
}
} // namespace

TEST(PngIo, PixelsAndUtf8TextSurviveARoundTrip) {
    auto dir = std::filesystem::temp_directory_path() / "charaforge-png-test";
    std::filesystem::create_directories(dir);
    const auto path = (dir / "a.png").string();
    const auto img = gradient(37, 21);
    const std::string prompt = "<character_1>\n<n>初音ミク</n>\n</character_1> \xF0\x9F\x8C\xB8";
    write_png_atomic(path, img, {{"charaforge", prompt}, {"parameters", "Steps: 28"}});
    TextChunks text;
    auto back = read_png(path, &text);
    EXPECT_EQ(back.width, 37);
    EXPECT_EQ(back.height, 21);
    EXPECT_EQ(back.rgb, img.rgb);
    EXPECT_EQ(text.at("charaforge"), prompt);
    EXPECT_EQ(text.at("parameters"), "Steps: 28");
    // No temporary file is left behind.
    int files = 0;
    for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir))
        ++files;
    EXPECT_EQ(files, 1);
    std::filesystem::remove_all(dir);
}

TEST(PngIo, BadInputIsAnErrorNotACrash) {
    EXPECT_THROW(encode_png(RgbImage{4, 4, std::vector<uint8_t>(5)}), std::runtime_error);
    EXPECT_THROW(read_png_text({1, 2, 3}), std::runtime_error);
    auto png = encode_png(gradient(4, 4), {{"k", "v"}});
    png.resize(png.size() - 30); // cut inside the chunks
    png[8 + 3] = 0xff;           // IHDR length now runs past the end
    EXPECT_THROW(read_png_text(png), std::runtime_error);
    EXPECT_THROW(read_png("/nonexistent/x.png"), std::runtime_error);
    EXPECT_THROW(write_png_atomic("/nonexistent/dir/x.png", gradient(2, 2)), std::runtime_error);
}
