// A real worker process for the queue's multi-process tests: the real JobStore and QueueRunner on the fake
// executor (no model, milliseconds per job), so that tests can race processes, kill them at random moments
// and crash them on purpose.
//   queue_test_worker --queue DB [--batch N] [--step-ms MS] [--checkpoint-every N] [--crash-on TEXT]
// Runs until the queue has no queued or running job. Prints "claimed ID..." for every batch it starts and
// "saved ID STEP" for every checkpoint it saves. --crash-on kills the process (SIGKILL, as a segfault in a
// model would) when a batch holds a job whose prompt contains TEXT.
#include "fake_executor.h"
#include "queue/job_store.h"
#include "queue/queue_runner.h"

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
                             "[--checkpoint-every N] [--crash-on TEXT]\n");
        return 2;
    }
    try {
        queue::JobStore store(db);
        Worker exec;
        exec.stepDelayMs = value("--step-ms", QStringLiteral("0")).toInt();
        exec.crashOn = value("--crash-on");
        queue::RunnerOptions options;
        options.maxBatch = value("--batch", QStringLiteral("2")).toInt();
        options.checkpointEvery = value("--checkpoint-every", QStringLiteral("1")).toInt();
        options.previewEvery = 0;
        options.heartbeatMs = 200;
        options.appVersion = QStringLiteral("test");
        queue::RunnerEvents ev;
        ev.started = [](const QList<qint64>& ids) {
            std::printf("claimed");
            for (auto id : ids)
                std::printf(" %lld", static_cast<long long>(id));
            std::printf("\n");
            std::fflush(stdout);
        };
        ev.notice = [](const QString& m) { std::fprintf(stderr, "%s\n", m.toUtf8().constData()); };
        queue::QueueRunner runner(store, exec, options, ev);
        for (;;) {
            if (runner.runOnce())
                continue;
            bool pending = false;
            for (const auto& j : store.jobs())
                pending = pending || j.state == queue::JobState::Queued || j.state == queue::JobState::Running;
            if (!pending)
                break;
            QThread::msleep(20);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "queue_test_worker: %s\n", e.what());
        return 1;
    }
    return 0;
}
