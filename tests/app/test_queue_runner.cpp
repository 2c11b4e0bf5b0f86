// The queue runner on an injected executor: batching, atomic outputs with their record, out-of-memory
// splitting, cancel within a step with the others resumed, outputs already on disk, records read back.
#include "charaforge/engine/error.h"
#include "charaforge/imaging/png_io.h"
#include "fake_executor.h"
#include "queue/job_record.h"
#include "queue/job_store.h"
#include "queue/pipeline_executor.h"
#include "queue/queue_runner.h"
#include "test_util.h"

#include <QCryptographicHash>
#include <QDateTime>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QSysInfo>
#include <QTemporaryDir>
#include <QThread>

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>
#include <unistd.h>

using namespace charaforge;
using namespace charaforge::queue;

namespace {

using test::FakeExecutor;

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

// Another process's long write transaction: holds the queue's write lock on a thread of its own from
// construction until `holdMs` have passed.
class LockHolder {
public:
    LockHolder(const QString& path, int holdMs) {
        std::promise<void> locked;
        auto ready = locked.get_future();
        m_thread = std::thread([path, holdMs, &locked] {
            const QString name = QStringLiteral("lock-holder-%1").arg(reinterpret_cast<quintptr>(&locked));
            {
                auto db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
                db.setDatabaseName(path);
                EXPECT_TRUE(db.open());
                QSqlQuery q(db);
                EXPECT_TRUE(q.exec(QStringLiteral("BEGIN IMMEDIATE"))) << q.lastError().text().toStdString();
                locked.set_value();
                QThread::msleep(holdMs);
                q.exec(QStringLiteral("COMMIT"));
                db.close();
            }
            QSqlDatabase::removeDatabase(name);
        });
        ready.wait();
    }
    ~LockHolder() { m_thread.join(); }

private:
    std::thread m_thread;
};

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

// A worker killed while writing leaves `NAME.png.tmp-PID-NxR` (PNG writer) or `NAME.tmp-PID-NxR`
// (write_file_atomic) behind. The first write into a folder removes those of dead processes that are older
// than a minute, and nothing else.
TEST_F(QueueRunnerTest, TheFirstWriteIntoAFolderRemovesOrphanTempFilesOfDeadProcessesOnly) {
    namespace fs = std::filesystem;
    const fs::path out = outDir().toStdString();
    fs::create_directories(out);
    const std::string live = std::to_string(::getpid());
    const std::string dead = "999999999"; // above the kernel's pid_max: no such process
    const auto make = [&](const std::string& name, bool old) {
        std::ofstream(out / name) << "half";
        if (old)
            fs::last_write_time(out / name, fs::file_time_type::clock::now() - std::chrono::minutes(5));
    };
    const std::vector<std::string> orphans = {"charaforge-000001-5.png.tmp-" + dead + "-0x12345",
                                              "model_index.json.tmp-" + dead + "-17x4294967295"};
    const std::vector<std::string> kept = {"charaforge-000002-6.png.tmp-" + live + "-3x99", // its writer is alive
                                           "young.png.tmp-" + dead + "-1x1", // less than a minute old: maybe mid-write
                                           "notes.txt",
                                           "a.png.tmp-abc-1x1",               // not our pattern
                                           "a.png.tmp-" + dead + "-1x1.keep", // not our pattern either
                                           "photo.png"};
    for (const auto& name : orphans)
        make(name, true);
    for (const auto& name : kept)
        make(name, name.rfind("young", 0) != 0);
    fs::create_directory(out / ("folder.tmp-" + dead + "-1x1"));
    fs::last_write_time(out / ("folder.tmp-" + dead + "-1x1"),
                        fs::file_time_type::clock::now() - std::chrono::minutes(5));

    JobStore store(dbPath());
    const auto ids = store.add({spec(7)});
    FakeExecutor exec;
    QStringList notices;
    RunnerEvents ev;
    ev.notice = [&](const QString& m) { notices << m; };
    QueueRunner runner(store, exec, options(), ev);
    drain(runner);
    ASSERT_EQ(store.job(ids[0])->state, JobState::Done);
    for (const auto& name : orphans)
        EXPECT_FALSE(fs::exists(out / name)) << name;
    for (const auto& name : kept)
        EXPECT_TRUE(fs::exists(out / name)) << name;
    EXPECT_TRUE(fs::is_directory(out / ("folder.tmp-" + dead + "-1x1"))) << "only regular files are removed";
    EXPECT_TRUE(notices.join(QLatin1Char('\n')).contains(QStringLiteral("removed 2 temporary file(s)")))
        << notices.join(QLatin1Char('\n')).toStdString();
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

TEST_F(QueueRunnerTest, ABatchPredictedNotToFitIsNeverStartedOnlyWhatFits) {
    JobStore store(dbPath());
    QList<JobSpec> specs;
    for (int i = 0; i < 5; ++i)
        specs.push_back(spec(i));
    store.add(specs);
    FakeExecutor exec;
    exec.predictBase = 10'000;
    exec.predictPerImage = 1'000;
    exec.budget = 12'500; // two images fit (12 000), three do not (13 000)
    QueueRunner runner(store, exec, options(4), {});
    drain(runner);
    EXPECT_EQ(exec.batchSizes, (std::vector<int>{2, 2, 1})) << "no batch above the prediction, no OOM split";
    for (const auto& j : store.jobs()) {
        EXPECT_EQ(j.state, JobState::Done);
        EXPECT_EQ(pixelsOf(j.outputPath), FakeExecutor::expected(j.spec.seed, 10).rgb);
    }
}

TEST_F(QueueRunnerTest, AJobPredictedNotToFitAloneFailsWithoutSamplingAndSaysTryModeLow) {
    JobStore store(dbPath());
    store.add({spec(1), spec(2)});
    FakeExecutor exec;
    exec.predictBase = 10'000;
    exec.predictPerImage = 1'000;
    exec.budget = 10'500; // not even one image
    QueueRunner runner(store, exec, options(4), {});
    drain(runner);
    EXPECT_TRUE(exec.batchSizes.empty()) << "nothing was sampled";
    for (const auto& j : store.jobs()) {
        EXPECT_EQ(j.state, JobState::Failed);
        EXPECT_TRUE(j.message.contains(QStringLiteral("too large for this GPU: try mode low")))
            << j.message.toStdString();
        EXPECT_TRUE(j.message.contains(QStringLiteral("64x64"))) << j.message.toStdString();
    }
}

TEST_F(QueueRunnerTest, ADecodeOutOfMemoryFailsItsJobsWithoutSplittingTheBatch) {
    JobStore store(dbPath());
    QList<JobSpec> specs;
    for (int i = 0; i < 4; ++i)
        specs.push_back(spec(i));
    store.add(specs);
    FakeExecutor exec;
    exec.oomAtDecode = true;
    QueueRunner runner(store, exec, options(4), {});
    drain(runner);
    // Decoding is one image at a time: halving the batch would sample everything again for nothing.
    EXPECT_EQ(exec.batchSizes, (std::vector<int>{4}));
    for (const auto& j : store.jobs()) {
        EXPECT_EQ(j.state, JobState::Failed);
        EXPECT_TRUE(j.message.contains(QStringLiteral("Decoding one"))) << j.message.toStdString();
        EXPECT_TRUE(j.message.contains(QStringLiteral("lower the resolution"))) << j.message.toStdString();
    }
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

// SIGINT while the runner hashes a multi-gigabyte model file for the image records: the hash stops at
// once, nothing is remembered as the file's hash, and the jobs go back to the queue.
TEST_F(QueueRunnerTest, AStopRequestDuringModelHashingReturnsAtOnceAndRemembersNoHash) {
    JobStore store(dbPath());
    const auto ids = store.add({spec(23, 10)});
    const QString big = QFileInfo(dbPath()).dir().filePath(QStringLiteral("big.safetensors"));
    QFile f(big);
    ASSERT_TRUE(f.open(QIODevice::WriteOnly));
    ASSERT_TRUE(f.resize(qint64(4) << 30)); // sparse 4 GiB: seconds to hash in full
    f.close();
    FakeExecutor exec;
    exec.files = {{QStringLiteral("transformer"), big}};
    exec.openDelayMs = 2;
    QueueRunner* self = nullptr;
    exec.onOpen = [&] { self->requestStop(); };
    QueueRunner runner(store, exec, options(), {});
    self = &runner;
    QElapsedTimer t;
    t.start();
    runner.runOnce();
    EXPECT_LT(t.elapsed(), 1000);
    EXPECT_EQ(store.job(ids[0])->state, JobState::Queued);
    EXPECT_TRUE(exec.batchSizes.empty()) << "nothing sampled after the stop";
    const QFileInfo info(big);
    const QString key = QStringLiteral("sha256:%1:%2:%3")
                            .arg(info.absoluteFilePath())
                            .arg(info.size())
                            .arg(info.lastModified().toMSecsSinceEpoch());
    EXPECT_FALSE(store.metaValue(key).has_value()) << "a cancelled hash is not remembered";
    QFile::remove(big);
}

TEST_F(QueueRunnerTest, AnImageAlreadyOnDiskCompletesItsJobWithoutRunningIt) {
    JobStore store(dbPath());
    const auto ids = store.add({spec(31, 10)});
    // A worker wrote the file, then died before recording the job as done.
    auto job = *store.job(ids[0]);
    auto dead = JobStore::newOwnerId().split(QLatin1Char(':'));
    dead[2] = QStringLiteral("999999999"); // a pid no process has
    const auto claimed = store.claimBatch(dead.join(QLatin1Char(':')), [](const Job&) { return 1; });
    ASSERT_EQ(claimed.size(), 1);
    QDir().mkpath(outDir());
    const auto img = FakeExecutor::expected(31, 10);
    imaging::write_png_atomic(outputPathFor(job).toStdString(), {img.width, img.height, img.rgb},
                              pngRecord(job, {}, {}, store.queueId()));
    FakeExecutor exec;
    QueueRunner runner(store, exec, options(), {});
    drain(runner);
    EXPECT_TRUE(exec.batchSizes.empty()) << "nothing was generated again";
    EXPECT_EQ(store.job(ids[0])->state, JobState::Done);
    EXPECT_EQ(store.job(ids[0])->outputPath, outputPathFor(job));
}

TEST_F(QueueRunnerTest, AnOldImageOfAnotherQueueWithTheSameJobIdIsNotTakenForTheResult) {
    // Another queue (or one that was deleted) wrote job 1 with the same seed into the same folder.
    const QString otherPath = QString::fromStdString(dir.path().string() + "/other.sqlite");
    {
        JobStore other(otherPath);
        const auto otherIds = other.add({spec(41, 10)});
        const auto old = *other.job(otherIds[0]);
        QDir().mkpath(outDir());
        imaging::write_png_atomic(outputPathFor(old).toStdString(), {4, 4, std::vector<uint8_t>(48, 7)},
                                  pngRecord(old, {}, {}, other.queueId()));
    }
    JobStore store(dbPath());
    EXPECT_NE(store.queueId(), JobStore(otherPath).queueId());
    const auto ids = store.add({spec(41, 10)});
    ASSERT_EQ(outputPathFor(*store.job(ids[0])), outputPathFor(*JobStore(otherPath).job(ids[0])))
        << "the same id and seed: the same file name";
    FakeExecutor exec;
    QueueRunner runner(store, exec, options(), {});
    drain(runner);
    EXPECT_EQ(exec.batchSizes, (std::vector<int>{1})) << "the job was generated, not taken from the old file";
    const auto job = *store.job(ids[0]);
    ASSERT_EQ(job.state, JobState::Done);
    EXPECT_EQ(pixelsOf(job.outputPath), FakeExecutor::expected(41, 10).rgb);
    imaging::TextChunks text;
    imaging::read_png(job.outputPath.toStdString(), &text);
    EXPECT_TRUE(pngRecordIsJob(text, job, store.queueId()));
}

TEST(JobRecord, ARecordIsTheJobsOnlyWithItsQueueIdAndSettings) {
    Job job;
    job.id = 7;
    job.spec.prompt = QStringLiteral("a");
    job.spec.seed = 5;
    const auto text = pngRecord(job, {}, QStringLiteral("t"), QStringLiteral("queue-a"));
    EXPECT_TRUE(pngRecordIsJob(text, job, QStringLiteral("queue-a")));
    EXPECT_FALSE(pngRecordIsJob(text, job, QStringLiteral("queue-b")));
    for (auto change : std::vector<std::function<void(Job&)>>{
             [](Job& j) { j.id = 8; }, [](Job& j) { j.spec.prompt = QStringLiteral("b"); },
             [](Job& j) { j.spec.seed = 6; }, [](Job& j) { j.spec.width = 512; }, [](Job& j) { j.spec.steps = 9; }}) {
        Job other = job;
        change(other);
        EXPECT_FALSE(pngRecordIsJob(text, other, QStringLiteral("queue-a")));
    }
}

TEST_F(QueueRunnerTest, TheOutOfMemoryLimitHoldsAfterACheckpoint) {
    JobStore store(dbPath());
    QList<JobSpec> specs;
    for (int i = 0; i < 4; ++i)
        specs.push_back(spec(i));
    store.add(specs);
    FakeExecutor exec;
    exec.oomAbove = 2;
    exec.oomAtStep = 5; // after the checkpoint of step 4: the jobs resume from step 4
    QueueRunner runner(store, exec, options(4), {});
    drain(runner);
    EXPECT_EQ(exec.batchSizes, (std::vector<int>{4, 2, 2})) << "the full batch is not tried again";
    EXPECT_EQ(exec.resumeSteps, (std::vector<int>{0, 4, 4}));
    for (const auto& j : store.jobs()) {
        ASSERT_EQ(j.state, JobState::Done);
        EXPECT_EQ(pixelsOf(j.outputPath), FakeExecutor::expected(j.spec.seed, 10).rgb);
    }
}

TEST_F(QueueRunnerTest, TheHeartbeatIsRefreshedDuringALongModelLoad) {
    JobStore store(dbPath());
    const auto ids = store.add({spec(51, 10)});
    JobStore other(dbPath()); // another worker looking for abandoned jobs
    FakeExecutor exec;
    exec.openDelayMs = 1600;
    qint64 age = -1;
    QList<qint64> taken;
    exec.onOpen = [&] {
        age = QDateTime::currentMSecsSinceEpoch() - other.job(ids[0])->heartbeat;
        taken = other.recoverAbandoned(600);
    };
    auto o = options();
    o.heartbeatMs = 100;
    QueueRunner runner(store, exec, o, {});
    drain(runner);
    EXPECT_GE(age, 0);
    EXPECT_LT(age, 600) << "800 ms into the load the heartbeat is fresh";
    EXPECT_TRUE(taken.isEmpty()) << "no other worker takes a job whose worker is loading";
    EXPECT_EQ(store.job(ids[0])->state, JobState::Done);
}

TEST_F(QueueRunnerTest, AStoreErrorInsideACallbackLeavesNoJobBehindAndTheWorkerGoesOn) {
    JobStore store(dbPath(), 50); // waits 50 ms for a lock
    const auto ids = store.add({spec(61, 10), spec(62, 10)});
    FakeExecutor exec;
    std::unique_ptr<LockHolder> holder;
    exec.onStep = [&](int step) {
        if (step == 3 && !holder)
            holder = std::make_unique<LockHolder>(dbPath(), 1200); // the checkpoint of step 4 and done wait
    };
    QStringList notices;
    RunnerEvents ev;
    ev.notice = [&](const QString& n) { notices << n; };
    auto o = options();
    o.storeRetryMs = 20000;
    QueueRunner runner(store, exec, o, ev);
    ASSERT_NO_THROW(drain(runner));
    holder.reset();
    for (auto id : ids) {
        const auto job = *store.job(id);
        ASSERT_EQ(job.state, JobState::Done) << job.message.toStdString();
        EXPECT_EQ(pixelsOf(job.outputPath), FakeExecutor::expected(job.spec.seed, 10).rgb);
    }
    ASSERT_FALSE(notices.isEmpty());
    for (const auto& n : notices) {
        EXPECT_TRUE(n.contains(QStringLiteral("locked by another process"))) << n.toStdString();
        for (const char* sql : {"INSERT", "UPDATE", "BEGIN", "SELECT"})
            EXPECT_FALSE(n.contains(QLatin1String(sql))) << "raw SQL in: " << n.toStdString();
    }

    // A busy database while claiming: nothing claimed, no exception, the worker tries again later.
    store.add({spec(63, 10)});
    {
        LockHolder busy(dbPath(), 400);
        EXPECT_FALSE(runner.runOnce());
    }
    drain(runner);
    EXPECT_EQ(store.jobs().back().state, JobState::Done);
}

TEST_F(QueueRunnerTest, AMisconfiguredWorkerClaimsNothing) {
    JobStore store(dbPath());
    const auto ids = store.add({spec(71, 4), spec(72, 4)});
    FakeExecutor exec;
    exec.notReady = "device 'cuda': no CUDA device is available";
    QStringList notices;
    RunnerEvents ev;
    ev.notice = [&](const QString& n) { notices << n; };
    QueueRunner runner(store, exec, options(), ev);
    EXPECT_FALSE(runner.runOnce());
    EXPECT_FALSE(runner.runOnce());
    for (auto id : ids) {
        EXPECT_EQ(store.job(id)->state, JobState::Queued) << "another worker may run it";
        EXPECT_EQ(store.job(id)->attempts, 0);
    }
    ASSERT_EQ(notices.size(), 1) << "said once";
    EXPECT_TRUE(notices[0].contains(QStringLiteral("no CUDA device"))) << notices[0].toStdString();
    exec.notReady.clear();
    drain(runner);
    for (auto id : ids)
        EXPECT_EQ(store.job(id)->state, JobState::Done);
}

TEST_F(QueueRunnerTest, AnOutputFolderThatCannotBeMadeFailsItsJobBeforeSampling) {
    // The output folder cannot be created (its parent is a file, as when the folder went away after queue add
    // and something else took its place): found before the model opens, nothing is sampled for it, and the job
    // fails naming the folder. It went back to the queue before, to be claimed again for ever (a worker with
    // --until-empty never ended). The batch's other job, whose folder is fine, runs.
    QDir().mkpath(QString::fromStdString(dir.path().string()));
    QFile blocker(QString::fromStdString(dir.path().string() + "/not-a-folder"));
    ASSERT_TRUE(blocker.open(QIODevice::WriteOnly));
    blocker.close();
    JobStore store(dbPath());
    auto s = spec(81, 4);
    s.outputDir = blocker.fileName() + QStringLiteral("/out");
    const auto ids = store.add({s, spec(82, 4)});
    FakeExecutor exec;
    QList<qint64> failed;
    RunnerEvents ev;
    ev.failed = [&](qint64 id, const QString&) { failed << id; };
    QueueRunner runner(store, exec, options(), ev);
    ASSERT_TRUE(runner.runOnce());
    const auto job = *store.job(ids[0]);
    EXPECT_EQ(job.state, JobState::Failed);
    EXPECT_EQ(job.message,
              QStringLiteral("the output folder %1: %2 is not a folder").arg(s.outputDir, blocker.fileName()));
    EXPECT_EQ(failed, QList<qint64>{ids[0]});
    EXPECT_EQ(exec.batchSizes, std::vector<int>{1}) << "only the other job is sampled";
    EXPECT_EQ(store.job(ids[1])->state, JobState::Done) << store.job(ids[1])->message.toStdString();
    EXPECT_FALSE(runner.runOnce()) << "nothing is left to claim";
}

TEST_F(QueueRunnerTest, AnImageThatCannotBeWrittenSendsItsJobBackInsteadOfFailingIt) {
    // The folder was there when the batch started and is replaced by a file while it samples.
    JobStore store(dbPath());
    auto s = spec(82, 4);
    s.outputDir = QString::fromStdString(dir.path().string() + "/vanishing");
    const auto ids = store.add({s});
    FakeExecutor exec;
    exec.onStep = [&](int step) {
        if (step == 3) {
            QDir(s.outputDir).removeRecursively();
            QFile f(s.outputDir);
            ASSERT_TRUE(f.open(QIODevice::WriteOnly));
        }
    };
    QStringList notices;
    RunnerEvents ev;
    ev.notice = [&](const QString& n) { notices << n; };
    QueueRunner runner(store, exec, options(), ev);
    ASSERT_TRUE(runner.runOnce());
    const auto job = *store.job(ids[0]);
    EXPECT_EQ(job.state, JobState::Queued) << job.message.toStdString();
    EXPECT_EQ(job.stepsDone, 2) << "its last checkpoint is kept";
    ASSERT_FALSE(notices.isEmpty());
    EXPECT_TRUE(notices.back().contains(QStringLiteral("cannot write an image"))) << notices.back().toStdString();
}

// Model files are hashed for the records once per file version, with one notice that names every file with
// its folder (transformer/ and vae/ both hold diffusion_pytorch_model.safetensors): never again for the next
// batch, nor for the next worker on the queue. The runner says which model each batch opens.
TEST_F(QueueRunnerTest, ModelFilesAreHashedOnceWithOneNotice) {
    const QDir root(QString::fromStdString(dir.path().string()));
    for (const char* part : {"transformer", "vae"}) {
        root.mkpath(QString::fromLatin1(part));
        QFile f(root.filePath(QString::fromLatin1(part) + QStringLiteral("/diffusion_pytorch_model.safetensors")));
        ASSERT_TRUE(f.open(QIODevice::WriteOnly));
        f.write(part);
    }
    JobStore store(dbPath());
    auto wide = spec(2);
    wide.width = 128; // another size: a batch of its own
    store.add({spec(1), wide});
    FakeExecutor exec;
    exec.files = {{QStringLiteral("transformer"),
                   root.filePath(QStringLiteral("transformer/diffusion_pytorch_model.safetensors"))},
                  {QStringLiteral("vae"), root.filePath(QStringLiteral("vae/diffusion_pytorch_model.safetensors"))}};
    QStringList notices, models;
    RunnerEvents ev;
    ev.notice = [&](const QString& n) { notices << n; };
    ev.modelOpened = [&](const QString& m) { models << m; };
    {
        QueueRunner runner(store, exec, options(), ev);
        drain(runner);
    }
    EXPECT_EQ(exec.batchSizes, (std::vector<int>{1, 1}));
    EXPECT_EQ(notices, QStringList{QStringLiteral("hashing 2 model files for the image records (once): "
                                                  "transformer/diffusion_pytorch_model.safetensors, "
                                                  "vae/diffusion_pytorch_model.safetensors")});
    EXPECT_EQ(models, QStringList{QStringLiteral("/models/test")});
    notices.clear();
    store.add({spec(3)});
    QueueRunner next(store, exec, options(), ev);
    drain(next);
    EXPECT_TRUE(notices.isEmpty()) << notices.join(QLatin1Char('\n')).toStdString();
}

TEST(PipelineExecutorCheck, ADeviceOrDtypeThisMachineCannotRunIsNamed) {
    auto messageFor = [](const std::string& device, const std::string& dtype) -> std::string {
        engine::RuntimeOptions o;
        o.device = device;
        o.dtype = dtype;
        PipelineExecutor exec(o);
        try {
            exec.checkReady();
        } catch (const std::exception& e) {
            return e.what();
        }
        return {};
    };
    EXPECT_EQ(messageFor("cpu", "fp32"), "");
    EXPECT_EQ(messageFor("auto", "auto"), "");
    EXPECT_NE(messageFor("cuda:99", "auto").find("device 'cuda:99'"), std::string::npos);
    EXPECT_NE(messageFor("tpu", "auto").find("device 'tpu': not a device"), std::string::npos);
    EXPECT_NE(messageFor("cuda:x", "auto").find("not a device"), std::string::npos);
    EXPECT_NE(messageFor("cpu", "fp8").find("dtype 'fp8': not a dtype"), std::string::npos);
    if (engine::cuda_device_count() == 0) {
        EXPECT_NE(messageFor("cuda", "auto").find("no CUDA device is available"), std::string::npos);
    }
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

// A recorded setting with no equivalent is said, not silently replaced: an A1111 "DPM++ 2M Karras" becomes
// Euler with a note, unknown keys and a Stable Diffusion model are listed; our own record has no notes.
TEST(JobRecord, SettingsWithNoEquivalentAreListedInTheNotes) {
    std::map<std::string, std::string> text{
        {"parameters", "1girl, smile\nSteps: 20, Sampler: DPM++ 2M Karras, Schedule type: Karras, CFG scale: 7, "
                       "Seed: 5, Size: 512x768, Model hash: abc, Model: anything-v5, Clip skip: 2"}};
    QStringList notes;
    auto s = specFromPngText(text, nullptr, &notes);
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->sampler, QStringLiteral("euler"));
    EXPECT_EQ(notes, (QStringList{QStringLiteral("sampler \"DPM++ 2M Karras\" has no equivalent; using Euler"),
                                  QStringLiteral("\"Schedule type: Karras\" has no equivalent; ignored"),
                                  QStringLiteral("model \"anything-v5\" is not NewBie-image-Exp0.1; using the "
                                                 "current model"),
                                  QStringLiteral("\"Clip skip: 2\" has no equivalent; ignored")}));

    Job job;
    job.spec.sampler = QStringLiteral("midpoint");
    notes.clear();
    const auto ours = pngRecord(job, {}, QStringLiteral("1"), QStringLiteral("q"));
    ASSERT_TRUE(specFromPngText(ours, nullptr, &notes).has_value());
    EXPECT_TRUE(notes.isEmpty()) << notes.join(u'\n').toStdString();
    ASSERT_TRUE(specFromPngText({{"parameters", ours.at("parameters")}}, nullptr, &notes).has_value());
    EXPECT_TRUE(notes.isEmpty()) << "our own A1111 text: " << notes.join(u'\n').toStdString();
    EXPECT_EQ(specFromPngText({{"parameters", ours.at("parameters")}})->sampler, QStringLiteral("midpoint"));
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
        QStringLiteral("1.2.3"), QStringLiteral("q-1"));
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

TEST(JobRecord, TheDpmSamplerIsRecordedAndReadBack) {
    Job job;
    job.id = 7;
    job.spec.prompt = QStringLiteral("1girl");
    job.spec.sampler = QStringLiteral("dpm");
    auto text = pngRecord(job, {}, QStringLiteral("1.2.3"), QStringLiteral("q-1"));
    EXPECT_NE(text.at("charaforge").find("\"sampler\":\"dpm\""), std::string::npos) << text.at("charaforge");
    EXPECT_NE(text.at("parameters").find("Sampler: DPM-Solver++ 2M,"), std::string::npos) << text.at("parameters");
    EXPECT_EQ(specFromPngText(text)->sampler, QStringLiteral("dpm"));
    text.erase("charaforge"); // the A1111 text alone, as another tool that dropped our record would leave it
    EXPECT_EQ(specFromPngText(text)->sampler, QStringLiteral("dpm"));
}

// SIGINT during the hash of a 17 GB model file must not wait for the whole file: the stop flag is asked
// before every chunk and a cancelled hash has no value.
TEST(FileHash, StopAfterFirstChunkReturnsCancelledAtOnce) {
    QTemporaryDir dir;
    ASSERT_TRUE(dir.isValid());
    const QString path = dir.filePath(QStringLiteral("big.safetensors"));
    QFile f(path);
    ASSERT_TRUE(f.open(QIODevice::WriteOnly));
    ASSERT_TRUE(f.resize(qint64(4) << 30)); // sparse: 4 GiB in no time, tens of seconds to hash
    f.close();
    int asked = 0;
    QElapsedTimer t;
    t.start();
    const auto hashed = charaforge::queue::sha256OfFile(path, [&] { return ++asked > 1; });
    EXPECT_LT(t.elapsed(), 500);
    EXPECT_EQ(hashed.outcome, charaforge::queue::FileHash::Outcome::Cancelled);
    EXPECT_TRUE(hashed.hex.isEmpty());
    EXPECT_EQ(asked, 2);
}

TEST(FileHash, UnstoppedHashMatchesQtsAndUnreadableFileHasNone) {
    QTemporaryDir dir;
    ASSERT_TRUE(dir.isValid());
    const QString path = dir.filePath(QStringLiteral("w.bin"));
    QByteArray data(9 << 20, 'x'); // more than two chunks
    data[12345] = 'y';
    QFile f(path);
    ASSERT_TRUE(f.open(QIODevice::WriteOnly));
    ASSERT_EQ(f.write(data), data.size());
    f.close();
    const auto hashed = charaforge::queue::sha256OfFile(path, [] { return false; });
    EXPECT_EQ(hashed.outcome, charaforge::queue::FileHash::Outcome::Done);
    EXPECT_EQ(hashed.hex, QString::fromLatin1(QCryptographicHash::hash(data, QCryptographicHash::Sha256).toHex()));
    EXPECT_EQ(charaforge::queue::sha256OfFile(path), hashed.hex);
    EXPECT_EQ(charaforge::queue::sha256OfFile(dir.filePath(QStringLiteral("missing")), {}).outcome,
              charaforge::queue::FileHash::Outcome::Unreadable);
}
