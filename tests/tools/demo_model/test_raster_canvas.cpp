#include "raster_canvas.h"

#include <gtest/gtest.h>

#include <cmath>

using charaforge::demo::RasterCanvas;
using charaforge::demo::Rgb;

namespace {

constexpr Rgb kBlack{0, 0, 0};
constexpr Rgb kRed{255, 0, 0};

int count(const RasterCanvas& canvas, Rgb colour) {
    int n = 0;
    for (int y = 0; y < canvas.height(); ++y) {
        for (int x = 0; x < canvas.width(); ++x) {
            n += canvas.pixels().pixel(x, y) == colour ? 1 : 0;
        }
    }
    return n;
}

} // namespace

TEST(RasterCanvas, ARectangleCoversExactlyItsPixelsAndIsClipped) {
    RasterCanvas canvas(20, 10);
    canvas.fill(kBlack);
    canvas.fill_rect(-5, 2, 4, 6, kRed); // x 0..3, y 2..5
    EXPECT_EQ(count(canvas, kRed), 16);
    EXPECT_EQ(canvas.pixels().pixel(3, 2).r, 255);
    EXPECT_EQ(canvas.pixels().pixel(4, 2).r, 0);
}

TEST(RasterCanvas, AnEllipseCoversItsAreaSymmetrically) {
    RasterCanvas canvas(200, 200);
    canvas.fill(kBlack);
    canvas.fill_ellipse(100, 100, 60, 30, kRed);
    EXPECT_NEAR(count(canvas, kRed), M_PI * 60 * 30, M_PI * 60 * 30 * 0.02);
    for (int y = 60; y < 140; ++y) { // mirror symmetric about the centre (the pixel corner 100, 100)
        for (int x = 30; x < 170; ++x) {
            ASSERT_EQ(canvas.pixels().pixel(x, y), canvas.pixels().pixel(199 - x, 199 - y));
        }
    }
    RasterCanvas clipped(200, 200);
    clipped.fill(kBlack);
    clipped.fill_ellipse(100, 100, 60, 30, kRed, INT_MIN, 100); // the upper half only
    EXPECT_EQ(2 * count(clipped, kRed), count(canvas, kRed));
}

TEST(RasterCanvas, APolygonCoversItsArea) {
    RasterCanvas canvas(100, 100);
    canvas.fill(kBlack);
    canvas.fill_polygon({{10, 10}, {50, 10}, {50, 30}, {10, 30}}, kRed); // a 40x20 rectangle
    EXPECT_EQ(count(canvas, kRed), 800);
    RasterCanvas triangle(100, 100);
    triangle.fill(kBlack);
    triangle.fill_polygon({{0, 0}, {80, 0}, {0, 80}}, kRed);
    EXPECT_NEAR(count(triangle, kRed), 3200, 80);
}

TEST(RasterCanvas, ALineCoversAStripOfItsWidth) {
    RasterCanvas canvas(100, 100);
    canvas.fill(kBlack);
    canvas.fill_line({10, 50}, {90, 50}, 3, kRed);
    // 80 x 6 plus two round caps of radius 3.
    EXPECT_NEAR(count(canvas, kRed), 80 * 6 + M_PI * 9, 12);
    EXPECT_EQ(canvas.pixels().pixel(50, 50).r, 255);
    EXPECT_EQ(canvas.pixels().pixel(50, 54).r, 0);
}

TEST(RasterCanvas, DownsamplingAveragesEachBlockWithRounding) {
    RasterCanvas canvas(4, 2);
    canvas.fill(kBlack);
    canvas.fill_rect(0, 0, 1, 1, Rgb{255, 1, 2}); // one pixel of the left block
    canvas.fill_rect(2, 0, 4, 2, Rgb{10, 20, 30});
    const charaforge::demo::DemoImage small = canvas.downsampled();
    ASSERT_EQ(small.width, 2);
    ASSERT_EQ(small.height, 1);
    ASSERT_EQ(small.rgb.size(), 6U);
    EXPECT_EQ(small.pixel(0, 0), (Rgb{64, 0, 1})); // (255 + 2) >> 2, (1 + 2) >> 2, (2 + 2) >> 2
    EXPECT_EQ(small.pixel(1, 0), (Rgb{10, 20, 30}));
    EXPECT_THROW(RasterCanvas(3, 4), std::invalid_argument);
}
