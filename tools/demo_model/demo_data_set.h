#pragma once
// A demo training set on disk: for image i, DIR/<i>.png (the caption also in its `charaforge_demo_caption` text
// chunk), DIR/<i>.txt (the caption) and line i of DIR/manifest.jsonl ({"index", "image", "caption", "format":
// "xml" | "tags", "characters", "seed", "size"}). Image i depends only on the seed, i and the size.
#include <cstdint>
#include <functional>
#include <string>

namespace charaforge::demo {

// Called after each image with the number written so far.
using SetProgress = std::function<void(int written, int count)>;

// Writes `count` images of `size` x `size` into `dir` (created if missing; files of the same names replaced).
// Throws std::invalid_argument for a bad size or count, std::runtime_error naming the file that failed.
void write_demo_set(const std::string& dir, int count, uint64_t seed, int size, const SetProgress& progress = {});

// The same set as seeds and captions only, for a machine that renders the images itself (the GPU machine's
// trainer, through render_demo_image(seed, index, size) of character_renderer.h): DIR/captions.jsonl, line i
// {"index": i, "seed", "size", "format": "xml" | "tags", "caption": the text of write_demo_set's DIR/<i>.txt}.
// No images. Same errors as write_demo_set.
void write_demo_captions(const std::string& dir, int count, uint64_t seed, int size, const SetProgress& progress = {});

} // namespace charaforge::demo
