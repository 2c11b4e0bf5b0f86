// charaforge-demo-data: renders procedural characters with their captions, the training data of the demo model
// (issue 14), as write_demo_set() lays them out; with --captions-only, the seeds and captions alone
// (write_demo_captions(): DIR/captions.jsonl), for the GPU machine's trainer, which renders the images itself.
#include "cli_options.h"
#include "demo_data_set.h"
#include "progress_line.h"

#include <iostream>
#include <limits>
#include <stdexcept>
#include <string>

namespace {

using namespace charaforge;

struct Options {
    std::string out;
    int count = 100;
    int64_t seed = 0;
    int size = 256;
    bool force = false;
    bool captions_only = false;
};

int run(const Options& o) {
    if (o.size % 16 != 0) {
        throw std::invalid_argument("--size: " + std::to_string(o.size) + " is not a multiple of 16");
    }
    cli::check_new_or_empty_folder(o.out, "--out", o.force, "give --force to write into it");
    const auto progress = [&o](int written, int count) {
        cli::progress::show("charaforge-demo-data: " + std::to_string(written) + "/" + std::to_string(count) +
                            (o.captions_only ? " captions" : " images"));
    };
    if (o.captions_only) {
        demo::write_demo_captions(o.out, o.count, static_cast<uint64_t>(o.seed), o.size, progress);
    } else {
        demo::write_demo_set(o.out, o.count, static_cast<uint64_t>(o.seed), o.size, progress);
    }
    cli::progress::end();
    if (o.captions_only) {
        std::cout << "wrote the captions of " << o.count << " images of " << o.size << "x" << o.size << " to " << o.out
                  << "/captions.jsonl (seed " << o.seed << "; no images)\n";
    } else {
        std::cout << "wrote " << o.count << " images of " << o.size << "x" << o.size << " with captions to " << o.out
                  << " (seed " << o.seed << ")\n";
    }
    return cli::kExitOk;
}

} // namespace
int main(int argc, char** argv) {
    Options o;
    CLI::App app("Renders procedural anime characters and their NewBie XML or tag-list captions: the demo "
                 "model's training data.\nExit status: 0 success, 1 the work failed, 2 a wrong command line.",
                 "charaforge-demo-data");
    app.add_option("--out", o.out, "folder to write (new or empty, unless --force)")->required();
    cli::add_int(&app, "--count", o.count, 1, 1000000, "number of images");
    cli::add_int64(&app, "--seed", o.seed, 0, std::numeric_limits<int64_t>::max(), "seed of the whole set");
    cli::add_int(&app, "--size", o.size, 64, 2048, "width and height in pixels (a multiple of 16)");
    app.add_flag("--captions-only", o.captions_only,
                 "write only DIR/captions.jsonl (index, seed, size, format, caption per line), no images: the "
                 "trainer renders image i from the seed");
    app.add_flag("--force", o.force, "write into a folder that is not empty, replacing files of the same names");
    cli::Action chosen = [&o] { return run(o); };
    return cli::parse_and_run(app, std::vector<std::string>(argv + 1, argv + argc), chosen, std::cout, std::cerr);
}
