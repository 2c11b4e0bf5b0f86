// The queue with real worker processes (tests/app/queue_test_worker: the real store and runner on the fake
// executor): processes racing for claims, a job that kills its worker every time, and workers killed with
// SIGKILL at random moments. CHARAFORGE_QUEUE_KILLS sets the number of kills (the slow test: 100).
#include "charaforge/imaging/png_io.h"
#include "fake_executor.h"
#include "queue/job_record.h"
#include "queue/job_store.h"
#include "test_util.h"

#include <QDir>
#include <QElapsedTimer>
#include <QProcess>
#include <QRandomGenerator>
#include <QSet>
#include <QThread>

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

using namespace charaforge;
using namespace charaforge::queue;

namespace {

QString workerExe() {
    return QStringLiteral(CHARAFORGE_QUEUE_TEST_WORKER);
}

class QueueProcesses : public ::testing::Test {
protected:
    test::TempDir tmp;
    QString db() const { return QString::fromStdString(tmp.path().string() + "/queue.sqlite"); }
    QString out() const { return QString::fromStdString(tmp.path().string() + "/out"); }

    JobSpec spec(qint64 seed, int steps, const QString& prompt = QStringLiteral("<general_tags>x</general_tags>")) {
        JobSpec s;
        s.prompt = prompt;
        s.width = s.height = 64;
        s.steps = steps;
        s.seed = seed;
        s.model = QStringLiteral("/models/fake");
        s.outputDir = out();
        return s;
    }

    std::unique_ptr<QProcess> start(const QStringList& extra) {
        auto p = std::make_unique<QProcess>();
        p->setProcessChannelMode(QProcess::SeparateChannels);
        p->start(workerExe(), QStringList{QStringLiteral("--queue"), db()} + extra);
        EXPECT_TRUE(p->waitForStarted());
        return p;
    }

    // Every job done, with the image of an uninterrupted run and its record, one file each.
    void expectAllDone(const QList<qint64>& ids) {
        JobStore store(db());
        for (auto id : ids) {
            const auto j = store.job(id);
            ASSERT_TRUE(j.has_value());
            ASSERT_EQ(j->state, JobState::Done) << "job " << id << ": " << j->message.toStdString();
            imaging::TextChunks text;
            const auto img = imaging::read_png(j->outputPath.toStdString(), &text);
            EXPECT_EQ(img.rgb, test::FakeExecutor::expected(j->spec.seed, j->spec.steps).rgb) << "job " << id;
            EXPECT_TRUE(pngRecordIsJob(text, *j, store.queueId())) << "job " << id;
        }
        EXPECT_EQ(QDir(out()).entryList({QStringLiteral("*.png")}, QDir::Files).size(), ids.size());
    }
};

QList<qint64> claimedIn(const QString& log) {
    QList<qint64> ids;
    for (const auto& line : log.split(QLatin1Char('\n')))
        if (line.startsWith(QStringLiteral("claimed ")))
            for (const auto& w : line.mid(8).split(QLatin1Char(' '), Qt::SkipEmptyParts)) {
                if (w == QStringLiteral("on"))
                    break; // "on DEVICE"
                ids.push_back(w.toLongLong());
            }
    return ids;
}

// The devices named by the "claimed ... on DEVICE" lines.
QSet<QString> devicesIn(const QString& log) {
    QSet<QString> devices;
    for (const auto& line : log.split(QLatin1Char('\n')))
        if (line.startsWith(QStringLiteral("claimed ")) && line.contains(QStringLiteral(" on ")))
            devices.insert(line.section(QStringLiteral(" on "), 1));
    return devices;
}

} // namespace

TEST_F(QueueProcesses, TwoWorkerProcessesRacingNeverRunAJobTwice) {
    QList<JobSpec> specs;
    for (int i = 0; i < 80; ++i)
        specs.push_back(spec(i, 2 + i % 3)); // three batch keys
    const auto ids = JobStore(db()).add(specs);
    auto a = start({QStringLiteral("--batch"), QStringLiteral("3"), QStringLiteral("--step-ms"), QStringLiteral("1")});
    auto b = start({QStringLiteral("--batch"), QStringLiteral("2"), QStringLiteral("--step-ms"), QStringLiteral("1")});
    ASSERT_TRUE(a->waitForFinished(120000));
    ASSERT_TRUE(b->waitForFinished(120000));
    EXPECT_EQ(a->exitCode(), 0) << a->readAllStandardError().toStdString();
    EXPECT_EQ(b->exitCode(), 0) << b->readAllStandardError().toStdString();
    const auto byA = claimedIn(QString::fromUtf8(a->readAllStandardOutput()));
    const auto byB = claimedIn(QString::fromUtf8(b->readAllStandardOutput()));
    EXPECT_FALSE(byA.isEmpty());
    EXPECT_FALSE(byB.isEmpty()) << "both processes took part in the race";
    QSet<qint64> seen;
    for (auto id : byA + byB) {
        EXPECT_FALSE(seen.contains(id)) << "job " << id << " claimed twice";
        seen.insert(id);
    }
    EXPECT_EQ(seen.size(), ids.size());
    for (const auto& j : JobStore(db()).jobs())
        EXPECT_EQ(j.attempts, 1) << "job " << j.id;
    expectAllDone(ids);
}

TEST_F(QueueProcesses, AJobThatKillsItsWorkerEveryTimeFailsAndTheOthersRun) {
    JobStore store(db());
    const auto ids =
        store.add({spec(1, 4), spec(2, 4, QStringLiteral("<general_tags>CRASH-ME</general_tags>")), spec(3, 4)});
    int runs = 0, crashes = 0;
    for (; runs < 8; ++runs) {
        auto w = start(
            {QStringLiteral("--batch"), QStringLiteral("3"), QStringLiteral("--crash-on"), QStringLiteral("CRASH-ME")});
        ASSERT_TRUE(w->waitForFinished(60000));
        if (w->exitStatus() == QProcess::NormalExit) {
            EXPECT_EQ(w->exitCode(), 0) << w->readAllStandardError().toStdString();
            break;
        }
        ++crashes;
    }
    EXPECT_EQ(crashes, 3) << "the crashing job was tried 3 times, no more";
    const auto bad = *store.job(ids[1]);
    EXPECT_EQ(bad.state, JobState::Failed);
    EXPECT_TRUE(bad.message.contains(QStringLiteral("stopped 3 times"))) << bad.message.toStdString();
    for (auto id : {ids[0], ids[2]}) {
        const auto j = *store.job(id);
        EXPECT_EQ(j.state, JobState::Done) << "a job batched with the crashing one is not blamed for it: job " << id
                                           << ": " << j.message.toStdString();
    }
}

TEST_F(QueueProcesses, WorkersKilledAtRandomMomentsLoseNothing) {
    const int kills = qEnvironmentVariableIntValue("CHARAFORGE_QUEUE_KILLS") > 0
                          ? qEnvironmentVariableIntValue("CHARAFORGE_QUEUE_KILLS")
                          : 5;
    // Enough work for every kill to interrupt some: 12 steps per kill and job, in jobs of at most the engine's
    // 1000 steps (the store refuses more), so more jobs when there are many kills.
    const int work = 12 * kills + 40;
    const int steps = std::min(work, 1000);
    QList<JobSpec> specs;
    for (int i = 0; i < 6 * ((work + steps - 1) / steps); ++i)
        specs.push_back(spec(500 + i, steps));
    const auto ids = JobStore(db()).add(specs);
    auto* rng = QRandomGenerator::global();
    int killed = 0;
    for (int k = 0; k < kills; ++k) {
        auto w = start({QStringLiteral("--batch"), QStringLiteral("3"), QStringLiteral("--step-ms"),
                        QStringLiteral("2"), QStringLiteral("--checkpoint-every"), QStringLiteral("1")});
        // A random moment once this run has saved progress (sampling, a checkpoint write, a finished image
        // being written or recorded): every kill then interrupts work, not a start-up.
        QString log;
        QElapsedTimer t;
        t.start();
        while (!log.contains(QStringLiteral("saved ")) && w->state() == QProcess::Running && t.elapsed() < 30000) {
            w->waitForReadyRead(20);
            log += QString::fromUtf8(w->readAllStandardOutput());
        }
        if (w->state() != QProcess::Running)
            break; // the queue ran empty
        QThread::msleep(rng->bounded(60));
        w->kill();
        ASSERT_TRUE(w->waitForFinished(10000));
        killed += w->exitStatus() == QProcess::CrashExit;
    }
    EXPECT_GE(killed, std::min(kills, 3)) << "the workers were killed mid-work";
    auto last = start({QStringLiteral("--batch"), QStringLiteral("3")});
    ASSERT_TRUE(last->waitForFinished(120000));
    EXPECT_EQ(last->exitCode(), 0) << last->readAllStandardError().toStdString();
    expectAllDone(ids);
    // A half-written image may be left behind by a kill, never under a final name.
    for (const auto& name : QDir(out()).entryList(QDir::Files))
        EXPECT_TRUE(name.endsWith(QStringLiteral(".png")) || name.contains(QStringLiteral(".tmp")))
            << name.toStdString();
}

// One process with a worker per (fake) GPU, as charaforge-cli worker --devices runs them, killed while both of its
// workers are mid-batch: another such process takes their jobs over and resumes them from their saved steps; every
// job is done exactly once.
TEST_F(QueueProcesses, AProcessWithAWorkerPerDeviceKilledMidBatchHasItsJobsTakenOver) {
    QList<JobSpec> specs;
    for (int i = 0; i < 12; ++i)
        specs.push_back(spec(700 + i, 12));
    const auto ids = JobStore(db()).add(specs);
    const QStringList args{QStringLiteral("--devices"),
                           QStringLiteral("2"),
                           QStringLiteral("--batch"),
                           QStringLiteral("2"),
                           QStringLiteral("--step-ms"),
                           QStringLiteral("20"),
                           QStringLiteral("--checkpoint-every"),
                           QStringLiteral("1")};
    auto a = start(args);
    QString log;
    QElapsedTimer t;
    t.start();
    // Both workers are early in a batch that has saved progress: the batch each device claimed last has a running job
    // with 1 to 6 of its 12 steps saved, so at least 6 steps (120 ms) remain before that worker could claim a batch
    // without progress. (Counting "saved" lines raced: a worker could finish its batch and claim the next one just
    // before the kill.)
    const JobStore progress(db());
    const auto earlyInASavedBatch = [&](const QString& device) {
        QString last;
        for (const auto& line : log.split(QLatin1Char('\n')))
            if (line.startsWith(QStringLiteral("claimed ")) && line.endsWith(QStringLiteral(" on ") + device))
                last = line;
        for (auto id : claimedIn(last)) {
            const auto j = progress.job(id);
            if (j && j->state == JobState::Running && j->stepsDone >= 1 && j->stepsDone <= 6)
                return true;
        }
        return false;
    };
    while (!(earlyInASavedBatch(QStringLiteral("cuda:0")) && earlyInASavedBatch(QStringLiteral("cuda:1"))) &&
           a->state() == QProcess::Running && t.elapsed() < 30000) {
        a->waitForReadyRead(20);
        log += QString::fromUtf8(a->readAllStandardOutput());
    }
    ASSERT_EQ(a->state(), QProcess::Running) << "the first process ran everything before it could be killed";
    EXPECT_EQ(devicesIn(log), (QSet<QString>{QStringLiteral("cuda:0"), QStringLiteral("cuda:1")})) << log.toStdString();
    a->kill();
    ASSERT_TRUE(a->waitForFinished(10000));
    log += QString::fromUtf8(a->readAllStandardOutput());
    const auto byA = claimedIn(log);
    JobStore store(db());
    QList<qint64> interrupted;
    for (auto id : byA)
        if (store.job(id)->state == JobState::Running)
            interrupted.push_back(id);
    ASSERT_GE(interrupted.size(), 2) << "both workers were killed mid-batch";
    // Each worker was killed in a batch that had saved progress (the one it had just claimed may have none).
    for (const QString device : {QStringLiteral("cuda:0"), QStringLiteral("cuda:1")}) {
        int resumable = 0;
        for (const auto& line : log.split(QLatin1Char('\n')))
            if (line.endsWith(QStringLiteral(" on ") + device))
                for (auto id : claimedIn(line))
                    resumable += interrupted.contains(id) && store.job(id)->stepsDone > 0;
        EXPECT_GT(resumable, 0) << device.toStdString() << ": " << log.toStdString();
    }

    auto b = start(args);
    ASSERT_TRUE(b->waitForFinished(120000));
    EXPECT_EQ(b->exitCode(), 0) << b->readAllStandardError().toStdString();
    const QString logB = QString::fromUtf8(b->readAllStandardOutput());
    EXPECT_EQ(devicesIn(logB), (QSet<QString>{QStringLiteral("cuda:0"), QStringLiteral("cuda:1")}))
        << "both workers of the second process took part: " << logB.toStdString();
    const auto byB = claimedIn(logB);
    for (auto id : interrupted) {
        EXPECT_TRUE(byB.contains(id)) << "job " << id << " taken over";
        EXPECT_GT(store.job(id)->attempts, 1) << "job " << id;
    }
    QSet<qint64> claimedByB;
    for (auto id : byB) {
        EXPECT_FALSE(claimedByB.contains(id)) << "job " << id << " claimed twice by the second process";
        claimedByB.insert(id);
    }
    expectAllDone(ids);
}
