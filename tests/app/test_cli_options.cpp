// charaforge-cli's option handling: strict range-checked numbers, help with defaults, usage errors,
// error lines after the progress counter, output-path checks.
#include "cli_options.h"
#include "progress_line.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <sstream>
#include <unistd.h>

namespace cli = charaforge::cli;
namespace fs = std::filesystem;

namespace {

struct CliRun {
    int code;
    std::string out;
    std::string err;
};

// `charaforge-cli gen ARGS...` with the sampling options; `body` (in the action) prints what it received.
using SamplingBody = std::function<void(cli::SamplingOptions&, CLI::App&, std::ostream&)>;
CliRun run_gen(std::vector<std::string> args, const SamplingBody& body) {
    CLI::App app("", "charaforge-cli");
    cli::Action chosen;
    cli::SamplingOptions o;
    auto* sub = app.add_subcommand("gen", "test");
    cli::add_sampling_options(sub, o);
    std::ostringstream out, err;
    cli::set_action(sub, chosen, [&] {
        body(o, *sub, out);
        return 0;
    });
    args.insert(args.begin(), "gen");
    const int code = cli::parse_and_run(app, args, chosen, out, err);
    return {code, out.str(), err.str()};
}

CliRun run_sampling(std::vector<std::string> args) {
    return run_gen(std::move(args), [](cli::SamplingOptions& o, CLI::App&, std::ostream& out) {
        cli::check_sampling_options(o, true);
        out << o.width << " " << o.steps << " " << o.seed << " " << o.cfg << " " << o.sampler;
    });
}

} // namespace

TEST(CliOptions, IntegersDoNotWrapOrSaturate) {
    for (const std::vector<std::string>& bad : {std::vector<std::string>{"--width", "4294967360"},
                                                {"--steps", "4294967298"},
                                                {"--width", "-16"},
                                                {"--seed", "-1"},
                                                {"--seed", "18446744073709551615"},
                                                {"--seed", "9223372036854775808"},
                                                {"--seed", "4294967296"},
                                                {"--width", "64.5"},
                                                {"--width", "64px"},
                                                {"--width", ""},
                                                {"--count", "0"},
                                                {"--steps", "1001"}}) {
        const CliRun r = run_sampling(bad);
        EXPECT_EQ(r.code, cli::kExitUsage) << bad[0] << " " << bad[1];
        EXPECT_EQ(r.out, "") << bad[0] << " " << bad[1];
        EXPECT_EQ(r.err.rfind("charaforge-cli gen: error: " + bad[0], 0), 0u) << r.err;
    }
    const CliRun ok = run_sampling({"--width", "64", "--steps", "3", "--seed", "4294967295"});
    EXPECT_EQ(ok.code, 0) << ok.err;
    EXPECT_EQ(ok.out, "64 3 4294967295 5 euler");
}

// A model's native side (the demo model's 256) replaces only the sides the command line did not give.
TEST(CliOptions, TheModelsSideIsTheDefaultOnlyForSidesNotGiven) {
    const auto sides = [](std::vector<std::string> args) {
        const CliRun r = run_gen(std::move(args), [](cli::SamplingOptions& o, CLI::App& sub, std::ostream& out) {
            cli::apply_default_side(o, sub, 256);
            out << o.width << "x" << o.height;
        });
        EXPECT_EQ(r.code, 0) << r.err;
        return r.out;
    };
    EXPECT_EQ(sides({}), "256x256");
    EXPECT_EQ(sides({"--width", "320"}), "320x256");
    EXPECT_EQ(sides({"--height", "192"}), "256x192");
    EXPECT_EQ(sides({"--width", "1024", "--height", "1024"}), "1024x1024") << "NewBie's size, given, stays";
}

TEST(CliOptions, TheLastSeedOfASeriesMustFit) {
    const CliRun r = run_sampling({"--seed", "4294967295", "--count", "3"});
    EXPECT_EQ(r.code, cli::kExitUsage);
    EXPECT_NE(r.err.find("--seed 4294967295 with --count 3"), std::string::npos) << r.err;
    EXPECT_EQ(run_sampling({"--seed", "4294967293", "--count", "3"}).code, 0);
}

TEST(CliOptions, NumbersMustBeFiniteAndInRange) {
    for (const char* bad : {"nan", "inf", "-inf", "1e400", "101", "-0.5", "5,0", "five"}) {
        const CliRun r = run_sampling({"--cfg", bad});
        EXPECT_EQ(r.code, cli::kExitUsage) << bad;
        EXPECT_NE(r.err.find("--cfg"), std::string::npos) << r.err;
    }
    EXPECT_EQ(run_sampling({"--cfg", "7.5"}).out, "1024 28 0 7.5 euler");
}

TEST(CliOptions, SizesAreMultiplesOf16) {
    const CliRun r = run_sampling({"--width", "250"});
    EXPECT_EQ(r.code, cli::kExitUsage);
    EXPECT_NE(r.err.find("--width: 250 is not a multiple of 16"), std::string::npos) << r.err;
}

// The command line accepts a size, step count and seed exactly when the engine's request check does: the CLI
// takes its ranges from the engine (a CLI copy of a limit could drift from it).
TEST(CliOptions, RangesAreTheEngines) {
    namespace eng = charaforge::engine;
    const auto engine_accepts = [](int side, int steps, uint64_t seed) {
        eng::GenerationRequest r;
        r.width = r.height = side;
        r.steps = steps;
        r.seed = seed;
        return eng::request_problems(r).empty();
    };
    for (int side : {0, 15, 16, 32, 8176, 8192, 8208, 16384}) {
        const auto s = std::to_string(side);
        EXPECT_EQ(run_sampling({"--width", s, "--height", s}).code == 0, engine_accepts(side, 28, 0)) << side;
    }
    for (int steps : {0, 1, 999, 1000, 1001})
        EXPECT_EQ(run_sampling({"--steps", std::to_string(steps)}).code == 0, engine_accepts(1024, steps, 0)) << steps;
    for (uint64_t seed : {uint64_t{0}, uint64_t{0xFFFFFFFF}, uint64_t{0x100000000}})
        EXPECT_EQ(run_sampling({"--seed", std::to_string(seed)}).code == 0, engine_accepts(1024, 28, seed)) << seed;
    static_assert(cli::kMaxSide == eng::kMaxImageSize && cli::kMaxSteps == eng::kMaxSteps &&
                  static_cast<uint64_t>(cli::kMaxSeed) == eng::kMaxSeed);
}

// The engine's request check, run before any model loads, names the option behind each problem.
TEST(CliOptions, RequestProblemsNameTheOption) {
    const auto message = [](const charaforge::engine::GenerationRequest& r, const std::string& source) {
        try {
            cli::check_request(r, source);
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    charaforge::engine::GenerationRequest r;
    r.prompt = "1girl";
    EXPECT_EQ(message(r, "--prompt"), "");
    r.prompt = "a\xff";
    EXPECT_EQ(message(r, "--prompt"), "--prompt: invalid UTF-8 at byte 1");
    EXPECT_EQ(message(r, "p.txt"), "p.txt: invalid UTF-8 at byte 1");
    r.prompt = "ok";
    r.negative_prompt = "\xc3\x28";
    r.guidance = std::numeric_limits<float>::quiet_NaN();
    r.seed = 0x100000000ull;
    const std::string m = message(r, "--prompt");
    EXPECT_NE(m.find("--negative: invalid UTF-8 at byte 0"), std::string::npos) << m;
    EXPECT_NE(m.find("--cfg: nan is not a finite number"), std::string::npos) << m;
    EXPECT_NE(m.find("--seed: 4294967296 is above 4294967295"), std::string::npos) << m;
}

TEST(CliOptions, HelpShowsDefaultsAndRanges) {
    const CliRun r = run_sampling({"--help"});
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.err, "");
    for (const char* expected : {"Usage: charaforge-cli gen", "--width INT in [16, 8192]=1024", "--steps", "=28",
                                 "--sampler", "=euler", "--cfg", "=5", "--shift", "=6"})
        EXPECT_NE(r.out.find(expected), std::string::npos) << expected << "\n" << r.out;
}

TEST(CliOptions, TheSamplerIsOneOfTheEnginesSolvers) {
    for (const std::string name : {"euler", "midpoint", "dpm"}) {
        const CliRun r = run_sampling({"--sampler", name});
        EXPECT_EQ(r.code, 0) << r.err;
        EXPECT_EQ(r.out, "1024 28 0 5 " + name);
    }
    const CliRun bad = run_sampling({"--sampler", "dpm++"});
    EXPECT_EQ(bad.code, cli::kExitUsage);
    EXPECT_NE(bad.err.find("--sampler: dpm++ not in {euler,midpoint,dpm}"), std::string::npos) << bad.err;
    const CliRun help = run_sampling({"--help"});
    EXPECT_NE(help.out.find("dpm (DPM-Solver++ 2M"), std::string::npos) << help.out;
}

TEST(CliOptions, TheMemoryModeIsOneOfTheFourAndReachesTheRuntime) {
    auto run = [](std::vector<std::string> args) {
        CLI::App app("", "charaforge-cli");
        cli::Action chosen;
        charaforge::engine::RuntimeOptions rt;
        auto* sub = app.add_subcommand("gen", "test");
        cli::add_memory_options(sub, rt);
        std::ostringstream out, err;
        cli::set_action(sub, chosen, [&] {
            out << charaforge::engine::memory_mode_name(rt.memory_mode) << " " << rt.vae_tile;
            return 0;
        });
        args.insert(args.begin(), "gen");
        const int code = cli::parse_and_run(app, args, chosen, out, err);
        return CliRun{code, out.str(), err.str()};
    };
    EXPECT_EQ(run({}).out, "auto 0");
    for (const std::string mode : {"auto", "high", "balanced", "low"}) {
        const CliRun r = run({"--memory-mode", mode, "--vae-tile", "32"});
        EXPECT_EQ(r.code, 0) << r.err;
        EXPECT_EQ(r.out, mode + " 32");
    }
    const CliRun bad = run({"--memory-mode", "medium"});
    EXPECT_EQ(bad.code, cli::kExitUsage);
    EXPECT_NE(bad.err.find("--memory-mode: medium not in {auto,high,balanced,low}"), std::string::npos) << bad.err;
    EXPECT_EQ(run({"--vae-tile", "-1"}).code, cli::kExitUsage);
}

TEST(CliOptions, UnknownOptionsAndMissingSubcommandsAreUsageErrors) {
    EXPECT_EQ(run_sampling({"--frobnicate"}).code, cli::kExitUsage);
    CLI::App app("", "charaforge-cli");
    app.require_subcommand(1);
    app.add_subcommand("gen", "test");
    cli::Action chosen;
    std::ostringstream out, err;
    EXPECT_EQ(cli::parse_and_run(app, {}, chosen, out, err), cli::kExitUsage);
    EXPECT_NE(err.str().find("charaforge-cli: error: "), std::string::npos) << err.str();
}

TEST(CliOptions, AnErrorAfterTheProgressCounterStartsOnItsOwnLine) {
    CLI::App app("", "charaforge-cli");
    auto* sub = app.add_subcommand("gen", "test");
    cli::Action chosen;
    cli::set_action(sub, chosen, []() -> int {
        cli::progress::show("step 3/28");
        throw std::runtime_error("disk full");
    });
    std::ostringstream err;
    std::streambuf* old = std::cerr.rdbuf(err.rdbuf()); // the counter writes to std::cerr
    std::ostringstream out;
    const int code = cli::parse_and_run(app, {"gen"}, chosen, out, err);
    std::cerr.rdbuf(old);
    EXPECT_EQ(code, cli::kExitFailed);
    EXPECT_EQ(err.str(), "\rstep 3/28\ncharaforge-cli gen: error: disk full\n");
}

TEST(CliOptions, OutputMustBeARegularFileInAWritableFolder) {
    const fs::path dir = fs::temp_directory_path() / ("cf-cli-out-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    const auto message = [](const std::string& path) {
        try {
            cli::check_output_file(path, "--out");
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    EXPECT_EQ(message((dir / "new.png").string()), "");
    std::ofstream((dir / "old.png").string()) << "x";
    EXPECT_EQ(message((dir / "old.png").string()), ""); // an existing file is replaced
    EXPECT_NE(message("/dev/null").find("--out: /dev/null: exists and is not a regular file"), std::string::npos);
    EXPECT_NE(message(dir.string()).find("is a folder"), std::string::npos);
    EXPECT_NE(message((dir / "missing" / "a.png").string()).find("does not exist"), std::string::npos);
    fs::create_symlink("/dev/null", dir / "link.png");
    EXPECT_NE(message((dir / "link.png").string()).find("symbolic link"), std::string::npos);
    if (::geteuid() != 0) {
        fs::create_directories(dir / "ro");
        fs::permissions(dir / "ro", fs::perms::owner_read | fs::perms::owner_exec);
        EXPECT_NE(message((dir / "ro" / "a.png").string()).find("cannot write in the folder"), std::string::npos);
        fs::permissions(dir / "ro", fs::perms::owner_all);
    }
    fs::remove_all(dir);
}

TEST(CliOptions, NumberedOutputs) {
    EXPECT_EQ(cli::numbered_output_path("out/a.png", 0, 1), "out/a.png");
    EXPECT_EQ(cli::numbered_output_path("out/a.png", 3, 4), "out/a-003.png");
}
