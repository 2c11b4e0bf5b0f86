#include "engine_commands.h"

#include "charaforge/engine/error.h"
#include "charaforge/engine/pipeline.h"
#include "charaforge/engine/tools.h"

#ifndef CHARAFORGE_ENGINE_ONLY
#include "charaforge/imaging/png_io.h"
#endif

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>

namespace charaforge::cli {

namespace eng = charaforge::engine;

Options::Options(const Args& args, std::vector<std::string> value_options, std::vector<std::string> flags) {
    for (std::size_t i = 0; i < args.size(); ++i) {
        const auto& a = args[i];
        if (a.rfind("--", 0) == 0) {
            const std::string name = a.substr(2);
            if (std::find(flags.begin(), flags.end(), name) != flags.end()) {
                values_.push_back({name, "1"});
            } else if (std::find(value_options.begin(), value_options.end(), name) != value_options.end()) {
                if (i + 1 >= args.size())
                    throw std::invalid_argument("option --" + name + " needs a value");
                values_.push_back({name, args[++i]});
            } else {
                throw std::invalid_argument("unknown option " + a);
            }
        } else {
            positional_.push_back(a);
        }
    }
}

bool Options::has(const std::string& name) const {
    return std::any_of(values_.begin(), values_.end(), [&](const auto& v) { return v.first == name; });
}

std::string Options::get(const std::string& name, const std::string& fallback) const {
    for (auto it = values_.rbegin(); it != values_.rend(); ++it)
        if (it->first == name)
            return it->second;
    return fallback;
}

std::string Options::require(const std::string& name) const {
    if (!has(name))
        throw std::invalid_argument("missing required option --" + name);
    return get(name);
}

long long Options::get_int(const std::string& name, long long fallback) const {
    if (!has(name))
        return fallback;
    try {
        std::size_t used = 0;
        long long v = std::stoll(get(name), &used);
        if (used != get(name).size())
            throw std::invalid_argument("");
        return v;
    } catch (const std::exception&) {
        throw std::invalid_argument("option --" + name + " needs an integer, got '" + get(name) + "'");
    }
}

double Options::get_double(const std::string& name, double fallback) const {
    if (!has(name))
        return fallback;
    try {
        std::size_t used = 0;
        double v = std::stod(get(name), &used);
        if (used != get(name).size())
            throw std::invalid_argument("");
        return v;
    } catch (const std::exception&) {
        throw std::invalid_argument("option --" + name + " needs a number, got '" + get(name) + "'");
    }
}

int cmd_make_test_model(const Args& args) {
    Options o(args, {"seed"});
    if (o.positional().size() != 1)
        throw std::invalid_argument("usage: charaforge-cli make-test-model DIR [--seed N]");
    const auto dir = eng::make_test_model(o.positional()[0], static_cast<uint64_t>(o.get_int("seed", 0)));
    std::cout << "wrote a tiny random-weight test model to " << dir << "\n";
    return 0;
}

int cmd_inspect(const Args& args) {
    Options o(args, {});
    if (o.positional().size() != 1)
        throw std::invalid_argument("usage: charaforge-cli inspect PATH");
    std::cout << eng::inspect_checkpoint(o.positional()[0]);
    return 0;
}

int cmd_run_component(const Args& args) {
    Options o(args, {"model", "component", "inputs", "out", "device", "dtype"});
    eng::ComponentRun run;
    run.model_dir = o.require("model");
    run.component = o.require("component");
    run.inputs = o.require("inputs");
    run.output = o.require("out");
    run.runtime.device = o.get("device", "auto");
    run.runtime.dtype = o.get("dtype", "auto");
    std::cout << eng::run_component(run) << "\n";
    return 0;
}

namespace {

eng::TextEmbedding embedding_from(const nlohmann::json& j, const std::string& what) {
    eng::TextEmbedding e;
    try {
        e.features = j.at("features").get<std::vector<float>>();
        e.length = j.at("length").get<int64_t>();
        e.dim = j.at("dim").get<int64_t>();
        e.pooled = j.at("pooled").get<std::vector<float>>();
    } catch (const std::exception& ex) {
        throw std::invalid_argument(what + ": " + ex.what());
    }
    return e;
}

std::string sampler_name(eng::SolverKind s) {
    return s == eng::SolverKind::Midpoint ? "midpoint" : "euler";
}

std::string output_path(const std::string& out, int index, int count) {
    if (count == 1)
        return out;
    std::filesystem::path p(out);
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, "-%03d", index);
    return (p.parent_path() / (p.stem().string() + suffix + p.extension().string())).string();
}

} // namespace

int cmd_generate(const Args& args) {
    Options o(args,
              {"model", "prompt", "negative", "out", "width", "height", "steps", "sampler", "cfg", "cfg-trunc",
               "renorm", "shift", "seed", "count", "batch", "device", "dtype", "embeddings", "system-prompt"},
              {"offload-text-encoders"});
    const std::string model = o.require("model");
    const std::string out = o.require("out");
    const int count = static_cast<int>(o.get_int("count", 1));
    if (count < 1 || count > 10000)
        throw std::invalid_argument("--count must be between 1 and 10000");

    eng::GenerationRequest base;
    base.prompt = o.get("prompt");
    base.negative_prompt = o.get("negative");
    if (o.has("system-prompt"))
        base.system_prompt = o.get("system-prompt");
    base.width = static_cast<int>(o.get_int("width", 1024));
    base.height = static_cast<int>(o.get_int("height", 1024));
    base.steps = static_cast<int>(o.get_int("steps", 28));
    const std::string sampler = o.get("sampler", "euler");
    if (sampler != "euler" && sampler != "midpoint")
        throw std::invalid_argument("--sampler must be euler or midpoint");
    base.solver = sampler == "midpoint" ? eng::SolverKind::Midpoint : eng::SolverKind::Euler;
    base.guidance = static_cast<float>(o.get_double("cfg", 5.0));
    base.cfg_trunc = static_cast<float>(o.get_double("cfg-trunc", 1.0));
    base.renorm_cfg = static_cast<float>(o.get_double("renorm", 0.0));
    base.shift = static_cast<float>(o.get_double("shift", 6.0));
    const auto seed = static_cast<uint64_t>(o.get_int("seed", 0));

    if (o.has("embeddings")) {
        // Precomputed conditioning as JSON {"cond": {features, length, dim, pooled}, "uncond": {...}}.
        std::ifstream in(o.get("embeddings"));
        if (!in)
            throw std::invalid_argument("cannot read --embeddings file " + o.get("embeddings"));
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(in);
        } catch (const std::exception& e) {
            throw std::invalid_argument(o.get("embeddings") + ": not valid JSON: " + e.what());
        }
        base.cond = embedding_from(j.at("cond"), o.get("embeddings") + ": cond");
        if (j.contains("uncond"))
            base.uncond = embedding_from(j.at("uncond"), o.get("embeddings") + ": uncond");
    }

    eng::RuntimeOptions rt;
    rt.device = o.get("device", "auto");
    rt.dtype = o.get("dtype", "auto");
    rt.max_batch = static_cast<int>(o.get_int("batch", 4));
    rt.offload_text_encoders = o.has("offload-text-encoders");
    if (!o.has("embeddings") && !o.has("prompt"))
        throw std::invalid_argument("give --prompt TEXT (or --embeddings FILE.json)");
    auto pipeline = eng::Pipeline::open(model, rt);
    std::cerr << "model: " << model
              << (eng::is_test_model(model) ? " (test model: random weights, images are noise)" : "")
              << "\ndevice: " << pipeline->device_name() << "\n";

    std::vector<eng::GenerationRequest> requests(count, base);
    for (int i = 0; i < count; ++i)
        requests[i].seed = seed + static_cast<uint64_t>(i);

    const auto t0 = std::chrono::steady_clock::now();
    eng::Callbacks cb;
    cb.on_step = [&](const eng::StepProgress& p) {
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::cerr << "\rimages " << p.first_request + 1 << "-" << p.first_request + p.request_count << " of " << count
                  << ": step " << p.step << "/" << p.total_steps << " (" << static_cast<int>(secs) << " s)"
                  << std::flush;
    };
    cb.on_image = [&](std::size_t i, const eng::Image& img) {
        const auto& r = requests[i];
        const std::string path = output_path(out, static_cast<int>(i), count);
        nlohmann::ordered_json rec = {{"prompt", r.prompt},
                                      {"negative_prompt", r.negative_prompt},
                                      {"seed", r.seed},
                                      {"steps", r.steps},
                                      {"sampler", sampler_name(r.solver)},
                                      {"cfg", r.guidance},
                                      {"cfg_trunc", r.cfg_trunc},
                                      {"renorm_cfg", r.renorm_cfg},
                                      {"shift", r.shift},
                                      {"width", r.width},
                                      {"height", r.height},
                                      {"model", model},
                                      {"app", std::string("charaforge ") + CHARAFORGE_VERSION}};
#ifndef CHARAFORGE_ENGINE_ONLY
        std::string params = r.prompt + "\n";
        if (!r.negative_prompt.empty())
            params += "Negative prompt: " + r.negative_prompt + "\n";
        params += "Steps: " + std::to_string(r.steps) + ", Sampler: " + sampler_name(r.solver) +
                  ", CFG scale: " + std::to_string(r.guidance) + ", Seed: " + std::to_string(r.seed) +
                  ", Size: " + std::to_string(r.width) + "x" + std::to_string(r.height) +
                  ", Model: NewBie-image-Exp0.1";
        imaging::RgbImage rgb{img.width, img.height, img.rgb};
        imaging::write_png_atomic(path, rgb, {{"charaforge", rec.dump()}, {"parameters", params}});
#else
        // Engine-only builds have no image codec: write binary PPM.
        std::ofstream f(path, std::ios::binary);
        f << "P6\n" << img.width << " " << img.height << "\n255\n";
        f.write(reinterpret_cast<const char*>(img.rgb.data()), static_cast<std::streamsize>(img.rgb.size()));
        if (!f)
            throw std::runtime_error("cannot write " + path);
#endif
        std::cerr << "\nsaved " << path << "\n";
    };
    cb.on_warning = [&](std::size_t i, const std::string& w) {
        std::cerr << "\nwarning: image " << i << ": " << w << "\n";
    };
    pipeline->generate(requests, cb);
    return 0;
}

int cmd_tokenize(const Args& args) {
    Options o(args, {"model", "device"});
    if (o.positional().size() != 1)
        throw std::invalid_argument("usage: charaforge-cli tokenize --model DIR TEXT");
    eng::RuntimeOptions rt;
    rt.device = o.get("device", "cpu");
    auto pipeline = eng::Pipeline::open(o.require("model"), rt);
    auto [gemma, jina] = pipeline->tokenize(o.positional()[0]);
    auto print = [](const char* name, const std::vector<int64_t>& ids) {
        std::cout << name << " (" << ids.size() << "):";
        for (auto id : ids)
            std::cout << " " << id;
        std::cout << "\n";
    };
    print("gemma", gemma);
    print("jina", jina);
    return 0;
}

} // namespace charaforge::cli
