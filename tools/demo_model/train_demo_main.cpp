// charaforge-demo-train: trains the whole demo model (issue 14) in one run from a captions.jsonl of
// charaforge-demo-data --captions-only: renders the images, trains the tokenizers, writes the frozen text encoders,
// trains the VAE and the transformer, writes OUT in the official layout plus OUT/charaforge.json, and the loss
// curves OUT.vae_loss.csv and OUT.transformer_loss.csv beside it (step,loss). The real run happens on the GPU machine
// (tools/gpu/demo_train.sh).
#include "cli_options.h"
#include "demo_trainer.h"

#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <limits>
#include <sstream>

int main(int argc, char** argv) {
    using namespace charaforge;
    demo::DemoTrainOptions o;
    int64_t seed = 0;
    bool force = false;
    CLI::App app("Trains the demo model (tokenizers, frozen random text encoders, VAE, transformer) from a "
                 "charaforge-demo-data --captions-only file and writes it in the official layout.\n"
                 "Exit status: 0 success, 1 the work failed, 2 a wrong command line.",
                 "charaforge-demo-train");
    app.add_option("--captions", o.captions, "captions.jsonl of charaforge-demo-data --captions-only")->required();
    app.add_option("--out", o.out_dir, "model folder to write (new or empty, unless --force)")->required();
    cli::add_int(&app, "--vae-steps", o.vae_steps, 1, 10000000, "VAE optimiser steps");
    cli::add_int(&app, "--dit-steps", o.dit_steps, 1, 10000000, "transformer optimiser steps");
    cli::add_int(&app, "--vae-batch", o.vae_batch, 1, 4096, "images per VAE step");
    cli::add_int(&app, "--dit-batch", o.dit_batch, 1, 4096, "images per transformer step");
    cli::add_number(&app, "--lr", o.learning_rate, 1e-8, 1.0, "transformer AdamW peak learning rate");
    cli::add_number(&app, "--vae-lr", o.vae_learning_rate, 1e-8, 1.0, "VAE AdamW peak learning rate");
    cli::add_number(&app, "--weight-decay", o.weight_decay, 0.0, 1.0, "transformer AdamW weight decay");
    cli::add_int(&app, "--warmup", o.warmup_steps, 0, 10000000, "transformer linear warm-up steps");
    cli::add_number(&app, "--caption-dropout", o.caption_dropout, 0.0, 1.0,
                    "probability of training a sample unconditionally");
    cli::add_number(&app, "--time-shift", o.time_shift, 0.01, 100.0,
                    "training times t = s u / (1 + (s - 1) u), u uniform (1: uniform)");
    cli::add_int(&app, "--max-images", o.max_images, 0, std::numeric_limits<int>::max(), "0: every caption");
    cli::add_int(&app, "--eval-samples", o.eval_samples, 1, 100000, "held-out captions (the file's last)");
    cli::add_int(&app, "--threads", o.threads, 0, 1024, "render threads (0: every core)");
    cli::add_int(&app, "--loss-every", o.loss_every, 1, 1000000, "read the loss back every this many steps");
    cli::add_number(&app, "--dit-time-limit", o.dit_time_limit, 0.0, 1e7,
                    "seconds of transformer training at most (0: no limit); stops at the next loss read");
    cli::add_number(&app, "--ema", o.ema_decay, 0.0, 0.99999,
                    "write the transformer's exponential moving average with this decay (0: the last weights)");
    app.add_option("--init-from", o.init_from,
                   "continue from a model folder this program wrote (its tokenizers, text encoders and VAE are "
                   "copied; its transformer trains on); the same --captions");
    app.add_option("--vae-from", o.vae_from,
                   "copy the VAE of a model folder this program wrote instead of training one (same image size)");
    app.add_flag("!--sub-word-tags", o.whole_tags, "train the tokenizers without the captions' tags as whole pieces");
    int dit_dim = o.arch.dit_dim;
    int dit_layers = o.arch.dit_layers;
    cli::add_int(&app, "--dit-dim", dit_dim, 64, 4096,
                 "transformer width, a multiple of 64 (heads of 64: dim / 64 heads, half as many kv heads); smaller "
                 "than the shipped 256 for experiments");
    cli::add_int(&app, "--dit-layers", dit_layers, 1, 64, "transformer layers (the shipped model: 6)");
    cli::add_int64(&app, "--seed", seed, 0, std::numeric_limits<int64_t>::max(), "seed of every random choice");
    cli::add_device_option(&app, o.device);
    app.add_flag("--force", force, "write into a folder that is not empty");
    cli::Action chosen = [&] {
        o.seed = static_cast<uint64_t>(seed);
        if (dit_dim % 64 != 0) {
            std::cerr << "charaforge-demo-train: --dit-dim " << dit_dim << " is not a multiple of 64\n";
            return cli::kExitUsage;
        }
        o.arch.dit_dim = dit_dim;
        o.arch.dit_heads = dit_dim / 64;
        o.arch.dit_kv_heads = std::max(1, o.arch.dit_heads / 2);
        o.arch.dit_ffn = 4 * dit_dim;
        o.arch.dit_layers = dit_layers;
        cli::check_new_or_empty_folder(o.out_dir, "--out", force, "give --force to write into it");
        const demo::DemoTrainReport report =
            demo::train_demo_model(o, [](const std::string& stage, int step, int total, double loss) {
                std::ostringstream line;
                line << "charaforge-demo-train: " << stage << " " << step << "/" << total;
                if (!std::isnan(loss)) {
                    line << " loss " << loss;
                }
                std::cout << line.str() << std::endl; // one line each: the GPU run's log is a file
            });
        namespace fs = std::filesystem;
        const std::string base = fs::path(o.out_dir).lexically_normal().string();
        const std::string stem = base.ends_with("/") ? base.substr(0, base.size() - 1) : base;
        demo::write_loss_csv(stem + ".vae_loss.csv", report.vae_losses);
        demo::write_loss_csv(stem + ".transformer_loss.csv", report.dit_losses);
        double total = 0;
        for (const auto& t : report.timings) {
            std::cout << "charaforge-demo-train: stage " << std::left << std::setw(30) << t.stage << std::right
                      << std::fixed << std::setprecision(1) << std::setw(8) << t.seconds << " s\n";
            total += t.seconds;
        }
        int64_t bytes = 0;
        for (const auto& e : fs::recursive_directory_iterator(o.out_dir)) {
            if (e.is_regular_file()) {
                bytes += static_cast<int64_t>(e.file_size());
            }
        }
        std::cout << std::defaultfloat << std::setprecision(6) << "charaforge-demo-train: " << report.images
                  << " images (+" << report.held_out << " held out), "
                  << (o.init_from.empty() && o.vae_from.empty() ? std::to_string(o.vae_steps)
                                                                : std::string("no (copied)"))
                  << " VAE and " << report.dit_losses.size() << " transformer steps"
                  << (o.init_from.empty() ? std::string() : " (after " + std::to_string(report.earlier_dit_steps) + ")")
                  << " in " << std::fixed << std::setprecision(1) << total << " s; VAE held-out "
                  << "reconstruction error " << std::defaultfloat << std::setprecision(6) << report.vae_eval
                  << "; held-out flow loss " << report.eval_before << " -> " << report.eval_after
                  << (o.ema_decay > 0 ? " (EMA; last weights " + std::to_string(report.eval_after_raw) + ")" : "")
                  << "; wrote " << o.out_dir << " (" << std::fixed << std::setprecision(1)
                  << static_cast<double>(bytes) / 1e6 << " MB), " << stem << ".vae_loss.csv, " << stem
                  << ".transformer_loss.csv\n";
        return cli::kExitOk;
    };
    return cli::parse_and_run(app, std::vector<std::string>(argv + 1, argv + argc), chosen, std::cout, std::cerr);
}
