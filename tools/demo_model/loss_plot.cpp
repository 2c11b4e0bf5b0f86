#include "loss_plot.h"

#include "cv_drawing.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace charaforge::demo {

namespace {

constexpr int kMaxImageSide = 32768;
constexpr const char* kHeader = "step,loss";

// A field as it appears in a message: quoted, cut at 40 bytes, bytes other than printable ASCII as \xNN.
std::string shown(const std::string& text) {
    std::string out = "'";
    for (size_t i = 0; i < std::min<size_t>(text.size(), 40); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
        } else {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        }
    }
    return out + (text.size() > 40 ? "...'" : "'");
}

std::string format_number(double value, int digits) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.*g", digits, value);
    return buf;
}

cv::Scalar colour(Rgb c) {
    return cv::Scalar(c.r, c.g, c.b);
} // the picture is drawn in RGB order

} // namespace

LossCurve read_loss_csv(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
        throw std::runtime_error(path + ": no such file");
    }
    if (std::filesystem::is_directory(path, ec)) {
        throw std::runtime_error(path + ": is a folder, not a loss CSV");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw std::runtime_error(path + ": cannot open: " + std::strerror(errno));
    }
    const auto fail = [&path](int64_t line, const std::string& why) {
        throw std::runtime_error(path + ":" + std::to_string(line) + ": " + why);
    };
    LossCurve curve;
    std::string text;
    int64_t line = 0;
    while (std::getline(in, text)) {
        ++line;
        if (!text.empty() && text.back() == '\r') {
            text.pop_back();
        }
        if (line == 1) {
            if (text != kHeader) {
                fail(line, "the header is " + shown(text) + ", not '" + kHeader + "'");
            }
            continue;
        }
        const size_t comma = text.find(',');
        if (comma == std::string::npos || text.find(',', comma + 1) != std::string::npos) {
            fail(line, "expected 'STEP,LOSS', got " + shown(text));
        }
        const std::string step_text = text.substr(0, comma);
        const std::string loss_text = text.substr(comma + 1);
        int64_t step = 0;
        const auto [step_end, step_ec] = std::from_chars(step_text.data(), step_text.data() + step_text.size(), step);
        if (step_text.empty() || step_ec != std::errc() || step_end != step_text.data() + step_text.size()) {
            fail(line, "the step " + shown(step_text) + " is not a decimal integer");
        }
        double loss = 0.0;
        const auto [loss_end, loss_ec] = std::from_chars(loss_text.data(), loss_text.data() + loss_text.size(), loss);
        if (loss_text.empty() || loss_ec != std::errc() || loss_end != loss_text.data() + loss_text.size()) {
            fail(line, "the loss " + shown(loss_text) + " is not a number");
        }
        if (!std::isfinite(loss)) {
            fail(line, "the loss " + shown(loss_text) + " is not finite");
        }
        if (loss <= 0.0) {
            fail(line, "the loss " + shown(loss_text) + " is not positive (the loss axis is logarithmic)");
        }
        if (!curve.steps.empty() && step <= curve.steps.back()) {
            fail(line, "the step " + std::to_string(step) + " does not follow the step " +
                           std::to_string(curve.steps.back()) + " (steps must increase)");
        }
        curve.steps.push_back(step);
        curve.losses.push_back(loss);
    }
    if (in.bad()) {
        throw std::runtime_error(path + ": read error after line " + std::to_string(line));
    }
    if (line == 0) {
        throw std::runtime_error(path + ": empty file (expected the header '" + std::string(kHeader) + "')");
    }
    if (curve.steps.empty()) {
        fail(2, "no rows after the header");
    }
    return curve;
}

std::vector<double> moving_average(const std::vector<double>& losses, int window) {
    if (window < 1) {
        throw std::invalid_argument("moving_average: window " + std::to_string(window) + " < 1");
    }
    std::vector<double> out(losses.size());
    double sum = 0.0; // the running sum of the window (its rounding error grows with the step count, ~n ulp)
    for (size_t i = 0; i < losses.size(); ++i) {
        sum += losses[i];
        if (i >= static_cast<size_t>(window)) {
            sum -= losses[i - window];
        }
        out[i] = sum / static_cast<double>(std::min(i + 1, static_cast<size_t>(window)));
    }
    return out;
}

namespace {

// Ticks of a log axis over [10^lo, 10^hi]: decades, else 1-2-5, else every mantissa, whichever first gives three.
std::vector<double> log_ticks(double lo, double hi) {
    static const std::vector<std::vector<double>> kMantissas = {{1}, {1, 2, 5}, {1, 2, 3, 4, 5, 6, 7, 8, 9}};
    std::vector<double> ticks;
    for (const auto& mantissas : kMantissas) {
        ticks.clear();
        for (int e = static_cast<int>(std::floor(lo)); e <= static_cast<int>(std::ceil(hi)); ++e) {
            for (double m : mantissas) {
                const double v = m * std::pow(10.0, e);
                if (std::log10(v) >= lo && std::log10(v) <= hi) {
                    ticks.push_back(v);
                }
            }
        }
        if (ticks.size() >= 3) {
            break;
        }
    }
    if (ticks.size() > 12) { // many decades: every k-th
        const size_t stride = (ticks.size() + 11) / 12;
        std::vector<double> thinned;
        for (size_t i = 0; i < ticks.size(); i += stride) {
            thinned.push_back(ticks[i]);
        }
        ticks = thinned;
    }
    return ticks;
}

// A 1-2-5 step giving about six ticks over [lo, hi], at least 1 (steps are integers).
double linear_tick_step(double lo, double hi) {
    const double raw = (hi - lo) / 6.0;
    const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    double step = 10 * magnitude;
    for (double m : {1.0, 2.0, 5.0}) {
        if (m * magnitude >= raw) {
            step = m * magnitude;
            break;
        }
    }
    return std::max(step, 1.0);
}

void draw_panel(cv::Mat& img, const LossPanel& panel, const LossPlotOptions& o) {
    const LossCurve& curve = panel.curve;
    const int w = img.cols;
    const int h = img.rows;
    const double s = std::min(w / 800.0, h / 500.0); // text and margins follow the panel
    const double font = std::max(0.35, 0.5 * s);
    const int text_thick = std::max(1, static_cast<int>(std::lround(s)));
    const cv::Scalar black(0, 0, 0);
    const cv::Scalar grey(110, 110, 110);
    const cv::Scalar grid(228, 228, 228);

    const int left = static_cast<int>(78 * s);
    const int right = static_cast<int>(24 * s);
    const int top = static_cast<int>(70 * s);
    const int bottom = static_cast<int>(50 * s);
    const cv::Rect area(left, top, w - left - right, h - top - bottom);

    // Axes' ranges: the raw losses (log10) with a margin, the steps.
    const auto [min_it, max_it] = std::minmax_element(curve.losses.begin(), curve.losses.end());
    double l0 = std::log10(*min_it);
    double l1 = std::log10(*max_it);
    if (l1 - l0 < 1e-9) {
        l0 -= 0.5;
        l1 += 0.5;
    }
    const double pad = 0.04 * (l1 - l0);
    l0 -= pad;
    l1 += pad;
    double x0 = static_cast<double>(curve.steps.front());
    double x1 = static_cast<double>(curve.steps.back());
    if (x1 <= x0) {
        x0 -= 1;
        x1 += 1;
    }
    const auto px = [&](double step) { return area.x + (step - x0) / (x1 - x0) * area.width; };
    const auto py = [&](double loss) { return area.y + (l1 - std::log10(loss)) / (l1 - l0) * area.height; };

    // Grid and tick labels.
    for (double v : log_ticks(l0, l1)) {
        const int y = static_cast<int>(std::lround(py(v)));
        cv::line(img, {area.x, y}, {area.x + area.width, y}, grid, 1);
        cv::line(img, {area.x - static_cast<int>(5 * s), y}, {area.x, y}, black, 1);
        put_text(img, format_number(v, 3), {area.x - static_cast<int>(8 * s), y}, font * 0.9, black, 1, 1.0, 0.5);
    }
    const double xstep = linear_tick_step(x0, x1);
    for (double v = std::ceil(x0 / xstep) * xstep; v <= x1; v += xstep) {
        const int x = static_cast<int>(std::lround(px(v)));
        cv::line(img, {x, area.y}, {x, area.y + area.height}, grid, 1);
        cv::line(img, {x, area.y + area.height}, {x, area.y + area.height + static_cast<int>(5 * s)}, black, 1);
        put_text(img, std::to_string(std::llround(v)), {x, area.y + area.height + static_cast<int>(10 * s)}, font * 0.9,
                 black, 1, 0.5, 1.0);
    }
    cv::rectangle(img, area, black, 1);
    put_text(img, "step", {area.x + area.width / 2, h - static_cast<int>(8 * s)}, font, grey, 1, 0.5, 0.0);
    put_text(img, "loss (log scale)", {static_cast<int>(6 * s), top - static_cast<int>(8 * s)}, font * 0.9, grey, 1);

    // The curves, at 1/16 pixel precision.
    constexpr int kShift = 4;
    const auto points = [&](const std::vector<double>& values) {
        std::vector<cv::Point> out(values.size());
        for (size_t i = 0; i < values.size(); ++i) {
            out[i] = cv::Point(static_cast<int>(std::lround(px(static_cast<double>(curve.steps[i])) * 16)),
                               static_cast<int>(std::lround(py(values[i]) * 16)));
        }
        return out;
    };
    const std::vector<double> average = moving_average(curve.losses, o.window);
    const int thin = std::max(1, static_cast<int>(std::lround(s)));
    const int thick = std::max(3, static_cast<int>(std::lround(3 * s)));
    cv::polylines(img, std::vector<std::vector<cv::Point>>{points(curve.losses)}, false, colour(kRawLossColour), thin,
                  cv::LINE_AA, kShift);
    cv::polylines(img, std::vector<std::vector<cv::Point>>{points(average)}, false, colour(kAverageLossColour), thick,
                  cv::LINE_AA, kShift);

    // Title and the final moving average.
    put_text(img, panel.title, {w / 2, static_cast<int>(10 * s)}, font * 1.4, black, text_thick + 1, 0.5, 1.0);
    const size_t n = curve.losses.size();
    const int used = static_cast<int>(std::min(n, static_cast<size_t>(o.window)));
    const std::string summary = "mean of the last " + std::to_string(used) + " steps at step " +
                                std::to_string(curve.steps.back()) + ": " + format_number(average.back(), 4) +
                                "   (step " + std::to_string(curve.steps.front()) + ": " +
                                format_number(curve.losses.front(), 4) + ")";
    // Right-aligned over the plot, clear of the loss axis' label at the left.
    put_text(img, summary, {area.x + area.width, top - static_cast<int>(8 * s)}, font, colour(kAverageLossColour),
             text_thick, 1.0, 0.0);
}

} // namespace

imaging::RgbImage render_loss_plot(const std::vector<LossPanel>& panels, const LossPlotOptions& o) {
    if (panels.empty()) {
        throw std::invalid_argument("render_loss_plot: no curves to plot");
    }
    if (o.window < 1) {
        throw std::invalid_argument("render_loss_plot: window " + std::to_string(o.window) + " < 1");
    }
    if (o.panel_width < 200 || o.panel_height < 150) {
        throw std::invalid_argument("render_loss_plot: a panel of " + std::to_string(o.panel_width) + "x" +
                                    std::to_string(o.panel_height) + " is under 200x150");
    }
    const int64_t n = static_cast<int64_t>(panels.size());
    const int64_t width = o.stacked ? o.panel_width : n * o.panel_width;
    const int64_t height = o.stacked ? n * o.panel_height : o.panel_height;
    if (width > kMaxImageSide || height > kMaxImageSide) {
        throw std::invalid_argument("render_loss_plot: " + std::to_string(n) + " panels make a picture of " +
                                    std::to_string(width) + "x" + std::to_string(height) + ", over " +
                                    std::to_string(kMaxImageSide) + " pixels a side");
    }
    for (const LossPanel& panel : panels) {
        if (panel.curve.losses.empty() || panel.curve.losses.size() != panel.curve.steps.size()) {
            throw std::invalid_argument("render_loss_plot: " + panel.title +
                                        ": no points, or steps and losses "
                                        "differ in number");
        }
    }
    cv::Mat img(static_cast<int>(height), static_cast<int>(width), CV_8UC3, colour(kLossPlotBackground));
    for (int64_t i = 0; i < n; ++i) {
        const cv::Rect where = o.stacked
                                   ? cv::Rect(0, static_cast<int>(i * o.panel_height), o.panel_width, o.panel_height)
                                   : cv::Rect(static_cast<int>(i * o.panel_width), 0, o.panel_width, o.panel_height);
        cv::Mat roi = img(where);
        draw_panel(roi, panels[static_cast<size_t>(i)], o);
        if (i > 0) { // a rule between panels
            const cv::Point a = o.stacked ? cv::Point(0, where.y) : cv::Point(where.x, 0);
            const cv::Point b = o.stacked ? cv::Point(static_cast<int>(width) - 1, where.y)
                                          : cv::Point(where.x, static_cast<int>(height) - 1);
            cv::line(img, a, b, cv::Scalar(200, 200, 200), 1);
        }
    }
    return to_rgb_image(img);
}

} // namespace charaforge::demo
