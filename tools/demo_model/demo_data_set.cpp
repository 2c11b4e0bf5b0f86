#include "demo_data_set.h"

#include "character_renderer.h"
#include "demo_caption.h"

#include "charaforge/imaging/png_io.h"
#include "file_util.h" // core/engine: the atomic file writer (torch-free)

#include <nlohmann/json.hpp>

#include <filesystem>
#include <stdexcept>
#include <utility>

namespace charaforge::demo {
namespace {

namespace fs = std::filesystem;

std::string numbered(int index, int count, const char* ext) {
    const int width = std::max<int>(6, static_cast<int>(std::to_string(count - 1).size()));
    std::string digits = std::to_string(index);
    return std::string(static_cast<size_t>(width) - std::min<size_t>(digits.size(), width), '0') + digits + ext;
}

imaging::RgbImage to_rgb_image(DemoImage&& image) {
    imaging::RgbImage out;
    out.width = image.width;
    out.height = image.height;
    out.rgb = std::move(image.rgb); // the same layout: rows top to bottom, R G B
    return out;
}

void check_count(int count) {
    if (count < 1) {
        throw std::invalid_argument("demo set: count " + std::to_string(count) + " is below 1");
    }
}

void make_folder(const std::string& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
        throw std::runtime_error(dir + ": cannot create the folder: " + ec.message());
    }
}

} // namespace

void write_demo_set(const std::string& dir, int count, uint64_t seed, int size, const SetProgress& progress) {
    check_count(count);
    const CharacterRenderer renderer(size);
    make_folder(dir);
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

void write_demo_captions(const std::string& dir, int count, uint64_t seed, int size, const SetProgress& progress) {
    check_count(count);
    const CharacterRenderer renderer(size); // checks the size as write_demo_set does
    make_folder(dir);
    std::string lines;
    for (int i = 0; i < count; ++i) {
        const SceneSpec scene = random_scene(seed, static_cast<uint64_t>(i));
        nlohmann::ordered_json line;
        line["index"] = i;
        line["seed"] = seed;
        line["size"] = renderer.size();
        line["format"] = scene.tag_list_caption ? "tags" : "xml";
        line["caption"] = caption_text(scene);
        lines += line.dump() + "\n";
        if (progress) {
            progress(i + 1, count);
        }
    }
    engine::write_file_atomic((fs::path(dir) / "captions.jsonl").string(), lines);
}

} // namespace charaforge::demo
