#pragma once
// Shared pieces of charaforge-cli's command line (CLI11): strictly parsed, range-checked numbers, the
// sampling options common to `generate` and `queue add`, and output-path checks made before any work.
// No Qt, no torch: this builds in the engine-only configuration.
#include "charaforge/engine/pipeline.h"
#include "charaforge/engine/request_validation.h"

#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <limits>
#include <string>
#include <vector>

namespace charaforge::cli {

// What the chosen subcommand runs once the whole command line has been parsed and checked; returns
// the exit status.
using Action = std::function<int()>;

// Exit statuses of charaforge-cli.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1; // the work failed (unreadable model, engine error, I/O error)
inline constexpr int kExitUsage = 2;  // the command line is wrong (unknown option, value out of range)

// Parses `args` (without the program name) with `app`, then runs the chosen action. --help and
// --version print to `out` and return 0; a command-line error prints "PROGRAM SUBCOMMAND: error: ..."
// to `err` and returns kExitUsage; an action's std::invalid_argument is a usage error too (kExitUsage),
// any other exception kExitFailed. Every message starts on a line of its own.
int parse_and_run(CLI::App& app, std::vector<std::string> args, Action& chosen, std::ostream& out, std::ostream& err);

// Makes `run` the program's action when `sub` is the subcommand given.
void set_action(CLI::App* sub, Action& chosen, Action run);

// Integer options: decimal only, range-checked; a value out of range (or one that does not fit the
// type) is an error, never wrapped or saturated. The default shown in --help is the target's value.
CLI::Option* add_int(CLI::App* app, const std::string& name, int& target, int min, int max, const std::string& help);
CLI::Option* add_int64(CLI::App* app, const std::string& name, int64_t& target, int64_t min, int64_t max,
                       const std::string& help);
// Floating-point options: finite values in [min, max] only (nan and inf are errors).
CLI::Option* add_number(CLI::App* app, const std::string& name, double& target, double min, double max,
                        const std::string& help);

// Strict parsers behind the options (exposed for tests). Throw CLI::ValidationError naming `name`.
int64_t parse_int64(const std::string& text, const std::string& name, int64_t min, int64_t max);
double parse_number(const std::string& text, const std::string& name, double min, double max);

// The engine's ranges (request_validation.h), so that the command line refuses exactly what the engine would.
// Seeds are 0 .. 2^32-1: the sampler noise keeps only 32 bits of its seed, so a larger one would alias a
// smaller one.
inline constexpr int64_t kMaxSeed = static_cast<int64_t>(engine::kMaxSeed);
inline constexpr int kMinSide = engine::kMinImageSize;
inline constexpr int kMaxSide = engine::kMaxImageSize;
inline constexpr int kSideMultiple = engine::kImageSizeMultiple;
inline constexpr int kMinSteps = engine::kMinSteps;
inline constexpr int kMaxSteps = engine::kMaxSteps;
inline constexpr int kMaxCount = 10000;

// The sampling settings of one image, as `generate` and `queue add` take them.
struct SamplingOptions {
    int width = 1024;
    int height = 1024;
    int steps = 28;
    std::string sampler = "euler";
    double cfg = 5.0;
    double cfg_trunc = 1.0;
    double renorm = 0.0;
    double shift = 6.0;
    int64_t seed = 0;
    int count = 1;
    std::string negative;
};

// Adds --width --height --steps --sampler --cfg --cfg-trunc --renorm --shift --seed --count --negative.
// The returned option is --seed (callers that draw a random seed check whether it was given).
CLI::Option* add_sampling_options(CLI::App* app, SamplingOptions& options);

// The model's default side (model/model_card.h: its charaforge.json's native_resolution, 256 for the demo model)
// for --width and --height when `app` was not given them; a side given on the command line stays.
void apply_default_side(SamplingOptions& options, const CLI::App& app, int side);

// Adds --memory-mode (auto, high, balanced, low: engine/memory_mode.h) and --vae-tile N into `options`; another
// mode is a usage error naming --memory-mode.
void add_memory_options(CLI::App* app, engine::RuntimeOptions& options);

// Adds --device (auto, cpu, cuda, cuda:N); a value of another form is a usage error.
CLI::Option* add_device_option(CLI::App* app, std::string& device);

// Adds --device (auto, cpu, cuda, cuda:N) and --dtype (auto, bf16, fp16, fp32).
void add_device_options(CLI::App* app, std::string& device, std::string& dtype);

// Checks what the option ranges cannot: sizes are multiples of 16 and seed + count - 1 fits a seed.
// Throws std::invalid_argument naming the option.
void check_sampling_options(const SamplingOptions& options, bool incrementing_seeds);

// Throws std::invalid_argument listing what charaforge::engine::request_problems finds in `request`, each
// problem under the option that set its field ("--negative: invalid UTF-8 at byte 3", "--cfg: ..."); the
// prompt's problems under `prompt_source` (--prompt, or the prompt file). Call it before any model loads.
void check_request(const engine::GenerationRequest& request, const std::string& prompt_source = "--prompt");

// The file `generate` writes for image `index` of `count` ("out.png", or "out-003.png" in a series).
std::string numbered_output_path(const std::string& out, int index, int count);

// Checks, before any work, that `path` can be written: its folder exists and is writable, and the path
// is not something other than a regular file (a folder, a device, a FIFO). Throws
// std::invalid_argument naming `option` and the path.
void check_output_file(const std::string& path, const std::string& option);

// Checks, before any work, that `dir` (given as `name`) is a folder to write into: absent, or an empty folder,
// or any folder when `force`. Throws std::invalid_argument naming `name` and the path; a non-empty folder's
// message ends with "; " + `force_note` (what --force would do).
void check_new_or_empty_folder(const std::string& dir, const std::string& name, bool force,
                               const std::string& force_note);

} // namespace charaforge::cli
