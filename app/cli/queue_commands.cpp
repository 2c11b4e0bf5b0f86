// charaforge-cli queue add|list|pause|resume|cancel|retry and charaforge-cli worker.
#include "queue_commands.h"

#include "charaforge/prompt/prompt.h"
#include "queue/job_record.h"
#include "queue/job_store.h"
#include "queue/model_setup.h"
#include "queue/pipeline_executor.h"
#include "queue/queue_runner.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QRandomGenerator>
#include <QThread>

#include <csignal>
#include <cstdio>
#include <iostream>

namespace charaforge::cli {

namespace {

const char* kQueueUsage =
    "usage:\n"
    "  charaforge-cli queue add FILE.xml [--count N] [--seed S] [--seed-mode increment|fixed|random]\n"
    "        [--width W] [--height H] [--steps N] [--sampler euler|midpoint] [--cfg S] [--cfg-trunc T]\n"
    "        [--renorm R] [--shift S] [--negative TEXT] [--model DIR] [--out DIR] [--queue DB]\n"
    "  charaforge-cli queue list [--queue DB]\n"
    "  charaforge-cli queue pause|resume [--queue DB]\n"
    "  charaforge-cli queue cancel|retry|duplicate ID... [--queue DB]\n"
    "  charaforge-cli queue move ID [--before ID | --to-top] [--queue DB]   (default: to the end)\n"
    "  FILE \"-\" reads standard input. DB defaults to CHARAFORGE_QUEUE or the app's data folder (shared with\n"
    "  the charaforge window).\n";

QString queuePath(const Options& o) {
    return o.has("queue") ? QString::fromStdString(o.get("queue")) : queue::JobStore::defaultPath();
}

QString readPrompt(const std::string& path) {
    QFile f;
    if (path == "-" ? !f.open(stdin, QIODevice::ReadOnly)
                    : (f.setFileName(QString::fromStdString(path)), !f.open(QIODevice::ReadOnly)))
        throw std::runtime_error(path + ": cannot read: " + f.errorString().toStdString());
    const QByteArray data = f.read((1 << 20) + 1);
    auto parsed = prompt::parse_utf8(data);
    for (const auto& d : parsed.diagnostics)
        std::cerr << path << ":" << d.line << ":" << d.column << ": " << prompt::to_string(d.severity) << ": "
                  << d.message.toStdString() << "\n";
    if (parsed.has_errors())
        throw std::runtime_error(path + ": the prompt has errors; nothing was queued");
    return prompt::serialise(parsed.document);
}

QList<qint64> parseIds(const std::vector<std::string>& words) {
    QList<qint64> ids;
    for (const auto& w : words) {
        bool ok = false;
        const qint64 id = QString::fromStdString(w).toLongLong(&ok);
        if (!ok || id <= 0)
            throw std::invalid_argument("'" + w + "' is not a job id");
        ids.push_back(id);
    }
    if (ids.isEmpty())
        throw std::invalid_argument("give at least one job id");
    return ids;
}

int queueAdd(const Args& args) {
    Options o(args, {"count", "seed", "seed-mode", "width", "height", "steps", "sampler", "cfg", "cfg-trunc", "renorm",
                     "shift", "negative", "model", "out", "queue"});
    if (o.positional().size() != 1)
        throw std::invalid_argument("queue add needs one prompt FILE\n" + std::string(kQueueUsage));
    queue::JobSpec base;
    base.prompt = readPrompt(o.positional()[0]);
    base.negative = QString::fromStdString(o.get("negative"));
    base.width = static_cast<int>(o.get_int("width", 1024));
    base.height = static_cast<int>(o.get_int("height", 1024));
    base.steps = static_cast<int>(o.get_int("steps", 28));
    base.sampler = QString::fromStdString(o.get("sampler", "euler"));
    base.cfg = o.get_double("cfg", 5.0);
    base.cfgTrunc = o.get_double("cfg-trunc", 1.0);
    base.renorm = o.get_double("renorm", 0.0);
    base.shift = o.get_double("shift", 6.0);
    if (base.width < 16 || base.height < 16 || base.width % 16 || base.height % 16 || base.width > 8192 ||
        base.height > 8192)
        throw std::invalid_argument("--width and --height must be multiples of 16 between 16 and 8192");
    if (base.steps < 1 || base.steps > 1000)
        throw std::invalid_argument("--steps must be between 1 and 1000");
    if (base.sampler != QStringLiteral("euler") && base.sampler != QStringLiteral("midpoint"))
        throw std::invalid_argument("--sampler must be euler or midpoint");
    base.model =
        o.has("model") ? QDir(QString::fromStdString(o.get("model"))).absolutePath() : app::chooseModel({}).path;
    base.outputDir = QDir(o.has("out") ? QString::fromStdString(o.get("out")) : app::defaultOutputDir()).absolutePath();
    const int count = static_cast<int>(o.get_int("count", 1));
    if (count < 1 || count > 10000)
        throw std::invalid_argument("--count must be between 1 and 10000");
    const std::string mode = o.get("seed-mode", "increment");
    if (mode != "increment" && mode != "fixed" && mode != "random")
        throw std::invalid_argument("--seed-mode must be increment, fixed or random");
    const qint64 seed =
        o.has("seed") ? o.get_int("seed", 0) : static_cast<qint64>(QRandomGenerator::global()->bounded(2147483647));
    QList<queue::JobSpec> specs;
    for (int i = 0; i < count; ++i) {
        auto s = base;
        s.seed = mode == "fixed"    ? seed
                 : mode == "random" ? static_cast<qint64>(QRandomGenerator::global()->bounded(2147483647))
                                    : seed + i;
        specs.push_back(s);
    }
    queue::JobStore store(queuePath(o));
    const auto ids = store.add(specs, QStringLiteral("cli-%1").arg(QDateTime::currentMSecsSinceEpoch()));
    std::cout << "queued " << ids.size() << " job(s): " << ids.front() << (ids.size() > 1 ? "-" : "")
              << (ids.size() > 1 ? std::to_string(ids.back()) : "") << " in " << store.path().toStdString() << "\n";
    return 0;
}

QString titleOf(const QString& prompt) {
    QString t = prompt.simplified();
    return t.size() > 48 ? t.left(47) + QChar(0x2026) : t;
}

int queueList(const Args& args) {
    Options o(args, {"queue"});
    queue::JobStore store(queuePath(o));
    const auto jobs = store.jobs();
    std::printf("%s%s\n", store.paused() ? "queue PAUSED · " : "", store.path().toUtf8().constData());
    std::printf("%6s  %-9s  %7s  %-9s  %11s  %s\n", "id", "state", "step", "size", "seed", "prompt / result");
    for (const auto& j : jobs) {
        const QString detail = j.state == queue::JobState::Done     ? j.outputPath
                               : j.state == queue::JobState::Failed ? j.message
                                                                    : titleOf(j.spec.prompt);
        std::printf("%6lld  %-9s  %3d/%-3d  %4dx%-4d  %11lld  %s\n", static_cast<long long>(j.id),
                    queue::stateName(j.state).toUtf8().constData(), j.stepsDone, j.spec.steps, j.spec.width,
                    j.spec.height, static_cast<long long>(j.spec.seed), detail.toUtf8().constData());
    }
    return 0;
}

} // namespace

int run_queue_command(const Args& args) {
    if (args.empty() || args[0] == "--help") {
        (args.empty() ? std::cerr : std::cout) << kQueueUsage;
        return args.empty() ? 2 : 0;
    }
    const Args rest(args.begin() + 1, args.end());
    if (args[0] == "add")
        return queueAdd(rest);
    if (args[0] == "list")
        return queueList(rest);
    if (args[0] == "move") {
        Options m(rest, {"queue", "before"}, {"to-top"});
        queue::JobStore store(queuePath(m));
        const auto ids = parseIds(m.positional());
        qint64 before = -1;
        if (m.has("before"))
            before = parseIds({m.get("before")}).front();
        else if (m.has("to-top"))
            for (const auto& j : store.jobs())
                if (j.state == queue::JobState::Queued && j.id != ids.front()) {
                    before = j.id;
                    break;
                }
        for (auto id : ids)
            store.move(id, before);
        return 0;
    }
    Options o(rest, {"queue"});
    if (args[0] == "pause" || args[0] == "resume") {
        queue::JobStore store(queuePath(o));
        store.setPaused(args[0] == "pause");
        std::cout << "queue " << (args[0] == "pause" ? "paused" : "resumed") << "\n";
        return 0;
    }
    if (args[0] == "cancel" || args[0] == "retry" || args[0] == "duplicate") {
        queue::JobStore store(queuePath(o));
        const auto ids = parseIds(o.positional());
        if (args[0] == "cancel")
            store.cancel(ids);
        else if (args[0] == "retry")
            store.retry(ids);
        else
            std::cout << "queued " << store.duplicate(ids).size() << " copies\n";
        return 0;
    }
    throw std::invalid_argument("unknown queue command '" + args[0] + "'\n" + kQueueUsage);
}

namespace {
queue::QueueRunner* g_runner = nullptr;
extern "C" void onStopSignal(int) {
    if (g_runner)
        g_runner->requestStop(); // an atomic store: async-signal-safe
}
} // namespace

int cmd_worker(const Args& args) {
    Options o(args, {"queue", "device", "dtype", "batch", "checkpoint-every"},
              {"until-empty", "offload-text-encoders"});
    engine::RuntimeOptions rt;
    rt.device = o.get("device", "auto");
    rt.dtype = o.get("dtype", "auto");
    rt.max_batch = static_cast<int>(o.get_int("batch", 4));
    rt.offload_text_encoders = o.has("offload-text-encoders");
    if (rt.max_batch < 1)
        throw std::invalid_argument("--batch must be at least 1");
    queue::JobStore store(queuePath(o));
    queue::PipelineExecutor executor(rt);
    queue::RunnerOptions options;
    options.maxBatch = rt.max_batch;
    options.checkpointEvery = static_cast<int>(o.get_int("checkpoint-every", 4));
    options.previewEvery = 0;
    options.appVersion = QStringLiteral(CHARAFORGE_VERSION);
    queue::RunnerEvents events;
    events.started = [](const QList<qint64>& ids) {
        std::cerr << "running job(s)";
        for (auto id : ids)
            std::cerr << " " << id;
        std::cerr << "\n";
    };
    events.progress = [](const QList<qint64>& ids, int step, int total, double secondsPerStep) {
        std::cerr << "\r  job " << ids.front() << (ids.size() > 1 ? "+" : "") << ": step " << step << "/" << total
                  << ", ETA " << static_cast<int>((total - step) * secondsPerStep + 0.5) << " s   " << std::flush;
        if (step == total)
            std::cerr << "\n";
    };
    events.finished = [](qint64 id, const QString& path, const engine::Image&) {
        std::cerr << "  job " << id << " done: " << path.toStdString() << "\n";
    };
    events.failed = [](qint64 id, const QString& message) {
        std::cerr << "  job " << id << " failed: " << message.toStdString() << "\n";
    };
    events.notice = [](const QString& message) { std::cerr << "  " << message.toStdString() << "\n"; };
    queue::QueueRunner runner(store, executor, options, events);
    g_runner = &runner;
    std::signal(SIGINT, onStopSignal);
    std::signal(SIGTERM, onStopSignal);
    std::cerr << "worker " << queue::JobStore::processOwner().toStdString() << " on " << store.path().toStdString()
              << "\n";
    while (!runner.stopRequested()) {
        if (runner.runOnce())
            continue;
        if (o.has("until-empty")) {
            bool pending = false;
            for (const auto& j : store.jobs())
                pending = pending || j.state == queue::JobState::Queued || j.state == queue::JobState::Running;
            if (!pending || store.paused())
                break;
        }
        QThread::msleep(500);
    }
    g_runner = nullptr;
    std::cerr << (runner.stopRequested() ? "worker stopped; unfinished jobs stay queued\n" : "queue empty\n");
    return 0;
}

} // namespace charaforge::cli
