// charaforge-loss-plot's pieces: the strict CSV reader (each hostile file named with its line), the moving average
// against its definition, and the picture read back from the PNG: its size, not blank, both curves drawn in their
// colours in every panel, the average falling where the loss falls.
#include "loss_plot.h"

#include "charaforge/imaging/png_io.h"
#include "test_util.h" // tests/core/engine: TempDir

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cfloat>
#include <cmath>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

using namespace charaforge::demo;

namespace {

void write_text(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    ASSERT_TRUE(out.flush()) << path;
}

// The message read_loss_csv throws for `text` (empty when it throws none).
std::string csv_error(const charaforge::test::TempDir& dir, const std::string& text) {
    const std::string path = dir.file("bad.csv");
    write_text(path, text);
    try {
        read_loss_csv(path);
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "";
}

// A decaying loss with a deterministic wiggle, as a training run gives.
LossCurve decaying_curve(int steps, double start, double end) {
    LossCurve c;
    for (int i = 0; i < steps; ++i) {
        const double t = static_cast<double>(i) / (steps - 1);
        c.steps.push_back(i + 1);
        c.losses.push_back(start * std::pow(end / start, t) * (1.0 + 0.3 * std::sin(i * 1.7)));
    }
    return c;
}

// Pixels of `image` (BGR, as cv::imread gives) within 8 levels of `c` per channel, in `area`.
std::vector<cv::Point> pixels_of(const cv::Mat& image, Rgb c, cv::Rect area) {
    std::vector<cv::Point> out;
    for (int y = area.y; y < area.y + area.height; ++y) {
        for (int x = area.x; x < area.x + area.width; ++x) {
            const cv::Vec3b p = image.at<cv::Vec3b>(y, x);
            if (std::abs(p[0] - c.b) <= 8 && std::abs(p[1] - c.g) <= 8 && std::abs(p[2] - c.r) <= 8) {
                out.push_back({x, y});
            }
        }
    }
    return out;
}

} // namespace

TEST(LossPlot, ReadsTheTrainersCsv) {
    const charaforge::test::TempDir dir;
    const std::string path = dir.file("loss.csv");
    write_text(path, "step,loss\n1,0.603790224\n2,0.25\r\n10,1e-3\n");
    const LossCurve c = read_loss_csv(path);
    EXPECT_EQ(c.steps, (std::vector<int64_t>{1, 2, 10}));
    EXPECT_EQ(c.losses, (std::vector<double>{0.603790224, 0.25, 1e-3}));
}

TEST(LossPlot, HostileFilesAreRefusedWithTheFileAndLine) {
    const charaforge::test::TempDir dir;
    const std::string p = dir.file("bad.csv");
    try {
        read_loss_csv(dir.file("missing.csv"));
        FAIL() << "a missing file was read";
    } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()), dir.file("missing.csv") + ": no such file");
    }
    EXPECT_EQ(csv_error(dir, ""), p + ": empty file (expected the header 'step,loss')");
    EXPECT_EQ(csv_error(dir, "step;loss\n1,0.5\n"), p + ":1: the header is 'step;loss', not 'step,loss'");
    EXPECT_EQ(csv_error(dir, "step,loss\n"), p + ":2: no rows after the header");
    EXPECT_EQ(csv_error(dir, "step,loss\n1,0.5\n2,abc\n"), p + ":3: the loss 'abc' is not a number");
    EXPECT_EQ(csv_error(dir, "step,loss\n1,0.5x\n"), p + ":2: the loss '0.5x' is not a number");
    EXPECT_EQ(csv_error(dir, "step,loss\n1,\n"), p + ":2: the loss '' is not a number");
    EXPECT_EQ(csv_error(dir, "step,loss\n1,0\n"),
              p + ":2: the loss '0' is not positive (the loss axis is logarithmic)");
    EXPECT_EQ(csv_error(dir, "step,loss\n1,0.5\n2,-0.1\n"),
              p + ":3: the loss '-0.1' is not positive (the loss axis is logarithmic)");
    EXPECT_EQ(csv_error(dir, "step,loss\n1,nan\n"), p + ":2: the loss 'nan' is not finite");
    EXPECT_EQ(csv_error(dir, "step,loss\n1,inf\n"), p + ":2: the loss 'inf' is not finite");
    EXPECT_EQ(csv_error(dir, "step,loss\n1e3,0.5\n"), p + ":2: the step '1e3' is not a decimal integer");
    EXPECT_EQ(csv_error(dir, "step,loss\n99999999999999999999,0.5\n"),
              p + ":2: the step '99999999999999999999' is not a decimal integer");
    EXPECT_EQ(csv_error(dir, "step,loss\n1,0.5\n1,0.4\n"),
              p + ":3: the step 1 does not follow the step 1 (steps must increase)");
    EXPECT_EQ(csv_error(dir, "step,loss\n1,0.5,7\n"), p + ":2: expected 'STEP,LOSS', got '1,0.5,7'");
    EXPECT_EQ(csv_error(dir, "step,loss\n1,0.5\n\n2,0.4\n"), p + ":3: expected 'STEP,LOSS', got ''");
    EXPECT_EQ(csv_error(dir, std::string("step,loss\n1,0.5\n\0\xff", 18) + "\n"),
              p + ":3: expected 'STEP,LOSS', got '\\x00\\xff'");
    EXPECT_EQ(csv_error(dir, "step,loss\n1," + std::string(100, 'x') + "\n"),
              p + ":2: the loss '" + std::string(40, 'x') + "...' is not a number");
}

TEST(LossPlot, TheMovingAverageIsTheTrailingMean) {
    const LossCurve c = decaying_curve(200, 2.0, 0.01);
    for (int window : {1, 7, 50, 500}) {
        const std::vector<double> avg = moving_average(c.losses, window);
        ASSERT_EQ(avg.size(), c.losses.size());
        for (size_t i = 0; i < avg.size(); ++i) {
            const size_t first = i + 1 >= static_cast<size_t>(window) ? i + 1 - window : 0;
            double sum = 0.0;
            for (size_t j = first; j <= i; ++j) {
                sum += c.losses[j];
            }
            const double expected = sum / static_cast<double>(i - first + 1);
            // The running sum adds and drops i + 1 values, each rounding by at most an ulp of the sum (<= 2.6 * 2):
            // an absolute error bound of (2 i + 2) * DBL_EPSILON * max sum, divided by the count.
            const double bound = (2.0 * i + 2.0) * DBL_EPSILON * 2.6 * window / static_cast<double>(i - first + 1);
            EXPECT_NEAR(avg[i], expected, bound) << "window " << window << " step " << i;
        }
    }
    EXPECT_THROW(moving_average(c.losses, 0), std::invalid_argument);
}

TEST(LossPlot, ThePngShowsBothCurvesInEachPanel) {
    const charaforge::test::TempDir dir;
    const std::vector<LossPanel> panels = {{"VAE", decaying_curve(400, 0.6, 0.02)},
                                           {"Transformer", decaying_curve(300, 2.0, 0.07)}};
    LossPlotOptions o;
    o.panel_width = 500;
    o.panel_height = 350;
    o.window = 20;
    for (bool stacked : {false, true}) {
        o.stacked = stacked;
        const std::string path = dir.file(stacked ? "stacked.png" : "side.png");
        charaforge::imaging::write_png_atomic(path, render_loss_plot(panels, o));
        const cv::Mat image = cv::imread(path, cv::IMREAD_COLOR);
        ASSERT_FALSE(image.empty()) << path;
        EXPECT_EQ(image.cols, stacked ? 500 : 1000);
        EXPECT_EQ(image.rows, stacked ? 700 : 350);
        cv::Scalar mean, stddev;
        cv::meanStdDev(image, mean, stddev);
        EXPECT_GT(stddev[0] + stddev[1] + stddev[2], 30.0) << "a blank picture";
        for (int i = 0; i < 2; ++i) {
            // The plot area of panel i, below the title lines (70 px at 500 high, 49 here) and inside the axes.
            const cv::Rect panel = stacked ? cv::Rect(0, i * 350, 500, 350) : cv::Rect(i * 500, 0, 500, 350);
            const cv::Rect area(panel.x + 60, panel.y + 55, 500 - 80, 350 - 55 - 40);
            const std::vector<cv::Point> average = pixels_of(image, kAverageLossColour, area);
            EXPECT_GT(average.size(), 300u) << "panel " << i << ": no moving average drawn";
            EXPECT_GT(pixels_of(image, kRawLossColour, area).size(), 50u) << "panel " << i << ": no raw loss drawn";
            // The loss falls: the average's left third lies above (smaller y) its right third.
            double left_y = 0, right_y = 0;
            int left_n = 0, right_n = 0;
            for (const cv::Point& p : average) {
                if (p.x < area.x + area.width / 3) {
                    left_y += p.y;
                    ++left_n;
                } else if (p.x > area.x + 2 * area.width / 3) {
                    right_y += p.y;
                    ++right_n;
                }
            }
            ASSERT_GT(left_n, 0);
            ASSERT_GT(right_n, 0);
            EXPECT_LT(left_y / left_n + 50, right_y / right_n) << "panel " << i;
        }
    }
}

TEST(LossPlot, DegenerateCurvesDrawAndBadOptionsAreRefused) {
    LossPlotOptions o;
    const charaforge::imaging::RgbImage one = render_loss_plot({{"one", {{5}, {0.3}}}}, o);
    EXPECT_EQ(one.width, 800);
    EXPECT_EQ(one.height, 500);
    EXPECT_EQ(one.rgb.size(), 800u * 500u * 3u);
    const charaforge::imaging::RgbImage flat = render_loss_plot({{"flat", {{1, 2, 3}, {1.0, 1.0, 1.0}}}}, o);
    EXPECT_EQ(flat.width, 800);
    EXPECT_THROW(render_loss_plot({}, o), std::invalid_argument);
    o.window = 0;
    EXPECT_THROW(render_loss_plot({{"one", {{5}, {0.3}}}}, o), std::invalid_argument);
    o.window = 50;
    o.panel_width = 100;
    EXPECT_THROW(render_loss_plot({{"one", {{5}, {0.3}}}}, o), std::invalid_argument);
}
