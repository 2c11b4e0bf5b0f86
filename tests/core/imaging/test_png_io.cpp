#include "charaforge/imaging/png_io.h"

#include <gtest/gtest.h>
#include <png.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <tuple>
#include <unistd.h>
#include <vector>

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
// A PNG written by libpng itself with the given text chunks (each entry: key, text, libpng compression code),
// placed before the image data or after it: what other tools (A1111, ComfyUI, exiftool) may write.
std::vector<uint8_t> foreign_png(const std::vector<std::tuple<std::string, std::string, int>>& chunks, bool after) {
    std::vector<uint8_t> out;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png)))
        return {};
    png_set_write_fn(
        png, &out,
        [](png_structp p, png_bytep d, png_size_t n) {
            auto* o = static_cast<std::vector<uint8_t>*>(png_get_io_ptr(p));
            o->insert(o->end(), d, d + n);
        },
        nullptr);
    png_set_IHDR(png, info, 3, 2, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    std::vector<png_text> text(chunks.size());
    for (std::size_t i = 0; i < chunks.size(); ++i) {
        text[i].compression = std::get<2>(chunks[i]);
        text[i].key = const_cast<char*>(std::get<0>(chunks[i]).c_str());
        text[i].text = const_cast<char*>(std::get<1>(chunks[i]).c_str());
        text[i].text_length = std::get<1>(chunks[i]).size();
        text[i].itxt_length = std::get<1>(chunks[i]).size();
    }
    if (!after)
        png_set_text(png, info, text.data(), static_cast<int>(text.size()));
    png_write_info(png, info);
    uint8_t row[3] = {0, 128, 255};
    for (int y = 0; y < 2; ++y)
        png_write_row(png, row);
    if (after)
        png_set_text(png, info, text.data(), static_cast<int>(text.size()));
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return out;
}
} // namespace

TEST(PngIo, CompressedAndLateTextChunksOfOtherToolsAreRead) {
    const std::string long_text = std::string(3000, 'a') + " Steps: 28, Sampler: DPM++ 2M Karras, 初音ミク";
    for (bool after : {false, true}) {
        const auto png = foreign_png({{"parameters", long_text, PNG_TEXT_COMPRESSION_zTXt},
                                      {"charaforge", "<character_1>ミク</character_1>", PNG_ITXT_COMPRESSION_zTXt},
                                      {"Comment", "plain", PNG_TEXT_COMPRESSION_NONE}},
                                     after);
        ASSERT_FALSE(png.empty());
        const auto text = read_png_text(png);
        ASSERT_EQ(text.size(), 3u) << "after the image data: " << after;
        EXPECT_EQ(text.at("parameters"), long_text);
        EXPECT_EQ(text.at("charaforge"), "<character_1>ミク</character_1>");
        EXPECT_EQ(text.at("Comment"), "plain");
    }
}

TEST(PngIo, ATextChunkWithABadCrcIsDroppedAndACorruptImageIsAnError) {
    auto png = encode_png(gradient(4, 4), {{"charaforge", "<general_tags>1girl</general_tags>"}});
    ASSERT_EQ(read_png_text(png).count("charaforge"), 1u);
    // Flip one byte of the text: the chunk's CRC no longer matches, so its text must not be trusted.
    const std::string needle = "1girl";
    auto at = std::search(png.begin(), png.end(), needle.begin(), needle.end());
    ASSERT_NE(at, png.end());
    *at = '2';
    EXPECT_EQ(read_png_text(png).count("charaforge"), 0u);
    // The same in the image data is an error, not wrong pixels.
    auto broken = encode_png(gradient(8, 8));
    const std::string idat = "IDAT";
    auto data = std::search(broken.begin(), broken.end(), idat.begin(), idat.end());
    ASSERT_NE(data, broken.end());
    data[6] ^= 0x55;
    EXPECT_THROW(read_png_text(broken), std::runtime_error);
}

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

TEST(PngIo, RefusesToReplaceAFifoOrADirectory) {
    auto dir = std::filesystem::temp_directory_path() / ("charaforge-png-nonreg-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir / "sub.png");
    const auto fifo = (dir / "fifo.png").string();
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    for (const auto& target : {fifo, (dir / "sub.png").string()}) {
        try {
            write_png_atomic(target, gradient(2, 2));
            ADD_FAILURE() << target << " was replaced";
        } catch (const std::runtime_error& e) {
            EXPECT_NE(std::string(e.what()).find(target), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
        }
    }
    struct stat st {};
    ASSERT_EQ(::stat(fifo.c_str(), &st), 0);
    EXPECT_TRUE(S_ISFIFO(st.st_mode));
    EXPECT_TRUE(std::filesystem::is_directory(dir / "sub.png"));
    std::filesystem::remove_all(dir);
}

TEST(PngIo, ConcurrentWritesOfOneProcessUseDistinctTempFiles) {
    // With a pid-only temp name, two threads share one temp file and one rename finds it gone.
    auto dir = std::filesystem::temp_directory_path() / ("charaforge-png-race-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const auto path = (dir / "same.png").string();
    const auto img = gradient(64, 64);
    std::vector<std::thread> threads;
    std::vector<int> failures(4, 0);
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 50; ++i) {
                try {
                    write_png_atomic(path, img);
                } catch (const std::exception&) {
                    ++failures[t];
                }
            }
        });
    for (auto& th : threads)
        th.join();
    for (int f : failures)
        EXPECT_EQ(f, 0);
    EXPECT_EQ(read_png(path).rgb, img.rgb);
    int files = 0;
    for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir))
        ++files;
    EXPECT_EQ(files, 1);
    std::filesystem::remove_all(dir);
}
