// Erase jobs in the queue: stored and read back (old queues upgraded), claimed apart from generations, run
// through the erase scheduler (a failing forward split off to its own image), crash recovery, cancellation,
// a stop request, and the worker end to end on a tiny LaMa model with the real key names.
#include "charaforge/engine/lama.h"
#include "charaforge/imaging/erase.h"
#include "charaforge/imaging/png_io.h"
#include "fake_executor.h"
#include "queue/gallery_store.h"
#include "queue/job_record.h"
#include "queue/job_store.h"
#include "queue/pipeline_executor.h"
#include "queue/queue_runner.h"
#include "test_util.h"

#include <QDir>
#include <QFileInfo>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>

#include <gtest/gtest.h>

#include <unistd.h>

using namespace charaforge;
using namespace charaforge::queue;

namespace {

using test::FakeExecutor;

// A worker of this pid space whose process no longer exists (beyond the kernel's pid_max).
QString deadOwner() {
    auto parts = JobStore::newOwnerId().split(QLatin1Char(':'));
    parts[2] = QStringLiteral("999999999");
    parts[3] = QStringLiteral("0123456789abcdef");
    return parts.join(QLatin1Char(':'));
}

imaging::RgbImage gradient(int w, int h, int seed) {
    imaging::RgbImage im{w, h, std::vector<uint8_t>(static_cast<std::size_t>(w) * h * 3)};
    for (std::size_t i = 0; i < im.rgb.size(); ++i)
        im.rgb[i] = static_cast<uint8_t>((i * 37 + seed * 11) % 251);
    return im;
}

// A white rectangle (the middle half) on black.
imaging::RgbImage rectangleMask(int w, int h) {
    imaging::RgbImage m{w, h, std::vector<uint8_t>(static_cast<std::size_t>(w) * h * 3, 0)};
    for (int y = h / 4; y < 3 * h / 4; ++y)
        for (int x = w / 4; x < 3 * w / 4; ++x)
            for (int c = 0; c < 3; ++c)
                m.rgb[(static_cast<std::size_t>(y) * w + x) * 3 + c] = 255;
    return m;
}

bool inHole(int x, int y, int w, int h) {
    return y >= h / 4 && y < 3 * h / 4 && x >= w / 4 && x < 3 * w / 4;
}

class QueueEraseTest : public ::testing::Test {
protected:
    test::TempDir dir;
    QString file(const std::string& name) const { return QString::fromStdString(dir.path().string() + "/" + name); }
    QString dbPath() const { return file("queue.sqlite"); }
    QString outDir() const { return file("out"); }

    // Writes NAME.png (w x h, a gradient from `seed`) and masks/NAME.png; returns the erase job for them.
    JobSpec eraseSpec(const std::string& name, int w = 40, int h = 24, int seed = 1) const {
        QDir().mkpath(file("masks"));
        auto image = gradient(w, h, seed);
        imaging::write_png_atomic(file(name + ".png").toStdString(), image, {{"parameters", "a test image"}});
        imaging::write_png_atomic(file("masks/" + name + ".png").toStdString(), rectangleMask(w, h));
        JobSpec s;
        s.kind = JobKind::Erase;
        s.image = file(name + ".png");
        s.mask = file("masks/" + name + ".png");
        s.strategy = QStringLiteral("crop");
        s.model = QStringLiteral("/models/big-lama.pt");
        s.outputDir = outDir();
        s.width = w;
        s.height = h;
        s.steps = 1;
        return s;
    }
    static JobSpec generation(qint64 seed) {
        JobSpec s;
        s.prompt = QStringLiteral("<general_tags>x</general_tags>");
        s.width = s.height = 64;
        s.steps = 4;
        s.seed = seed;
        s.model = QStringLiteral("/models/test");
        s.outputDir = QStringLiteral("/tmp/out");
        return s;
    }
    static RunnerOptions options() {
        RunnerOptions o;
        o.eraseBatch = 8;
        o.eraseMaxWaitMs = 1000; // the runner flushes once every tile is in: the batches are known
        o.appVersion = QStringLiteral("test");
        return o;
    }
    static void drain(QueueRunner& runner) {
        for (int i = 0; i < 50 && runner.runOnce(); ++i) {
        }
    }
    // The fake LaMa's result for eraseSpec's image: hole pixels inverted, the rest as they were.
    static std::vector<uint8_t> expectedPixels(int w, int h, int seed) {
        auto im = gradient(w, h, seed);
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x)
                if (inHole(x, y, w, h))
                    for (int c = 0; c < 3; ++c) {
                        auto& v = im.rgb[(static_cast<std::size_t>(y) * w + x) * 3 + c];
                        v = static_cast<uint8_t>(255 - v);
                    }
        return im.rgb;
    }
};

} // namespace

TEST_F(QueueEraseTest, AnEraseJobKeepsItsKindFilesAndStrategyInTheStore) {
    JobSpec e = eraseSpec("a");
    e.strategy = QStringLiteral("resize");
    {
        JobStore store(dbPath());
        store.add({generation(1), e});
    }
    JobStore store(dbPath()); // reopened: what is on disk
    const auto jobs = store.jobs();
    ASSERT_EQ(jobs.size(), 2);
    EXPECT_EQ(jobs[0].spec.kind, JobKind::Generate);
    EXPECT_EQ(jobs[0].spec, generation(1));
    EXPECT_EQ(jobs[1].spec, e);
    EXPECT_EQ(jobs[1].spec.kind, JobKind::Erase);
    // A copy is an erase job too; retrying with the window's (generation) model keeps the LaMa file.
    const auto copy = store.duplicate({jobs[1].id});
    EXPECT_EQ(store.job(copy[0])->spec, e);
    store.cancel({jobs[1].id});
    store.retry({jobs[1].id}, QStringLiteral("/models/newbie"));
    EXPECT_EQ(store.job(jobs[1].id)->spec.model, e.model);
    EXPECT_EQ(outputPathFor(*store.job(jobs[1].id)),
              QDir(outDir()).filePath(QStringLiteral("a-erased-%1.png").arg(jobs[1].id, 6, 10, QLatin1Char('0'))));
}

TEST_F(QueueEraseTest, AnEraseJobWithoutItsFilesModelOrAKnownStrategyNeverEntersTheQueue) {
    JobStore store(dbPath());
    JobSpec e = eraseSpec("a");
    e.strategy = QStringLiteral("stretch");
    e.mask.clear();
    try {
        store.add({e});
        FAIL() << "queued";
    } catch (const StoreError& err) {
        const std::string m = err.what();
        EXPECT_NE(m.find("mask: no mask"), std::string::npos) << m;
        EXPECT_NE(m.find("strategy: 'stretch' is not original, resize or crop"), std::string::npos) << m;
    }
    e = eraseSpec("a");
    e.model.clear();
    EXPECT_THROW(store.add({e}), StoreError);
    EXPECT_TRUE(store.jobs().isEmpty());
}

TEST_F(QueueEraseTest, AQueueOfSchemaTwoIsUpgradedAndItsJobsAreGenerations) {
    {
        auto db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("v2"));
        db.setDatabaseName(dbPath());
        ASSERT_TRUE(db.open());
        QSqlQuery q(db);
        for (const char* sql :
             {"CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)", "INSERT INTO meta VALUES ('schema', '2')",
              "CREATE TABLE jobs(id INTEGER PRIMARY KEY AUTOINCREMENT, position REAL NOT NULL, state TEXT NOT NULL,"
              " prompt TEXT NOT NULL, negative TEXT NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL,"
              " steps INTEGER NOT NULL, sampler TEXT NOT NULL, cfg REAL NOT NULL, cfg_trunc REAL NOT NULL,"
              " renorm REAL NOT NULL, shift REAL NOT NULL, seed INTEGER NOT NULL, model TEXT NOT NULL,"
              " output_dir TEXT NOT NULL, grp TEXT NOT NULL DEFAULT '', attempts INTEGER NOT NULL DEFAULT 0,"
              " owner TEXT NOT NULL DEFAULT '', heartbeat INTEGER NOT NULL DEFAULT 0,"
              " steps_done INTEGER NOT NULL DEFAULT 0, output_path TEXT NOT NULL DEFAULT '',"
              " message TEXT NOT NULL DEFAULT '', created INTEGER NOT NULL, finished INTEGER NOT NULL DEFAULT 0,"
              " worker_deaths INTEGER NOT NULL DEFAULT 0, claim_steps INTEGER NOT NULL DEFAULT 0,"
              " revision INTEGER NOT NULL DEFAULT 0)",
              "INSERT INTO jobs(position, state, prompt, negative, width, height, steps, sampler, cfg, cfg_trunc,"
              " renorm, shift, seed, model, output_dir, created) VALUES (1, 'queued', 'p', '', 64, 64, 4, 'euler',"
              " 5, 1, 0, 6, 3, '/m', '/o', 0)"})
            ASSERT_TRUE(q.exec(QString::fromLatin1(sql))) << q.lastError().text().toStdString();
        db.close();
    }
    QSqlDatabase::removeDatabase(QStringLiteral("v2"));
    JobStore store(dbPath());
    ASSERT_EQ(store.jobs().size(), 1);
    EXPECT_EQ(store.jobs().front().spec.kind, JobKind::Generate);
    EXPECT_EQ(store.jobs().front().spec.seed, 3);
    store.add({eraseSpec("a")});
    EXPECT_EQ(store.jobs().back().spec.kind, JobKind::Erase);
    // A queue of this version is refused by an older CharaForge, which would run erase jobs as generations.
    EXPECT_EQ(store.metaValue(QStringLiteral("schema")), QStringLiteral("3"));
}

TEST_F(QueueEraseTest, EraseJobsAreClaimedTogetherAndNeverWithAGeneration) {
    JobStore store(dbPath());
    store.add({eraseSpec("a"), eraseSpec("b"), generation(1), eraseSpec("c")});
    const auto first = store.claimBatch(JobStore::processOwner(), [](const Job&) { return 8; });
    ASSERT_EQ(first.size(), 3);
    for (const auto& j : first)
        EXPECT_EQ(j.spec.kind, JobKind::Erase);
    const auto second = store.claimBatch(JobStore::processOwner(), [](const Job&) { return 8; });
    ASSERT_EQ(second.size(), 1);
    EXPECT_EQ(second[0].spec.kind, JobKind::Generate);
}

TEST_F(QueueEraseTest, EachJobGetsItsErasedImageWithItsRecordAndAGalleryEntryBesideTheOriginal) {
    JobStore store(dbPath());
    // The original is in the gallery (a generated image): the result is recorded as its child.
    const JobSpec a = eraseSpec("a", 40, 24, 1);
    qint64 originalId = 0;
    {
        GalleryStore gallery(GalleryStore::pathNextTo(dbPath()));
        GalleryImage original;
        original.path = a.image;
        original.spec = generation(9);
        originalId = gallery.record(original);
    }
    const auto ids = store.add({a, eraseSpec("b", 64, 48, 2), eraseSpec("c", 40, 24, 3)});
    FakeExecutor exec;
    QList<qint64> finished;
    RunnerEvents ev;
    ev.finished = [&](qint64 id, const QString&, const engine::Image&) { finished.push_back(id); };
    QueueRunner runner(store, exec, options(), ev);
    drain(runner);
    EXPECT_EQ(exec.lamaOpened, a.model);
    EXPECT_TRUE(exec.opened.isEmpty()) << "no generation model is opened for erase jobs";
    // Two padded sizes (40x24 twice, 64x48 once): two forwards.
    auto batches = exec.eraseBatches;
    std::sort(batches.begin(), batches.end());
    EXPECT_EQ(batches, (std::vector<int>{1, 2}));
    EXPECT_EQ(finished.size(), 3);
    const int sizes[3][3] = {{40, 24, 1}, {64, 48, 2}, {40, 24, 3}};
    for (int i = 0; i < 3; ++i) {
        const auto job = store.job(ids[i]);
        ASSERT_EQ(job->state, JobState::Done) << job->message.toStdString();
        EXPECT_EQ(job->outputPath, outputPathFor(*job));
        imaging::TextChunks text;
        const auto out = imaging::read_png(job->outputPath.toStdString(), &text);
        EXPECT_EQ(out.rgb, expectedPixels(sizes[i][0], sizes[i][1], sizes[i][2])) << "job " << i;
        EXPECT_TRUE(eraseRecordIsJob(text, *job, store.queueId()));
        EXPECT_EQ(text["parameters"], "a test image") << "the original's record is kept";
    }
    GalleryStore gallery(GalleryStore::pathNextTo(dbPath()));
    const auto erased = gallery.imageForPath(store.job(ids[0])->outputPath);
    ASSERT_TRUE(erased.has_value());
    EXPECT_EQ(erased->parentImage, originalId);
    EXPECT_EQ(erased->spec.seed, 9) << "the original's settings";
}

TEST_F(QueueEraseTest, AFailingForwardIsSplitAndOnlyTheBadImageFails) {
    JobStore store(dbPath());
    QList<JobSpec> specs;
    for (int i = 0; i < 4; ++i)
        specs.push_back(eraseSpec("img" + std::to_string(i), 40, 24, i + 1));
    const auto ids = store.add(specs);
    FakeExecutor exec;
    exec.poison = gradient(40, 24, 3).rgb[0]; // img2's first pixel
    ASSERT_NE(exec.poison, gradient(40, 24, 1).rgb[0]);
    QueueRunner runner(store, exec, options(), {});
    drain(runner);
    for (int i = 0; i < 4; ++i) {
        const auto job = store.job(ids[i]);
        if (i == 2) {
            EXPECT_EQ(job->state, JobState::Failed);
            EXPECT_TRUE(job->message.contains(QStringLiteral("this tile cannot be erased")))
                << job->message.toStdString();
            EXPECT_FALSE(QFileInfo::exists(outputPathFor(*job)));
        } else {
            EXPECT_EQ(job->state, JobState::Done) << i << " " << job->message.toStdString();
        }
    }
    EXPECT_EQ(exec.eraseBatches.front(), 4) << "one forward for the four first";
    EXPECT_GT(exec.eraseBatches.size(), 3u) << "then split down to the bad tile";
}

TEST_F(QueueEraseTest, OutOfMemorySplitsTheTilesAndLosesNoJob) {
    JobStore store(dbPath());
    QList<JobSpec> specs;
    for (int i = 0; i < 4; ++i)
        specs.push_back(eraseSpec("img" + std::to_string(i), 40, 24, i + 1));
    const auto ids = store.add(specs);
    FakeExecutor exec;
    exec.eraseOomAbove = 1;
    QueueRunner runner(store, exec, options(), {});
    drain(runner);
    for (auto id : ids)
        EXPECT_EQ(store.job(id)->state, JobState::Done) << store.job(id)->message.toStdString();
    EXPECT_EQ(exec.eraseBatches, (std::vector<int>{4, 2, 1, 1, 2, 1, 1}));
}

TEST_F(QueueEraseTest, AMissingMaskFailsThatJobAloneNamingTheFile) {
    JobStore store(dbPath());
    JobSpec bad = eraseSpec("b");
    bad.mask = file("masks/none.png");
    const auto ids = store.add({eraseSpec("a"), bad});
    FakeExecutor exec;
    QueueRunner runner(store, exec, options(), {});
    drain(runner);
    EXPECT_EQ(store.job(ids[0])->state, JobState::Done);
    const auto failed = store.job(ids[1]);
    EXPECT_EQ(failed->state, JobState::Failed);
    EXPECT_TRUE(failed->message.contains(bad.mask)) << failed->message.toStdString();
}

TEST_F(QueueEraseTest, AMissingLamaFileFailsTheJobsWithTheReason) {
    JobStore store(dbPath());
    JobSpec e = eraseSpec("a");
    e.model = QStringLiteral("/models/missing-lama.pt");
    const auto ids = store.add({e});
    FakeExecutor exec;
    QueueRunner runner(store, exec, options(), {});
    drain(runner);
    const auto job = store.job(ids[0]);
    EXPECT_EQ(job->state, JobState::Failed);
    EXPECT_TRUE(job->message.startsWith(QStringLiteral("cannot open the LaMa model /models/missing-lama.pt: ")))
        << job->message.toStdString();
}

TEST_F(QueueEraseTest, ARunningEraseJobOfADeadWorkerIsQueuedAgainAndFinished) {
    JobStore store(dbPath());
    const auto ids = store.add({eraseSpec("a")});
    ASSERT_EQ(store.claimBatch(deadOwner(), [](const Job&) { return 8; }).size(), 1);
    EXPECT_EQ(store.recoverAbandoned(), ids);
    EXPECT_EQ(store.job(ids[0])->state, JobState::Queued);
    ASSERT_EQ(store.claimBatch(deadOwner(), [](const Job&) { return 8; }).size(), 1); // and it dies again
    FakeExecutor exec;
    QueueRunner runner(store, exec, options(), {});
    drain(runner);
    const auto job = store.job(ids[0]);
    EXPECT_EQ(job->state, JobState::Done) << job->message.toStdString();
    EXPECT_EQ(imaging::read_png(job->outputPath.toStdString()).rgb, expectedPixels(40, 24, 1));
}

TEST_F(QueueEraseTest, AnImageWrittenBeforeACrashCompletesItsJobWithoutAForward) {
    JobStore store(dbPath());
    const auto ids = store.add({eraseSpec("a")});
    const auto claimed = store.claimBatch(deadOwner(), [](const Job&) { return 8; });
    QDir().mkpath(outDir());
    const QString path = outputPathFor(claimed[0]);
    imaging::write_png_atomic(path.toStdString(), gradient(40, 24, 5), eraseRecord(claimed[0], store.queueId(), {}));
    FakeExecutor exec;
    QueueRunner runner(store, exec, options(), {});
    drain(runner);
    EXPECT_EQ(store.job(ids[0])->state, JobState::Done);
    EXPECT_EQ(store.job(ids[0])->outputPath, path);
    EXPECT_TRUE(exec.eraseBatches.empty()) << "erased twice";
    EXPECT_EQ(imaging::read_png(path.toStdString()).rgb, gradient(40, 24, 5).rgb);
}

TEST_F(QueueEraseTest, ACancelledEraseJobGetsNoImageAndTheOthersFinish) {
    JobStore store(dbPath());
    const auto ids = store.add({eraseSpec("a"), eraseSpec("b", 64, 48, 2), eraseSpec("c")});
    store.cancel({ids[2]}); // queued: never claimed
    FakeExecutor exec;
    // b is cancelled by another connection (the window) while its forward runs.
    exec.onInpaint = [&] {
        JobStore gui(dbPath());
        if (gui.job(ids[1])->state == JobState::Running)
            gui.cancel({ids[1]});
    };
    QueueRunner runner(store, exec, options(), {});
    drain(runner);
    EXPECT_EQ(store.job(ids[0])->state, JobState::Done);
    for (auto id : {ids[1], ids[2]}) {
        const auto job = store.job(id);
        EXPECT_EQ(job->state, JobState::Cancelled);
        EXPECT_FALSE(QFileInfo::exists(outputPathFor(*job))) << id;
    }
}

TEST_F(QueueEraseTest, AStopRequestPutsTheEraseJobsBackInTheQueue) {
    JobStore store(dbPath());
    const auto ids = store.add({eraseSpec("a"), eraseSpec("b", 64, 48, 2)});
    FakeExecutor exec;
    QueueRunner* running = nullptr;
    exec.onInpaint = [&] { running->requestStop(); };
    QueueRunner runner(store, exec, options(), {});
    running = &runner;
    runner.runOnce();
    for (auto id : ids) {
        const auto job = store.job(id);
        EXPECT_EQ(job->state, JobState::Queued) << id;
        EXPECT_FALSE(QFileInfo::exists(outputPathFor(*job)));
    }
}

// The real executor on a tiny random big-lama (the official key names): the queue's image is exactly what the
// inpainter gives for the same image alone.
TEST_F(QueueEraseTest, TheWorkerErasesWithARealLamaModelAsASingleRunDoes) {
    const std::string model = dir.path().string() + "/lama.safetensors";
    engine::write_lama_test_model(model);
    JobStore store(dbPath());
    QList<JobSpec> specs{eraseSpec("a", 40, 24, 1), eraseSpec("b", 64, 48, 2), eraseSpec("c", 40, 24, 3)};
    for (auto& s : specs)
        s.model = QString::fromStdString(model);
    const auto ids = store.add(specs);
    engine::RuntimeOptions rt;
    rt.device = "cpu";
    PipelineExecutor exec(rt);
    QueueRunner runner(store, exec, options(), {});
    drain(runner);

    engine::LamaOptions lo;
    lo.device = "cpu";
    const auto lama = engine::LamaInpainter::load(model, lo);
    for (int i = 0; i < 3; ++i) {
        const auto job = store.job(ids[i]);
        ASSERT_EQ(job->state, JobState::Done) << job->message.toStdString();
        const auto image = imaging::read_png(specs[i].image.toStdString());
        const auto mask = imaging::read_mask_png(specs[i].mask.toStdString(), image.width, image.height,
                                                 specs[i].image.toStdString());
        const auto plan = imaging::plan_erase(image, mask);
        std::vector<imaging::RgbImage> outputs;
        for (const auto& t : plan.tiles) {
            const engine::LamaTile tile{t.image.width, t.image.height, t.image.rgb, t.mask.data};
            auto out = lama->inpaint({&tile});
            outputs.push_back(imaging::RgbImage{out[0].width, out[0].height, out[0].rgb});
        }
        const auto alone = imaging::compose_erase(image, mask, plan, outputs);
        EXPECT_EQ(imaging::read_png(job->outputPath.toStdString()).rgb, alone.rgb) << "job " << i;
        EXPECT_NE(alone.rgb, image.rgb) << "the hole was filled";
    }
}
