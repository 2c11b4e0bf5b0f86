#pragma once
// The unit of LaMa work: an RGB tile with its mask, and the inpainted tile. Torch-free value types.
#include <cstdint>
#include <vector>

namespace charaforge::engine {

// One tile: interleaved RGB (height * width * 3 bytes) and a mask (height * width bytes, nonzero = hole).
struct LamaTile {
    int width = 0;
    int height = 0;
    std::vector<uint8_t> rgb;
    std::vector<uint8_t> mask;
};

// The inpainted tile, same size, interleaved RGB.
struct LamaOutput {
    int width = 0;
    int height = 0;
    std::vector<uint8_t> rgb;
};

} // namespace charaforge::engine
