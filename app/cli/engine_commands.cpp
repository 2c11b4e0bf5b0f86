#include "engine_commands.h"

#include "default_model.h"
#include "progress_line.h"

#include "model/model_card.h"

#include "charaforge/engine/error.h"
#include "charaforge/engine/pipeline.h"
#include "charaforge/engine/ppm.h"
#include "charaforge/engine/request_validation.h"
#include "charaforge/engine/temp_files.h"
#include "charaforge/engine/tools.h"

#ifndef CHARAFORGE_ENGINE_ONLY
#include "charaforge/imaging/png_io.h"
#include "queue/job_record.h"
#include "queue/job_request.h"
#include "queue/pipeline_executor.h"
#include "queue_commands.h"

#include <QCryptographicHash>
#include <QDir>
#include <QSettings>
#include <QStandardPaths>
#endif

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>

namespace charaforge::cli {

namespace eng = charaforge::engine;

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

#ifndef CHARAFORGE_ENGINE_ONLY
// The model files' hashes that `generate` records, remembered across runs in the user's cache folder
// (CACHE/model-hashes.ini) as the queue remembers them in its store: a model is hashed once per file version.
queue::HashMemory remembered_hashes() {
    const QString file =
        QStandardPaths::writableLocation(QStandardPaths::CacheLocation) + QStringLiteral("/model-hashes.ini");
    auto settings = std::make_shared<QSettings>(file, QSettings::IniFormat);
    auto name = [](const QString& key) {
        return QStringLiteral("sha256/") +
               QString::fromLatin1(QCryptographicHash::hash(key.toUtf8(), QCryptographicHash::Sha1).toHex());
    };
    queue::HashMemory memory;
    memory.recall = [settings, name](const QString& key) { return settings->value(name(key)).toString(); };
    memory.remember = [settings, name](const QString& key, const QString& hex) {
        settings->setValue(name(key), hex);
        settings->sync(); // not remembered when the cache cannot be written: hashed again next time
    };
    return memory;
}
#endif

void check_model_path(const std::string& model) {
    std::error_code ec;
    if (!std::filesystem::exists(model, ec))
        throw std::invalid_argument("--model: " + model + ": no such file or folder");
}

// ---------------------------------------------------------------------------------------------
// make-test-model DIR

struct MakeTestModel {
    std::string dir;
    int64_t seed = 0;
    bool force = false;
};

void add_make_test_model(CLI::App& app, Action& chosen) {
    auto o = std::make_shared<MakeTestModel>();
    auto* sub = app.add_subcommand("make-test-model", "Write a tiny random-weight model folder (for tests)");
    sub->add_option("DIR", o->dir, "folder to create (a new or empty one, unless --force)")->required();
    add_int64(sub, "--seed", o->seed, 0, kMaxSeed, "seed of the random weights");
    sub->add_flag("--force", o->force, "write into a folder that is not empty, replacing its model files");
    set_action(sub, chosen, [o] {
        // The folder must be new or empty: its files (a real model's weights, say) would be replaced without a word.
        check_new_or_empty_folder(o->dir, "DIR", o->force, "give --force to overwrite its model files");
        const auto dir = eng::make_test_model(o->dir, static_cast<uint64_t>(o->seed));
        std::cout << "wrote a tiny random-weight test model to " << dir << "\n";
        return 0;
    });
}

// ---------------------------------------------------------------------------------------------
// inspect PATH

void add_inspect(CLI::App& app, Action& chosen) {
    auto path = std::make_shared<std::string>();
    auto* sub = app.add_subcommand("inspect", "List a checkpoint's tensors and kind, or a model folder's files");
    sub->add_option("PATH", *path, "a .safetensors file or a model folder")->required();
    set_action(sub, chosen, [path] {
        std::cout << eng::inspect_checkpoint(*path);
        return 0;
    });
}

// ---------------------------------------------------------------------------------------------
// run-component

struct RunComponent {
    eng::ComponentRun run;
};

void add_run_component(CLI::App& app, Action& chosen) {
    auto o = std::make_shared<RunComponent>();
    auto& r = o->run;
    auto* sub = app.add_subcommand("run-component", "Run one model component on named tensors (parity checks)");
    sub->add_option("--model", r.model_dir, "model folder")->required();
    sub->add_option("--component", r.component, "component to run")
        ->required()
        ->check(CLI::IsMember({"transformer", "vae-decode", "vae-encode", "gemma", "jina"}));
    sub->add_option("--inputs", r.inputs, "input tensors (.safetensors)")->required()->check(CLI::ExistingFile);
    sub->add_option("--out", r.output, "output tensors (.safetensors)")->required();
    add_device_options(sub, r.runtime.device, r.runtime.dtype);
    set_action(sub, chosen, [o] {
        check_model_path(o->run.model_dir);
        check_output_file(o->run.output, "--out");
        std::cout << eng::run_component(o->run) << "\n";
        return 0;
    });
}

// ---------------------------------------------------------------------------------------------
// generate

struct Generate {
    std::string model;
    std::string out;
    std::string prompt;
    std::string system_prompt;
    std::string embeddings;
    SamplingOptions sampling;
    eng::RuntimeOptions runtime;
};

// Reads precomputed conditioning, JSON {"cond": {features, length, dim, pooled}, "uncond": {...}}.
void read_embeddings(const std::string& path, eng::GenerationRequest& request) {
    std::ifstream in(path);
    if (!in)
        throw std::invalid_argument("--embeddings: cannot read " + path);
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(in);
    } catch (const std::exception& e) {
        throw std::invalid_argument(path + ": not valid JSON: " + e.what());
    }
    if (!j.is_object() || !j.contains("cond"))
        throw std::invalid_argument(path + ": cond: missing (an object with features, length, dim, pooled)");
    request.cond = embedding_from(j.at("cond"), path + ": cond");
    if (j.contains("uncond"))
        request.uncond = embedding_from(j.at("uncond"), path + ": uncond");
}

int run_generate(Generate o, const CLI::App& sub) {
    const bool has_prompt = sub.count("--prompt") > 0;
    const bool has_embeddings = sub.count("--embeddings") > 0;
    if (!has_embeddings && !has_prompt)
        throw std::invalid_argument("give --prompt TEXT (or --embeddings FILE.json)");
    check_sampling_options(o.sampling, true);

    // Everything the command line names is checked before the model loads (and before a built-in one is chosen).
    if (!o.model.empty())
        check_model_path(o.model);
    for (int i = 0; i < o.sampling.count; ++i)
        check_output_file(numbered_output_path(o.out, i, o.sampling.count), "--out");
    if (o.model.empty())
        o.model = model_without_option();
    // Sides not given are the model's (the demo model's 256); any model's side passes the checks above.
    apply_default_side(o.sampling, sub, app::modelDefaultSide(o.model));
    const SamplingOptions& s = o.sampling;
    // What a generate killed while writing left in the folder (`NAME.png.tmp-PID-...` of a dead process).
    const std::string out_folder = std::filesystem::path(o.out).parent_path().string();
    for (const auto& removed : eng::remove_orphan_temp_files(out_folder.empty() ? "." : out_folder))
        progress::note("removed " + removed + " (left by an interrupted write)");

    eng::GenerationRequest base;
    base.prompt = o.prompt;
    base.negative_prompt = s.negative;
    if (sub.count("--system-prompt") > 0)
        base.system_prompt = o.system_prompt;
    base.width = s.width;
    base.height = s.height;
    base.steps = s.steps;
    base.solver = eng::solver_from_name(s.sampler).value(); // --sampler allows only the solvers' names
    base.guidance = static_cast<float>(s.cfg);
    base.cfg_trunc = static_cast<float>(s.cfg_trunc);
    base.renorm_cfg = static_cast<float>(s.renorm);
    base.shift = static_cast<float>(s.shift);
    if (has_embeddings)
        read_embeddings(o.embeddings, base);
    // The engine's own check, before the model loads (invalid UTF-8 in a prompt used to be found only once
    // the pipeline ran). Only the seed differs between the images: the last one is the largest.
    base.seed = static_cast<uint64_t>(s.seed) + static_cast<uint64_t>(s.count - 1);
    check_request(base);
#ifndef CHARAFORGE_ENGINE_ONLY
    // Sampled and recorded in canonical form, as `queue add` queues it: one prompt, one image for a seed. (The
    // engine-only build has no prompt parser: it samples the text as given.)
    QString canonical;
    if (has_prompt) {
        canonical = canonicalPrompt(QByteArray::fromStdString(o.prompt), "--prompt", "generated");
        base.prompt = queue::exactUtf8(canonical);
        check_request(base);
    }
#endif

    auto pipeline = eng::Pipeline::open(o.model, o.runtime);
    std::cerr << "model: " << o.model << app::modelRemark(o.model) << "\ndevice: " << pipeline->device_name()
              << "\nmemory mode: " << eng::memory_mode_name(pipeline->memory_mode()) << "\n";
    for (const auto& note : pipeline->memory_notes())
        progress::note(note);

    const int count = s.count;
    std::vector<eng::GenerationRequest> requests(count, base);
    for (int i = 0; i < count; ++i)
        requests[i].seed = static_cast<uint64_t>(s.seed) + static_cast<uint64_t>(i);

    const auto t0 = std::chrono::steady_clock::now();
    eng::Callbacks cb;
    cb.on_step = [&](const eng::StepProgress& p) {
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        progress::show("images " + std::to_string(p.first_request + 1) + "-" +
                       std::to_string(p.first_request + p.request_count) + " of " + std::to_string(count) + ": step " +
                       std::to_string(p.step) + "/" + std::to_string(p.total_steps) + " (" +
                       std::to_string(static_cast<int>(secs)) + " s)");
    };
#ifndef CHARAFORGE_ENGINE_ONLY
    // The record is the queue's (one writer): these settings, the model folder and its files' hashes.
    queue::JobSpec spec = jobSpecFor(s);
    spec.prompt = canonical;
    spec.model = QDir(QString::fromStdString(o.model)).absolutePath();
    const auto model_files =
        queue::modelFileRecords(queue::modelFilesOf(pipeline->info()), remembered_hashes(),
                                [](const QString& message) { progress::note(message.toStdString()); }, {});
#endif
    cb.on_image = [&](std::size_t i, const eng::Image& img) {
        const std::string path = numbered_output_path(o.out, static_cast<int>(i), count);
#ifndef CHARAFORGE_ENGINE_ONLY
        queue::JobSpec image_spec = spec;
        image_spec.seed = static_cast<qint64>(requests[i].seed);
        imaging::RgbImage rgb{img.width, img.height, img.rgb};
        imaging::write_png_atomic(path, rgb,
                                  queue::pngRecord(image_spec, model_files, QStringLiteral(CHARAFORGE_VERSION)));
#else
        eng::write_ppm(path, img); // engine-only builds have no image codec
#endif
        progress::note("saved " + path);
    };
    cb.on_warning = [&](std::size_t i, const std::string& w) {
        progress::note("warning: image " + std::to_string(i) + ": " + w);
    };
    pipeline->generate(requests, cb);
    progress::end();
    return 0;
}

// The model of a generate without --model (default_model.h).
#ifndef CHARAFORGE_ENGINE_ONLY
constexpr const char* kDefaultModels =
    "CHARAFORGE_MODEL, the window's, or the built-in demo model (else the test model)";
#else
constexpr const char* kDefaultModels = "the built-in demo model";
#endif

void add_generate(CLI::App& app, Action& chosen) {
    auto o = std::make_shared<Generate>();
    auto* sub = app.add_subcommand("generate", "Generate images from a prompt");
    sub->add_option("--model", o->model,
                    std::string("model folder (or ComfyUI files folder; default: ") + kDefaultModels +
                        "; --width and --height default to a model's native size, 256 for the demo model)");
    sub->add_option("--out", o->out, "output image; with --count N, NAME-000.EXT ... NAME-(N-1).EXT")->required();
    sub->add_option("--prompt", o->prompt, "prompt: NewBie XML, a tag list or natural language");
    add_sampling_options(sub, o->sampling);
    sub->add_option("--system-prompt", o->system_prompt, "replaces the Gemma system prompt");
    sub->add_option("--embeddings", o->embeddings, "precomputed conditioning (JSON) instead of the text encoders");
    add_int(sub, "--batch", o->runtime.max_batch, 1, 64, "images sampled together at most");
    add_device_options(sub, o->runtime.device, o->runtime.dtype);
    sub->add_flag("--offload-text-encoders", o->runtime.offload_text_encoders,
                  "keep the text encoders off the GPU between prompts");
    add_memory_options(sub, o->runtime);
    set_action(sub, chosen, [o, sub] { return run_generate(*o, *sub); });
}

// ---------------------------------------------------------------------------------------------
// tokenize

struct Tokenize {
    std::string model;
    std::string text;
    std::string device = "cpu";
};

void add_tokenize(CLI::App& app, Action& chosen) {
    auto o = std::make_shared<Tokenize>();
    auto* sub = app.add_subcommand("tokenize", "Print the Gemma and Jina token ids of a text");
    sub->add_option("--model", o->model, "model folder")->required();
    sub->add_option("TEXT", o->text, "text to tokenize")->required();
    sub->add_option("--device", o->device, "where to load the model")->capture_default_str();
    set_action(sub, chosen, [o] {
        check_model_path(o->model);
        eng::RuntimeOptions rt;
        rt.device = o->device;
        auto pipeline = eng::Pipeline::open(o->model, rt);
        auto [gemma, jina] = pipeline->tokenize(o->text);
        auto print = [](const char* name, const std::vector<int64_t>& ids) {
            std::cout << name << " (" << ids.size() << "):";
            for (auto id : ids)
                std::cout << " " << id;
            std::cout << "\n";
        };
        print("gemma", gemma);
        print("jina", jina);
        return 0;
    });
}

} // namespace

void add_engine_commands(CLI::App& app, Action& chosen) {
    add_make_test_model(app, chosen);
    add_inspect(app, chosen);
    add_generate(app, chosen);
    add_tokenize(app, chosen);
    add_run_component(app, chosen);
}

} // namespace charaforge::cli
