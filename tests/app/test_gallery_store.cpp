// The gallery database: records only for files on disk, FTS search over prompt/tags/names, filters, sort,
// marks that survive reopening, missing files, folder import (ours and A1111), and the runner's
// "job finished" step recording every image with its group's axis values.
#include "charaforge/imaging/png_io.h"
#include "queue/gallery_store.h"
#include "queue/group_store.h"
#include "queue/job_record.h"
#include "queue/queue_runner.h"

#include <QDir>
#include <QFile>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>

#include <gtest/gtest.h>

using namespace charaforge;
using namespace charaforge::queue;

namespace {

QString xmlPrompt(const QString& name, const QString& clothing, const QString& style) {
    return QStringLiteral("<character_1>\n<n>%1</n>\n<clothing>%2</clothing>\n</character_1>\n\n"
                          "<general_tags>\n<style>%3</style>\n</general_tags>")
        .arg(name, clothing, style);
}

QString writePng(const QString& path, const imaging::TextChunks& text = {}) {
    imaging::write_png_atomic(path.toStdString(), imaging::RgbImage{2, 2, std::vector<uint8_t>(12, 128)}, text);
    return path;
}

GalleryImage imageAt(const QString& path, const QString& prompt, qint64 seed, qint64 created) {
    GalleryImage g;
    g.path = path;
    g.spec.prompt = prompt;
    g.spec.seed = seed;
    g.spec.width = 832;
    g.spec.height = 1216;
    g.created = created;
    return g;
}

QList<qint64> seedsOf(const QList<GalleryImage>& images) {
    QList<qint64> seeds;
    for (const auto& i : images)
        seeds.push_back(i.spec.seed);
    return seeds;
}

class GalleryStoreTest : public ::testing::Test {
protected:
    QTemporaryDir dir;
    QString db() const { return dir.filePath(QStringLiteral("gallery.db")); }
    QString file(const QString& name) const { return dir.filePath(name); }

    // Three images: two of hatsune_miku (one in a kimono), one of kagamine_rin.
    void fill(GalleryStore& g) {
        g.record(imageAt(writePng(file("a.png")), xmlPrompt("hatsune_miku", "school_uniform", "watercolor"), 1, 1000));
        g.record(imageAt(writePng(file("b.png")), xmlPrompt("hatsune_miku", "kimono", "flat color"), 2, 2000));
        g.record(imageAt(writePng(file("c.png")), xmlPrompt("kagamine_rin", "kimono", "oil painting"), 3, 3000));
    }
};

} // namespace

TEST_F(GalleryStoreTest, RecordsOnlyFilesOnDisk) {
    GalleryStore g(db());
    EXPECT_THROW(g.record(imageAt(file("nope.png"), "x", 1, 1)), StoreError);
    EXPECT_EQ(g.count({}), 0);
    const auto id = g.record(imageAt(writePng(file("a.png")), xmlPrompt("miku", "hat", "anime"), 9, 5));
    const auto img = g.image(id);
    ASSERT_TRUE(img);
    EXPECT_EQ(img->spec.seed, 9);
    EXPECT_EQ(img->characters, QStringList{"miku"});
    EXPECT_TRUE(img->tags.contains("hat"));
    EXPECT_TRUE(img->tags.contains("anime"));
    EXPECT_FALSE(img->missing);
}

TEST_F(GalleryStoreTest, FullTextSearchOverPromptTagsAndNames) {
    GalleryStore g(db());
    fill(g);
    GalleryQuery q;
    q.sort = GallerySort::OldestFirst;
    q.text = QStringLiteral("miku");
    EXPECT_EQ(seedsOf(g.search(q)), (QList<qint64>{1, 2}));
    q.text = QStringLiteral("kimono");
    EXPECT_EQ(seedsOf(g.search(q)), (QList<qint64>{2, 3}));
    q.text = QStringLiteral("miku kimono"); // every word must match
    EXPECT_EQ(seedsOf(g.search(q)), (QList<qint64>{2}));
    q.text = QStringLiteral("water"); // prefix
    EXPECT_EQ(seedsOf(g.search(q)), (QList<qint64>{1}));
    q.text = QStringLiteral("school_uniform");
    EXPECT_EQ(seedsOf(g.search(q)), (QList<qint64>{1}));
    // FTS syntax in user text is data: no error, no match-all.
    for (const char* hostile : {"\"", "miku OR", "NEAR(", "*", "kimono -rin", "col:miku", "'; DROP TABLE images; --"})
        EXPECT_NO_THROW(g.search(GalleryQuery{QString::fromUtf8(hostile)})) << hostile;
    EXPECT_EQ(g.count({}), 3);
    EXPECT_EQ(g.searchIds(q).size(), 1);
}

TEST_F(GalleryStoreTest, FiltersAndSort) {
    GalleryStore g(db());
    fill(g);
    const auto ids = g.searchIds(GalleryQuery{.sort = GallerySort::OldestFirst});
    ASSERT_EQ(ids.size(), 3);
    g.setRating(ids[0], 2);
    g.setRating(ids[2], 5);
    g.setFavourite(ids[1], true);
    g.setWinner(ids[2], true);
    EXPECT_THROW(g.setRating(ids[0], 6), StoreError);
    EXPECT_THROW(g.setRating(999, 1), StoreError);

    EXPECT_EQ(seedsOf(g.search({.minRating = 2, .sort = GallerySort::OldestFirst})), (QList<qint64>{1, 3}));
    EXPECT_EQ(seedsOf(g.search({.favouritesOnly = true})), (QList<qint64>{2}));
    EXPECT_EQ(seedsOf(g.search({.winnersOnly = true})), (QList<qint64>{3}));
    EXPECT_EQ(seedsOf(g.search({.character = "Hatsune_Miku", .sort = GallerySort::OldestFirst})),
              (QList<qint64>{1, 2}));
    EXPECT_EQ(seedsOf(g.search({.character = "miku"})), QList<qint64>{}); // whole names only
    EXPECT_EQ(g.count({.width = 832, .height = 1216}), 3);
    EXPECT_EQ(g.count({.width = 1024}), 0);
    EXPECT_EQ(seedsOf(g.search({.createdFrom = 2000, .createdTo = 3000})), (QList<qint64>{2}));
    EXPECT_EQ(seedsOf(g.search({})), (QList<qint64>{3, 2, 1}));
    EXPECT_EQ(seedsOf(g.search({.sort = GallerySort::RatingThenNewest})), (QList<qint64>{3, 1, 2}));
    EXPECT_EQ(seedsOf(g.search({.sort = GallerySort::OldestFirst, .limit = 1, .offset = 1})), (QList<qint64>{2}));
}

TEST_F(GalleryStoreTest, MarksSurviveReopeningAndRerecording) {
    qint64 id = 0;
    {
        GalleryStore g(db());
        fill(g);
        id = g.imageForPath(file("b.png"))->id;
        g.setRating(id, 4);
        g.setFavourite(id, true);
        g.setWinner(id, true);
    }
    GalleryStore g(db());
    auto img = g.image(id);
    ASSERT_TRUE(img);
    EXPECT_EQ(img->rating, 4);
    EXPECT_TRUE(img->favourite);
    EXPECT_TRUE(img->winner);
    // Recording the same file again (e.g. a worker restarted) updates settings, keeps the marks.
    auto again = imageAt(file("b.png"), xmlPrompt("hatsune_miku", "kimono", "ink"), 2, 9999);
    EXPECT_EQ(g.record(again), id);
    img = g.image(id);
    EXPECT_EQ(img->rating, 4);
    EXPECT_EQ(g.count({.text = "ink"}), 1);
    EXPECT_EQ(g.count({.text = "flat"}), 0); // the FTS row followed the update
    EXPECT_EQ(g.count({}), 3);
}

TEST_F(GalleryStoreTest, DeletedFilesAreMissingNotErrors) {
    GalleryStore g(db());
    fill(g);
    ASSERT_TRUE(QFile::remove(file("a.png")));
    const auto all = g.search({.sort = GallerySort::OldestFirst});
    ASSERT_EQ(all.size(), 3);
    EXPECT_TRUE(all[0].missing);
    EXPECT_FALSE(all[1].missing);
}

TEST_F(GalleryStoreTest, ImagesByIdComeInTheGivenOrderWithoutDeletedOnes) {
    GalleryStore g(db());
    fill(g);
    const auto ids = g.searchIds({.sort = GallerySort::OldestFirst}); // seeds 1, 2, 3
    ASSERT_EQ(ids.size(), 3);
    EXPECT_EQ(seedsOf(g.images({ids[2], ids[0], ids[1]})), (QList<qint64>{3, 1, 2}));
    g.remove(ids[0]);
    EXPECT_EQ(seedsOf(g.images({ids[2], ids[0], ids[1]})), (QList<qint64>{3, 2}));
    EXPECT_TRUE(g.images({}).isEmpty());
    const auto one = g.images({ids[1]});
    ASSERT_EQ(one.size(), 1);
    EXPECT_EQ(one.front().path, g.image(ids[1])->path);
    EXPECT_EQ(one.front().characters, g.image(ids[1])->characters);
}

TEST_F(GalleryStoreTest, ExclusiveWinnerClearsTheGroupsOtherWinners) {
    GalleryStore g(db());
    auto a = imageAt(writePng(file("a.png")), "a, b", 1, 1);
    auto b = imageAt(writePng(file("b.png")), "a, b", 2, 2);
    auto c = imageAt(writePng(file("c.png")), "a, b", 3, 3);
    a.group = b.group = QStringLiteral("g1");
    c.group = QStringLiteral("g2");
    const auto ia = g.record(a), ib = g.record(b), ic = g.record(c);
    g.setWinner(ia, true, true);
    g.setWinner(ic, true, true);
    g.setWinner(ib, true, true);
    EXPECT_FALSE(g.image(ia)->winner);
    EXPECT_TRUE(g.image(ib)->winner);
    EXPECT_TRUE(g.image(ic)->winner); // another group
}

TEST_F(GalleryStoreTest, ImportsOursAndA1111AndSkipsTheRest) {
    QDir().mkpath(file("drop"));
    Job job;
    job.id = 12;
    job.spec.prompt = xmlPrompt("hatsune_miku", "kimono", "ink");
    job.spec.seed = 77;
    writePng(file("drop/ours.png"), pngRecord(job, {}, QStringLiteral("test"), QStringLiteral("test-queue")));
    writePng(file("drop/a1111.png"),
             {{"parameters", "1girl, kagamine_rin, smile\nNegative prompt: lowres\nSteps: 20, Sampler: Euler a, "
                             "CFG scale: 7, Seed: 1234, Size: 512x768, Model: anything"}});
    writePng(file("drop/plain.png"));
    QFile junk(file("drop/junk.png"));
    ASSERT_TRUE(junk.open(QIODevice::WriteOnly));
    junk.write("not a png");
    junk.close();
    GalleryStore g(db());
    QStringList errors;
    EXPECT_EQ(g.importFolder(file("drop"), &errors), 2);
    EXPECT_EQ(errors.size(), 2);
    EXPECT_TRUE(errors.join('\n').contains("junk.png"));
    EXPECT_TRUE(errors.join('\n').contains("plain.png"));
    const auto rin = g.search({.text = "kagamine_rin"});
    ASSERT_EQ(rin.size(), 1);
    EXPECT_EQ(rin[0].spec.seed, 1234);
    EXPECT_EQ(rin[0].spec.width, 512);
    EXPECT_EQ(rin[0].spec.negative, "lowres");
    const auto miku = g.search({.character = "hatsune_miku"});
    ASSERT_EQ(miku.size(), 1);
    EXPECT_EQ(miku[0].spec.seed, 77);
    EXPECT_EQ(g.importFolder(file("drop")), 2); // again: updated, not duplicated
    EXPECT_EQ(g.count({}), 2);
    errors.clear();
    EXPECT_EQ(g.importFolder(file("nope"), &errors), 0);
    EXPECT_EQ(errors.size(), 1);
}

TEST_F(GalleryStoreTest, LineageParentGroupWinnerIsStoredAndReadBack) {
    qint64 parent = 0, loser = 0, winner = 0;
    const QList<VariantAxis> axes{seedAxis(5, 2)};
    {
        GalleryStore g(db());
        auto p = imageAt(writePng(file("p.png")), xmlPrompt("hatsune_miku", "kimono", "ink"), 1, 1000);
        p.group = QStringLiteral("g0");
        parent = g.record(p);
        g.recordGroup({QStringLiteral("g1"), QStringLiteral("from the ink one"), axes, parent, 2000});
        auto a = imageAt(writePng(file("a.png")), xmlPrompt("hatsune_miku", "kimono", "ink"), 5, 3000);
        auto b = imageAt(writePng(file("b.png")), xmlPrompt("hatsune_miku", "kimono", "ink"), 6, 3001);
        a.group = b.group = QStringLiteral("g1");
        a.parentImage = b.parentImage = parent;
        loser = g.record(a);
        winner = g.record(b);
        g.setWinner(winner, true, true);
    }
    GalleryStore g(db()); // read back after reopening
    const auto l = g.lineage(winner);
    ASSERT_TRUE(l.group);
    EXPECT_EQ(l.group->id, "g1");
    EXPECT_EQ(l.group->label, "from the ink one");
    EXPECT_EQ(l.group->axes, axes);
    EXPECT_EQ(l.group->created, 2000);
    EXPECT_EQ(l.parentImage, parent);
    EXPECT_EQ(l.parentGroup, "g0");
    EXPECT_EQ(l.winners, (QList<qint64>{winner}));
    EXPECT_TRUE(l.branches.isEmpty());
    EXPECT_EQ(g.lineage(loser).winners, (QList<qint64>{winner}));
    const auto up = g.lineage(parent);
    ASSERT_EQ(up.branches.size(), 1);
    EXPECT_EQ(up.branches[0].id, "g1");
    EXPECT_EQ(up.parentImage, 0);
    EXPECT_FALSE(up.group); // g0 was never recorded as a group
    // Recording a group again updates it and keeps its creation time.
    g.recordGroup({QStringLiteral("g1"), QStringLiteral("renamed"), axes, parent, 9999});
    EXPECT_EQ(g.group(QStringLiteral("g1"))->label, "renamed");
    EXPECT_EQ(g.group(QStringLiteral("g1"))->created, 2000);
    EXPECT_THROW(g.recordGroup({}), StoreError);
    EXPECT_THROW(g.lineage(12345), StoreError);
}

TEST_F(GalleryStoreTest, GalleryWrittenBeforeLineageIsMigratedAndStaysReadable) {
    qint64 parent = 0, child = 0;
    {
        GalleryStore g(db());
        parent = g.record(imageAt(writePng(file("p.png")), "a, b", 1, 1000));
        auto c = imageAt(writePng(file("c.png")), "a, b", 2, 2000);
        c.group = QStringLiteral("g-old");
        c.parentImage = parent;
        child = g.record(c);
        g.setRating(child, 3);
    }
    {
        // Back to the schema-1 file the first gallery release wrote: no lineage table, schema '1'.
        auto old = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("old-gallery"));
        old.setDatabaseName(db());
        ASSERT_TRUE(old.open());
        QSqlQuery q(old);
        ASSERT_TRUE(q.exec("DROP TABLE variant_groups"));
        ASSERT_TRUE(q.exec("UPDATE meta SET value = '1' WHERE key = 'schema'"));
        old.close();
    }
    QSqlDatabase::removeDatabase(QStringLiteral("old-gallery"));
    GalleryStore g(db());
    ASSERT_TRUE(g.image(child));
    EXPECT_EQ(g.image(child)->rating, 3);
    EXPECT_EQ(g.count({}), 2);
    const auto grp = g.group(QStringLiteral("g-old"));
    ASSERT_TRUE(grp); // filled from its images
    EXPECT_EQ(grp->parentImage, parent);
    EXPECT_EQ(grp->created, 2000);
    EXPECT_TRUE(grp->axes.isEmpty());
    EXPECT_EQ(g.lineage(parent).branches.size(), 1);
    {
        auto check = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("check-gallery"));
        check.setDatabaseName(db());
        ASSERT_TRUE(check.open());
        QSqlQuery v(check);
        ASSERT_TRUE(v.exec("SELECT value FROM meta WHERE key = 'schema'") && v.next());
        EXPECT_EQ(v.value(0).toString(), "2");
    }
    QSqlDatabase::removeDatabase(QStringLiteral("check-gallery"));
}

TEST(FtsQuery, QuotesEveryWord) {
    EXPECT_EQ(ftsQuery(QStringLiteral("miku \"OR\" NEAR(x")), QStringLiteral("\"miku\"* \"OR\"* \"NEAR\"* \"x\"*"));
    EXPECT_EQ(ftsQuery(QStringLiteral("  ** ")), QString());
}

namespace {

// Writes a flat image per job: enough for the runner's finished path.
class FlatExecutor : public Executor {
public:
    void openModel(const QString&) override {}
    int suggestBatch(const JobSpec&) override { return 8; }
    QList<QPair<QString, QString>> modelFiles() const override { return {}; }
    std::vector<engine::Image> generate(const std::vector<engine::GenerationRequest>& requests,
                                        const engine::Callbacks& cb) override {
        std::vector<engine::Image> out;
        for (std::size_t i = 0; i < requests.size(); ++i) {
            engine::Image img{4, 4, std::vector<uint8_t>(48, static_cast<uint8_t>(requests[i].seed))};
            if (cb.on_image)
                cb.on_image(i, img);
            out.push_back(img);
        }
        return out;
    }
};

} // namespace

TEST(GalleryRecorder, EveryFinishedJobIsRecordedWithItsGroupAxisValues) {
    QTemporaryDir dir;
    const QString queuePath = dir.filePath("queue.db");
    JobStore jobs(queuePath);
    GroupStore groups(jobs);
    JobSpec base;
    base.prompt = xmlPrompt("hatsune_miku", "kimono", "anime");
    base.width = base.height = 256;
    base.steps = 2;
    base.model = QStringLiteral("/models/test");
    base.outputDir = dir.filePath("out");
    VariantAxis style;
    style.kind = AxisKind::Style;
    style.values = QStringList{"watercolor", "ink"};
    const QList<VariantAxis> axes{style, seedAxis(10, 2)};
    const QString group = groups.create(expandVariants(base, axes), axes, QStringLiteral("g"), 42);
    FlatExecutor exec;
    RunnerOptions options;
    options.appVersion = QStringLiteral("test");
    QueueRunner runner(jobs, exec, options, {});
    while (runner.runOnce()) {
    }
    GalleryStore gallery(GalleryStore::pathNextTo(queuePath));
    const auto all = gallery.search({.group = group, .sort = GallerySort::OldestFirst});
    ASSERT_EQ(all.size(), 4);
    for (const auto& img : all) {
        const auto job = jobs.job(img.jobId);
        ASSERT_TRUE(job);
        EXPECT_EQ(job->state, JobState::Done);
        EXPECT_EQ(img.path, job->outputPath);
        EXPECT_EQ(img.spec.seed, job->spec.seed);
        EXPECT_EQ(img.axisValues, groups.axisValues(job->id));
        EXPECT_EQ(img.parentImage, 42);
    }
    EXPECT_EQ(gallery.count({.text = "ink"}), 2);
    EXPECT_EQ(gallery.count({.character = "hatsune_miku"}), 4);
    // The group's lineage is in the gallery too, and outlives the queue's rows.
    jobs.removeFinished();
    const auto remembered = gallery.group(group);
    ASSERT_TRUE(remembered);
    EXPECT_EQ(remembered->label, "g");
    EXPECT_EQ(remembered->axes, axes);
    EXPECT_EQ(remembered->parentImage, 42);
    EXPECT_EQ(gallery.lineage(all[0].id).group, remembered);
}
