#pragma once
// PNG files with text metadata, through libpng (tEXt, zTXt and iTXt read; iTXt written). No Qt, no torch.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace charaforge::imaging {

struct RgbImage {
    int width = 0;
    int height = 0;
    std::vector<uint8_t> rgb; // interleaved R, G, B; rows top to bottom
};

using TextChunks = std::map<std::string, std::string>; // keyword -> UTF-8 text

// Encodes `image` as PNG with each text entry in an iTXt chunk (UTF-8, uncompressed).
std::vector<uint8_t> encode_png(const RgbImage& image, const TextChunks& text = {});

// Writes atomically: temporary file in the same folder, flush, rename. Throws std::runtime_error
// ("png: PATH: ...") on failure, leaving no partial file at `path`.
void write_png_atomic(const std::string& path, const RgbImage& image, const TextChunks& text = {});

// Reads pixels (converted to RGB) and the tEXt/iTXt chunks. Throws std::runtime_error naming the file.
RgbImage read_png(const std::string& path, TextChunks* text = nullptr);

// Text chunks of a PNG held in memory; throws std::runtime_error on a malformed chunk structure.
TextChunks read_png_text(const std::vector<uint8_t>& png);

} // namespace charaforge::imaging
