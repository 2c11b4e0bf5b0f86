// Variant groups in the queue database: creation with axis values, pause/cancel/move of a whole group,
// and the migration that keeps a queue written before groups readable.
#include "queue/group_store.h"

#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>

#include <gtest/gtest.h>

using namespace charaforge::queue;

namespace {

JobSpec spec(qint64 seed) {
    JobSpec s;
    s.prompt = QStringLiteral("<general_tags>\n<style>anime</style>\n</general_tags>");
    s.width = s.height = 512;
    s.steps = 8;
    s.seed = seed;
    s.model = QStringLiteral("/models/a");
    s.outputDir = QStringLiteral("/tmp/out");
    return s;
}

QList<VariantAxis> styleBySeed() {
    VariantAxis style;
    style.kind = AxisKind::Style;
    style.values = QStringList{"flat color", "watercolor", "oil painting"};
    return {style, seedAxis(1, 4)};
}

QList<qint64> claimIds(JobStore& store) {
    QList<qint64> ids;
    for (const auto& j : store.claimBatch(QStringLiteral("me:1"), [](const Job&) { return 100; }))
        ids.push_back(j.id);
    return ids;
}

} // namespace

TEST(GroupStore, CreateStoresAxisValuesPerJob) {
    QTemporaryDir dir;
    JobStore jobs(dir.filePath("q.db"));
    GroupStore groups(jobs);
    const auto axes = styleBySeed();
    const QString id = groups.create(expandVariants(spec(1), axes), axes, QStringLiteral("miku styles"));
    const auto g = groups.group(id);
    ASSERT_TRUE(g);
    EXPECT_EQ(g->label, "miku styles");
    EXPECT_EQ(g->axisNames(), (QStringList{"style", "seed"}));
    EXPECT_EQ(g->axes, axes);
    const auto members = groups.members(id);
    ASSERT_EQ(members.size(), 12);
    EXPECT_EQ(members[5].axisValues, (QStringList{"watercolor", "2"}));
    EXPECT_EQ(jobs.job(members[5].jobId)->spec.seed, 2);
    EXPECT_EQ(jobs.job(members[5].jobId)->group, id);
    EXPECT_EQ(groups.axisValues(members[5].jobId), members[5].axisValues);
    EXPECT_EQ(groups.progress(id).total, 12);
    EXPECT_EQ(groups.progress(id).queued, 12);
}

TEST(GroupStore, PausedGroupIsSkippedByClaimsUntilResumed) {
    QTemporaryDir dir;
    JobStore jobs(dir.filePath("q.db"));
    GroupStore groups(jobs);
    const auto axes = QList<VariantAxis>{seedAxis(1, 3)};
    const QString a = groups.create(expandVariants(spec(1), axes), axes, QStringLiteral("a"));
    const auto loose = jobs.add({spec(99)});
    groups.setPaused(a, true);
    EXPECT_TRUE(groups.group(a)->paused);
    EXPECT_EQ(claimIds(jobs), loose); // the group's three jobs are held
    EXPECT_TRUE(claimIds(jobs).isEmpty());
    groups.setPaused(a, false);
    EXPECT_EQ(claimIds(jobs).size(), 3);
}

TEST(GroupStore, CancelAndMoveActOnTheWholeGroup) {
    QTemporaryDir dir;
    JobStore jobs(dir.filePath("q.db"));
    GroupStore groups(jobs);
    const auto first = jobs.add({spec(50), spec(51)});
    const auto axes = QList<VariantAxis>{seedAxis(1, 3)};
    const QString g = groups.create(expandVariants(spec(1), axes), axes, QString());
    const QString h = groups.create(expandVariants(spec(1), axes), axes, QString());
    groups.move(g, first[0]);
    QList<qint64> order;
    for (const auto& j : jobs.jobs())
        order.push_back(j.id);
    QList<qint64> expected;
    for (const auto& m : groups.members(g))
        expected.push_back(m.jobId);
    expected << first;
    for (const auto& m : groups.members(h))
        expected.push_back(m.jobId);
    EXPECT_EQ(order, expected);
    EXPECT_THROW(groups.move(g, groups.members(g)[1].jobId), StoreError);

    groups.cancel(h);
    EXPECT_EQ(groups.progress(h).cancelled, 3);
    EXPECT_EQ(groups.progress(g).queued, 3);
    EXPECT_THROW(groups.cancel(QStringLiteral("g-nope")), StoreError);
}

TEST(GroupStore, QueueWrittenBeforeGroupsStaysReadable) {
    QTemporaryDir dir;
    const QString path = dir.filePath("old.db");
    {
        // The schema-1 jobs table as the first release wrote it, with one queued job.
        auto db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("old-queue"));
        db.setDatabaseName(path);
        ASSERT_TRUE(db.open());
        QSqlQuery q(db);
        ASSERT_TRUE(q.exec("CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)"));
        ASSERT_TRUE(q.exec("INSERT INTO meta VALUES ('schema', '1')"));
        ASSERT_TRUE(q.exec(
            "CREATE TABLE jobs(id INTEGER PRIMARY KEY AUTOINCREMENT, position REAL NOT NULL,"
            " state TEXT NOT NULL CHECK(state IN ('queued','running','done','failed','cancelled')),"
            " prompt TEXT NOT NULL, negative TEXT NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL,"
            " steps INTEGER NOT NULL, sampler TEXT NOT NULL, cfg REAL NOT NULL, cfg_trunc REAL NOT NULL,"
            " renorm REAL NOT NULL, shift REAL NOT NULL, seed INTEGER NOT NULL, model TEXT NOT NULL,"
            " output_dir TEXT NOT NULL, grp TEXT NOT NULL DEFAULT '', attempts INTEGER NOT NULL DEFAULT 0,"
            " owner TEXT NOT NULL DEFAULT '', heartbeat INTEGER NOT NULL DEFAULT 0,"
            " steps_done INTEGER NOT NULL DEFAULT 0, output_path TEXT NOT NULL DEFAULT '',"
            " message TEXT NOT NULL DEFAULT '', created INTEGER NOT NULL, finished INTEGER NOT NULL DEFAULT 0)"));
        ASSERT_TRUE(q.exec("INSERT INTO jobs(position, state, prompt, negative, width, height, steps, sampler, cfg,"
                           " cfg_trunc, renorm, shift, seed, model, output_dir, grp, created) VALUES"
                           " (1, 'queued', 'old prompt', '', 512, 512, 8, 'euler', 5, 1, 0, 6, 42, '/m', '/o',"
                           " 'cli-1', 1)"));
        db.close();
    }
    QSqlDatabase::removeDatabase(QStringLiteral("old-queue"));
    JobStore jobs(path);
    ASSERT_EQ(jobs.jobs().size(), 1);
    EXPECT_EQ(jobs.jobs()[0].spec.prompt, "old prompt");
    GroupStore groups(jobs);
    EXPECT_TRUE(groups.axisValues(jobs.jobs()[0].id).isEmpty());
    EXPECT_TRUE(groups.groups().isEmpty());
    EXPECT_EQ(claimIds(jobs).size(), 1); // the migrated row is not held
    JobStore again(path);                // the migration is idempotent
    EXPECT_EQ(again.jobs().size(), 1);
}
