// The studio's gallery panel over the gallery database: the search box and filters narrow the grid, ratings
// and favourites set from keys and the context menu's actions survive a restart (a new store on the same
// file), a file deleted on disk shows as missing, and a dropped folder imports our PNGs and A1111 ones while
// a non-PNG and corrupt PNGs are reported and skipped.
#include "gallery_panel_fixture.h"

#include "gallery/gallery_model.h"
#include "gallery/gallery_panel.h"
#include "gallery/gallery_searcher.h"
#include "queue/job_record.h"

#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QDateEdit>
#include <QDropEvent>
#include <QFile>
#include <QLineEdit>
#include <QListView>
#include <QMimeData>
#include <QSignalSpy>
#include <QTest>
#include <QUrl>

#include <gtest/gtest.h>

using namespace charaforge;
using namespace charaforge::gallery;
using charaforge::test::GalleryPanelFixture;

namespace {

class GalleryPanelTest : public GalleryPanelFixture {};

QStringList seedsShown(const GalleryPanel& panel) {
    GalleryPanelFixture::settle(panel);
    QStringList seeds;
    for (int r = 0; r < panel.model()->rowCount(); ++r)
        seeds << panel.model()->index(r).data(GalleryModel::SeedRole).toString();
    return seeds;
}

template <typename W> W* child(const GalleryPanel& panel, const char* name) {
    auto* w = panel.findChild<W*>(QString::fromLatin1(name));
    EXPECT_NE(w, nullptr) << name;
    return w;
}

} // namespace

TEST_F(GalleryPanelTest, SearchAndFiltersNarrowTheGrid) {
    addStandardImages();
    GalleryPanel panel(queuePath(), thumbs());
    panel.show();
    settle(panel);
    ASSERT_EQ(panel.model()->rowCount(), 6);

    // Typing waits a moment, then searches prompt text and tags (prefixes).
    QTest::keyClicks(child<QLineEdit>(panel, "gallerySearch"), "waterc");
    EXPECT_EQ(panel.model()->rowCount(), 6); // not yet: the search waits for typing to pause
    ASSERT_TRUE(waitFor([&] { return panel.model()->rowCount() == 2; }));
    EXPECT_EQ(seedsShown(panel), (QStringList{"2", "1"}));
    child<QLineEdit>(panel, "gallerySearch")->clear();
    panel.applyFilters();
    EXPECT_TRUE(panel.isSearching());
    settle(panel);
    EXPECT_EQ(panel.model()->rowCount(), 6);

    auto* rating = child<QComboBox>(panel, "galleryMinRating");
    rating->setCurrentIndex(rating->findData(4));
    EXPECT_EQ(seedsShown(panel), (QStringList{"5", "3"}));
    rating->setCurrentIndex(0);
    child<QCheckBox>(panel, "galleryFavourites")->setChecked(true);
    EXPECT_EQ(seedsShown(panel), (QStringList{"4", "1"}));
    child<QCheckBox>(panel, "galleryFavourites")->setChecked(false);
    child<QCheckBox>(panel, "galleryWinners")->setChecked(true);
    EXPECT_EQ(seedsShown(panel), (QStringList{"3"}));
    child<QCheckBox>(panel, "galleryWinners")->setChecked(false);

    child<QLineEdit>(panel, "galleryGroup")->setText(QStringLiteral("g-b"));
    panel.applyFilters();
    EXPECT_EQ(seedsShown(panel), (QStringList{"4", "3"}));
    child<QLineEdit>(panel, "galleryGroup")->clear();
    child<QLineEdit>(panel, "galleryCharacter")->setText(QStringLiteral("kagamine_rin"));
    panel.applyFilters();
    EXPECT_EQ(seedsShown(panel), (QStringList{"4", "3"}));
    child<QLineEdit>(panel, "galleryCharacter")->clear();
    child<QLineEdit>(panel, "gallerySize")->setText(QStringLiteral("832x1216"));
    panel.applyFilters();
    EXPECT_EQ(seedsShown(panel), (QStringList{"6"}));
    child<QLineEdit>(panel, "gallerySize")->clear();

    // Dates: image i was made on 2026-01-0i; the range is inclusive of both days.
    child<QDateEdit>(panel, "galleryFrom")->setDate(QDate(2026, 1, 2));
    child<QDateEdit>(panel, "galleryTo")->setDate(QDate(2026, 1, 4));
    EXPECT_EQ(seedsShown(panel), (QStringList{"4", "3", "2"}));
    child<QDateEdit>(panel, "galleryFrom")->setDate(child<QDateEdit>(panel, "galleryFrom")->minimumDate());
    child<QDateEdit>(panel, "galleryTo")->setDate(child<QDateEdit>(panel, "galleryTo")->minimumDate());
    settle(panel);
    EXPECT_EQ(panel.model()->rowCount(), 6);

    auto* sort = child<QComboBox>(panel, "gallerySort");
    sort->setCurrentIndex(sort->findData(static_cast<int>(queue::GallerySort::RatingThenNewest)));
    EXPECT_EQ(seedsShown(panel).mid(0, 3), (QStringList{"5", "3", "1"})); // 5, 4, 2 stars
    sort->setCurrentIndex(sort->findData(static_cast<int>(queue::GallerySort::OldestFirst)));
    EXPECT_EQ(seedsShown(panel).front(), QStringLiteral("1"));
    // Quotes and FTS operators typed by the user are words, not syntax.
    child<QLineEdit>(panel, "gallerySearch")->setText(QStringLiteral("\"miku OR* NEAR("));
    panel.applyFilters();
    settle(panel);
    EXPECT_EQ(panel.model()->rowCount(), 0);
}

TEST_F(GalleryPanelTest, RatingAndFavouriteFromThePanelSurviveARestart) {
    addStandardImages();
    qint64 rated = 0, favourite = 0, menuRated = 0;
    bool favouriteBefore = false;
    {
        GalleryPanel panel(queuePath(), thumbs());
        panel.show();
        panel.activateWindow();
        ASSERT_TRUE(QTest::qWaitForWindowActive(&panel));
        settle(panel);
        auto* view = panel.view();
        view->setFocus();
        ASSERT_EQ(panel.model()->rowCount(), 6) << panel.statusText().toStdString();
        ASSERT_TRUE(panel.selectId(panel.model()->idAt(5)));
        rated = panel.currentId();
        QTest::keyClick(view, Qt::Key_3);
        EXPECT_EQ(panel.model()->index(5).data(GalleryModel::RatingRole).toInt(), 3);
        ASSERT_TRUE(panel.selectId(panel.model()->idAt(4)));
        favourite = panel.currentId();
        favouriteBefore = panel.model()->index(4).data(GalleryModel::FavouriteRole).toBool();
        QTest::keyClick(view, Qt::Key_F);
        EXPECT_NE(panel.model()->index(4).data(GalleryModel::FavouriteRole).toBool(), favouriteBefore);
        EXPECT_NE(panel.model()->index(4).data(Qt::DisplayRole).toString().contains(QChar(0x2665)), favouriteBefore);
        // The context menu's actions (the same objects the menu shows).
        ASSERT_TRUE(panel.selectId(panel.model()->idAt(3)));
        menuRated = panel.currentId();
        panel.findChild<QAction*>(QStringLiteral("galleryRate5"))->trigger();
        // Digits typed into the search box are text, not ratings.
        EXPECT_EQ(panel.model()->index(3).data(GalleryModel::RatingRole).toInt(), 5);
        QTest::keyClicks(panel.findChild<QLineEdit*>(QStringLiteral("gallerySearch")), "1");
        EXPECT_EQ(panel.store().image(menuRated)->rating, 5);
    }
    // A new store object on the same file (a restart), then a new panel.
    {
        queue::GalleryStore reopened(queue::GalleryStore::pathNextTo(queuePath()));
        EXPECT_EQ(reopened.image(rated)->rating, 3);
        EXPECT_EQ(reopened.image(menuRated)->rating, 5);
        EXPECT_NE(reopened.image(favourite)->favourite, favouriteBefore);
    }
    GalleryPanel again(queuePath(), thumbs());
    settle(again);
    ASSERT_TRUE(again.selectId(rated));
    EXPECT_EQ(again.model()->index(again.view()->currentIndex().row()).data(GalleryModel::RatingRole).toInt(), 3);
    ASSERT_TRUE(again.selectId(favourite));
    EXPECT_NE(again.model()->index(again.view()->currentIndex().row()).data(GalleryModel::FavouriteRole).toBool(),
              favouriteBefore);
}

TEST_F(GalleryPanelTest, AFileDeletedOnDiskShowsAsMissing) {
    addStandardImages();
    GalleryPanel panel(queuePath(), thumbs());
    panel.show();
    settle(panel);
    const int row = 2;
    const QString path = panel.model()->index(row).data(GalleryModel::PathRole).toString();
    const qint64 id = panel.model()->idAt(row);
    ASSERT_TRUE(QFile::remove(path));
    panel.reload();
    settle(panel);
    ASSERT_TRUE(panel.selectId(id));
    const auto index = panel.view()->currentIndex();
    EXPECT_TRUE(index.data(GalleryModel::MissingRole).toBool());
    EXPECT_TRUE(index.data(Qt::DisplayRole).toString().startsWith(QStringLiteral("missing")));
    EXPECT_FALSE(index.data(Qt::DecorationRole).value<QImage>().isNull()); // the "missing" tile
    // Activating it says so and hands the path on; painting and marking it work.
    QSignalSpy activated(&panel, &GalleryPanel::imageActivated);
    QTest::keyClick(panel.view(), Qt::Key_Return);
    ASSERT_EQ(activated.count(), 1);
    EXPECT_EQ(activated.front().front().toString(), path);
    EXPECT_TRUE(panel.statusText().contains(QStringLiteral("missing"))) << panel.statusText().toStdString();
    panel.view()->viewport()->repaint();
    panel.rateSelection(2);
    EXPECT_EQ(panel.store().image(id)->rating, 2);
    // An export of it skips it with the reason.
    const auto items = panel.exportItems(ExportScope::Selected);
    ASSERT_EQ(items.size(), 1);
    EXPECT_TRUE(items.front().image.missing);
}

TEST_F(GalleryPanelTest, ADroppedFolderImportsOursAndA1111AndReportsTheRest) {
    const QString folder = dir.filePath(QStringLiteral("drop"));
    QDir().mkpath(folder);
    writeOurPng(folder + QStringLiteral("/ours.png"), QStringLiteral("ours_unique_word"), 77);
    writeA1111Png(folder + QStringLiteral("/a1111.png"));
    QFile txt(folder + QStringLiteral("/notes.txt"));
    ASSERT_TRUE(txt.open(QIODevice::WriteOnly));
    txt.write("not an image");
    txt.close();
    QFile corrupt(folder + QStringLiteral("/corrupt.png"));
    ASSERT_TRUE(corrupt.open(QIODevice::WriteOnly));
    corrupt.write("\x89PNG\r\n\x1a\n garbage that is no chunk");
    corrupt.close();
    // A real PNG cut in half.
    writeOurPng(folder + QStringLiteral("/whole.png"), QStringLiteral("cut"), 5);
    QFile whole(folder + QStringLiteral("/whole.png"));
    ASSERT_TRUE(whole.open(QIODevice::ReadOnly));
    const QByteArray bytes = whole.readAll();
    whole.close();
    QFile::remove(whole.fileName());
    QFile truncated(folder + QStringLiteral("/truncated.png"));
    ASSERT_TRUE(truncated.open(QIODevice::WriteOnly));
    truncated.write(bytes.left(bytes.size() / 2));
    truncated.close();

    GalleryPanel panel(queuePath(), thumbs());
    panel.show();
    settle(panel);
    ASSERT_EQ(panel.model()->rowCount(), 0);
    QSignalSpy finished(&panel, &GalleryPanel::importFinished);
    QMimeData mime;
    mime.setUrls({QUrl::fromLocalFile(folder)});
    QDragEnterEvent enter(QPoint(5, 5), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&panel, &enter);
    EXPECT_TRUE(enter.isAccepted());
    QDropEvent drop(QPointF(5, 5), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&panel, &drop);
    ASSERT_TRUE(finished.wait(20000));
    EXPECT_EQ(finished.front().at(0).toInt(), 2);
    const QStringList problems = finished.front().at(1).toStringList();
    ASSERT_EQ(problems.size(), 3) << problems.join('\n').toStdString();
    const QString all = problems.join('\n');
    for (const char* name : {"notes.txt", "corrupt.png", "truncated.png"})
        EXPECT_TRUE(all.contains(QLatin1String(name))) << all.toStdString();
    EXPECT_TRUE(problems.filter(QStringLiteral("notes.txt")).front().contains(QStringLiteral("not a PNG")));
    EXPECT_TRUE(panel.statusText().contains(QStringLiteral("3 skipped"))) << panel.statusText().toStdString();

    // Both images are in the grid with their metadata.
    settle(panel);
    EXPECT_EQ(panel.model()->rowCount(), 2);
    const auto a1111 = panel.store().imageForPath(folder + QStringLiteral("/a1111.png"));
    ASSERT_TRUE(a1111.has_value());
    EXPECT_EQ(a1111->spec.seed, 123456789);
    EXPECT_EQ(a1111->spec.steps, 30);
    EXPECT_EQ(a1111->spec.width, 832);
    EXPECT_EQ(a1111->spec.height, 1216);
    EXPECT_DOUBLE_EQ(a1111->spec.cfg, 6.5);
    EXPECT_EQ(a1111->spec.negative, QStringLiteral("lowres, bad hands"));
    const auto ours = panel.store().imageForPath(folder + QStringLiteral("/ours.png"));
    ASSERT_TRUE(ours.has_value());
    EXPECT_EQ(ours->spec.seed, 77);
    EXPECT_EQ(ours->characters, QStringList{QStringLiteral("ours_unique_word")});
    panel.findChild<QLineEdit*>(QStringLiteral("gallerySearch"))->setText(QStringLiteral("silver_hai"));
    panel.applyFilters();
    EXPECT_EQ(seedsShown(panel), (QStringList{"123456789"}));

    // Single files can be dropped too; a missing one is reported.
    QSignalSpy again(&panel, &GalleryPanel::importFinished);
    panel.importPaths({folder + QStringLiteral("/ours.png"), folder + QStringLiteral("/gone.png")});
    ASSERT_TRUE(again.wait(20000));
    EXPECT_EQ(again.front().at(0).toInt(), 1);
    EXPECT_EQ(again.front().at(1).toStringList().size(), 1);
    EXPECT_EQ(panel.store().count({}), 2); // recorded again, not twice
}

TEST_F(GalleryPanelTest, TheSearcherAnswersOnlyTheLatestRequestOffTheGuiThread) {
    addStandardImages();
    GallerySearcher searcher(queue::GalleryStore::pathNextTo(queuePath()));
    QSignalSpy found(&searcher, &GallerySearcher::found);
    searcher.search({.text = QStringLiteral("miku")});
    const int latest = searcher.search({.text = QStringLiteral("kagamine")});
    EXPECT_EQ(searcher.latest(), latest);
    ASSERT_TRUE(found.wait(5000));
    QTest::qWait(50); // an answer to the superseded request would arrive by now
    ASSERT_EQ(found.count(), 1);
    EXPECT_EQ(found.front().at(0).toInt(), latest);
    const auto ids = found.front().at(2).value<QList<qint64>>();
    queue::GalleryStore store(queue::GalleryStore::pathNextTo(queuePath()));
    EXPECT_EQ(ids, store.searchIds({.text = QStringLiteral("kagamine")}));
    EXPECT_EQ(ids.size(), 2);
}

TEST_F(GalleryPanelTest, EraseWithAMaskAsksForTheSelectedImagesOnDisk) {
    addStandardImages();
    GalleryPanel panel(queuePath(), thumbs());
    panel.show();
    settle(panel);
    ASSERT_EQ(panel.model()->rowCount(), 6) << panel.statusText().toStdString();
    QSignalSpy erase(&panel, &GalleryPanel::eraseRequested);
    ASSERT_TRUE(panel.selectId(panel.model()->idAt(1)));
    panel.view()->selectionModel()->select(panel.model()->index(3), QItemSelectionModel::Select);
    panel.findChild<QAction*>(QStringLiteral("galleryEraseAction"))->trigger();
    ASSERT_EQ(erase.count(), 1);
    const QStringList expected{panel.model()->index(1).data(GalleryModel::PathRole).toString(),
                               panel.model()->index(3).data(GalleryModel::PathRole).toString()};
    EXPECT_EQ(erase.at(0).at(0).toStringList(), expected);
}
