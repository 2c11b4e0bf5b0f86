#pragma once
// OpenCV drawing shared by the demo tools' pictures (charaforge-loss-plot, charaforge-demo-grid's contact sheet): the
// one text drawing (OpenCV's Hershey simplex font, anti-aliased, printable ASCII only: OpenCV draws any other byte as
// '?') and the finished picture handed over as an imaging::RgbImage. OpenCV types: include it from .cpp files only.
#include "charaforge/imaging/png_io.h"

#include <opencv2/core.hpp>

#include <string>

namespace charaforge::demo {

// The text's box is placed so that the point `align_x` of its width from its left and `align_y` of its height above
// its baseline lies at `at`: (0, 0) puts the baseline's left end at `at`, (0.5, 1) centres the text below `at`.
void put_text(cv::Mat& img, const std::string& text, cv::Point at, double scale, cv::Scalar colour, int thickness,
              double align_x = 0.0, double align_y = 0.0);

// The size put_text gives `text` (the height from the baseline up) and, in `baseline`, how far descenders reach
// below the baseline.
cv::Size text_size(const std::string& text, double scale, int thickness, int* baseline = nullptr);

// A copy of `rgb` (8-bit, three channels in R, G, B order, as the tools draw) as an RgbImage.
imaging::RgbImage to_rgb_image(const cv::Mat& rgb);

} // namespace charaforge::demo
