// The queue runner on an injected executor: batching, atomic outputs with their record, out-of-memory
// splitting, cancel within a step with the others resumed, outputs already on disk, records read back.
#include "charaforge/engine/error.h"
#include "charaforge/imaging/png_io.h"
#include "queue/job_record.h"
#include "queue/job_store.h"
#include "queue/queue_runner.h"
#include "test_util.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSysInfo>

#include <gtest/gtest.h>

#include <cmath>

using namespace charaforge;
using namespace charaforge::queue;

namespace {

// Follows engine::Pipeline::generate's contract on a one-number "latent": x0 = seed, x <- 1.5 x + 1 per step
// (mod 1e6 to stay exact), image = 4x4 pixels of x mod 251. Resuming from a saved state must give the same
// image as an uninterrupted run, exactly as the engine promises.
class FakeExecutor : public Executor {
public:
    int oomAbove = 1 << 30; // batches larger than this run out of memory
    std::vector<int> batchSizes;
    std::vector<int> resumeSteps;
    std::function<void(int step)> onStep; // test hook, called after each step

    void openModel(const QString& model) override {
        if (model.contains(QStringLiteral("missing")))
            throw engine::EngineError("model_folder: " + model.toStdString() + " has no transformer/");
        opened = model;
    }
    int suggestBatch(const JobSpec&) override { return 8; }
    QList<QPair<QString, QString>> modelFiles() const override { return {}; }

    static double advance(double x) { return std::fmod(1.5 * x + 1.0, 1e6); }
    static engine::Image imageOf(double x) {
        engine::Image img{4, 4, std::vector<uint8_t>(48, static_cast<uint8_t>(static_cast<long long>(x) % 251))};
        return img;
    }
    static engine::Image expected(qint64 seed, int steps) {
        double x = static_cast<double>(seed);
        for (int i = 0; i < steps; ++i)
            x = advance(x);
        return imageOf(x);
    }

    std::vector<engine::Image> generate(const std::vector<engine::GenerationRequest>& requests,
                                        const engine::Callbacks& cb) override {
        batchSizes.push_back(static_cast<int>(requests.size()));
        if (static_cast<int>(requests.size()) > oomAbove)
            throw engine::OutOfMemory("pipeline: out of memory sampling " + std::to_string(requests.size()) +
                                      " images");
        std::vector<double> x;
        int first = requests.front().resume ? requests.front().resume->step : 0;
        resumeSteps.push_back(first);
        for (const auto& r : requests)
            x.push_back(r.resume ? r.resume->latent.at(0) : static_cast<double>(r.seed));
        const int total = requests.front().steps;
        auto state = [&](std::size_t i, int step) {
            return engine::SamplerState{step, 1, 1, 1, {static_cast<float>(x[i])}};
        };
        for (int step = first + 1; step <= total; ++step) {
            for (auto& v : x)
                v = advance(v);
            if (cb.on_step)
                cb.on_step({0, requests.size(), step, total});
            if (onStep)
                onStep(step);
            if (cb.checkpoint_every > 0 && step % cb.checkpoint_every == 0 && step < total && cb.on_checkpoint)
                for (std::size_t i = 0; i < x.size(); ++i)
                    cb.on_checkpoint(i, state(i, step));
            if (cb.should_abort && cb.should_abort()) {
                if (cb.on_checkpoint)
                    for (std::size_t i = 0; i < x.size(); ++i)
                        cb.on_checkpoint(i, state(i, step));
                throw engine::Cancelled();
            }
        }
        std::vector<engine::Image> out;
        for (std::size_t i = 0; i < x.size(); ++i) {
            out.push_back(imageOf(x[i]));
            if (cb.on_image)
                cb.on_image(i, out.back());
        }
        return out;
    }
    QString opened;
};

class QueueRunnerTest : public ::testing::Test {
protected:
    test::TempDir dir;
    QString dbPath() const { return QString::fromStdString(dir.path().string() + "/queue.sqlite"); }
    QString outDir() const { return QString::fromStdString(dir.path().string() + "/out"); }

    JobSpec spec(qint64 seed, int steps = 10, int size = 64) const {
        JobSpec s;
        s.prompt = QStringLiteral("<character_1>\n<n>$character_1$</n>\n<gender>1girl</gender>\n</character_1>");
        s.negative = QStringLiteral("lowres");
        s.width = s.height = size;
        s.steps = steps;
        s.seed = seed;
        s.model = QStringLiteral("/models/test");
        s.outputDir = outDir();
        return s;
    }
    RunnerOptions options(int maxBatch = 4) const {
        RunnerOptions o;
        o.maxBatch = maxBatch;
        o.checkpointEvery = 2;
        o.previewEvery = 0;
        o.appVersion = QStringLiteral("test");
        return o;
    }
    static void drain(QueueRunner& runner, int limit = 100) {
        for (int i = 0; i < limit && runner.runOnce(); ++i) {
        }
    }
};

std::vector<uint8_t> pixelsOf(const QString& path) {
    return imaging::read_png(path.toStdString()).rgb;
}

} // namespace

TEST_F(QueueRunnerTest, EveryJobEndsDoneWithItsImageAndRecordOnDisk) {
    JobStore store(dbPath());
    QList<JobSpec> specs;
    for (int i = 0; i < 5; ++i)
        specs.push_back(spec(100 + i));
    specs[3].width = 128; // another size: its own batch
    const auto ids = store.add(specs, QStringLiteral("variants"));
    FakeExecutor exec;
    QList<qint64> finished;
    RunnerEvents ev;
    ev.finished = [&](qint64 id, const QString&, const engine::Image&) { finished.push_back(id); };
    QueueRunner runner(store, exec, options(), ev);
    drain(runner);
    EXPECT_EQ(exec.batchSizes, (std::vector<int>{4, 1}));
    EXPECT_EQ(finished.size(), 5);
    for (int i = 0; i < 5; ++i) {
        const auto job = store.job(ids[i]);
        ASSERT_EQ(job->state, JobState::Done) << job->message.toStdString();
        EXPECT_EQ(job->outputPath, outputPathFor(*job));
        EXPECT_EQ(pixelsOf(job->outputPath), FakeExecutor::expected(specs[i].seed, 10).rgb);
        QString error;
        auto back = specFromPng(job->outputPath, &error);
        ASSERT_TRUE(back.has_value()) << error.toStdString();
        auto expectedSpec = specs[i];
        expectedSpec.outputDir.clear(); // where it was written is not part of the record
        EXPECT_EQ(*back, expectedSpec);
        EXPECT_FALSE(store.checkpoint(ids[i]).has_value()) << "a done job's checkpoint is dropped";
    }
    // Nothing half-written is left next to the images.
    EXPECT_EQ(QDir(outDir()).entryList(QDir::Files).size(), 5);
}

TEST_F(QueueRunnerTest, OutOfMemorySplitsTheBatchAndLosesNoJob) {
    JobStore store(dbPath());
    QList<JobSpec> specs;
    for (int i = 0; i < 4; ++i)
        specs.push_back(spec(i));
    store.add(specs);
    FakeExecutor exec;
    exec.oomAbove = 2;
    QStringList notices;
    RunnerEvents ev;
    ev.notice = [&](const QString& n) { notices << n; };
    QueueRunner runner(store, exec, options(4), ev);
    drain(runner);
    EXPECT_EQ(exec.batchSizes, (std::vector<int>{4, 2, 2}));
    for (const auto& j : store.jobs()) {
        EXPECT_EQ(j.state, JobState::Done);
        EXPECT_EQ(pixelsOf(j.outputPath), FakeExecutor::expected(j.spec.seed, 10).rgb);
    }
    ASSERT_EQ(notices.size(), 1);
    EXPECT_TRUE(notices[0].contains(QStringLiteral("retrying 2 at a time"))) << notices[0].toStdString();
}

TEST_F(QueueRunnerTest, AJobThatCannotFitAloneFailsWithWhatToLower) {
    JobStore store(dbPath());
    store.add({spec(1, 10, 1024), spec(2, 10, 64)});
    FakeExecutor exec;
    exec.oomAbove = 0;
    QueueRunner runner(store, exec, options(1), {});
    drain(runner);
    const auto jobs = store.jobs();
    ASSERT_EQ(jobs.size(), 2);
    EXPECT_EQ(jobs[0].state, JobState::Failed);
    EXPECT_TRUE(jobs[0].message.contains(QStringLiteral("1024x1024 image does not fit")));
    EXPECT_TRUE(jobs[0].message.contains(QStringLiteral("lower the resolution")));
    EXPECT_EQ(jobs[1].state, JobState::Failed) << "every job is tried and reported, none left running";
}

TEST_F(QueueRunnerTest, CancellingOneJobStopsTheBatchWithinAStepAndTheOthersResume) {
    JobStore store(dbPath());
    const auto ids = store.add({spec(11, 12), spec(12, 12), spec(13, 12)});
    JobStore gui(dbPath()); // the window's own connection
    FakeExecutor exec;
    int stoppedAt = -1;
    exec.onStep = [&](int step) {
        if (step == 5)
            gui.cancel({ids[1]});
        stoppedAt = step;
    };
    QueueRunner runner(store, exec, options(), {});
    ASSERT_TRUE(runner.runOnce());
    EXPECT_EQ(stoppedAt, 5) << "the batch stops at the step the cancel arrived";
    EXPECT_EQ(store.job(ids[1])->state, JobState::Cancelled);
    for (auto id : {ids[0], ids[2]}) {
        EXPECT_EQ(store.job(id)->state, JobState::Queued);
        EXPECT_EQ(store.job(id)->stepsDone, 5) << "the state at the stop is saved";
    }
    exec.onStep = nullptr;
    drain(runner);
    EXPECT_EQ(exec.resumeSteps, (std::vector<int>{0, 5}));
    for (int i : {0, 2}) {
        const auto job = store.job(ids[i]);
        ASSERT_EQ(job->state, JobState::Done);
        EXPECT_EQ(pixelsOf(job->outputPath), FakeExecutor::expected(job->spec.seed, 12).rgb)
            << "a resumed job gives the image of an uninterrupted run";
    }
    EXPECT_FALSE(QFileInfo::exists(outputPathFor(*store.job(ids[1]))));
}

TEST_F(QueueRunnerTest, AStopRequestPutsTheRunningJobsBackWithTheirState) {
    JobStore store(dbPath());
    const auto ids = store.add({spec(21, 10), spec(22, 10)});
    FakeExecutor exec;
    QueueRunner* self = nullptr;
    exec.onStep = [&](int step) {
        if (step == 3)
            self->requestStop();
    };
    QueueRunner runner(store, exec, options(), {});
    self = &runner;
    runner.runOnce();
    for (auto id : ids) {
        EXPECT_EQ(store.job(id)->state, JobState::Queued);
        EXPECT_EQ(store.checkpoint(id)->step, 3);
    }
    EXPECT_FALSE(runner.runOnce()) << "a stopped runner claims nothing";
}

TEST_F(QueueRunnerTest, AnImageAlreadyOnDiskCompletesItsJobWithoutRunningIt) {
    JobStore store(dbPath());
    const auto ids = store.add({spec(31, 10)});
    // A worker wrote the file, then died before recording the job as done.
    auto job = *store.job(ids[0]);
    const auto claimed = store.claimBatch(QStringLiteral("%1:999999999:dead").arg(QSysInfo::machineHostName()),
                                          [](const Job&) { return 1; });
    ASSERT_EQ(claimed.size(), 1);
    QDir().mkpath(outDir());
    const auto img = FakeExecutor::expected(31, 10);
    imaging::write_png_atomic(outputPathFor(job).toStdString(), {img.width, img.height, img.rgb},
                              pngRecord(job, {}, {}));
    FakeExecutor exec;
    QueueRunner runner(store, exec, options(), {});
    drain(runner);
    EXPECT_TRUE(exec.batchSizes.empty()) << "nothing was generated again";
    EXPECT_EQ(store.job(ids[0])->state, JobState::Done);
    EXPECT_EQ(store.job(ids[0])->outputPath, outputPathFor(job));
}

TEST_F(QueueRunnerTest, AMissingModelFailsTheJobsWithTheReason) {
    JobStore store(dbPath());
    auto s = spec(1);
    s.model = QStringLiteral("/models/missing");
    store.add({s});
    FakeExecutor exec;
    QueueRunner runner(store, exec, options(), {});
    drain(runner);
    const auto job = store.jobs().front();
    EXPECT_EQ(job.state, JobState::Failed);
    EXPECT_TRUE(job.message.contains(QStringLiteral("has no transformer/"))) << job.message.toStdString();
}

TEST(JobRecord, A1111ParametersAreReadWhenOurRecordIsAbsent) {
    std::map<std::string, std::string> text{
        {"parameters", "1girl, solo, smile\nsecond line\nNegative prompt: lowres, bad hands\nSteps: 30, Sampler: "
                       "Euler, CFG scale: 4.5, Seed: 1234567890123, Size: 832x1216, Model hash: abc"}};
    QString error;
    auto s = specFromPngText(text, &error);
    ASSERT_TRUE(s.has_value()) << error.toStdString();
    EXPECT_EQ(s->prompt, QStringLiteral("1girl, solo, smile\nsecond line"));
    EXPECT_EQ(s->negative, QStringLiteral("lowres, bad hands"));
    EXPECT_EQ(s->steps, 30);
    EXPECT_EQ(s->sampler, QStringLiteral("euler"));
    EXPECT_DOUBLE_EQ(s->cfg, 4.5);
    EXPECT_EQ(s->seed, 1234567890123LL);
    EXPECT_EQ(s->width, 832);
    EXPECT_EQ(s->height, 1216);
    EXPECT_FALSE(specFromPngText({{"Software", "x"}}, &error).has_value());
    EXPECT_TRUE(error.contains(QStringLiteral("no generation settings"))) << error.toStdString();
    EXPECT_FALSE(specFromPngText({{"charaforge", "{\"prompt\": 1"}}, &error).has_value());
    EXPECT_TRUE(error.contains(QStringLiteral("not valid JSON"))) << error.toStdString();
}

TEST(JobRecord, OurRecordCarriesEverySettingAndTheModelHashes) {
    Job job;
    job.id = 42;
    job.group = QStringLiteral("g");
    job.spec.prompt = QStringLiteral("<general_tags>\n<style>anime</style>\n</general_tags>");
    job.spec.seed = 9007199254740993LL;
    job.spec.model = QStringLiteral("/m");
    const auto text = pngRecord(
        job, {{QStringLiteral("transformer"), QStringLiteral("/m/t.safetensors"), QStringLiteral("0123456789abcdef")}},
        QStringLiteral("1.2.3"));
    EXPECT_EQ(jobIdFromPngText(text), 42);
    const auto& json = text.at("charaforge");
    EXPECT_NE(json.find("\"sha256\":\"0123456789abcdef\""), std::string::npos) << json;
    EXPECT_NE(json.find("charaforge 1.2.3"), std::string::npos);
    EXPECT_NE(text.at("parameters").find("Model hash: 0123456789"), std::string::npos);
    auto back = specFromPngText(text);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->seed, 9007199254740993LL);
    EXPECT_EQ(back->prompt, job.spec.prompt);
}
