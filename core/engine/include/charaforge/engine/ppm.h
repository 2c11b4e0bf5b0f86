#pragma once
// The image file of builds without a PNG codec (engine-only): binary PPM. Torch-free.
#include "charaforge/engine/pipeline.h"

#include <string>

namespace charaforge::engine {

// Writes `image` as a binary PPM (P6). Throws std::runtime_error("cannot write PATH").
void write_ppm(const std::string& path, const Image& image);

} // namespace charaforge::engine
