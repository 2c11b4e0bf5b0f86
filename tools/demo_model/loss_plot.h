#pragma once
// Loss curves of charaforge-demo-train (OUT.vae_loss.csv, OUT.transformer_loss.csv: "step,loss" then one row per
// optimiser step) read strictly and drawn as one PNG: one panel per curve, a logarithmic loss axis, a linear step
// axis, the raw per-step loss as a thin light line and its trailing moving average as a thick one. No Qt, no torch
// (OpenCV draws, inside loss_plot.cpp only).
#include "scene_spec.h" // Rgb

#include "charaforge/imaging/png_io.h"

#include <cstdint>
#include <string>
#include <vector>

namespace charaforge::demo {

struct LossCurve {
    std::vector<int64_t> steps; // strictly increasing
    std::vector<double> losses; // finite, > 0 (the axis is logarithmic)
};

// Reads a loss CSV: the header "step,loss", then at least one row "STEP,LOSS" (a decimal integer, a finite
// positive number); a trailing '\r' is allowed. Throws std::runtime_error "PATH: ..." (missing, unreadable or
// empty file) or "PATH:LINE: ..." (a bad header, a malformed row, a non-positive loss, a step out of order).
LossCurve read_loss_csv(const std::string& path);

// Trailing moving average: out[i] = mean of losses[max(0, i - window + 1) .. i] (the first window - 1 values
// average what there is so far). `window` >= 1.
std::vector<double> moving_average(const std::vector<double>& losses, int window);

struct LossPanel {
    std::string title;
    LossCurve curve;
};

struct LossPlotOptions {
    int panel_width = 800;
    int panel_height = 500;
    int window = 50;      // moving-average window in steps
    bool stacked = false; // panels top to bottom instead of side by side
};

inline constexpr Rgb kRawLossColour{160, 190, 235};   // light blue, 1 px
inline constexpr Rgb kAverageLossColour{20, 60, 170}; // dark blue, 3 px
inline constexpr Rgb kLossPlotBackground{255, 255, 255};

// The whole picture: panels.size() * panel_width by panel_height (or panel_width by panels.size() *
// panel_height when stacked). Each panel: its title, the axes with tick labels, both curves and the final
// moving-average value. Throws std::invalid_argument for no panels, a window < 1 or a panel under 200x150.
imaging::RgbImage render_loss_plot(const std::vector<LossPanel>& panels, const LossPlotOptions& options);

} // namespace charaforge::demo
