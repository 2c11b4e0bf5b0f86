#include "raster_canvas.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <stdexcept>

namespace charaforge::demo {
namespace {

int64_t floor_div(int64_t a, int64_t b) {
    const int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// Inside the ellipse when (dx / rx)^2 + (dy / ry)^2 <= 1, dx and dy measured to the pixel centre in half pixels.
bool in_ellipse(int64_t dx2, int64_t dy2, int64_t rx, int64_t ry) {
    const int64_t rx2 = 2 * rx;
    const int64_t ry2 = 2 * ry;
    return dx2 * dx2 * ry2 * ry2 + dy2 * dy2 * rx2 * rx2 <= rx2 * rx2 * ry2 * ry2;
}

} // namespace

RasterCanvas::RasterCanvas(int width, int height) {
    if (width <= 0 || height <= 0 || width % 2 != 0 || height % 2 != 0) {
        throw std::invalid_argument("demo canvas: the size must be positive and even");
    }
    pixels_ = DemoImage(width, height);
}

void RasterCanvas::put(int x, int y, Rgb colour) {
    uint8_t* p = pixels_.data(x, y);
    p[0] = colour.r;
    p[1] = colour.g;
    p[2] = colour.b;
}

void RasterCanvas::fill(Rgb colour) {
    fill_rect(0, 0, width(), height(), colour);
}

void RasterCanvas::vertical_gradient(Rgb top, Rgb bottom) {
    const int last = std::max(1, height() - 1);
    auto mix = [last](uint8_t a, uint8_t b, int y) {
        return static_cast<uint8_t>((a * (last - y) + b * y + last / 2) / last);
    };
    for (int y = 0; y < height(); ++y) {
        fill_rect(0, y, width(), y + 1, Rgb{mix(top.r, bottom.r, y), mix(top.g, bottom.g, y), mix(top.b, bottom.b, y)});
    }
}

void RasterCanvas::fill_rect(int x0, int y0, int x1, int y1, Rgb colour) {
    x0 = std::max(x0, 0);
    y0 = std::max(y0, 0);
    x1 = std::min(x1, width());
    y1 = std::min(y1, height());
    for (int y = y0; y < y1; ++y) {
        for (int x = x0; x < x1; ++x) {
            put(x, y, colour);
        }
    }
}

void RasterCanvas::fill_ellipse(int cx, int cy, int rx, int ry, Rgb colour, int clip_y0, int clip_y1) {
    fill_ring(cx, cy, rx, ry, std::max(rx, ry) + 1, colour, clip_y0, clip_y1);
}

void RasterCanvas::fill_ring(int cx, int cy, int rx, int ry, int thickness, Rgb colour, int clip_y0, int clip_y1) {
    if (rx <= 0 || ry <= 0 || thickness <= 0) {
        return;
    }
    const int irx = rx - thickness;
    const int iry = ry - thickness;
    const int y0 = std::max({cy - ry, clip_y0, 0});
    const int y1 = std::min({cy + ry + 1, clip_y1, height()});
    const int x0 = std::max(cx - rx, 0);
    const int x1 = std::min(cx + rx + 1, width());
    for (int y = y0; y < y1; ++y) {
        // Pixel centres at (x + 1/2, y + 1/2); the centre of the ellipse at the pixel corner (cx, cy).
        const int64_t dy2 = 2 * static_cast<int64_t>(y - cy) + 1;
        for (int x = x0; x < x1; ++x) {
            const int64_t dx2 = 2 * static_cast<int64_t>(x - cx) + 1;
            if (!in_ellipse(dx2, dy2, rx, ry)) {
                continue;
            }
            if (irx > 0 && iry > 0 && in_ellipse(dx2, dy2, irx, iry)) {
                continue;
            }
            put(x, y, colour);
        }
    }
}

void RasterCanvas::fill_polygon(const std::vector<Point>& points, Rgb colour) {
    if (points.size() < 3) {
        return;
    }
    int ymin = INT_MAX;
    int ymax = INT_MIN;
    for (const auto& p : points) {
        ymin = std::min(ymin, p.y);
        ymax = std::max(ymax, p.y);
    }
    std::vector<int64_t> crossings;
    for (int y = std::max(ymin, 0); y < std::min(ymax, height()); ++y) {
        const int64_t yc2 = 2 * static_cast<int64_t>(y) + 1; // the row's centre, in half pixels
        crossings.clear();
        for (size_t i = 0; i < points.size(); ++i) {
            const Point a = points[i];
            const Point b = points[(i + 1) % points.size()];
            if (a.y == b.y) {
                continue;
            }
            const int64_t ay2 = 2 * static_cast<int64_t>(a.y);
            const int64_t by2 = 2 * static_cast<int64_t>(b.y);
            if (yc2 < std::min(ay2, by2) || yc2 >= std::max(ay2, by2)) {
                continue;
            }
            // x of the edge at the row's centre, in half pixels, rounded down.
            crossings.push_back(2 * static_cast<int64_t>(a.x) + floor_div((yc2 - ay2) * 2 * (b.x - a.x), by2 - ay2));
        }
        std::sort(crossings.begin(), crossings.end());
        for (size_t i = 0; i + 1 < crossings.size(); i += 2) {
            // Pixels whose centre 2x + 1 lies in [left, right).
            const int64_t first = floor_div(crossings[i], 2); // the first x with 2x + 1 >= crossings[i]
            for (int64_t x = std::max<int64_t>(first, 0); 2 * x + 1 < crossings[i + 1] && x < width(); ++x) {
                put(static_cast<int>(x), y, colour);
            }
        }
    }
}

void RasterCanvas::fill_line(Point a, Point b, int half_width, Rgb colour) {
    if (half_width <= 0) {
        return;
    }
    const int x0 = std::max(std::min(a.x, b.x) - half_width, 0);
    const int x1 = std::min(std::max(a.x, b.x) + half_width + 1, width());
    const int y0 = std::max(std::min(a.y, b.y) - half_width, 0);
    const int y1 = std::min(std::max(a.y, b.y) + half_width + 1, height());
    // In half pixels: pixel centres are odd, the segment's ends even.
    const int64_t ax = 2 * static_cast<int64_t>(a.x);
    const int64_t ay = 2 * static_cast<int64_t>(a.y);
    const int64_t dx = 2 * static_cast<int64_t>(b.x - a.x);
    const int64_t dy = 2 * static_cast<int64_t>(b.y - a.y);
    const int64_t len2 = dx * dx + dy * dy;
    const int64_t w2 = 4 * static_cast<int64_t>(half_width) * half_width;
    for (int y = y0; y < y1; ++y) {
        const int64_t py = 2 * static_cast<int64_t>(y) + 1 - ay;
        for (int x = x0; x < x1; ++x) {
            const int64_t px = 2 * static_cast<int64_t>(x) + 1 - ax;
            const int64_t dot = px * dx + py * dy;
            bool inside = false;
            if (len2 == 0 || dot <= 0) {
                inside = px * px + py * py <= w2;
            } else if (dot >= len2) {
                const int64_t qx = px - dx;
                const int64_t qy = py - dy;
                inside = qx * qx + qy * qy <= w2;
            } else {
                const int64_t cross = px * dy - py * dx;
                inside = cross * cross <= w2 * len2; // distance^2 = cross^2 / len2
            }
            if (inside) {
                put(x, y, colour);
            }
        }
    }
}

DemoImage RasterCanvas::downsampled() const {
    DemoImage out(width() / 2, height() / 2);
    for (int y = 0; y < out.height; ++y) {
        const uint8_t* r0 = pixels_.data(0, 2 * y);
        const uint8_t* r1 = pixels_.data(0, 2 * y + 1);
        uint8_t* o = out.data(0, y);
        for (int x = 0; x < out.width; ++x) {
            for (int c = 0; c < 3; ++c) {
                const int sum = r0[6 * x + c] + r0[6 * x + 3 + c] + r1[6 * x + c] + r1[6 * x + 3 + c];
                o[3 * x + c] = static_cast<uint8_t>((sum + 2) >> 2);
            }
        }
    }
    return out;
}

} // namespace charaforge::demo
