// The gallery list model: ids per query, records read a page at a time, thumbnails placeholder-first and
// then from the pool (and cached on disk), missing files shown as missing, marks written to the store.
#include "charaforge/imaging/png_io.h"
#include "gallery/gallery_model.h"
#include "gallery/thumbnail_cache.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>

#include <gtest/gtest.h>

using namespace charaforge;
using namespace charaforge::gallery;
using charaforge::queue::GalleryImage;
using charaforge::queue::GalleryStore;

namespace {

constexpr int kImages = 450; // more than two pages

class GalleryModelTest : public ::testing::Test {
protected:
    QTemporaryDir dir;
    std::unique_ptr<GalleryStore> store;

    void SetUp() override {
        store = std::make_unique<GalleryStore>(dir.filePath("gallery.db"));
        const QString png = dir.filePath("one.png");
        imaging::write_png_atomic(png.toStdString(),
                                  imaging::RgbImage{320, 160, std::vector<uint8_t>(320 * 160 * 3, 90)});
        QList<GalleryImage> all;
        for (int i = 0; i < kImages; ++i) {
            GalleryImage g;
            g.path = dir.filePath(QStringLiteral("img%1.png").arg(i));
            QFile::copy(png, g.path);
            g.spec.prompt = QStringLiteral("<character_1>\n<n>%1</n>\n</character_1>")
                                .arg(i % 3 ? QStringLiteral("hatsune_miku") : QStringLiteral("kagamine_rin"));
            g.spec.seed = i;
            g.created = 1000 + i;
            all.push_back(g);
        }
        store->recordAll(all);
    }
};

} // namespace

TEST_F(GalleryModelTest, RowsFollowTheQueryAndPagesLoadLazily) {
    ThumbnailCache thumbs(dir.filePath("thumbs"), 64);
    GalleryModel model(*store, thumbs);
    model.setQuery({});
    ASSERT_EQ(model.rowCount(), kImages);
    EXPECT_EQ(model.index(0).data(GalleryModel::SeedRole).toLongLong(), kImages - 1); // newest first
    EXPECT_EQ(model.index(kImages - 1).data(GalleryModel::SeedRole).toLongLong(), 0);
    EXPECT_EQ(model.index(GalleryModel::kPageSize + 3).data(GalleryModel::SeedRole).toLongLong(),
              kImages - 1 - GalleryModel::kPageSize - 3);
    model.setQuery({.text = QStringLiteral("kagamine")});
    EXPECT_EQ(model.rowCount(), kImages / 3);
    for (int row : {0, 77, kImages / 3 - 1})
        EXPECT_EQ(model.index(row).data(GalleryModel::SeedRole).toLongLong() % 3, 0);
}

TEST_F(GalleryModelTest, ThumbnailsArriveFromThePoolAndAreCachedOnDisk) {
    ThumbnailCache thumbs(dir.filePath("thumbs"), 64);
    GalleryModel model(*store, thumbs);
    model.setQuery({});
    int changed = 0;
    QObject::connect(&model, &QAbstractItemModel::dataChanged, &model, [&] { ++changed; });
    const QImage first = model.index(5).data(Qt::DecorationRole).value<QImage>();
    EXPECT_EQ(first.size(), QSize(64, 64)); // the placeholder tile
    thumbs.waitForDone();
    QCoreApplication::processEvents();
    EXPECT_EQ(changed, 1);
    const QImage thumb = model.index(5).data(Qt::DecorationRole).value<QImage>();
    EXPECT_EQ(thumb.size(), QSize(64, 32)); // aspect kept
    const QString path = model.index(5).data(GalleryModel::PathRole).toString();
    EXPECT_TRUE(QFileInfo::exists(thumbs.cacheFile(path)));
    // A new cache (a restart) reads the disk copy.
    ThumbnailCache again(dir.filePath("thumbs"), 64);
    QImage fromDisk;
    QObject::connect(&again, &ThumbnailCache::ready, &again,
                     [&](const QString&, const QImage& img) { fromDisk = img; });
    // Mark the disk copy so that reading it is told apart from regenerating it.
    QImage marked(7, 7, QImage::Format_RGB32);
    marked.fill(Qt::red);
    ASSERT_TRUE(marked.save(thumbs.cacheFile(path), "PNG"));
    EXPECT_TRUE(again.thumbnail(path).isNull()); // not in memory yet
    again.waitForDone();
    QCoreApplication::processEvents();
    EXPECT_EQ(fromDisk.size(), QSize(7, 7));
    EXPECT_EQ(again.thumbnail(path).size(), QSize(7, 7)); // now in memory
}

TEST_F(GalleryModelTest, MissingFilesAndMarks) {
    ThumbnailCache thumbs(dir.filePath("thumbs"), 64);
    GalleryModel model(*store, thumbs);
    model.setQuery({.sort = queue::GallerySort::OldestFirst});
    QFile::remove(model.index(2).data(GalleryModel::PathRole).toString());
    model.refresh();
    EXPECT_TRUE(model.index(2).data(GalleryModel::MissingRole).toBool());
    EXPECT_FALSE(model.index(3).data(GalleryModel::MissingRole).toBool());
    model.setRating(3, 4);
    model.setFavourite(3, true);
    EXPECT_EQ(model.index(3).data(GalleryModel::RatingRole).toInt(), 4);
    EXPECT_EQ(store->image(model.idAt(3))->rating, 4);
    EXPECT_TRUE(store->image(model.idAt(3))->favourite);
    EXPECT_THROW(model.setRating(3, 9), queue::StoreError);
}

TEST_F(GalleryModelTest, TheTooltipListsTheSettingsAndTheLineage) {
    const qint64 parent = store->imageForPath(dir.filePath("img0.png"))->id;
    store->recordGroup({QStringLiteral("g-7"), QStringLiteral("from rin"), {}, parent, 5000});
    GalleryImage child = *store->imageForPath(dir.filePath("img1.png"));
    child.group = QStringLiteral("g-7");
    child.parentImage = parent;
    const qint64 id = store->record(child);
    store->setWinner(id, true, true);
    ThumbnailCache thumbs(dir.filePath("thumbs"), 64);
    GalleryModel model(*store, thumbs);
    model.setQuery({.group = QStringLiteral("g-7")});
    ASSERT_EQ(model.rowCount(), 1);
    const QString tip = model.index(0).data(Qt::ToolTipRole).toString();
    EXPECT_TRUE(tip.contains(QStringLiteral("Branched from image %1").arg(parent))) << tip.toStdString();
    EXPECT_TRUE(tip.contains(QStringLiteral("Group: from rin (g-7)"))) << tip.toStdString();
    EXPECT_TRUE(tip.contains(QStringLiteral("The winner of its group"))) << tip.toStdString();
    EXPECT_TRUE(tip.contains(QStringLiteral("seed 1"))) << tip.toStdString();
    EXPECT_TRUE(tip.contains(QStringLiteral("kagamine_rin")) || tip.contains(QStringLiteral("hatsune_miku")));
    model.setQuery({.text = QStringLiteral("kagamine_rin"), .sort = queue::GallerySort::OldestFirst});
    EXPECT_TRUE(
        model.index(0).data(Qt::ToolTipRole).toString().contains(QStringLiteral("Branched into group from rin")))
        << model.index(0).data(Qt::ToolTipRole).toString().toStdString();
}
