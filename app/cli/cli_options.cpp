#include "cli_options.h"

#include "progress_line.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <unistd.h>
#include <utility>

namespace charaforge::cli {

namespace fs = std::filesystem;

namespace {

// "charaforge-cli queue add": the program and the subcommands given, as far as they were parsed.
std::string command_path(const CLI::App& app) {
    std::string path = app.get_name();
    const CLI::App* at = &app;
    while (at) {
        const auto subs = at->get_subcommands();
        at = subs.empty() ? nullptr : subs.front();
        if (at)
            path += " " + at->get_name();
    }
    return path;
}

} // namespace

int parse_and_run(CLI::App& app, std::vector<std::string> args, Action& chosen, std::ostream& out, std::ostream& err) {
    std::reverse(args.begin(), args.end()); // CLI11 takes the arguments last first
    try {
        app.parse(args);
    } catch (const CLI::Success& e) { // --help, --version
        return app.exit(e, out, err);
    } catch (const CLI::ParseError& e) {
        const std::string path = command_path(app);
        err << path << ": error: " << e.what() << "\n"
            << "run '" << path << " --help' for the options\n";
        return kExitUsage;
    }
    if (!chosen) {
        err << app.help();
        return kExitUsage;
    }
    const std::string path = command_path(app);
    try {
        return chosen();
    } catch (const std::invalid_argument& e) {
        progress::end();
        err << path << ": error: " << e.what() << "\n";
        return kExitUsage;
    } catch (const std::exception& e) {
        progress::end();
        err << path << ": error: " << e.what() << "\n";
        return kExitFailed;
    }
}

void set_action(CLI::App* sub, Action& chosen, Action run) {
    sub->callback([&chosen, run = std::move(run)] { chosen = run; });
}

namespace {

std::string range_text(double min, double max) {
    return "in [" + CLI::detail::to_string(min) + ", " + CLI::detail::to_string(max) + "]";
}

std::string int_range_text(int64_t min, int64_t max) {
    return "in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
}

} // namespace

int64_t parse_int64(const std::string& text, const std::string& name, int64_t min, int64_t max) {
    int64_t value = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec == std::errc::result_out_of_range)
        throw CLI::ValidationError(name,
                                   "'" + text + "' is out of range: the value must be " + int_range_text(min, max));
    if (ec != std::errc() || ptr != end || text.empty())
        throw CLI::ValidationError(name, "'" + text + "' is not an integer");
    if (value < min || value > max)
        throw CLI::ValidationError(name, text + " is out of range: the value must be " + int_range_text(min, max));
    return value;
}

double parse_number(const std::string& text, const std::string& name, double min, double max) {
    double value = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || ptr != end || text.empty())
        throw CLI::ValidationError(name, "'" + text + "' is not a number");
    if (!std::isfinite(value) || value < min || value > max)
        throw CLI::ValidationError(name, text + " is out of range: the value must be a finite number " +
                                             range_text(min, max));
    return value;
}

CLI::Option* add_int64(CLI::App* app, const std::string& name, int64_t& target, int64_t min, int64_t max,
                       const std::string& help) {
    return app
        ->add_option_function<std::string>(
            name, [&target, name, min, max](const std::string& s) { target = parse_int64(s, name, min, max); }, help)
        ->type_name("INT " + int_range_text(min, max))
        ->default_str(std::to_string(target));
}

CLI::Option* add_int(CLI::App* app, const std::string& name, int& target, int min, int max, const std::string& help) {
    return app
        ->add_option_function<std::string>(
            name,
            [&target, name, min, max](const std::string& s) {
                target = static_cast<int>(parse_int64(s, name, min, max));
            },
            help)
        ->type_name("INT " + int_range_text(min, max))
        ->default_str(std::to_string(target));
}

CLI::Option* add_number(CLI::App* app, const std::string& name, double& target, double min, double max,
                        const std::string& help) {
    return app
        ->add_option_function<std::string>(
            name, [&target, name, min, max](const std::string& s) { target = parse_number(s, name, min, max); }, help)
        ->type_name("NUMBER " + range_text(min, max))
        ->default_str(CLI::detail::to_string(target));
}

CLI::Option* add_sampling_options(CLI::App* app, SamplingOptions& o) {
    const std::string multiple = ", a multiple of " + std::to_string(kSideMultiple);
    add_int(app, "--width", o.width, kMinSide, kMaxSide, "image width in pixels" + multiple);
    add_int(app, "--height", o.height, kMinSide, kMaxSide, "image height in pixels" + multiple);
    add_int(app, "--steps", o.steps, kMinSteps, kMaxSteps, "sampling steps");
    app->add_option("--sampler", o.sampler,
                    "ODE solver: euler, midpoint (two model calls a step) or dpm (DPM-Solver++ 2M, the official "
                    "--solver dpm: good images in fewer steps)")
        ->check(CLI::IsMember(std::vector<std::string>(engine::kSolverNames.begin(), engine::kSolverNames.end())))
        ->capture_default_str();
    add_number(app, "--cfg", o.cfg, 0.0, 100.0, "classifier-free guidance scale (1 disables the negative branch)");
    add_number(app, "--cfg-trunc", o.cfg_trunc, 0.0, 1.0, "guidance applies while t < this (1: every step)");
    add_number(app, "--renorm", o.renorm, 0.0, 100.0, "> 0 caps the guided velocity at this times |v_cond|");
    add_number(app, "--shift", o.shift, 0.01, 100.0, "time-shift of the sampling grid");
    CLI::Option* seed = add_int64(app, "--seed", o.seed, 0, kMaxSeed, "seed of the first image");
    add_int(app, "--count", o.count, 1, kMaxCount, "number of images (seeds counting up from --seed)");
    app->add_option("--negative", o.negative, "negative prompt");
    return seed;
}

CLI::Option* add_device_option(CLI::App* app, std::string& device) {
    const CLI::Validator device_name(
        [](std::string& value) -> std::string {
            if (value == "auto" || value == "cpu" || value == "cuda")
                return {};
            if (value.rfind("cuda:", 0) == 0 && value.size() > 5 && value.size() < 9 &&
                value.find_first_not_of("0123456789", 5) == std::string::npos)
                return {};
            return "'" + value + "' is not a device: auto, cpu, cuda or cuda:N";
        },
        "auto|cpu|cuda|cuda:N");
    return app->add_option("--device", device, "where to run")->check(device_name)->capture_default_str();
}

void add_device_options(CLI::App* app, std::string& device, std::string& dtype) {
    add_device_option(app, device);
    app->add_option("--dtype", dtype, "weight precision (auto: bf16 on CUDA, fp32 on CPU)")
        ->check(CLI::IsMember({"auto", "bf16", "fp16", "fp32"}))
        ->capture_default_str();
}

void add_memory_options(CLI::App* app, engine::RuntimeOptions& options) {
    app->add_option_function<std::string>(
           "--memory-mode",
           [&options](const std::string& v) { options.memory_mode = engine::parse_memory_mode(v, "--memory-mode"); },
           "how much of the model stays on the GPU: auto (from the GPU's memory: 30 GiB or more high, 14 GiB or "
           "more balanced, else low; high on the CPU), high (all resident), balanced (text encoders leave the GPU "
           "after encoding, VAE tiled when needed), low (also fp8 transformer weights, text encoders on the CPU, "
           "VAE always tiled)")
        ->check(CLI::IsMember({"auto", "high", "balanced", "low"}))
        ->default_str("auto");
    add_int(app, "--vae-tile", options.vae_tile, 0, 4096,
            "VAE decode/encode over tiles of N latent pixels (8 N image pixels); 0: as the memory mode says");
}

void apply_default_side(SamplingOptions& options, const CLI::App& app, int side) {
    if (app.count("--width") == 0)
        options.width = side;
    if (app.count("--height") == 0)
        options.height = side;
}

void check_sampling_options(const SamplingOptions& o, bool incrementing_seeds) {
    if (o.width % kSideMultiple != 0)
        throw std::invalid_argument("--width: " + std::to_string(o.width) + " is not a multiple of " +
                                    std::to_string(kSideMultiple));
    if (o.height % kSideMultiple != 0)
        throw std::invalid_argument("--height: " + std::to_string(o.height) + " is not a multiple of " +
                                    std::to_string(kSideMultiple));
    if (incrementing_seeds && o.seed > kMaxSeed - (o.count - 1))
        throw std::invalid_argument("--seed " + std::to_string(o.seed) + " with --count " + std::to_string(o.count) +
                                    ": the last seed would exceed " + std::to_string(kMaxSeed));
}

void check_request(const engine::GenerationRequest& request, const std::string& prompt_source) {
    // The engine names the request's fields; the command line's options set them.
    static const std::pair<const char*, const char*> kOptionOf[] = {{"negative prompt", "--negative"},
                                                                    {"system prompt", "--system-prompt"},
                                                                    {"width", "--width"},
                                                                    {"height", "--height"},
                                                                    {"steps", "--steps"},
                                                                    {"seed", "--seed"},
                                                                    {"guidance", "--cfg"},
                                                                    {"shift", "--shift"},
                                                                    {"cfg_trunc", "--cfg-trunc"},
                                                                    {"renorm_cfg", "--renorm"},
                                                                    {"cond", "--embeddings: cond"},
                                                                    {"uncond", "--embeddings: uncond"}};
    std::string message;
    for (const std::string& problem : engine::request_problems(request)) {
        const std::size_t colon = problem.find(": ");
        const std::string field = problem.substr(0, colon);
        std::string source = field == "prompt" ? prompt_source : field;
        for (const auto& [name, option] : kOptionOf)
            if (field == name)
                source = option;
        message += (message.empty() ? "" : "; ") + source + problem.substr(colon);
    }
    if (!message.empty())
        throw std::invalid_argument(message);
}

std::string numbered_output_path(const std::string& out, int index, int count) {
    if (count == 1)
        return out;
    fs::path p(out);
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, "-%03d", index);
    return (p.parent_path() / (p.stem().string() + suffix + p.extension().string())).string();
}

void check_output_file(const std::string& path, const std::string& option) {
    const auto fail = [&](const std::string& why) { throw std::invalid_argument(option + ": " + path + ": " + why); };
    if (path.empty())
        fail("empty path");
    std::error_code ec;
    const fs::file_status st = fs::symlink_status(path, ec);
    if (fs::exists(st)) {
        if (fs::is_directory(st))
            fail("is a folder; give a file name");
        if (fs::is_symlink(st))
            fail("is a symbolic link; refusing to replace it");
        if (!fs::is_regular_file(st))
            fail("exists and is not a regular file (a device, FIFO or socket); refusing to replace it");
    }
    fs::path folder = fs::path(path).parent_path();
    if (folder.empty())
        folder = ".";
    if (!fs::is_directory(folder, ec))
        fail("the folder " + folder.string() + " does not exist");
    if (::access(folder.c_str(), W_OK | X_OK) != 0)
        fail("cannot write in the folder " + folder.string() + ": " + std::strerror(errno));
}

void check_new_or_empty_folder(const std::string& dir, const std::string& name, bool force,
                               const std::string& force_note) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::file_status st = fs::status(dir, ec);
    if (!fs::exists(st))
        return;
    if (!fs::is_directory(st))
        throw std::invalid_argument(name + ": " + dir + ": exists and is not a folder");
    const fs::directory_iterator it(dir, ec);
    if (ec)
        throw std::invalid_argument(name + ": " + dir + ": cannot read the folder: " + ec.message());
    if (it != fs::directory_iterator() && !force)
        throw std::invalid_argument(name + ": " + dir + ": the folder is not empty; " + force_note);
}

} // namespace charaforge::cli
