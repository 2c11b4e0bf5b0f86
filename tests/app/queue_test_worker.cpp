// A real worker process for the queue's multi-process tests: the real JobStore and QueueRunner on the fake
// executor (no model, milliseconds per job), so that tests can race processes, kill them at random moments
// and crash them on purpose.
//   queue_test_worker --queue DB [--batch N] [--step-ms MS] [--checkpoint-every N] [--crash-on TEXT] [--devices N]
// Runs until the queue has no queued or running job. Prints "claimed ID... on DEVICE" for every batch it starts and
// "saved ID STEP" for every checkpoint it saves. --crash-on kills the process (SIGKILL, as a segfault in a
// model would) when a batch holds a job whose prompt contains TEXT.
#include "fake_executor.h"
#include "queue/job_store.h"
#include "queue/queue_runner.h"
#include "queue/worker_pool.h"

#include <QCoreApplication>
#include <QStringList>
#include <QThread>

#include <csignal>
#include <cstdio>

using namespace charaforge;

namespace {

class Worker : public test::FakeExecutor {
public:
    QString crashOn;
    std::vector<engine::Image> generate(const std::vector<engine::GenerationRequest>& requests,
                                        const engine::Callbacks& cb) override {
        for (const auto& r : requests)
            if (!crashOn.isEmpty() && QString::fromStdString(r.prompt).contains(crashOn))
                std::raise(SIGKILL);
        auto reporting = cb;
        reporting.on_checkpoint = [&](std::size_t i, const engine::SamplerState& st) {
            cb.on_checkpoint(i, st);
            std::printf("saved %zu %d\n", i, st.step);
            std::fflush(stdout);
        };
        return FakeExecutor::generate(requests, reporting);
    }
};

} // namespace

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    const QStringList args = QCoreApplication::arguments();
    auto value = [&](const char* name, const QString& fallback = {}) {
        const int at = args.indexOf(QLatin1String(name));
        return at >= 0 && at + 1 < args.size() ? args.at(at + 1) : fallback;
    };
    const QString db = value("--queue");
    if (db.isEmpty()) {
        std::fprintf(stderr, "usage: queue_test_worker --queue DB [--batch N] [--step-ms MS] "
                             "[--checkpoint-every N] [--crash-on TEXT] [--devices N]\n");
        return 2;
    }
    try {
        // --devices N: N workers in this process on fake devices cuda:0 ... cuda:N-1 (charaforge-cli worker
        // --devices), each with its own executor, as one per GPU.
        const int devices = value("--devices", QStringLiteral("1")).toInt();
        QStringList names;
        for (int i = 0; i < devices; ++i)
            names.push_back(QStringLiteral("cuda:%1").arg(i));
        queue::WorkerPool::Options options;
        options.runner.maxBatch = value("--batch", QStringLiteral("2")).toInt();
        options.runner.checkpointEvery = value("--checkpoint-every", QStringLiteral("1")).toInt();
        options.runner.previewEvery = 0;
        options.runner.heartbeatMs = 200;
        options.runner.appVersion = QStringLiteral("test");
        options.untilEmpty = true;
        options.idleMs = 20;
        const int stepMs = value("--step-ms", QStringLiteral("0")).toInt();
        const QString crashOn = value("--crash-on");
        queue::WorkerPool pool(
            db, names,
            [&](int, const QString&) {
                auto exec = std::make_unique<Worker>();
                exec->stepDelayMs = stepMs;
                exec->crashOn = crashOn;
                return std::unique_ptr<queue::Executor>(std::move(exec));
            },
            [](int, const QString& device) {
                queue::RunnerEvents ev;
                ev.started = [device](const QList<qint64>& ids) {
                    QString line = QStringLiteral("claimed");
                    for (auto id : ids)
                        line += QStringLiteral(" %1").arg(id);
                    line += QStringLiteral(" on %1\n").arg(device);
                    std::fputs(line.toUtf8().constData(), stdout); // one call: lines of two workers never mix
                    std::fflush(stdout);
                };
                ev.notice = [](const QString& m) { std::fprintf(stderr, "%s\n", m.toUtf8().constData()); };
                return ev;
            },
            options);
        pool.start();
        const QStringList errors = pool.wait();
        for (const auto& e : errors)
            std::fprintf(stderr, "queue_test_worker: %s\n", e.toUtf8().constData());
        if (!errors.isEmpty())
            return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "queue_test_worker: %s\n", e.what());
        return 1;
    }
    return 0;
}
