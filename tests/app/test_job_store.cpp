// The crash-safe queue store: state machine, claims across connections, recovery of abandoned jobs.
#include "queue/batcher.h"
#include "queue/job_request.h"
#include "queue/job_store.h"
#include "queue/job_title.h"
#include "test_util.h"

#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QSysInfo>
#include <QThread>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
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

// An owner like `JobStore::newOwnerId()` ("host:pidspace:pid:processtoken:instance") with another pid or
// process token: a worker of this pid space.
QString ownerWith(const QString& pid, const QString& processToken = QStringLiteral("0123456789abcdef")) {
    auto parts = JobStore::newOwnerId().split(QLatin1Char(':'));
    parts[2] = pid;
    parts[3] = processToken;
    return parts.join(QLatin1Char(':'));
}

// A worker of this pid space whose process no longer exists (beyond the kernel's pid_max).
QString deadOwner() {
    return ownerWith(QStringLiteral("999999999"));
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
    a.seed = 4294967295LL; // the largest seed (engine::kMaxSeed), stored exactly
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

// Retry with the window's model: a job that failed on another model (a folder that went bad) runs again on the
// given one from its first step; a job of that model keeps its checkpoint.
TEST_F(JobStoreTest, RetryWithAModelRequeuesOtherModelsJobsOnItFromTheStart) {
    JobStore store(path());
    const auto owner = JobStore::processOwner();
    const auto ids = store.add({spec(512, 1), spec(512, 2)});
    ASSERT_EQ(store.claimBatch(owner, [](const Job&) { return 2; }).size(), 2);
    for (auto id : ids)
        store.saveCheckpoint(id, Checkpoint{3, 1, 1, 2, QByteArray(8, 'x')});
    store.markFailed(ids[0], owner, QStringLiteral("model: /models/a does not exist"));
    store.markFailed(ids[1], owner, QStringLiteral("out of memory"));
    store.retry({ids[0]}, QStringLiteral("/models/b"));
    EXPECT_EQ(store.job(ids[0])->state, JobState::Queued);
    EXPECT_EQ(store.job(ids[0])->spec.model, QStringLiteral("/models/b")) << "was retried with its bad model";
    EXPECT_EQ(store.job(ids[0])->stepsDone, 0);
    EXPECT_FALSE(store.checkpoint(ids[0]).has_value()) << "the latent belongs to the other model";
    store.retry({ids[1]}, QStringLiteral("/models/a"));
    EXPECT_EQ(store.job(ids[1])->spec.model, QStringLiteral("/models/a"));
    EXPECT_TRUE(store.checkpoint(ids[1]).has_value()) << "same model: it resumes";
    EXPECT_THROW(store.retry({ids[1]}, QStringLiteral("/models/b")), StoreError) << "queued: not retried";
    EXPECT_EQ(store.job(ids[1])->spec.model, QStringLiteral("/models/a")) << "a refused retry changes nothing";
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
    const QString alive = ownerWith(QString::number(::getppid()));
    store.claimBatch(alive, [](const Job&) { return 1; });
    // A previous process of ours that had our pid: same pid, another token.
    const QString previous = ownerWith(QString::number(::getpid()));
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
    // A stale heartbeat means a hung or dead worker wherever it runs (a living worker beats from a thread of
    // its own, see Heartbeat): the local one whose process still exists is taken back too.
    auto stale = store.recoverAbandoned(40);
    std::sort(stale.begin(), stale.end());
    EXPECT_EQ(stale, (QList<qint64>{remote[0].id, ids[1]}));
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

TEST_F(JobStoreTest, AJobWhoseWorkerDiedThreeTimesFailsAndTheQueueGoesOn) {
    JobStore store(path());
    const auto ids = store.add({spec(512, 1), spec(512, 2)});
    for (int death = 1; death <= 3; ++death) {
        const auto claimed = store.claimBatch(deadOwner(), [](const Job&) { return 1; });
        ASSERT_EQ(idsOf(claimed), (QList<qint64>{ids[0]})) << "death " << death;
        const auto recovered = store.recoverAbandoned();
        if (death < 3) {
            EXPECT_EQ(recovered, (QList<qint64>{ids[0]}));
            EXPECT_EQ(store.job(ids[0])->state, JobState::Queued);
        } else {
            EXPECT_TRUE(recovered.isEmpty()) << "not queued a fourth time";
        }
        EXPECT_EQ(store.job(ids[0])->workerDeaths, death);
    }
    const auto failed = *store.job(ids[0]);
    EXPECT_EQ(failed.state, JobState::Failed);
    EXPECT_TRUE(failed.message.contains(QStringLiteral("stopped 3 times"))) << failed.message.toStdString();
    EXPECT_EQ(idsOf(store.claimBatch(JobStore::processOwner(), [](const Job&) { return 1; })), (QList<qint64>{ids[1]}))
        << "the next job runs";
}

TEST_F(JobStoreTest, AWorkerInAnotherPidNamespaceIsJudgedByItsHeartbeatOnly) {
    JobStore store(path());
    store.add({spec(512, 1)});
    // Same host name, another container: its pid does not exist here, but it is alive.
    auto parts = deadOwner().split(QLatin1Char(':'));
    parts[1] = QStringLiteral("0000000000000000-4026539999");
    const QString otherNamespace = parts.join(QLatin1Char(':'));
    const auto claimed = store.claimBatch(otherNamespace, [](const Job&) { return 1; });
    ASSERT_EQ(claimed.size(), 1);
    EXPECT_TRUE(store.recoverAbandoned().isEmpty()) << "a fresh heartbeat keeps the job";
    EXPECT_EQ(store.job(claimed[0].id)->state, JobState::Running);
    QThread::msleep(60);
    EXPECT_EQ(store.recoverAbandoned(40), (QList<qint64>{claimed[0].id})) << "a stale one does not";
}

TEST_F(JobStoreTest, EachOwnerIdIsNew) {
    const auto a = JobStore::newOwnerId(), b = JobStore::newOwnerId();
    EXPECT_NE(a, b);
    EXPECT_EQ(a.split(QLatin1Char(':')).size(), 5) << a.toStdString();
}

TEST_F(JobStoreTest, EachQueueHasItsOwnLastingId) {
    QString id;
    {
        JobStore store(path());
        EXPECT_TRUE(store.created());
        id = store.queueId();
        EXPECT_EQ(id.size(), 36) << id.toStdString();
    }
    JobStore reopened(path());
    EXPECT_FALSE(reopened.created());
    EXPECT_EQ(reopened.queueId(), id);
    JobStore other(QString::fromStdString(dir.path().string() + "/other.sqlite"));
    EXPECT_NE(other.queueId(), id);
}

TEST_F(JobStoreTest, AnInMemoryQueueIsRefused) {
    for (const QString& p : {QStringLiteral(":memory:"), QString(), QStringLiteral("file:q?mode=memory")}) {
        try {
            JobStore store(p);
            FAIL() << "accepted " << p.toStdString();
        } catch (const StoreError& e) {
            EXPECT_NE(std::string(e.what()).find("not a queue file"), std::string::npos) << e.what();
        }
    }
}

TEST_F(JobStoreTest, ABusyDatabaseIsATransientErrorThatNamesTheOperationNotTheSql) {
    JobStore store(path(), 50);
    {
        auto db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("blocker"));
        db.setDatabaseName(path());
        ASSERT_TRUE(db.open());
        QSqlQuery q(db);
        ASSERT_TRUE(q.exec(QStringLiteral("BEGIN IMMEDIATE")));
        try {
            store.add({spec()});
            FAIL() << "a write under another connection's lock must fail after the busy timeout";
        } catch (const StoreError& e) {
            const std::string m = e.what();
            EXPECT_TRUE(e.transient()) << m;
            EXPECT_NE(m.find("cannot add jobs"), std::string::npos) << m;
            EXPECT_NE(m.find("locked by another process"), std::string::npos) << m;
            EXPECT_NE(m.find("queue.sqlite"), std::string::npos) << m;
            for (const char* sql : {"BEGIN", "INSERT", "IMMEDIATE"})
                EXPECT_EQ(m.find(sql), std::string::npos) << "raw SQL in: " << m;
        }
        q.exec(QStringLiteral("ROLLBACK"));
        db.close();
    }
    QSqlDatabase::removeDatabase(QStringLiteral("blocker"));
    EXPECT_EQ(store.add({spec()}).size(), 1);
}

TEST_F(JobStoreTest, AQueueOfTheFirstSchemaIsUpgraded) {
    {
        auto db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("v1"));
        db.setDatabaseName(path());
        ASSERT_TRUE(db.open());
        QSqlQuery q(db);
        for (const char* sql :
             {"CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)", "INSERT INTO meta VALUES ('schema', '1')",
              "CREATE TABLE jobs(id INTEGER PRIMARY KEY AUTOINCREMENT, position REAL NOT NULL, state TEXT NOT NULL,"
              " prompt TEXT NOT NULL, negative TEXT NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL,"
              " steps INTEGER NOT NULL, sampler TEXT NOT NULL, cfg REAL NOT NULL, cfg_trunc REAL NOT NULL,"
              " renorm REAL NOT NULL, shift REAL NOT NULL, seed INTEGER NOT NULL, model TEXT NOT NULL,"
              " output_dir TEXT NOT NULL, grp TEXT NOT NULL DEFAULT '', attempts INTEGER NOT NULL DEFAULT 0,"
              " owner TEXT NOT NULL DEFAULT '', heartbeat INTEGER NOT NULL DEFAULT 0,"
              " steps_done INTEGER NOT NULL DEFAULT 0, output_path TEXT NOT NULL DEFAULT '',"
              " message TEXT NOT NULL DEFAULT '', created INTEGER NOT NULL, finished INTEGER NOT NULL DEFAULT 0)",
              "INSERT INTO jobs(position, state, prompt, negative, width, height, steps, sampler, cfg, cfg_trunc,"
              " renorm, shift, seed, model, output_dir, created) VALUES (1, 'queued', 'p', '', 64, 64, 4, 'euler',"
              " 5, 1, 0, 6, 3, '/m', '/o', 0)"})
            ASSERT_TRUE(q.exec(QString::fromLatin1(sql))) << q.lastError().text().toStdString();
        db.close();
    }
    QSqlDatabase::removeDatabase(QStringLiteral("v1"));
    JobStore store(path());
    ASSERT_EQ(store.jobs().size(), 1);
    EXPECT_EQ(store.jobs().front().spec.seed, 3);
    EXPECT_EQ(store.jobs().front().workerDeaths, 0);
    EXPECT_FALSE(store.queueId().isEmpty());
}

TEST_F(JobStoreTest, AWorkerKilledAfterSavingProgressIsNotCountedAsADeathOfTheJob) {
    JobStore store(path());
    const auto ids = store.add({spec(512, 1)});
    for (int kill = 1; kill <= 5; ++kill) {
        ASSERT_EQ(store.claimBatch(deadOwner(), [](const Job&) { return 1; }).size(), 1) << "kill " << kill;
        store.saveCheckpoint(ids[0], Checkpoint{kill, 1, 1, 1, QByteArray(4, 'x')});
        EXPECT_EQ(store.recoverAbandoned(), (QList<qint64>{ids[0]}));
        EXPECT_EQ(store.job(ids[0])->workerDeaths, 0) << "it made progress: killed mid-work, not a crashing job";
    }
    EXPECT_EQ(store.job(ids[0])->state, JobState::Queued);
}

TEST_F(JobStoreTest, AJobWhoseWorkerDiedRunsAlone) {
    QList<Job> queued(3);
    for (int i = 0; i < 3; ++i) {
        queued[i].id = i + 1;
        queued[i].spec = spec(512, i);
    }
    queued[1].workerDeaths = 1;
    EXPECT_EQ(selectBatch(queued, 8), (QList<int>{0, 2})) << "not batched with a suspect";
    queued[0].workerDeaths = 2;
    EXPECT_EQ(selectBatch(queued, 8), (QList<int>{0})) << "a suspect at the head runs alone";
}

TEST(JobRequest, EachSamplerNameIsItsSolver) {
    JobSpec s;
    const std::vector<std::pair<QString, charaforge::engine::SolverKind>> names{
        {QStringLiteral("euler"), charaforge::engine::SolverKind::Euler},
        {QStringLiteral("midpoint"), charaforge::engine::SolverKind::Midpoint},
        {QStringLiteral("dpm"), charaforge::engine::SolverKind::DpmMultistep}};
    for (const auto& [name, solver] : names) {
        s.sampler = name;
        EXPECT_EQ(requestFor(s).solver, solver) << name.toStdString();
        EXPECT_TRUE(specProblems(s).isEmpty()) << name.toStdString();
    }
}

// The engine's request check guards the queue itself: a job the engine would refuse never enters the
// database, whoever adds it (CLI, window, a group), and the error names the job's field.
TEST_F(JobStoreTest, AJobTheEngineWouldRefuseNeverEntersTheQueue) {
    JobStore store(path());
    const QString lone = QString(QChar(0xD800)); // an unpaired surrogate: no valid UTF-8 for it
    const std::pair<const char*, std::function<void(JobSpec&)>> bad[] = {
        {"prompt: invalid UTF-8", [&](JobSpec& s) { s.prompt += lone; }},
        {"negative: invalid UTF-8", [&](JobSpec& s) { s.negative = QStringLiteral("ok") + lone; }},
        {"cfg: nan is not a finite number", [](JobSpec& s) { s.cfg = std::nan(""); }},
        {"cfg: inf is not a finite number", [](JobSpec& s) { s.cfg = HUGE_VAL; }},
        {"cfg: ", [](JobSpec& s) { s.cfg = 1e300; }},
        {"renorm: ", [](JobSpec& s) { s.renorm = -1; }},
        {"cfg_trunc: ", [](JobSpec& s) { s.cfgTrunc = 2; }},
        {"shift: ", [](JobSpec& s) { s.shift = 0; }},
        {"width: 100 must be a multiple of 16", [](JobSpec& s) { s.width = 100; }},
        {"height: 8208", [](JobSpec& s) { s.height = 8208; }},
        {"width: 0", [](JobSpec& s) { s.width = 0; }},
        {"steps: 0", [](JobSpec& s) { s.steps = 0; }},
        {"steps: 1001", [](JobSpec& s) { s.steps = 1001; }},
        {"seed: -1 is negative", [](JobSpec& s) { s.seed = -1; }},
        {"seed: 4294967296 is above 4294967295", [](JobSpec& s) { s.seed = 4294967296; }},
        {"sampler: 'heun' is not euler, midpoint or dpm", [](JobSpec& s) { s.sampler = QStringLiteral("heun"); }},
        {"sampler: 'DPM' is not euler", [](JobSpec& s) { s.sampler = QStringLiteral("DPM"); }},
    };
    const auto ids = store.add({spec(512, 1)});
    for (const auto& [expected, spoil] : bad) {
        JobSpec s = spec(512, 2);
        spoil(s);
        try {
            store.add({spec(512, 3), s});
            ADD_FAILURE() << "queued a job with " << expected;
        } catch (const StoreError& e) {
            EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find("job 2 of 2"), std::string::npos) << e.what();
            EXPECT_FALSE(e.transient());
        }
        EXPECT_THROW(store.edit(ids[0], s), StoreError) << expected;
    }
    ASSERT_EQ(store.jobs().size(), 1) << "nothing of a refused add was written";
    EXPECT_EQ(store.jobs().front().spec, spec(512, 1)) << "a refused edit changed nothing";
    // The whole seed range and text beyond the BMP (surrogate pairs) are fine.
    JobSpec edge = spec(8192, 4294967295);
    edge.prompt = QStringLiteral("<general_tags>\U0001F338 \u82B1</general_tags>");
    edge.steps = 1000;
    EXPECT_EQ(store.add({edge}).size(), 1);
    EXPECT_EQ(exactUtf8(edge.prompt), edge.prompt.toStdString());
}

// Cancelling a finished job leaves it as it is; an id that is no job (a typo in `queue cancel 71`) is an error
// naming it, and the jobs cancelled with it in one call are not cancelled either (one transaction).
TEST_F(JobStoreTest, CancellingAnIdThatIsNoJobIsAnErrorNamingIt) {
    JobStore store(path());
    const auto ids = store.add({spec(512, 1), spec(512, 2)});
    try {
        store.cancel({ids[0], 9999});
        ADD_FAILURE() << "expected a StoreError";
    } catch (const StoreError& e) {
        EXPECT_NE(std::string(e.what()).find("no job 9999"), std::string::npos) << e.what();
    }
    EXPECT_EQ(store.job(ids[0])->state, JobState::Queued);
    store.cancel({ids[0]});
    store.cancel({ids[0]}); // already cancelled: no error
    EXPECT_EQ(store.job(ids[0])->state, JobState::Cancelled);
}

// A job's title names the characters (it was the prompt's text with the markup stripped), then the style and
// background. An unnamed character ($character_N$, the form's and the example's placeholder) is named by its
// gender and first looks: the queue's narrow column showed "character…" for every such job.
TEST(JobTitle, NamesTheCharactersAndDescribesThePlaceholders) {

    EXPECT_EQ(jobTitle(QStringLiteral(
                           "<character_1><n>hatsune_miku</n><gender>1girl</gender><appearance>twintails</appearance>"
                           "</character_1><character_2><n>$character_2$</n><gender>1boy</gender></character_2>"
                           "<general_tags><count>1girl, 1boy</count><style>watercolor</style>"
                           "<background>night</background></general_tags>"),
                       80),
              QStringLiteral("hatsune_miku (1girl) & 1boy · watercolor, night"));
    // The studio's example prompt.
    EXPECT_EQ(jobTitle(QStringLiteral("<character_1><n>$character_1$</n><gender>1girl</gender>"
                                      "<appearance>long_hair, silver_hair, blue_eyes</appearance>"
                                      "<clothing>school_uniform</clothing></character_1><general_tags>"
                                      "<count>1girl</count><style>anime_style</style>"
                                      "<background>cherry_blossoms</background></general_tags>"),
                       80),
              QStringLiteral("1girl (long_hair, silver_hair) · anime_style, cherry_blossoms"));
    // No gender: the looks alone, the clothing when it has no appearance tags; nothing at all: its number.
    EXPECT_EQ(jobTitle(QStringLiteral("<character_1><n>$character_1$</n><clothing>suit, tie, hat</clothing>"
                                      "</character_1><character_2><n></n></character_2>"),
                       80),
              QStringLiteral("suit, tie & character 2"));
    EXPECT_EQ(jobTitle(QStringLiteral("<character_1><n>$character_1$</n></character_1>"), 80),
              QStringLiteral("character 1"));
    EXPECT_EQ(jobTitle(QStringLiteral("<character_1><n>rin</n></character_1>"), 80), QStringLiteral("rin"));
    EXPECT_EQ(jobTitle(QStringLiteral("1girl, solo, red eyes"), 80), QStringLiteral("1girl, solo, red eyes"));
    EXPECT_EQ(jobTitle(QStringLiteral("<general_tags><style>sketch</style></general_tags>"), 80),
              QStringLiteral("sketch"));
    const QString longName =
        jobTitle(QStringLiteral("<character_1><n>%1</n></character_1>").arg(QString(200, u'a')), 48);
    EXPECT_EQ(longName.size(), 48);
    EXPECT_TRUE(longName.endsWith(QChar(0x2026)));
}

TEST(Batcher, TheBatchThatFitsIsTheLargestPredictedBelowTheBudget) {
    auto predict = [](int n) { return qint64{10'000} + n * qint64{1'000}; };
    EXPECT_EQ(batchThatFits(8, 13'000, predict), 3); // 13 000 fits exactly
    EXPECT_EQ(batchThatFits(8, 12'999, predict), 2);
    EXPECT_EQ(batchThatFits(2, 100'000, predict), 2); // capped by the limit
    EXPECT_EQ(batchThatFits(4, 10'999, predict), 0);  // not even one
    EXPECT_EQ(batchThatFits(4, 0, predict), 4);       // no budget known: the limit
    EXPECT_EQ(batchThatFits(0, 100'000, predict), 1); // at least one asked
}

TEST(Batcher, TheMemoryVerdictPerJob) {
    auto predict = [](int n) { return qint64{10'000} + n * qint64{1'000}; };
    EXPECT_EQ(memoryFit(2, 12'000, predict), MemoryFit::Fits);
    EXPECT_EQ(memoryFit(3, 12'000, predict), MemoryFit::WillBeSplit);
    EXPECT_EQ(memoryFit(1, 10'500, predict), MemoryFit::TooLarge);
    EXPECT_EQ(memoryFit(1, 0, predict), MemoryFit::Unknown);
    EXPECT_EQ(memoryFit(1, 12'000, [](int) { return qint64{0}; }), MemoryFit::Unknown); // no model open
    EXPECT_EQ(memoryFitText(MemoryFit::Fits, false), QStringLiteral("fits"));
    EXPECT_EQ(memoryFitText(MemoryFit::WillBeSplit, false), QStringLiteral("will be split"));
    EXPECT_EQ(memoryFitText(MemoryFit::TooLarge, false), QStringLiteral("too large for this GPU: try mode low"));
    EXPECT_TRUE(memoryFitText(MemoryFit::TooLarge, true).contains(QStringLiteral("even in mode low")));
    EXPECT_TRUE(memoryFitText(MemoryFit::Unknown, false).isEmpty());
}

TEST(Batcher, EachQueuedJobIsJudgedInTheBatchItWouldJoin) {
    auto job = [](qint64 id, int size, JobState state = JobState::Queued) {
        Job j;
        j.id = id;
        j.state = state;
        j.spec.model = QStringLiteral("m");
        j.spec.width = j.spec.height = size;
        j.spec.steps = 28;
        j.spec.sampler = QStringLiteral("euler");
        return j;
    };
    // Three 1024 jobs (a batch of 3 wanted, 2 fit), one 2048 job (not even alone), one done job (no verdict).
    const QList<Job> jobs{job(1, 1024), job(2, 1024), job(3, 2048), job(4, 1024), job(5, 1024, JobState::Done)};
    auto predict = [](const JobSpec& s, int n) { return qint64{s.width} * s.height / 1024 * n; }; // 1024 per image
    const auto fits = memoryFitsOf(jobs, 4, 2'500, predict, false);
    EXPECT_EQ(fits.value(1), QStringLiteral("will be split"));
    EXPECT_EQ(fits.value(4), QStringLiteral("will be split"));
    EXPECT_EQ(fits.value(3), QStringLiteral("too large for this GPU: try mode low"));
    EXPECT_FALSE(fits.contains(5));
    EXPECT_EQ(memoryFitsOf(jobs, 2, 2'500, predict, false).value(1),
              QStringLiteral("fits"));                               // batches of 2 at most
    EXPECT_TRUE(memoryFitsOf(jobs, 4, 0, predict, false).isEmpty()); // no budget known
}
