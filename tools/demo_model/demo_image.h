#pragma once
// The demo renderer's own image and geometry types, so that it needs neither OpenCV nor Qt and builds on the
// GPU machine (the engine-only configuration), where the trainer renders its images from seeds.
#include "scene_spec.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace charaforge::demo {

// An 8-bit RGB image: row-major, 3 bytes per pixel (R, G, B), no padding between rows.
struct DemoImage {
    int width = 0;
    int height = 0;
    std::vector<uint8_t> rgb; // width * height * 3 bytes

    DemoImage() = default;
    DemoImage(int w, int h) : width(w), height(h), rgb(static_cast<size_t>(w) * static_cast<size_t>(h) * 3, 0) {}

    // The pixel at column x, row y (no bounds check beyond the vector's).
    Rgb pixel(int x, int y) const {
        const uint8_t* p = data(x, y);
        return {p[0], p[1], p[2]};
    }
    uint8_t* data(int x, int y) { return rgb.data() + offset(x, y); }
    const uint8_t* data(int x, int y) const { return rgb.data() + offset(x, y); }

    bool operator==(const DemoImage&) const = default;

private:
    size_t offset(int x, int y) const {
        return (static_cast<size_t>(y) * static_cast<size_t>(width) + static_cast<size_t>(x)) * 3;
    }
};

struct Point {
    int x = 0;
    int y = 0;
    bool operator==(const Point&) const = default;
};

// The pixels [x, x + width) x [y, y + height).
struct Box {
    int x = 0;
    int y = 0;
    int width = 0;
    int height = 0;
    bool operator==(const Box&) const = default;
};

} // namespace charaforge::demo
