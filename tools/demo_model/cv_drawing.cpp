#include "cv_drawing.h"

#include <opencv2/imgproc.hpp>

#include <stdexcept>

namespace charaforge::demo {

namespace {
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
} // namespace

cv::Size text_size(const std::string& text, double scale, int thickness, int* baseline) {
    int base = 0;
    const cv::Size size = cv::getTextSize(text, kFont, scale, thickness, &base);
    if (baseline != nullptr) {
        *baseline = base;
    }
    return size;
}

void put_text(cv::Mat& img, const std::string& text, cv::Point at, double scale, cv::Scalar colour, int thickness,
              double align_x, double align_y) {
    const cv::Size size = text_size(text, scale, thickness);
    const cv::Point origin(at.x - static_cast<int>(align_x * size.width),
                           at.y + static_cast<int>(align_y * size.height));
    cv::putText(img, text, origin, kFont, scale, colour, thickness, cv::LINE_AA);
}

imaging::RgbImage to_rgb_image(const cv::Mat& rgb) {
    if (rgb.type() != CV_8UC3) {
        throw std::invalid_argument("to_rgb_image: not an 8-bit three-channel picture");
    }
    const cv::Mat packed = rgb.isContinuous() ? rgb : rgb.clone(); // rows without padding
    imaging::RgbImage out;
    out.width = packed.cols;
    out.height = packed.rows;
    out.rgb.assign(packed.data, packed.data + packed.total() * packed.elemSize());
    return out;
}

} // namespace charaforge::demo
