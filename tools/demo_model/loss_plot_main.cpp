// charaforge-loss-plot: draws the loss curves of charaforge-demo-train (OUT.vae_loss.csv, OUT.transformer_loss.csv)
// as one PNG, one panel per CSV (loss_plot.h), so that a training run on the GPU machine can be judged at a glance.
#include "cli_options.h"
#include "loss_plot.h"

#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace charaforge;

struct Options {
    std::string out;
    std::vector<std::string> titles;
    std::vector<std::string> files;
    demo::LossPlotOptions plot;
};

int run(const Options& o) {
    if (!o.titles.empty() && o.titles.size() != o.files.size()) {
        throw std::invalid_argument("--title: given " + std::to_string(o.titles.size()) + " times for " +
                                    std::to_string(o.files.size()) +
                                    " CSV files; give it once per file, in the files' order, or not at all");
    }
    cli::check_output_file(o.out, "--out");
    std::vector<demo::LossPanel> panels;
    for (size_t i = 0; i < o.files.size(); ++i) {
        const std::string title =
            o.titles.empty() ? std::filesystem::path(o.files[i]).filename().string() : o.titles[i];
        panels.push_back({title, demo::read_loss_csv(o.files[i])});
    }
    const imaging::RgbImage image = demo::render_loss_plot(panels, o.plot);
    imaging::write_png_atomic(o.out, image);
    std::cout << "wrote " << o.out << " (" << image.width << "x" << image.height << ")\n";
    for (const demo::LossPanel& p : panels) {
        const std::vector<double> average = demo::moving_average(p.curve.losses, o.plot.window);
        std::cout << "  " << p.title << ": " << p.curve.steps.size() << " steps, loss " << p.curve.losses.front()
                  << " at step " << p.curve.steps.front() << ", moving average " << average.back() << " at step "
                  << p.curve.steps.back() << "\n";
    }
    return cli::kExitOk;
}

} // namespace

int main(int argc, char** argv) {
    Options o;
    CLI::App app("Plots loss curves (CSV files with the header step,loss, as charaforge-demo-train writes them) "
                 "into one PNG: a panel per file with a logarithmic loss axis, the raw loss per step and its "
                 "moving average.\nExit status: 0 success, 1 the work failed (an unreadable or malformed CSV), "
                 "2 a wrong command line.",
                 "charaforge-loss-plot");
    app.add_option("--out", o.out, "PNG file to write")->required();
    app.add_option("--title", o.titles,
                   "a panel's title; give it once per CSV, in the files' order (default: the file name)")
        ->expected(1)
        ->allow_extra_args(false)
        ->take_all();
    app.add_option("csv", o.files, "loss CSV files, one panel each")->required();
    cli::add_int(&app, "--window", o.plot.window, 1, 10000000, "moving-average window in steps");
    cli::add_int(&app, "--width", o.plot.panel_width, 200, 8000, "width of a panel in pixels");
    cli::add_int(&app, "--height", o.plot.panel_height, 150, 8000, "height of a panel in pixels");
    app.add_flag("--stacked", o.plot.stacked, "panels top to bottom (default: side by side)");
    cli::Action chosen = [&o] { return run(o); };
    return cli::parse_and_run(app, std::vector<std::string>(argv + 1, argv + argc), chosen, std::cout, std::cerr);
}
