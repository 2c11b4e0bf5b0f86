// Several workers in one process, one per (fake) GPU, on one queue: the device list, every job done exactly once,
// no worker idle while a job it could take waits, a worker that cannot run leaving the queue to the others, seeds
// giving the same image on every device, and prompts encoded once for all the workers.
#include "charaforge/imaging/png_io.h"
#include "fake_executor.h"
#include "queue/device_list.h"
#include "queue/embedding_cache.h"
#include "queue/job_record.h"
#include "queue/job_store.h"
#include "queue/pipeline_executor.h"
#include "queue/worker_pool.h"
#include "test_util.h"

#include <QFile>
#include <QMap>
#include <QSet>
#include <QThread>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <mutex>

using namespace charaforge;
using namespace charaforge::queue;

namespace {

std::string errorOf(const std::function<void()>& call) {
    try {
        call();
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "(no error)";
}

} // namespace

TEST(DeviceList, AllIsEveryCudaDeviceAndAListKeepsItsOrder) {
    EXPECT_EQ(parseDeviceList(QStringLiteral("all"), 3),
              (QStringList{QStringLiteral("cuda:0"), QStringLiteral("cuda:1"), QStringLiteral("cuda:2")}));
    EXPECT_EQ(parseDeviceList(QStringLiteral("cuda:2, cuda:0"), 3),
              (QStringList{QStringLiteral("cuda:2"), QStringLiteral("cuda:0")}));
}

TEST(DeviceList, EveryWrongEntryIsNamed) {
    auto parse = [](const char* spec, int devices) {
        return errorOf([&] { parseDeviceList(QString::fromLatin1(spec), devices); });
    };
    EXPECT_EQ(parse("all", 0), "all: no CUDA device is available (run one worker on the CPU with --device cpu)");
    EXPECT_EQ(parse("cuda:0", 0), "cuda:0: no CUDA device is available (run one worker on the CPU with --device cpu)");
    EXPECT_EQ(parse("cuda:0,cuda:4", 2), "cuda:4: this machine has 2 CUDA device(s), cuda:0 to cuda:1");
    EXPECT_EQ(parse("cuda:1,cuda:01", 2), "cuda:1 is listed twice");
    EXPECT_EQ(parse("cuda:0,cuda:0", 0), "cuda:0 is listed twice") << "the spelling first, then the machine";
    EXPECT_EQ(parse("cuda:7,cuda:x", 0), "'cuda:x' (entry 2) is not a CUDA device: use cuda:N, N from 0");
    EXPECT_EQ(parse("cuda:0,,cuda:1", 2), "entry 2 is empty (use all or cuda:0,cuda:1,...)");
    EXPECT_EQ(parse("cuda:0,gpu1", 2), "'gpu1' (entry 2) is not a CUDA device: use cuda:N, N from 0");
    EXPECT_EQ(parse("cuda:-1", 2), "'cuda:-1' (entry 1) is not a CUDA device: use cuda:N, N from 0");
    EXPECT_EQ(parse("cpu", 2), "'cpu' (entry 1) is not a CUDA device: use cuda:N, N from 0");
    EXPECT_EQ(parse(" ", 2), "no device given (use all or cuda:0,cuda:1,...)");
}

TEST(DeviceList, TheStudioRunsAWorkerPerChosenGpuOrOneOnTheCpu) {
    QString problem;
    EXPECT_EQ(studioDevices(QStringLiteral("all"), 0, &problem), QStringList()) << "no GPU: one worker on the CPU";
    EXPECT_EQ(studioDevices(QString(), 2, &problem), (QStringList{QStringLiteral("cuda:0"), QStringLiteral("cuda:1")}));
    EXPECT_EQ(studioDevices(QStringLiteral("cuda:1"), 2, &problem), QStringList{QStringLiteral("cuda:1")});
    EXPECT_TRUE(problem.isEmpty());
    EXPECT_EQ(studioDevices(QStringLiteral("cuda:3"), 2, &problem),
              (QStringList{QStringLiteral("cuda:0"), QStringLiteral("cuda:1")}));
    EXPECT_EQ(problem, QStringLiteral("GPUs to use \"cuda:3\": cuda:3: this machine has 2 CUDA device(s), cuda:0 to "
                                      "cuda:1; using every GPU"));
}

namespace {

EmbeddingCache::Entry entryOf(float value) {
    EmbeddingCache::Entry e;
    e.cond.features = {value};
    e.cond.length = e.cond.dim = 1;
    return e;
}

} // namespace

TEST(EmbeddingCache, ASecondWorkerWaitsForTheFirstOnesEncodingInsteadOfEncodingAgain) {
    EmbeddingCache cache;
    std::atomic<int> calls{0};
    auto first = std::async(std::launch::async, [&] {
        return cache.get(QStringLiteral("1girl"), [&] {
            ++calls;
            QThread::msleep(300);
            return entryOf(1.0f);
        });
    });
    QThread::msleep(50);
    const auto second = cache.get(QStringLiteral("1girl"), [&] {
        ++calls;
        return entryOf(2.0f);
    });
    EXPECT_EQ(first.get().cond.features, std::vector<float>{1.0f});
    EXPECT_EQ(second.cond.features, std::vector<float>{1.0f}) << "the second caller got the first one's result";
    EXPECT_EQ(calls.load(), 1);
    EXPECT_EQ(cache.computed(), 1);
    EXPECT_EQ(cache.hits(), 1);
}

TEST(EmbeddingCache, AFailedEncodingIsTheFailingCallersAndAWaiterEncodesItself) {
    EmbeddingCache cache;
    auto first = std::async(std::launch::async, [&] {
        return cache.get(QStringLiteral("p"), [&]() -> EmbeddingCache::Entry {
            QThread::msleep(200);
            throw std::runtime_error("out of memory");
        });
    });
    QThread::msleep(50);
    const auto second = cache.get(QStringLiteral("p"), [] { return entryOf(3.0f); });
    EXPECT_THROW(first.get(), std::runtime_error);
    EXPECT_EQ(second.cond.features, std::vector<float>{3.0f});
    EXPECT_EQ(cache.computed(), 1);
}

TEST(EmbeddingCache, TheOldestEntriesGoFirst) {
    EmbeddingCache cache(2);
    for (const char* key : {"a", "b", "c"})
        cache.get(QString::fromLatin1(key), [] { return entryOf(0.0f); });
    cache.get(QStringLiteral("c"), [] { return entryOf(0.0f); });
    EXPECT_EQ(cache.computed(), 3);
    cache.get(QStringLiteral("a"), [] { return entryOf(0.0f); });
    EXPECT_EQ(cache.computed(), 4) << "a was evicted";
    EXPECT_EQ(cache.hits(), 1);
}

namespace {

// A fake executor that knows its device and counts the batches running at once in the process.
class DeviceExecutor : public test::FakeExecutor {
public:
    DeviceExecutor(QString device, std::atomic<int>& running, std::atomic<int>& maxRunning)
        : device(std::move(device)), m_running(running), m_maxRunning(maxRunning) {}
    QString device;
    std::vector<engine::Image> generate(const std::vector<engine::GenerationRequest>& requests,
                                        const engine::Callbacks& cb) override {
        const int now = ++m_running;
        for (int seen = m_maxRunning.load(); now > seen && !m_maxRunning.compare_exchange_weak(seen, now);) {
        }
        struct Done {
            std::atomic<int>& n;
            ~Done() { --n; }
        } done{m_running};
        return FakeExecutor::generate(requests, cb);
    }

private:
    std::atomic<int>& m_running;
    std::atomic<int>& m_maxRunning;
};

class WorkerPoolTest : public ::testing::Test {
protected:
    test::TempDir dir;
    QString dbPath() const { return QString::fromStdString(dir.path().string() + "/queue.sqlite"); }
    QString outDir() const { return QString::fromStdString(dir.path().string() + "/out"); }
    std::atomic<int> running{0}, maxRunning{0};
    std::mutex mutex;
    QMap<qint64, QStringList> ranOn; // job -> the devices that started it
    QStringList made;                // devices executors were made for
    QStringList notices;
    std::function<void(DeviceExecutor&)> configure;

    JobSpec spec(qint64 seed, int steps = 6) const {
        JobSpec s;
        s.prompt = QStringLiteral("<general_tags>1girl</general_tags>");
        s.width = s.height = 64;
        s.steps = steps;
        s.seed = seed;
        s.model = QStringLiteral("/models/test");
        s.outputDir = outDir();
        return s;
    }

    std::unique_ptr<WorkerPool> pool(const QStringList& devices, int maxBatch, int stepMs,
                                     std::function<void(int)> idle = {}) {
        WorkerPool::Options o;
        o.runner.maxBatch = maxBatch;
        o.runner.checkpointEvery = 2;
        o.runner.previewEvery = 0;
        o.runner.appVersion = QStringLiteral("test");
        o.untilEmpty = true;
        o.idleMs = 20;
        o.idle = std::move(idle);
        return std::make_unique<WorkerPool>(
            dbPath(), devices,
            [this, stepMs](int, const QString& device) {
                auto e = std::make_unique<DeviceExecutor>(device, running, maxRunning);
                e->stepDelayMs = stepMs;
                if (configure)
                    configure(*e);
                std::lock_guard<std::mutex> lock(mutex);
                made.push_back(device);
                return std::unique_ptr<Executor>(std::move(e));
            },
            [this](int, const QString& device) {
                RunnerEvents ev;
                ev.started = [this, device](const QList<qint64>& ids) {
                    std::lock_guard<std::mutex> lock(mutex);
                    for (auto id : ids)
                        ranOn[id].push_back(device);
                };
                ev.notice = [this, device](const QString& m) {
                    std::lock_guard<std::mutex> lock(mutex);
                    notices.push_back(device + QStringLiteral(": ") + m);
                };
                return ev;
            },
            o);
    }

    void expectDone(JobStore& store, qint64 id) {
        const auto j = store.job(id);
        ASSERT_TRUE(j.has_value());
        ASSERT_EQ(j->state, JobState::Done) << "job " << id << ": " << j->message.toStdString();
        EXPECT_EQ(j->attempts, 1) << "job " << id;
        const auto img = imaging::read_png(j->outputPath.toStdString());
        EXPECT_EQ(img.rgb, test::FakeExecutor::expected(j->spec.seed, j->spec.steps).rgb) << "job " << id;
    }
};

} // namespace

TEST_F(WorkerPoolTest, TwoWorkersOnOneQueueRunEveryJobOnceAndNeverIdleWhileAJobWaits) {
    JobStore store(dbPath());
    QList<JobSpec> specs;
    for (int i = 0; i < 24; ++i)
        specs.push_back(spec(100 + i, 4 + i % 2)); // two batch keys
    const auto ids = store.add(specs);
    std::atomic<int> idleWithWork{0};
    // A worker that found nothing to claim: no job may be waiting then (nothing is released in this run).
    auto p = pool({QStringLiteral("cuda:0"), QStringLiteral("cuda:1")}, 2, 10, [&](int) {
        JobStore look(dbPath());
        for (const auto& j : look.jobs())
            idleWithWork += j.state == JobState::Queued;
    });
    p->start();
    EXPECT_TRUE(p->wait().isEmpty());
    EXPECT_EQ(idleWithWork.load(), 0) << "a worker idled while a job waited";
    EXPECT_EQ(maxRunning.load(), 2) << "both devices sampled at the same time";
    QSet<QString> devices;
    for (auto id : ids) {
        ASSERT_EQ(ranOn.value(id).size(), 1) << "job " << id << " started " << ranOn.value(id).size() << " times";
        devices.insert(ranOn.value(id).front());
        expectDone(store, id);
    }
    EXPECT_EQ(devices, (QSet<QString>{QStringLiteral("cuda:0"), QStringLiteral("cuda:1")}));
    EXPECT_EQ(made.size(), 2);
    EXPECT_EQ(QSet<QString>(made.begin(), made.end()), devices) << "one executor per device";
    EXPECT_NE(p->owners()[0], p->owners()[1]) << "each worker owns its jobs under its own id";
}

TEST_F(WorkerPoolTest, AWorkerThatCannotRunLeavesTheQueueToTheOthers) {
    JobStore store(dbPath());
    const auto ids = store.add({spec(1), spec(2), spec(3)});
    configure = [](DeviceExecutor& e) {
        if (e.device == QStringLiteral("cuda:1"))
            e.notReady = "device 'cuda:1': out of order";
    };
    auto p = pool({QStringLiteral("cuda:0"), QStringLiteral("cuda:1")}, 1, 0);
    p->start();
    EXPECT_TRUE(p->wait().isEmpty());
    for (auto id : ids) {
        EXPECT_EQ(ranOn.value(id), QStringList{QStringLiteral("cuda:0")}) << "job " << id;
        expectDone(store, id);
    }
    EXPECT_TRUE(notices.contains(QStringLiteral("cuda:1: this worker cannot run jobs: device 'cuda:1': out of order; "
                                                "it takes none from the queue")))
        << notices.join(QLatin1Char('\n')).toStdString();
}

TEST_F(WorkerPoolTest, AJobGivesTheSameImageOnEveryDevice) {
    JobStore store(dbPath());
    const qint64 onOne = store.add({spec(4242, 7)}).front();
    {
        auto p = pool({QStringLiteral("cuda:1")}, 4, 0);
        p->start();
        EXPECT_TRUE(p->wait().isEmpty());
    }
    const qint64 onZero = store.add({spec(4242, 7)}).front();
    {
        auto p = pool({QStringLiteral("cuda:0")}, 4, 0);
        p->start();
        EXPECT_TRUE(p->wait().isEmpty());
    }
    EXPECT_EQ(ranOn.value(onOne), QStringList{QStringLiteral("cuda:1")});
    EXPECT_EQ(ranOn.value(onZero), QStringList{QStringLiteral("cuda:0")});
    const auto a = imaging::read_png(store.job(onOne)->outputPath.toStdString());
    const auto b = imaging::read_png(store.job(onZero)->outputPath.toStdString());
    EXPECT_EQ(a.rgb, b.rgb);
    expectDone(store, onOne);
    expectDone(store, onZero);
}

TEST_F(WorkerPoolTest, TheWorkersOpeningOneModelHashItsFilesOnce) {
    const QString weights = QString::fromStdString(dir.path().string() + "/weights.safetensors");
    {
        QFile f(weights);
        ASSERT_TRUE(f.open(QIODevice::WriteOnly));
        const QByteArray block(1 << 20, '\x5a');
        for (int i = 0; i < 48; ++i)
            f.write(block);
    }
    JobStore store(dbPath());
    const auto ids = store.add({spec(1), spec(2), spec(3), spec(4)});
    configure = [&](DeviceExecutor& e) { e.files = {{QStringLiteral("transformer"), weights}}; };
    auto p = pool({QStringLiteral("cuda:0"), QStringLiteral("cuda:1")}, 1, 20);
    p->start();
    EXPECT_TRUE(p->wait().isEmpty());
    const int hashing = static_cast<int>(std::count_if(
        notices.begin(), notices.end(), [](const QString& n) { return n.contains(QStringLiteral("hashing")); }));
    EXPECT_EQ(hashing, 1) << notices.join(QLatin1Char('\n')).toStdString();
    for (auto id : ids)
        expectDone(store, id);
    QSet<QString> devices;
    for (auto id : ids)
        devices.insert(ranOn.value(id).front());
    EXPECT_EQ(devices.size(), 2) << "both workers opened the model";
}

TEST_F(WorkerPoolTest, AStopEndsEveryWorkerAndTheirJobsStayQueued) {
    JobStore store(dbPath());
    QList<JobSpec> specs;
    for (int i = 0; i < 8; ++i)
        specs.push_back(spec(i, 200));
    const auto ids = store.add(specs);
    auto p = pool({QStringLiteral("cuda:0"), QStringLiteral("cuda:1")}, 2, 5);
    p->start();
    while (maxRunning.load() < 2)
        QThread::msleep(5);
    p->requestStop();
    EXPECT_TRUE(p->wait().isEmpty());
    EXPECT_TRUE(p->finished());
    int queued = 0;
    for (const auto& j : store.jobs()) {
        EXPECT_NE(j.state, JobState::Running) << "job " << j.id;
        queued += j.state == JobState::Queued;
    }
    EXPECT_EQ(queued, ids.size());
}

TEST(SharedEmbeddings, TwoWorkersEncodeAPromptOnceAndGiveTheSameImage) {
    test::TempDir dir;
    const QString model = QString::fromStdString(dir.path().string() + "/model");
    engine::make_test_model(model.toStdString());
    auto cache = std::make_shared<EmbeddingCache>();
    engine::RuntimeOptions rt;
    rt.device = "cpu";
    PipelineExecutor a(rt, 8, cache), b(rt, 8, cache);
    a.openModel(model);
    b.openModel(model);
    engine::GenerationRequest r;
    r.prompt = "1girl, solo";
    r.negative_prompt = "lowres";
    r.width = r.height = 64;
    r.steps = 2;
    r.seed = 11;
    const auto byA = a.generate({r}, {});
    EXPECT_EQ(cache->computed(), 1);
    const auto byB = b.generate({r}, {});
    EXPECT_EQ(cache->computed(), 1) << "the second worker did not encode the prompt again";
    EXPECT_EQ(cache->hits(), 1);
    EXPECT_EQ(byA.front().rgb, byB.front().rgb) << "the shared embedding gives the encoding worker's image";
    r.prompt = "1boy";
    b.generate({r}, {});
    EXPECT_EQ(cache->computed(), 2);
}
