// charaforge-demo-train: trains the demo model's transformer on a charaforge-demo-data set (issue 14, skeleton;
// the real run happens on the GPU machine). Writes OUT in the official layout plus OUT/charaforge.json and the
// loss curve OUT/loss.csv (step,loss).
#include "cli_options.h"
#include "demo_trainer.h"
#include "progress_line.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>

int main(int argc, char** argv) {
    using namespace charaforge;
    demo::DemoTrainOptions o;
    int64_t seed = 0;
    bool force = false;
    CLI::App app("Trains the demo model's transformer (flow matching, AdamW, caption dropout) on a "
                 "charaforge-demo-data set, with the frozen text encoders and VAE of a base model folder.\n"
                 "Exit status: 0 success, 1 the work failed, 2 a wrong command line.",
                 "charaforge-demo-train");
    app.add_option("--data", o.data_dir, "a charaforge-demo-data folder")->required();
    app.add_option("--base", o.base_model, "model folder (e.g. charaforge-cli make-test-model DIR)")->required();
    app.add_option("--out", o.out_dir, "model folder to write (new or empty, unless --force)")->required();
    cli::add_int(&app, "--steps", o.steps, 1, 10000000, "optimiser steps");
    cli::add_int(&app, "--batch", o.batch, 1, 4096, "images per step");
    cli::add_number(&app, "--lr", o.learning_rate, 1e-8, 1.0, "AdamW learning rate");
    cli::add_number(&app, "--weight-decay", o.weight_decay, 0.0, 1.0, "AdamW weight decay");
    cli::add_number(&app, "--caption-dropout", o.caption_dropout, 0.0, 1.0,
                    "probability of training a sample unconditionally");
    cli::add_int(&app, "--max-images", o.max_images, 0, std::numeric_limits<int>::max(), "0: the whole set");
    cli::add_int64(&app, "--seed", seed, 0, std::numeric_limits<int64_t>::max(), "seed of batches, noise, times");
    cli::add_device_option(&app, o.device);
    app.add_flag("--force", force, "write into a folder that is not empty");
    cli::Action chosen = [&] {
        o.seed = static_cast<uint64_t>(seed);
        cli::check_new_or_empty_folder(o.out_dir, "--out", force, "give --force to write into it");
        const demo::DemoTrainReport report = demo::train_demo_model(o, [](int step, int total, double loss) {
            std::ostringstream line;
            line << "charaforge-demo-train: step " << step << "/" << total << " loss " << loss;
            cli::progress::show(line.str());
        });
        cli::progress::end();
        std::ofstream csv(std::filesystem::path(o.out_dir) / "loss.csv");
        csv << "step,loss\n";
        for (size_t i = 0; i < report.losses.size(); ++i) {
            csv << i + 1 << "," << report.losses[i] << "\n";
        }
        if (!csv.flush()) {
            throw std::runtime_error(o.out_dir + "/loss.csv: cannot write");
        }
        std::cout << "trained on " << report.images << " images for " << o.steps << " steps: evaluation loss "
                  << report.eval_before << " -> " << report.eval_after << "; wrote " << o.out_dir << "\n";
        return cli::kExitOk;
    };
    return cli::parse_and_run(app, std::vector<std::string>(argv + 1, argv + argc), chosen, std::cout, std::cerr);
}
