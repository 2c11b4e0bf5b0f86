// charaforge-cli queue add|add-erase|list|pause|resume|cancel|retry and charaforge-cli worker.
#include "queue_commands.h"

#include "default_model.h"
#include "lama_commands.h"
#include "progress_line.h"

#include "model/model_card.h"

#include "charaforge/engine/pipeline.h"
#include "charaforge/imaging/erase.h"
#include "charaforge/imaging/png_io.h"
#include "charaforge/prompt/prompt.h"
#include "queue/device_list.h"
#include "queue/embedding_cache.h"
#include "queue/group_store.h"
#include "queue/job_record.h"
#include "queue/job_request.h"
#include "queue/job_store.h"
#include "queue/job_title.h"
#include "queue/model_setup.h"
#include "queue/pipeline_executor.h"
#include "queue/queue_runner.h"
#include "queue/worker_pool.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QRandomGenerator>
#include <QThread>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <limits>
#include <memory>
#include <mutex>

namespace charaforge::cli {

namespace {

QString queuePath(const std::string& option) {
    return option.empty() ? queue::JobStore::defaultPath() : QString::fromStdString(option);
}

// Opens the queue of a command that adds work to it (`queue add`, `worker`): a missing queue file is
// created, and said so on standard error (standard output is for scripts), since a mistyped --queue
// would otherwise make a new, empty queue without a word.
std::unique_ptr<queue::JobStore> openOrCreateQueue(const std::string& option) {
    auto store = std::make_unique<queue::JobStore>(queuePath(option));
    if (store->created())
        progress::note("charaforge-cli: created new queue at " +
                       QFileInfo(store->path()).absoluteFilePath().toStdString());
    return store;
}

// Where the queue of a command that reads or changes existing jobs must be; a missing one is an error
// naming where the path came from (--queue, CHARAFORGE_QUEUE), never a new empty queue. Returns an empty
// string for the default queue when it does not exist yet (nothing was ever queued: it has no jobs).
QString existingQueuePath(const std::string& option) {
    const QString path = queuePath(option);
    if (QFileInfo::exists(path))
        return path;
    const std::string shown = QFileInfo(path).absoluteFilePath().toStdString();
    if (!option.empty())
        throw std::invalid_argument("--queue: " + shown + ": no such queue (queue add or worker creates one)");
    if (!qEnvironmentVariableIsEmpty("CHARAFORGE_QUEUE"))
        throw std::invalid_argument("CHARAFORGE_QUEUE: " + shown + ": no such queue (queue add or worker creates one)");
    return {};
}

// Opens the existing queue of a command that changes jobs or settings (see existingQueuePath).
std::unique_ptr<queue::JobStore> openExistingQueue(const std::string& option) {
    const QString path = existingQueuePath(option);
    if (path.isEmpty())
        throw std::invalid_argument("the queue " + QFileInfo(queuePath(option)).absoluteFilePath().toStdString() +
                                    " does not exist yet (queue add or worker creates it)");
    return std::make_unique<queue::JobStore>(path);
}

void addQueueOption(CLI::App* sub, std::string& target) {
    sub->add_option("--queue", target,
                    "queue database (default: CHARAFORGE_QUEUE or the app's data folder, shared with the window)");
}

QString readPrompt(const std::string& path) {
    QFile f;
    if (path == "-" ? !f.open(stdin, QIODevice::ReadOnly)
                    : (f.setFileName(QString::fromStdString(path)), !f.open(QIODevice::ReadOnly)))
        throw std::runtime_error(path + ": cannot read: " + f.errorString().toStdString());
    return canonicalPrompt(f.read((1 << 20) + 1), path, "queued");
}

// The folder a job's images go to must be one the worker can make and write in: found now, not after the
// worker has sampled the image. Throws std::invalid_argument naming --out.
void checkOutputFolder(const std::string& path) {
    if (const QString why = queue::outputFolderProblem(QString::fromStdString(path)); !why.isEmpty())
        throw std::invalid_argument("--out: " + path + ": " + why.toStdString());
}

// Job ids as positional arguments: positive integers, at least one.
CLI::Option* addIds(CLI::App* sub, QList<qint64>& ids, const std::string& help) {
    return sub
        ->add_option_function<std::vector<std::string>>(
            "ID",
            [&ids](const std::vector<std::string>& words) {
                for (const auto& w : words)
                    ids.push_back(parse_int64(w, "ID", 1, std::numeric_limits<int64_t>::max()));
            },
            help)
        ->type_name("ID")
        ->required();
}

struct QueueAdd {
    std::string file;
    SamplingOptions sampling;
    std::string seedMode = "increment";
    std::string model;
    std::string out;
    std::string queue;
    std::vector<std::string> vary; // --vary KIND=V1|V2|...: the jobs form one variant group
    std::string label;
    bool dryRun = false;
};

// The group's axes from the --vary options (with --count N as a seed axis when no seed axis is given).
QList<queue::VariantAxis> varyAxes(const QueueAdd& o, qint64 seed) {
    QList<queue::VariantAxis> axes;
    bool seeds = false;
    for (const auto& text : o.vary) {
        try {
            axes.push_back(queue::parseVaryOption(QString::fromStdString(text), seed));
        } catch (const queue::VariantError& e) {
            throw std::invalid_argument(e.what());
        }
        seeds = seeds || axes.back().kind == queue::AxisKind::Seed;
    }
    if (o.sampling.count > 1) {
        if (seeds)
            throw std::invalid_argument("--count: with a seed axis in --vary, give the seeds there only");
        if (o.seedMode != "increment")
            throw std::invalid_argument("--seed-mode " + o.seedMode +
                                        ": with --vary, --count is a seed axis of consecutive seeds (or use "
                                        "--vary seeds=N)");
        axes.push_back(queue::seedAxis(seed, o.sampling.count));
    }
    return axes;
}

int queueAdd(QueueAdd o, const CLI::App& sub, bool seedGiven) {
    check_sampling_options(o.sampling, seedGiven && o.seedMode == "increment");
    if (!o.model.empty() && !QFileInfo::exists(QString::fromStdString(o.model)))
        throw std::invalid_argument("--model: " + o.model + ": no such file or folder");
    if (!o.out.empty())
        checkOutputFolder(o.out);
    queue::JobSpec base = jobSpecFor(o.sampling);
    base.prompt = readPrompt(o.file);
    // The engine's request check on the text as given (QString::fromStdString turns invalid UTF-8 in --negative
    // into U+FFFD unnoticed); the store checks every job again.
    engine::GenerationRequest request = queue::requestFor(base);
    request.negative_prompt = o.sampling.negative;
    check_request(request, o.file);
    const std::string model = o.model.empty() ? model_without_option() : o.model;
    base.model = QDir(QString::fromStdString(model)).absolutePath();
    // A size not given is the model's (the demo model's 256); any model's side passes the checks above.
    apply_default_side(o.sampling, sub, app::modelDefaultSide(model));
    base.width = o.sampling.width;
    base.height = o.sampling.height;
    const SamplingOptions& s = o.sampling;
    base.outputDir = QDir(o.out.empty() ? app::defaultOutputDir() : QString::fromStdString(o.out)).absolutePath();
    // A drawn seed leaves room for the whole series.
    auto* random = QRandomGenerator::global();
    const qint64 seed = seedGiven ? s.seed : random->bounded(qint64(0), qint64(kMaxSeed - s.count + 1));
    if (!o.vary.empty()) {
        base.seed = seed;
        const auto axes = varyAxes(o, seed);
        queue::Expansion expansion;
        try {
            expansion = queue::expandVariants(base, axes);
        } catch (const queue::VariantError& e) {
            throw std::invalid_argument(e.what());
        }
        // The product, shown before anything is queued.
        std::string product;
        for (const auto& a : axes)
            product +=
                (product.empty() ? "" : " x ") + a.name().toStdString() + " (" + std::to_string(a.values.size()) + ")";
        progress::note(product + " = " + std::to_string(expansion.variants.size()) + " jobs");
        if (o.dryRun) {
            for (const auto& v : expansion.variants)
                std::cout << v.axisValues.join(QStringLiteral("\t")).toStdString() << "\n";
            return 0;
        }
        const auto opened = openOrCreateQueue(o.queue);
        queue::JobStore& store = *opened;
        queue::GroupStore groups(store);
        const QString label = o.label.empty() ? QString::fromStdString(product) : QString::fromStdString(o.label);
        const QString id = groups.create(expansion, axes, label);
        const auto members = groups.members(id);
        std::cout << "queued group " << id.toStdString() << " (" << members.size() << " jobs: " << members.front().jobId
                  << "-" << members.back().jobId << ") in " << store.path().toStdString() << "\n";
        return 0;
    }
    if (o.dryRun) {
        progress::note(std::to_string(s.count) + (s.count == 1 ? " job" : " jobs") + " (--dry-run: nothing queued)");
        return 0;
    }
    QList<queue::JobSpec> specs;
    for (int i = 0; i < s.count; ++i) {
        auto spec = base;
        spec.seed = o.seedMode == "fixed"    ? seed
                    : o.seedMode == "random" ? random->bounded(qint64(0), qint64(kMaxSeed))
                                             : seed + i;
        specs.push_back(spec);
    }
    const auto store = openOrCreateQueue(o.queue);
    const auto ids = store->add(specs, QStringLiteral("cli-%1").arg(QDateTime::currentMSecsSinceEpoch()));
    std::cout << "queued " << ids.size() << " job(s): " << ids.front() << (ids.size() > 1 ? "-" : "")
              << (ids.size() > 1 ? std::to_string(ids.back()) : "") << " in " << store->path().toStdString() << "\n";
    return 0;
}

struct QueueAddErase {
    std::string lama;
    std::vector<std::string> images, masks;
    std::string strategy = "crop";
    std::string out;
    std::string queue;
};

// One erase job per image/mask pair, each file read now (a bad file is refused before anything is queued).
int queueAddErase(const QueueAddErase& o) {
    const auto pairs = pair_erase_inputs(o.images, o.masks);
    if (!o.out.empty())
        checkOutputFolder(o.out);
    const QString out = QDir(o.out.empty() ? app::defaultOutputDir() : QString::fromStdString(o.out)).absolutePath();
    QList<queue::JobSpec> specs;
    for (const auto& [image, mask] : pairs) {
        imaging::RgbImage rgb;
        try {
            rgb = imaging::read_png(image);
        } catch (const std::runtime_error& e) {
            throw std::invalid_argument(std::string("--image: ") + e.what());
        }
        try {
            imaging::read_mask_png(mask, rgb.width, rgb.height, image);
        } catch (const std::exception& e) { // unreadable (runtime_error) or of another size (invalid_argument)
            throw std::invalid_argument(std::string("--mask: ") + e.what());
        }
        queue::JobSpec spec;
        spec.kind = queue::JobKind::Erase;
        spec.image = QFileInfo(QString::fromStdString(image)).absoluteFilePath();
        spec.mask = QFileInfo(QString::fromStdString(mask)).absoluteFilePath();
        spec.strategy = QString::fromStdString(o.strategy);
        spec.model = QFileInfo(QString::fromStdString(o.lama)).absoluteFilePath();
        spec.outputDir = out;
        spec.width = rgb.width;
        spec.height = rgb.height;
        spec.steps = 1;
        specs.push_back(spec);
    }
    const auto store = openOrCreateQueue(o.queue);
    const auto ids = store->add(specs, QStringLiteral("erase-%1").arg(QDateTime::currentMSecsSinceEpoch()));
    std::cout << "queued " << ids.size() << " erase job(s): " << ids.front() << (ids.size() > 1 ? "-" : "")
              << (ids.size() > 1 ? std::to_string(ids.back()) : "") << " in " << store->path().toStdString() << "\n";
    return 0;
}

void addQueueAddErase(CLI::App* queueApp, Action& chosen) {
    auto o = std::make_shared<QueueAddErase>();
    auto* sub = queueApp->add_subcommand("add-erase", "Queue erase jobs: LaMa fills each image where its mask says");
    add_erase_input_options(sub, o->lama, o->images, o->masks, o->strategy);
    sub->add_option("--out", o->out, "output folder (default: Pictures/CharaForge)");
    addQueueOption(sub, o->queue);
    set_action(sub, chosen, [o] { return queueAddErase(*o); });
}

int queueList(const std::string& queuePathOption) {
    // The default queue before anything was queued has no jobs; a listing does not create it.
    const QString path = existingQueuePath(queuePathOption);
    const auto store = path.isEmpty() ? nullptr : std::make_unique<queue::JobStore>(path);
    const auto jobs = store ? store->jobs() : QList<queue::Job>();
    std::printf("%s%s\n", store && store->paused() ? "queue PAUSED · " : "",
                (store ? store->path() : queuePath(queuePathOption)).toUtf8().constData());
    std::printf("%6s  %-9s  %7s  %-9s  %11s  %s\n", "id", "state", "step", "size", "seed", "prompt / result");
    for (const auto& j : jobs) {
        const QString detail = j.state == queue::JobState::Done     ? j.outputPath
                               : j.state == queue::JobState::Failed ? j.message
                               : j.spec.kind == queue::JobKind::Erase
                                   ? QStringLiteral("erase ") + QFileInfo(j.spec.image).fileName()
                                   : queue::jobTitle(j.spec.prompt, 48);
        std::printf("%6lld  %-9s  %3d/%-3d  %4dx%-4d  %11lld  %s\n", static_cast<long long>(j.id),
                    queue::stateName(j.state).toUtf8().constData(), j.stepsDone, j.spec.steps, j.spec.width,
                    j.spec.height, static_cast<long long>(j.spec.seed), detail.toUtf8().constData());
    }
    return 0;
}

struct QueueIds {
    QList<qint64> ids;
    qint64 before = -1;
    bool toTop = false;
    std::string queue;
};

void addIdCommand(CLI::App* queueApp, Action& chosen, const std::string& name, const std::string& help) {
    auto o = std::make_shared<QueueIds>();
    auto* sub = queueApp->add_subcommand(name, help);
    addIds(sub, o->ids, "job ids");
    addQueueOption(sub, o->queue);
    set_action(sub, chosen, [o, name] {
        const auto store = openExistingQueue(o->queue);
        if (name == "cancel")
            store->cancel(o->ids);
        else if (name == "retry")
            store->retry(o->ids);
        else
            std::cout << "queued " << store->duplicate(o->ids).size() << " copies\n";
        return 0;
    });
}

void addMove(CLI::App* queueApp, Action& chosen) {
    auto o = std::make_shared<QueueIds>();
    auto* sub = queueApp->add_subcommand("move", "Move jobs in the queue (default: to the end)");
    addIds(sub, o->ids, "job ids, kept in this order");
    auto* before = sub->add_option_function<std::string>(
        "--before",
        [o](const std::string& s) { o->before = parse_int64(s, "--before", 1, std::numeric_limits<int64_t>::max()); },
        "put them before this job");
    sub->add_flag("--to-top", o->toTop, "put them first among the queued jobs")->excludes(before);
    addQueueOption(sub, o->queue);
    set_action(sub, chosen, [o] {
        const auto store = openExistingQueue(o->queue);
        qint64 before = o->before;
        if (o->toTop)
            for (const auto& j : store->jobs())
                if (j.state == queue::JobState::Queued && j.id != o->ids.front()) {
                    before = j.id;
                    break;
                }
        for (auto id : o->ids)
            store->move(id, before);
        return 0;
    });
}

void addQueueAdd(CLI::App* queueApp, Action& chosen) {
    auto o = std::make_shared<QueueAdd>();
    auto* sub = queueApp->add_subcommand("add", "Queue jobs for a prompt file");
    sub->add_option("FILE", o->file, "prompt file (\"-\" reads standard input)")->required();
    CLI::Option* seed = add_sampling_options(sub, o->sampling);
    seed->description("seed of the first job (default: drawn at random)");
    seed->default_str("");
    sub->add_option("--seed-mode", o->seedMode, "seeds of a series")
        ->check(CLI::IsMember({"increment", "fixed", "random"}))
        ->capture_default_str();
    sub->add_option("--model", o->model,
                    "model folder (default: CHARAFORGE_MODEL, the window's, or the built-in demo model, else the test "
                    "model; --width and --height default to a model's native size, 256 for the demo model)");
    sub->add_option("--out", o->out, "output folder (default: Pictures/CharaForge)");
    sub->add_option("--vary", o->vary,
                    "queue a variant group along an axis, KIND=V1|V2|... (repeatable; the jobs are the product): "
                    "style, style+ (extend), seed, seeds=N, cfg, steps, sampler, resolution (WxH), "
                    "character_N.FIELD, character_N.FIELD+; --count N adds N consecutive seeds")
        ->type_name("AXIS");
    sub->add_option("--label", o->label, "the group's label (default: its axes)");
    sub->add_flag("--dry-run", o->dryRun, "show the jobs (with --vary: each job's axis values) and queue nothing");
    addQueueOption(sub, o->queue);
    set_action(sub, chosen, [o, sub, seed] { return queueAdd(*o, *sub, seed->count() > 0); });
}

} // namespace

QString canonicalPrompt(const QByteArray& data, const std::string& source, const std::string& done) {
    auto parsed = prompt::parse_utf8(data);
    for (const auto& d : parsed.diagnostics)
        std::cerr << source << ":" << d.line << ":" << d.column << ": " << prompt::to_string(d.severity) << ": "
                  << d.message.toStdString() << "\n";
    if (parsed.has_errors())
        throw std::runtime_error(source + ": the prompt has errors; nothing was " + done);
    return prompt::serialise(parsed.document);
}

queue::JobSpec jobSpecFor(const SamplingOptions& s) {
    queue::JobSpec spec;
    spec.negative = QString::fromStdString(s.negative);
    spec.width = s.width;
    spec.height = s.height;
    spec.steps = s.steps;
    spec.sampler = QString::fromStdString(s.sampler);
    spec.cfg = s.cfg;
    spec.cfgTrunc = s.cfg_trunc;
    spec.renorm = s.renorm;
    spec.shift = s.shift;
    return spec;
}

void add_queue_commands(CLI::App& app, Action& chosen) {
    auto* q = app.add_subcommand("queue", "The studio's job queue (shared with the charaforge window)");
    q->require_subcommand(1);
    addQueueAdd(q, chosen);
    addQueueAddErase(q, chosen);

    auto list = std::make_shared<std::string>();
    auto* sub = q->add_subcommand("list", "List the jobs");
    addQueueOption(sub, *list);
    set_action(sub, chosen, [list] { return queueList(*list); });

    for (const char* name : {"pause", "resume"}) {
        auto path = std::make_shared<std::string>();
        const bool pause = std::string(name) == "pause";
        sub = q->add_subcommand(name, pause ? "Pause the queue (running jobs finish)" : "Resume the queue");
        addQueueOption(sub, *path);
        set_action(sub, chosen, [path, pause] {
            openExistingQueue(*path)->setPaused(pause);
            std::cout << "queue " << (pause ? "paused" : "resumed") << "\n";
            return 0;
        });
    }
    addIdCommand(q, chosen, "cancel", "Cancel jobs");
    addIdCommand(q, chosen, "retry", "Queue failed or cancelled jobs again");
    addIdCommand(q, chosen, "duplicate", "Queue copies of jobs");
    addMove(q, chosen);
}

namespace {

// Set by SIGINT/SIGTERM (an atomic store: async-signal-safe); the main thread stops the workers.
std::atomic<bool> g_stop{false};
extern "C" void onStopSignal(int) {
    g_stop = true;
}

struct Worker {
    std::string queue;
    engine::RuntimeOptions runtime;
    std::string devices; // --devices: one worker per device
    int checkpointEvery = 4;
    int eraseBatch = 8;
    bool untilEmpty = false;
};

// What one worker says on standard error; with several workers each line names its device, and the live step
// line (one line rewritten in place) is left out: their steps would overwrite each other.
queue::RunnerEvents workerEvents(const QString& device, bool several) {
    static std::mutex output;
    const std::string tag = several ? "[" + device.toStdString() + "] " : std::string();
    auto note = [tag](const std::string& line) {
        const std::lock_guard<std::mutex> lock(output);
        progress::note(tag + line);
    };
    queue::RunnerEvents events;
    events.started = [note](const QList<qint64>& ids) {
        std::string line = "running job(s)";
        for (auto id : ids)
            line += " " + std::to_string(id);
        note(line);
    };
    if (!several)
        events.progress = [](const QList<qint64>& ids, int step, int total, double secondsPerStep) {
            const std::lock_guard<std::mutex> lock(output);
            progress::show("  job " + std::to_string(ids.front()) + (ids.size() > 1 ? "+" : "") + ": step " +
                           std::to_string(step) + "/" + std::to_string(total) + ", ETA " +
                           std::to_string(static_cast<int>((total - step) * secondsPerStep + 0.5)) + " s");
            if (step == total)
                progress::end();
        };
    events.finished = [note](qint64 id, const QString& path, const engine::Image&) {
        note("  job " + std::to_string(id) + " done: " + path.toStdString());
    };
    events.failed = [note](qint64 id, const QString& message) {
        note("  job " + std::to_string(id) + " failed: " + message.toStdString());
    };
    events.notice = [note](const QString& message) { note("  " + message.toStdString()); };
    events.modelOpened = [note](const QString& model) {
        const std::string path = model.toStdString();
        note("  model: " + path + app::modelRemark(path));
    };
    return events;
}

int runWorker(const Worker& o) {
    const engine::RuntimeOptions& rt = o.runtime;
    // Every device is checked before the queue is opened or a model loads: a list naming a device this machine
    // lacks (or a --dtype the engine does not know) is a wrong command line, and such a worker would take no job
    // and wait for ever. The executor's messages name the setting and its value ("device 'cuda:3': ...").
    QStringList devices{QString::fromStdString(rt.device)};
    if (!o.devices.empty()) {
        try {
            devices = queue::parseDeviceList(QString::fromStdString(o.devices), engine::cuda_device_count());
        } catch (const std::invalid_argument& e) {
            throw std::invalid_argument(std::string("--devices: ") + e.what());
        }
    }
    // One model copy, batch limit and memory estimate per device; prompts encoded once for all of them.
    const auto embeddings = devices.size() > 1 ? std::make_shared<queue::EmbeddingCache>() : nullptr;
    std::vector<std::unique_ptr<queue::Executor>> executors;
    for (const auto& device : devices) {
        engine::RuntimeOptions each = rt;
        each.device = device.toStdString();
        auto executor = std::make_unique<queue::PipelineExecutor>(each, o.eraseBatch, embeddings);
        try {
            executor->checkReady();
        } catch (const std::exception& e) {
            throw std::invalid_argument(std::string("--") + e.what());
        }
        executors.push_back(std::move(executor));
    }
    const auto opened = openOrCreateQueue(o.queue);
    queue::WorkerPool::Options options;
    options.runner.maxBatch = rt.max_batch;
    options.runner.eraseBatch = o.eraseBatch;
    options.runner.checkpointEvery = o.checkpointEvery;
    options.runner.previewEvery = 0;
    options.runner.appVersion = QStringLiteral(CHARAFORGE_VERSION);
    options.untilEmpty = o.untilEmpty;
    const bool several = devices.size() > 1;
    queue::WorkerPool pool(
        opened->path(), devices, [&executors](int i, const QString&) { return std::move(executors[i]); },
        [several](int, const QString& device) { return workerEvents(device, several); }, options);
    g_stop = false;
    std::signal(SIGINT, onStopSignal);
    std::signal(SIGTERM, onStopSignal);
    const std::string models = " (each job names its model folder: queue add --model, else CHARAFORGE_MODEL, the "
                               "window's or the built-in model)";
    if (several)
        for (int i = 0; i < devices.size(); ++i)
            progress::note("worker " + pool.owners()[i].toStdString() + " on " + devices[i].toStdString() + ", " +
                           opened->path().toStdString() + (i + 1 == devices.size() ? models : std::string()));
    else
        progress::note("worker " + pool.owners().front().toStdString() + " on " + opened->path().toStdString() +
                       models);
    pool.start();
    bool stopped = false;
    while (!pool.finished()) {
        if (g_stop && !stopped) {
            pool.requestStop();
            stopped = true;
        }
        QThread::msleep(100);
    }
    const QStringList errors = pool.wait();
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    for (const auto& e : errors)
        progress::note("worker on " + e.toStdString());
    if (!errors.isEmpty())
        return 1;
    progress::note(stopped ? "worker stopped; unfinished jobs stay queued" : "queue empty");
    return 0;
}

} // namespace

void add_worker_command(CLI::App& app, Action& chosen) {
    auto o = std::make_shared<Worker>();
    auto* sub = app.add_subcommand("worker", "Run the queue's jobs without a window");
    addQueueOption(sub, o->queue);
    sub->add_flag("--until-empty", o->untilEmpty, "exit when no job is left (or the queue is paused)");
    add_int(sub, "--batch", o->runtime.max_batch, 1, 64, "jobs sampled together at most");
    add_int(sub, "--erase-batch", o->eraseBatch, 1, 64, "erase jobs: tiles per LaMa forward at most");
    add_int(sub, "--checkpoint-every", o->checkpointEvery, 0, kMaxSteps,
            "save the sampler state every K steps (0: never)");
    add_device_options(sub, o->runtime.device, o->runtime.dtype);
    sub->add_option("--devices", o->devices,
                    "one worker per device, each with its own model copy: all (every CUDA device) or "
                    "cuda:0,cuda:1,...")
        ->excludes(sub->get_option("--device"));
    sub->add_flag("--offload-text-encoders", o->runtime.offload_text_encoders,
                  "keep the text encoders off the GPU between prompts");
    add_memory_options(sub, o->runtime);
    set_action(sub, chosen, [o] { return runWorker(*o); });
}

} // namespace charaforge::cli
