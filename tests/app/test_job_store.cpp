// The crash-safe queue store: state machine, claims across connections, recovery of abandoned jobs.
#include "queue/batcher.h"
#include "queue/job_store.h"
#include "test_util.h"

#include <QSysInfo>
#include <QThread>

#include <gtest/gtest.h>

#include <unistd.h>

using namespace charaforge::queue;

namespace {

JobSpec spec(int size = 512, qint64 seed = 1,
             const QString& prompt = QStringLiteral("<general_tags>x</general_tags>")) {
    JobSpec s;
    s.prompt = prompt;
    s.width = s.height = size;
    s.steps = 8;
    s.seed = seed;
    s.model = QStringLiteral("/models/a");
    s.outputDir = QStringLiteral("/tmp/out");
    return s;
}

QList<qint64> idsOf(const QList<Job>& jobs) {
    QList<qint64> ids;
    for (const auto& j : jobs)
        ids.push_back(j.id);
    return ids;
}

// An owner string for a process that does not exist on this host.
QString deadOwner() {
    return QStringLiteral("%1:%2:deadbeef").arg(QSysInfo::machineHostName()).arg(999999999);
}

class JobStoreTest : public ::testing::Test {
protected:
    charaforge::test::TempDir dir;
    QString path() const { return QString::fromStdString(dir.path().string() + "/queue.sqlite"); }
};

} // namespace

TEST_F(JobStoreTest, JobsKeepTheirSettingsAndOrder) {
    JobStore store(path());
    auto a = spec(512, 7);
    a.negative = QStringLiteral("blurry");
    a.sampler = QStringLiteral("midpoint");
    a.cfg = 4.5;
    a.cfgTrunc = 0.8;
    a.renorm = 1.0;
    a.shift = 3.0;
    a.seed = 9007199254740993LL; // beyond double precision: stored exactly
    const auto ids = store.add({a, spec(768, 2)}, QStringLiteral("g1"));
    ASSERT_EQ(ids.size(), 2);
    EXPECT_LT(ids[0], ids[1]);
    JobStore reopened(path());
    const auto jobs = reopened.jobs();
    ASSERT_EQ(jobs.size(), 2);
    EXPECT_EQ(jobs[0].spec, a);
    EXPECT_EQ(jobs[0].state, JobState::Queued);
    EXPECT_EQ(jobs[0].group, QStringLiteral("g1"));
    EXPECT_EQ(jobs[1].spec.width, 768);
}

TEST_F(JobStoreTest, ClaimTakesTheHeadAndTheCompatibleJobsAfterIt) {
    JobStore store(path());
    // 512, 1024, 512, 512: the first batch is the head and its compatible followers, in order.
    const auto ids = store.add({spec(512, 1), spec(1024, 2), spec(512, 3), spec(512, 4)});
    const auto owner = JobStore::processOwner();
    auto first = store.claimBatch(owner, [](const Job&) { return 2; });
    EXPECT_EQ(idsOf(first), (QList<qint64>{ids[0], ids[2]}));
    auto second = store.claimBatch(owner, [](const Job&) { return 4; });
    EXPECT_EQ(idsOf(second), (QList<qint64>{ids[1]}));
    auto third = store.claimBatch(owner, [](const Job&) { return 4; });
    EXPECT_EQ(idsOf(third), (QList<qint64>{ids[3]}));
    EXPECT_TRUE(store.claimBatch(owner, [](const Job&) { return 4; }).isEmpty());
    for (const auto& j : store.jobs()) {
        EXPECT_EQ(j.state, JobState::Running);
        EXPECT_EQ(j.attempts, 1);
    }
}

TEST_F(JobStoreTest, JobsAtDifferentResumeStepsAreNotBatchedTogether) {
    QList<Job> queued(3);
    for (int i = 0; i < 3; ++i) {
        queued[i].id = i + 1;
        queued[i].spec = spec(512, i);
    }
    queued[1].stepsDone = 4;
    EXPECT_EQ(selectBatch(queued, 8), (QList<int>{0, 2}));
    queued[1].spec.prompt = QStringLiteral("other prompt"); // prompts never split a batch
    queued[1].stepsDone = 0;
    EXPECT_EQ(selectBatch(queued, 8), (QList<int>{0, 1, 2}));
    EXPECT_EQ(selectBatch(queued, 0), (QList<int>{0}));
}

TEST_F(JobStoreTest, TwoConnectionsNeverClaimTheSameJob) {
    JobStore a(path());
    JobStore b(path());
    QList<JobSpec> specs;
    for (int i = 0; i < 20; ++i)
        specs.push_back(spec(512 + 16 * (i % 3), i));
    a.add(specs);
    QList<qint64> seen;
    for (int round = 0; round < 20; ++round) {
        auto& store = round % 2 ? a : b;
        for (const auto& j : store.claimBatch(round % 2 ? QStringLiteral("h:1:a") : QStringLiteral("h:2:b"),
                                              [](const Job&) { return 3; })) {
            EXPECT_FALSE(seen.contains(j.id)) << "job " << j.id << " claimed twice";
            seen.push_back(j.id);
        }
    }
    EXPECT_EQ(seen.size(), 20);
}

TEST_F(JobStoreTest, PauseStopsClaimsAndIsPersistent) {
    {
        JobStore store(path());
        store.add({spec()});
        store.setPaused(true);
        EXPECT_TRUE(store.claimBatch(JobStore::processOwner(), [](const Job&) { return 1; }).isEmpty());
    }
    JobStore store(path());
    EXPECT_TRUE(store.paused());
    store.setPaused(false);
    EXPECT_EQ(store.claimBatch(JobStore::processOwner(), [](const Job&) { return 1; }).size(), 1);
}

TEST_F(JobStoreTest, StateChangesFollowTheStateMachine) {
    JobStore store(path());
    const auto owner = JobStore::processOwner();
    const auto ids = store.add({spec(512, 1), spec(512, 2), spec(512, 3)});
    auto running = store.claimBatch(owner, [](const Job&) { return 2; });
    ASSERT_EQ(idsOf(running), (QList<qint64>{ids[0], ids[1]}));

    EXPECT_FALSE(store.markDone(ids[0], QStringLiteral("someone:else:1"), QStringLiteral("/x.png")));
    EXPECT_TRUE(store.markDone(ids[0], owner, QStringLiteral("/x.png")));
    EXPECT_FALSE(store.markDone(ids[0], owner, QStringLiteral("/x.png"))) << "done is final";
    EXPECT_TRUE(store.markFailed(ids[1], owner, QStringLiteral("boom")));
    EXPECT_EQ(store.job(ids[1])->message, QStringLiteral("boom"));

    EXPECT_THROW(store.retry({ids[2]}), StoreError) << "a queued job cannot be retried";
    store.retry({ids[1]});
    EXPECT_EQ(store.job(ids[1])->state, JobState::Queued);
    EXPECT_EQ(store.jobs().back().id, ids[1]) << "a retried job goes to the end";
    EXPECT_TRUE(store.job(ids[1])->message.isEmpty());

    store.cancel({ids[2]});
    EXPECT_EQ(store.job(ids[2])->state, JobState::Cancelled);
    store.retry({ids[2]});
    EXPECT_EQ(store.job(ids[2])->state, JobState::Queued);

    const auto copies = store.duplicate({ids[0]});
    ASSERT_EQ(copies.size(), 1);
    EXPECT_EQ(store.job(copies[0])->spec, store.job(ids[0])->spec);
    EXPECT_EQ(store.job(copies[0])->state, JobState::Queued);

    store.remove({ids[0], ids[1]}); // ids[1] is queued: stays
    EXPECT_FALSE(store.job(ids[0]).has_value());
    EXPECT_TRUE(store.job(ids[1]).has_value());
    EXPECT_EQ(store.jobs().size(), 3);
}

TEST_F(JobStoreTest, CancellingARunningJobIsSeenByItsWorker) {
    JobStore worker(path());
    JobStore gui(path());
    const auto owner = JobStore::processOwner();
    const auto ids = worker.add({spec(512, 1), spec(512, 2)});
    worker.claimBatch(owner, [](const Job&) { return 2; });
    EXPECT_TRUE(worker.lostJobs(owner, ids).isEmpty());
    const auto before = worker.dataVersion();
    gui.cancel({ids[1]});
    EXPECT_NE(worker.dataVersion(), before) << "other connections see a new data version";
    EXPECT_EQ(worker.lostJobs(owner, ids), (QList<qint64>{ids[1]}));
    EXPECT_FALSE(worker.markDone(ids[1], owner, QStringLiteral("/late.png"))) << "a cancelled job stays cancelled";
    EXPECT_EQ(gui.job(ids[1])->state, JobState::Cancelled);
}

TEST_F(JobStoreTest, EditingIsForQueuedJobsAndDropsAStaleCheckpoint) {
    JobStore store(path());
    const auto ids = store.add({spec(512, 1), spec(512, 2)});
    Checkpoint c{3, 1, 1, 2, QByteArray(8, 'x')};
    store.saveCheckpoint(ids[1], c);
    auto same = store.job(ids[1])->spec;
    store.edit(ids[1], same);
    EXPECT_TRUE(store.checkpoint(ids[1]).has_value()) << "an unchanged spec keeps its checkpoint";
    auto changed = same;
    changed.prompt = QStringLiteral("new prompt");
    changed.seed = 99;
    store.edit(ids[1], changed);
    EXPECT_EQ(store.job(ids[1])->spec, changed);
    EXPECT_FALSE(store.checkpoint(ids[1]).has_value());
    EXPECT_EQ(store.job(ids[1])->stepsDone, 0);

    store.claimBatch(JobStore::processOwner(), [](const Job&) { return 1; });
    try {
        store.edit(ids[0], changed);
        FAIL() << "editing a running job must throw";
    } catch (const StoreError& e) {
        EXPECT_NE(std::string(e.what()).find("job " + std::to_string(ids[0]) + " is running"), std::string::npos)
            << e.what();
    }
}

TEST_F(JobStoreTest, MoveReordersQueuedJobs) {
    JobStore store(path());
    const auto ids = store.add({spec(512, 1), spec(512, 2), spec(512, 3), spec(512, 4)});
    store.move(ids[3], ids[0]); // to the top
    EXPECT_EQ(idsOf(store.jobs()), (QList<qint64>{ids[3], ids[0], ids[1], ids[2]}));
    store.move(ids[3], -1); // to the end
    EXPECT_EQ(idsOf(store.jobs()), (QList<qint64>{ids[0], ids[1], ids[2], ids[3]}));
    store.move(ids[2], ids[1]);
    EXPECT_EQ(idsOf(store.jobs()), (QList<qint64>{ids[0], ids[2], ids[1], ids[3]}));
    // The claim order follows.
    EXPECT_EQ(store.claimBatch(JobStore::processOwner(), [](const Job&) { return 1; }).front().id, ids[0]);
    EXPECT_THROW(store.move(ids[0], -1), StoreError) << "a running job is not moved";
    EXPECT_EQ(store.claimBatch(JobStore::processOwner(), [](const Job&) { return 1; }).front().id, ids[2]);
}

TEST_F(JobStoreTest, AbandonedJobsReturnToTheQueueWithTheirCheckpoint) {
    JobStore store(path());
    const auto ids = store.add({spec(512, 1), spec(512, 2), spec(512, 3)});
    // A worker that died mid-job (its pid no longer exists on this host).
    store.claimBatch(deadOwner(), [](const Job&) { return 1; });
    Checkpoint c{5, 16, 2, 2, QByteArray(16 * 4 * 4, '\x01')};
    store.saveCheckpoint(ids[0], c);
    // A living worker of another process (our parent) with a fresh heartbeat keeps its job.
    const QString alive = QStringLiteral("%1:%2:cafe").arg(QSysInfo::machineHostName()).arg(::getppid());
    store.claimBatch(alive, [](const Job&) { return 1; });
    // A previous process of ours that had our pid: same pid, another token.
    const QString previous = QStringLiteral("%1:%2:0000").arg(QSysInfo::machineHostName()).arg(::getpid());
    store.claimBatch(previous, [](const Job&) { return 1; });

    const auto recovered = store.recoverAbandoned();
    EXPECT_EQ(recovered, (QList<qint64>{ids[0], ids[2]}));
    EXPECT_EQ(store.job(ids[0])->state, JobState::Queued);
    EXPECT_EQ(store.job(ids[0])->stepsDone, 5);
    const auto saved = store.checkpoint(ids[0]);
    ASSERT_TRUE(saved.has_value());
    EXPECT_EQ(saved->step, 5);
    EXPECT_EQ(saved->latent, c.latent);
    EXPECT_EQ(store.job(ids[1])->state, JobState::Running);

    // Another host's worker is judged by its heartbeat alone.
    const auto remote = store.claimBatch(QStringLiteral("another-host:1:beef"), [](const Job&) { return 1; });
    ASSERT_EQ(remote.size(), 1);
    EXPECT_TRUE(store.recoverAbandoned(60000).isEmpty());
    QThread::msleep(60);
    EXPECT_EQ(store.recoverAbandoned(40), (QList<qint64>{remote[0].id})) << "the living local worker is kept";
}

TEST_F(JobStoreTest, NotADatabaseIsAClearError) {
    {
        std::FILE* f = std::fopen((dir.path().string() + "/queue.sqlite").c_str(), "wb");
        std::fputs("this is not sqlite, just some text that is long enough to look like a header........", f);
        std::fclose(f);
    }
    try {
        JobStore store(path());
        FAIL() << "opening garbage must throw";
    } catch (const StoreError& e) {
        EXPECT_NE(std::string(e.what()).find("queue.sqlite"), std::string::npos) << e.what();
    }
}
