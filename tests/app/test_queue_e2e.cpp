// End to end on the tiny model: `charaforge-cli worker` is killed with SIGKILL in the middle of a job; after
// a restart every job completes exactly once with a readable PNG and its record, and the job that was
// interrupted gives the same image as an uninterrupted `charaforge-cli generate` of its seed.
#include "charaforge/imaging/png_io.h"
#include "queue/job_record.h"
#include "queue/job_store.h"
#include "test_util.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QThread>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>

using namespace charaforge;
using namespace charaforge::queue;

namespace {

QString cli() {
    return QStringLiteral(CHARAFORGE_CLI);
}

QString runCli(const QStringList& args, int timeoutMs = 120000) {
    QProcess p;
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(cli(), args);
    EXPECT_TRUE(p.waitForFinished(timeoutMs)) << "timed out: " << args.join(QLatin1Char(' ')).toStdString();
    const QString out = QString::fromUtf8(p.readAll());
    EXPECT_EQ(p.exitCode(), 0) << args.join(QLatin1Char(' ')).toStdString() << "\n" << out.toStdString();
    return out;
}

} // namespace

TEST(QueueEndToEnd, AWorkerKilledMidJobLosesNothingAndRunsNothingTwice) {
    test::TempDir tmp;
    const QString dir = QString::fromStdString(tmp.path().string());
    const QString model = dir + QStringLiteral("/model"), out = dir + QStringLiteral("/out"),
                  db = dir + QStringLiteral("/queue.sqlite"), promptFile = dir + QStringLiteral("/prompt.xml");
    runCli({QStringLiteral("make-test-model"), model});
    {
        QFile f(promptFile);
        ASSERT_TRUE(f.open(QIODevice::WriteOnly));
        f.write(
            "<character_1>\n<n>$character_1$</n>\n<gender>1girl</gender>\n<appearance>long_hair, "
            "blue_eyes</appearance>\n</character_1>\n<general_tags>\n<style>anime_style</style>\n</general_tags>\n");
    }
    constexpr int kJobs = 6, kSteps = 40;
    runCli({QStringLiteral("queue"), QStringLiteral("add"), promptFile, QStringLiteral("--count"),
            QString::number(kJobs), QStringLiteral("--seed"), QStringLiteral("100"), QStringLiteral("--width"),
            QStringLiteral("128"), QStringLiteral("--height"), QStringLiteral("128"), QStringLiteral("--steps"),
            QString::number(kSteps), QStringLiteral("--model"), model, QStringLiteral("--out"), out,
            QStringLiteral("--queue"), db});

    const QStringList workerArgs{QStringLiteral("worker"),
                                 QStringLiteral("--queue"),
                                 db,
                                 QStringLiteral("--until-empty"),
                                 QStringLiteral("--batch"),
                                 QStringLiteral("2"),
                                 QStringLiteral("--device"),
                                 QStringLiteral("cpu"),
                                 QStringLiteral("--checkpoint-every"),
                                 QStringLiteral("2")};
    QProcess worker;
    worker.setProcessChannelMode(QProcess::MergedChannels);
    worker.start(cli(), workerArgs);
    ASSERT_TRUE(worker.waitForStarted());

    // Kill once a job is done and another is part-way with a saved state.
    JobStore store(db);
    QElapsedTimer clock;
    clock.start();
    QList<qint64> interrupted;
    while (clock.elapsed() < 180000 && worker.state() == QProcess::Running) {
        int done = 0;
        QList<qint64> midway;
        for (const auto& j : store.jobs()) {
            done += j.state == JobState::Done;
            if (j.state == JobState::Running && j.stepsDone >= 4 && j.stepsDone <= kSteps - 8)
                midway.push_back(j.id);
        }
        if (done >= 1 && !midway.isEmpty()) {
            worker.kill(); // SIGKILL: no handler, no cleanup
            interrupted = midway;
            break;
        }
        QThread::msleep(5);
    }
    worker.waitForFinished(10000);
    ASSERT_FALSE(interrupted.isEmpty()) << "the worker was never caught mid-job:\n"
                                        << QString::fromUtf8(worker.readAll()).toStdString();
    EXPECT_EQ(worker.exitStatus(), QProcess::CrashExit);
    QList<Job> atKill = store.jobs();
    int doneAtKill = 0;
    for (const auto& j : atKill)
        doneAtKill += j.state == JobState::Done;
    EXPECT_LT(doneAtKill, kJobs);

    // Restart: the interrupted jobs resume from their saved step; the rest run once.
    const QString log = runCli(workerArgs, 300000);
    const auto jobs = store.jobs();
    ASSERT_EQ(jobs.size(), kJobs);
    QStringList files;
    for (const auto& j : jobs) {
        ASSERT_EQ(j.state, JobState::Done) << "job " << j.id << ": " << j.message.toStdString() << "\n"
                                           << log.toStdString();
        imaging::TextChunks text;
        const auto img = imaging::read_png(j.outputPath.toStdString(), &text);
        EXPECT_EQ(img.width, 128);
        EXPECT_EQ(jobIdFromPngText(text), j.id);
        // Started twice only if it was running when the worker was killed.
        bool runningAtKill = false;
        for (const auto& k : atKill)
            runningAtKill = runningAtKill || (k.id == j.id && k.state == JobState::Running);
        EXPECT_EQ(j.attempts, runningAtKill ? 2 : 1) << "job " << j.id;
        files << j.outputPath;
    }
    for (const auto& j : atKill) {
        if (j.state == JobState::Done) {
            EXPECT_EQ(store.job(j.id)->attempts, 1) << "a job done before the kill never ran again";
        }
    }
    // Exactly one complete file per job, nothing half-written.
    const auto onDisk = QDir(out).entryList(QDir::Files);
    EXPECT_EQ(onDisk.size(), kJobs) << onDisk.join(QLatin1Char(' ')).toStdString();
    EXPECT_TRUE(log.contains(QStringLiteral("queue empty"))) << log.toStdString();

    // The resumed image equals an uninterrupted generation of the same seed.
    const Job resumed = *store.job(interrupted.front());
    const QString ref = dir + QStringLiteral("/reference.png");
    runCli({QStringLiteral("generate"), QStringLiteral("--model"), model, QStringLiteral("--prompt"),
            resumed.spec.prompt, QStringLiteral("--seed"), QString::number(resumed.spec.seed),
            QStringLiteral("--steps"), QString::number(kSteps), QStringLiteral("--width"), QStringLiteral("128"),
            QStringLiteral("--height"), QStringLiteral("128"), QStringLiteral("--device"), QStringLiteral("cpu"),
            QStringLiteral("--out"), ref});
    const auto a = imaging::read_png(resumed.outputPath.toStdString()).rgb;
    const auto b = imaging::read_png(ref.toStdString()).rgb;
    ASSERT_EQ(a.size(), b.size());
    int maxDiff = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        maxDiff = std::max(maxDiff, std::abs(int(a[i]) - int(b[i])));
    int fromStep = 0;
    for (const auto& j : atKill)
        if (j.id == resumed.id)
            fromStep = j.stepsDone;
    std::printf("resumed job %lld (from step %d of %d): max difference to an uninterrupted run %d/255\n",
                static_cast<long long>(resumed.id), fromStep, kSteps, maxDiff);
    EXPECT_LE(maxDiff, 2);
}
