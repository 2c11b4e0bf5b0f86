// Ref: Sanster/IOPaint iopaint/model/base.py (InpaintModel.__call__, _pad_forward, _crop_box, _run_box),
//      iopaint/helper.py (pad_img_to_modulo, resize_max_size, boxes_from_mask),
//      iopaint/batch_processing.py (mask resize and threshold), iopaint/schema.py (hd_strategy defaults).
#include "charaforge/imaging/erase.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <stdexcept>

namespace charaforge::imaging {
namespace {

cv::Mat view(const RgbImage& im) {
    return cv::Mat(im.height, im.width, CV_8UC3, const_cast<uint8_t*>(im.rgb.data()));
}
cv::Mat view(const GrayImage& im) {
    return cv::Mat(im.height, im.width, CV_8UC1, const_cast<uint8_t*>(im.data.data()));
}
RgbImage to_rgb(const cv::Mat& m) {
    RgbImage out;
    out.width = m.cols;
    out.height = m.rows;
    const cv::Mat c = m.isContinuous() ? m : m.clone();
    out.rgb.assign(c.data, c.data + c.total() * 3);
    return out;
}
GrayImage to_gray(const cv::Mat& m) {
    GrayImage out;
    out.width = m.cols;
    out.height = m.rows;
    const cv::Mat c = m.isContinuous() ? m : m.clone();
    out.data.assign(c.data, c.data + c.total());
    return out;
}

void check(const RgbImage& image, const GrayImage& mask) {
    if (image.width <= 0 || image.height <= 0 ||
        image.rgb.size() != static_cast<std::size_t>(image.width) * image.height * 3)
        throw std::invalid_argument("erase: the image buffer does not match its size");
    if (mask.width != image.width || mask.height != image.height ||
        mask.data.size() != static_cast<std::size_t>(mask.width) * mask.height)
        throw std::invalid_argument("erase: the mask is " + std::to_string(mask.width) + "x" +
                                    std::to_string(mask.height) + ", the image " + std::to_string(image.width) + "x" +
                                    std::to_string(image.height));
}

int padded(int side, const EraseOptions& o) {
    const int m = std::max(1, o.pad_multiple);
    return std::max((side + m - 1) / m * m, (o.min_side + m - 1) / m * m);
}

EraseTile make_tile(const cv::Mat& image, const cv::Mat& mask, int left, int top, const EraseOptions& o) {
    EraseTile t;
    t.left = left;
    t.top = top;
    t.width = image.cols;
    t.height = image.rows;
    cv::Mat pi, pm;
    // numpy "symmetric" repeats the edge pixel: OpenCV BORDER_REFLECT (not REFLECT_101).
    cv::copyMakeBorder(image, pi, 0, padded(image.rows, o) - image.rows, 0, padded(image.cols, o) - image.cols,
                       cv::BORDER_REFLECT);
    cv::copyMakeBorder(mask, pm, 0, padded(mask.rows, o) - mask.rows, 0, padded(mask.cols, o) - mask.cols,
                       cv::BORDER_REFLECT);
    t.image = to_rgb(pi);
    t.mask = to_gray(pm);
    return t;
}

// IOPaint's _crop_box: the box grown by `margin` on each side around its centre, shifted back inside the image.
cv::Rect crop_box(const cv::Rect& box, int img_w, int img_h, int margin) {
    const int cx = (box.x + box.x + box.width) / 2, cy = (box.y + box.y + box.height) / 2;
    const int w = box.width + margin * 2, h = box.height + margin * 2;
    const int l0 = cx - w / 2, r0 = cx + w / 2, t0 = cy - h / 2, b0 = cy + h / 2;
    int l = std::max(l0, 0), r = std::min(r0, img_w), t = std::max(t0, 0), b = std::min(b0, img_h);
    if (l0 < 0)
        r += -l0;
    if (r0 > img_w)
        l -= r0 - img_w;
    if (t0 < 0)
        b += -t0;
    if (b0 > img_h)
        t -= b0 - img_h;
    l = std::max(l, 0);
    r = std::min(r, img_w);
    t = std::max(t, 0);
    b = std::min(b, img_h);
    return {l, t, r - l, b - t};
}

// result * m + original * (1 - m), m = mask / 255, rounded to uint8.
cv::Mat blend(const cv::Mat& result, const cv::Mat& original, const cv::Mat& mask) {
    cv::Mat r, o, m, m3;
    result.convertTo(r, CV_32FC3);
    original.convertTo(o, CV_32FC3);
    mask.convertTo(m, CV_32F, 1.0 / 255.0);
    cv::cvtColor(m, m3, cv::COLOR_GRAY2RGB);
    cv::Mat out = r.mul(m3) + o.mul(cv::Scalar::all(1.0) - m3);
    cv::Mat u8;
    out.convertTo(u8, CV_8UC3); // saturating, rounds to nearest
    return u8;
}

} // namespace

GrayImage read_mask_png(const std::string& path, int width, int height, const std::string& image_path) {
    const auto rgb = read_png(path);
    if (rgb.width != width || rgb.height != height)
        throw std::invalid_argument(path + ": " + std::to_string(rgb.width) + "x" + std::to_string(rgb.height) +
                                    " does not match the image " + image_path + " (" + std::to_string(width) + "x" +
                                    std::to_string(height) + ")");
    GrayImage gray{rgb.width, rgb.height, std::vector<uint8_t>(static_cast<std::size_t>(rgb.width) * rgb.height)};
    for (std::size_t i = 0; i < gray.data.size(); ++i)
        gray.data[i] = static_cast<uint8_t>(
            (rgb.rgb[i * 3] * 4899 + rgb.rgb[i * 3 + 1] * 9617 + rgb.rgb[i * 3 + 2] * 1868 + 8192) >> 14);
    return binarize_mask(gray, width, height);
}

std::optional<EraseStrategy> parse_erase_strategy(std::string_view name) {
    if (name == "original")
        return EraseStrategy::Original;
    if (name == "resize")
        return EraseStrategy::Resize;
    if (name == "crop")
        return EraseStrategy::Crop;
    return std::nullopt;
}

std::string_view erase_strategy_name(EraseStrategy s) {
    switch (s) {
    case EraseStrategy::Original:
        return "original";
    case EraseStrategy::Resize:
        return "resize";
    case EraseStrategy::Crop:
        return "crop";
    }
    return "original";
}

GrayImage binarize_mask(const GrayImage& mask, int width, int height) {
    if (mask.width <= 0 || mask.height <= 0 || width <= 0 || height <= 0 ||
        mask.data.size() != static_cast<std::size_t>(mask.width) * mask.height)
        throw std::invalid_argument("erase: empty mask or size");
    cv::Mat m = view(mask);
    cv::Mat sized;
    if (mask.width != width || mask.height != height)
        cv::resize(m, sized, cv::Size(width, height), 0, 0, cv::INTER_NEAREST);
    else
        sized = m.clone();
    cv::Mat bin;
    cv::threshold(sized, bin, 126, 255, cv::THRESH_BINARY); // > 126, i.e. >= 127
    return to_gray(bin);
}

ErasePlan plan_erase(const RgbImage& image, const GrayImage& mask, const EraseOptions& o) {
    check(image, mask);
    ErasePlan plan;
    plan.work_width = image.width;
    plan.work_height = image.height;
    const int longer = std::max(image.width, image.height);
    const cv::Mat im = view(image), mk = view(mask);
    if (o.strategy == EraseStrategy::Crop && longer > o.crop_trigger_size) {
        plan.applied = EraseStrategy::Crop;
        cv::Mat thresh;
        cv::threshold(mk, thresh, 127, 255, cv::THRESH_BINARY);
        std::vector<std::vector<cv::Point>> contours;
        cv::findContours(thresh, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
        for (const auto& c : contours) {
            const auto r = crop_box(cv::boundingRect(c), image.width, image.height, o.crop_margin);
            plan.tiles.push_back(make_tile(im(r), mk(r), r.x, r.y, o));
        }
        return plan;
    }
    if (o.strategy == EraseStrategy::Resize && longer > o.resize_limit) {
        plan.applied = EraseStrategy::Resize;
        const double ratio = static_cast<double>(o.resize_limit) / longer;
        plan.work_width = static_cast<int>(image.width * ratio + 0.5);
        plan.work_height = static_cast<int>(image.height * ratio + 0.5);
        cv::Mat si, sm;
        cv::resize(im, si, cv::Size(plan.work_width, plan.work_height), 0, 0, cv::INTER_CUBIC);
        cv::resize(mk, sm, cv::Size(plan.work_width, plan.work_height), 0, 0, cv::INTER_CUBIC);
        plan.tiles.push_back(make_tile(si, sm, 0, 0, o));
        return plan;
    }
    plan.applied = EraseStrategy::Original;
    plan.tiles.push_back(make_tile(im, mk, 0, 0, o));
    return plan;
}

RgbImage compose_erase(const RgbImage& image, const GrayImage& mask, const ErasePlan& plan,
                       const std::vector<RgbImage>& outputs) {
    check(image, mask);
    if (outputs.size() != plan.tiles.size())
        throw std::invalid_argument("erase: " + std::to_string(outputs.size()) + " outputs for " +
                                    std::to_string(plan.tiles.size()) + " tiles");
    cv::Mat work;
    if (plan.applied == EraseStrategy::Resize)
        cv::resize(view(image), work, cv::Size(plan.work_width, plan.work_height), 0, 0, cv::INTER_CUBIC);
    else
        work = view(image).clone();
    cv::Mat result = work.clone();
    for (std::size_t i = 0; i < outputs.size(); ++i) {
        const auto& t = plan.tiles[i];
        const auto& out = outputs[i];
        if (out.width != t.image.width || out.height != t.image.height ||
            out.rgb.size() != static_cast<std::size_t>(out.width) * out.height * 3)
            throw std::invalid_argument("erase: output " + std::to_string(i) + " is " + std::to_string(out.width) +
                                        "x" + std::to_string(out.height) + ", its tile " +
                                        std::to_string(t.image.width) + "x" + std::to_string(t.image.height));
        const cv::Rect r(t.left, t.top, t.width, t.height);
        const cv::Rect inner(0, 0, t.width, t.height);
        blend(view(out)(inner), work(r), view(t.mask)(inner)).copyTo(result(r));
    }
    if (plan.applied == EraseStrategy::Resize) {
        cv::Mat back;
        cv::resize(result, back, cv::Size(image.width, image.height), 0, 0, cv::INTER_CUBIC);
        cv::Mat keep;
        cv::threshold(view(mask), keep, 126, 255, cv::THRESH_BINARY_INV); // original mask < 127
        view(image).copyTo(back, keep);
        return to_rgb(back);
    }
    return to_rgb(result);
}

} // namespace charaforge::imaging
