#pragma once
// An RGB canvas with integer-only filled shapes, so that a drawing is the same pixels on every CPU and with
// every build (OpenCV's cv::ellipse and cv::fillPoly go through floating-point and version-dependent code).
// A pixel is covered when its centre is inside the shape. Shapes outside the canvas are clipped.
#include "demo_image.h"
#include "scene_spec.h"

#include <climits>
#include <vector>

namespace charaforge::demo {

class RasterCanvas {
public:
    RasterCanvas(int width, int height);

    int width() const { return pixels_.width; }
    int height() const { return pixels_.height; }
    const DemoImage& pixels() const { return pixels_; }

    void fill(Rgb colour);
    // Rows y0..y1-1 coloured from `top` (row 0 of the canvas) to `bottom` (its last row), linearly.
    void vertical_gradient(Rgb top, Rgb bottom);
    // [x0, x1) x [y0, y1).
    void fill_rect(int x0, int y0, int x1, int y1, Rgb colour);
    // Axis-aligned ellipse; only rows in [clip_y0, clip_y1) are drawn.
    void fill_ellipse(int cx, int cy, int rx, int ry, Rgb colour, int clip_y0 = INT_MIN, int clip_y1 = INT_MAX);
    // The band between the ellipse (rx, ry) and the one `thickness` smaller, rows in [clip_y0, clip_y1).
    void fill_ring(int cx, int cy, int rx, int ry, int thickness, Rgb colour, int clip_y0 = INT_MIN,
                   int clip_y1 = INT_MAX);
    // A simple polygon (even-odd rule), vertices in order.
    void fill_polygon(const std::vector<Point>& points, Rgb colour);
    // A segment with round ends, every pixel within `half_width` of it.
    void fill_line(Point a, Point b, int half_width, Rgb colour);

    // Each 2x2 block averaged with rounding: the drawing at half size with smoothed edges.
    DemoImage downsampled() const;

private:
    void put(int x, int y, Rgb colour);

    DemoImage pixels_;
};

} // namespace charaforge::demo
