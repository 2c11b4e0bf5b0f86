#include "charaforge/imaging/png_io.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <thread>
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
