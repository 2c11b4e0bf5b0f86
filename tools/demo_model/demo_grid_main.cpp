// charaforge-demo-grid: the demo model's prompt following at a glance (issue 14's screenshots): 16 prompts (demo_grid.h)
// generated in one Pipeline::generate call from one seed, drawn as one labelled 4x4 contact sheet (PNG) with what
// attribute_measure reads back from each image, and optionally the same as a JSON report.
//
//   charaforge-demo-grid MODEL_DIR --out grid.png [--report grid.json] [--seed 0] [--steps 20] [--cfg 5]
//                        [--size NATIVE] [--device auto] [--batch 4]
#include "cli_options.h"
#include "demo_grid.h"
#include "file_util.h" // core/engine: the atomic file writer (torch-free)
#include "progress_line.h"

#include "charaforge/engine/model_check.h"
#include "model/model_card.h"

#include <chrono>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace charaforge;
namespace fs = std::filesystem;

struct Options {
    std::string model;
    std::string out;
    std::string report;
    int64_t seed = 0;
    int steps = 20;
    double cfg = 5.0;
    int size = 0; // 0: the model's native side
    std::string device = "auto";
    int batch = engine::RuntimeOptions{}.max_batch;
};

// The model folder's problems as a usage error naming it, before anything loads.
void check_model(const std::string& dir) {
    std::error_code ec;
    if (!fs::exists(dir, ec)) {
        throw std::invalid_argument("MODEL_DIR: " + dir + ": no such folder");
    }
    if (!fs::is_directory(dir, ec)) {
        throw std::invalid_argument("MODEL_DIR: " + dir + ": not a folder");
    }
    const std::string problem = engine::check_model_folder(dir);
    if (!problem.empty()) {
        throw std::invalid_argument("MODEL_DIR: " + dir + ": not a complete model folder:\n" + problem);
    }
}

int run(Options o) {
    check_model(o.model);
    if (o.size == 0) {
        o.size = app::modelDefaultSide(o.model);
    }
    if (o.size < 64 || o.size > 2048 || o.size % 16 != 0) {
        throw std::invalid_argument("--size: " + std::to_string(o.size) +
                                    (o.size == app::modelDefaultSide(o.model) ? " (the model's default side)" : "") +
                                    " is not a side of 64..2048 in steps of 16 (what the images' measure reads)");
    }
    cli::check_output_file(o.out, "--out");
    if (!o.report.empty()) {
        cli::check_output_file(o.report, "--report");
        std::error_code ec;
        if (fs::weakly_canonical(o.report, ec) == fs::weakly_canonical(o.out, ec)) {
            throw std::invalid_argument("--report: " + o.report + ": is the --out file");
        }
    }
    demo::GridSettings settings;
    settings.model_dir = o.model;
    std::string problem;
    const auto card = app::readModelCard(o.model, &problem);
    settings.model_name =
        card && !card->name.empty() ? card->name : fs::path(o.model).lexically_normal().filename().string();
    if (settings.model_name.empty()) {
        settings.model_name = o.model;
    }
    settings.size = o.size;
    settings.seed = static_cast<uint64_t>(o.seed);
    settings.steps = o.steps;
    settings.cfg = o.cfg;
    for (const engine::GenerationRequest& r : demo::grid_requests(demo::grid_rows(), settings)) {
        cli::check_request(r, "the grid's prompt");
    }

    // From here on the work: an invalid_argument is the engine's or the measure's, not the command line's.
    try {
        engine::RuntimeOptions runtime;
        runtime.device = o.device;
        runtime.max_batch = o.batch;
        const auto pipeline = engine::Pipeline::open(o.model, runtime);
        std::cerr << "model: " << o.model << app::modelRemark(o.model) << "\ndevice: " << pipeline->device_name()
                  << "\n";
        const auto t0 = std::chrono::steady_clock::now();
        const auto seconds = [&t0] {
            return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        };
        const int count = demo::kGridRows * demo::kGridColumns;
        engine::Callbacks callbacks;
        callbacks.on_step = [&](const engine::StepProgress& p) {
            cli::progress::show("images " + std::to_string(p.first_request + 1) + "-" +
                                std::to_string(p.first_request + p.request_count) + " of " + std::to_string(count) +
                                ": step " + std::to_string(p.step) + "/" + std::to_string(p.total_steps) + " (" +
                                std::to_string(static_cast<int>(seconds())) + " s)");
        };
        callbacks.on_warning = [](std::size_t i, const std::string& w) {
            cli::progress::note("warning: image " + std::to_string(i) + ": " + w);
        };
        const demo::GridResult grid = demo::make_demo_grid(*pipeline, settings, callbacks);
        cli::progress::end();
        imaging::write_png_atomic(o.out, grid.sheet);
        std::cout << "wrote " << o.out << " (" << grid.sheet.width << "x" << grid.sheet.height << "): " << count
                  << " images of " << o.size << "x" << o.size << ", " << o.steps << " steps, CFG " << o.cfg << ", seed "
                  << o.seed << " in " << static_cast<int>(seconds()) << " s\n"
                  << "read as asked: hair colour in " << grid.hair_as_asked << " of " << count << ", side in "
                  << grid.side_as_asked << " of " << count << "\n";
        if (!o.report.empty()) {
            engine::write_file_atomic(o.report, grid.report);
            std::cout << "wrote " << o.report << "\n";
        }
    } catch (const std::invalid_argument& e) {
        throw std::runtime_error(e.what());
    }
    return cli::kExitOk;
}

} // namespace

int main(int argc, char** argv) {
    Options o;
    CLI::App app("Generates the demo model's 16 showcase prompts (four rows: hair colour; hair style and expression; "
                 "clothes and accessories; scene, characters and places) from one seed in one batch run, and draws "
                 "them as one labelled 4x4 contact sheet, each image with the tags its row varies and the hair "
                 "colour and side read back from it.\nExit status: 0 success, 1 the work failed, 2 a wrong command "
                 "line or model folder.",
                 "charaforge-demo-grid");
    app.add_option("MODEL_DIR", o.model, "model folder (official layout)")->required();
    app.add_option("--out", o.out, "PNG file to write")->required();
    app.add_option("--report", o.report, "also write the prompts and the readings as JSON to this file");
    cli::add_int64(&app, "--seed", o.seed, 0, cli::kMaxSeed, "every image's seed");
    cli::add_int(&app, "--steps", o.steps, cli::kMinSteps, cli::kMaxSteps, "sampling steps");
    cli::add_number(&app, "--cfg", o.cfg, 0.0, 100.0,
                    "classifier-free guidance scale (1 disables the negative branch)");
    cli::add_int(&app, "--size", o.size, 0, 2048,
                 "the images' side, 64..2048 in steps of 16 (0: the model's native side, 256 for the demo model)");
    cli::add_device_option(&app, o.device);
    cli::add_int(&app, "--batch", o.batch, 1, 64, "images sampled together at most");
    cli::Action chosen = [&o] { return run(o); };
    return cli::parse_and_run(app, std::vector<std::string>(argv + 1, argv + argc), chosen, std::cout, std::cerr);
}
