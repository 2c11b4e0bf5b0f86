#include "demo_data_set.h"

#include "character_renderer.h"
#include "demo_caption.h"

#include "charaforge/imaging/png_io.h"
#include "file_util.h" // core/engine: the atomic file writer (torch-free)

#include <nlohmann/json.hpp>

#include <filesystem>
#include <stdexcept>

namespace charaforge::demo {
namespace {

namespace fs = std::filesystem;

std::string numbered(int index, int count, const char* ext) {
    const int width = std::max<int>(6, static_cast<int>(std::to_string(count - 1).size()));
    std::string digits = std::to_string(index);
    return std::string(static_cast<size_t>(width) - std::min<size_t>(digits.size(), width), '0') + digits + ext;
}

imaging::RgbImage to_rgb_image(const cv::Mat& rgb) {
    imaging::RgbImage out;
    out.width = rgb.cols;
    out.height = rgb.rows;
    out.rgb.assign(rgb.datastart, rgb.dataend); // continuous CV_8UC3, R G B
    return out;
}

} // namespace

void write_demo_set(const std::string& dir, int count, uint64_t seed, int size, const SetProgress& progress) {
    if (count < 1) {
        throw std::invalid_argument("demo set: count " + std::to_string(count) + " is below 1");
    }
    const CharacterRenderer renderer(size);
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
        throw std::runtime_error(dir + ": cannot create the folder: " + ec.message());
    }
    std::string manifest;
    for (int i = 0; i < count; ++i) {
        const SceneSpec scene = random_scene(seed, static_cast<uint64_t>(i));
        const std::string caption = caption_text(scene);
        const std::string image_name = numbered(i, count, ".png");
        const std::string caption_name = numbered(i, count, ".txt");
        imaging::write_png_atomic((fs::path(dir) / image_name).string(), to_rgb_image(renderer.render(scene)),
                                  {{"charaforge_demo_caption", caption}});
        engine::write_file_atomic((fs::path(dir) / caption_name).string(), caption);
        nlohmann::ordered_json line;
        line["index"] = i;
        line["image"] = image_name;
        line["caption"] = caption_name;
        line["format"] = scene.tag_list_caption ? "tags" : "xml";
        line["characters"] = scene.characters.size();
        line["seed"] = seed;
        line["size"] = size;
        manifest += line.dump() + "\n";
        if (progress) {
            progress(i + 1, count);
        }
    }
    engine::write_file_atomic((fs::path(dir) / "manifest.jsonl").string(), manifest);
}

} // namespace charaforge::demo
