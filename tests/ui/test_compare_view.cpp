// Offscreen widget tests of the compare view: the grid's row and column labels from the axes (3 styles x 4
// seeds, and a third axis), the keys (arrows, 1-5, 0, Space) on the current image, side by side in step,
// the A/B swipe and flip, and Branch from here.
#include "ui/compare_view.h"
#include "ui/image_viewer.h"
#include "ui/swipe_view.h"

#include <QApplication>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSignalSpy>
#include <QSlider>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>

#include <gtest/gtest.h>

using charaforge::ui::CompareGridModel;
using charaforge::ui::CompareImage;
using charaforge::ui::CompareSet;
using charaforge::ui::CompareView;

namespace {

const QStringList kStyles{"flat color", "watercolor", "oil painting"};
const QStringList kSeeds{"1", "2", "3", "4"};

// The product of `axes` (first slowest), image ids 1.., each a flat PNG of its own colour.
CompareSet makeSet(const QTemporaryDir& dir, const QStringList& names, const QList<QStringList>& axes) {
    CompareSet set;
    set.groupId = QStringLiteral("g-1");
    set.label = QStringLiteral("miku styles");
    set.axisNames = names;
    set.axisValues = axes;
    QList<QStringList> product{{}};
    for (const auto& values : axes) {
        QList<QStringList> next;
        for (const auto& prefix : product)
            for (const auto& v : values)
                next.append(prefix + QStringList{v});
        product = next;
    }
    qint64 id = 1;
    for (const auto& values : product) {
        CompareImage img;
        img.imageId = id;
        img.jobId = 100 + id;
        img.path = dir.filePath(QStringLiteral("%1.png").arg(id));
        QImage pixels(64, 48, QImage::Format_RGB32);
        pixels.fill(QColor::fromHsv(static_cast<int>(id * 29 % 360), 200, 200));
        EXPECT_TRUE(pixels.save(img.path));
        img.axisValues = values;
        img.state = QStringLiteral("done");
        img.details = QStringLiteral("image %1").arg(id);
        set.images.append(img);
        ++id;
    }
    return set;
}

QStringList headers(const QAbstractItemModel* model, Qt::Orientation o) {
    QStringList labels;
    const int n = o == Qt::Vertical ? model->rowCount() : model->columnCount();
    for (int i = 0; i < n; ++i)
        labels << model->headerData(i, o).toString();
    return labels;
}

class CompareViewTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(dir.isValid());
        view.setCompareSet(makeSet(dir, {"style", "seed"}, {kStyles, kSeeds}));
        view.show();
        ASSERT_TRUE(QTest::qWaitForWindowExposed(&view));
    }
    qint64 idAt(int row, int column) const {
        return view.model()->index(row, column).data(CompareGridModel::ImageIdRole).toLongLong();
    }

    QTemporaryDir dir;
    CompareView view;
};

} // namespace

TEST_F(CompareViewTest, TheGridOfThreeStylesByFourSeedsIsLabelledWithTheAxisValues) {
    const auto* model = view.grid()->model();
    ASSERT_EQ(model->rowCount(), 3);
    ASSERT_EQ(model->columnCount(), 4);
    EXPECT_EQ(headers(model, Qt::Vertical), kStyles);
    EXPECT_EQ(headers(model, Qt::Horizontal), kSeeds);
    // Each cell holds the image with its row's style and its column's seed.
    for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 4; ++c) {
            const CompareImage* img = view.model()->imageAt(model->index(r, c));
            ASSERT_NE(img, nullptr);
            EXPECT_EQ(img->axisValues, (QStringList{kStyles[r], kSeeds[c]}));
        }
    EXPECT_FALSE(model->index(2, 3).data(Qt::DecorationRole).value<QPixmap>().isNull());
    EXPECT_EQ(model->headerData(0, Qt::Vertical, Qt::ToolTipRole).toString(), "style");
    EXPECT_TRUE(view.findChild<QLabel*>("compareTitle")->text().contains("rows: style"));

    // A third axis multiplies the columns: "seed · cfg" labels.
    view.setCompareSet(makeSet(dir, {"style", "seed", "cfg"}, {kStyles, kSeeds, {"4", "6"}}));
    ASSERT_EQ(model->columnCount(), 8);
    EXPECT_EQ(model->headerData(3, Qt::Horizontal).toString(), "2 · 6");
    EXPECT_EQ(view.model()->imageAt(model->index(1, 3))->axisValues, (QStringList{"watercolor", "2", "6"}));
    // One axis: its values across one row.
    view.setCompareSet(makeSet(dir, {"seed"}, {kSeeds}));
    EXPECT_EQ(model->rowCount(), 1);
    EXPECT_EQ(headers(model, Qt::Horizontal), kSeeds);
    EXPECT_EQ(headers(model, Qt::Vertical), QStringList{"seed"});
}

TEST_F(CompareViewTest, ArrowsMoveNumbersRateAndSpaceMarksTheOneWinner) {
    QSignalSpy rated(&view, &CompareView::ratingChanged);
    QSignalSpy won(&view, &CompareView::winnerChanged);
    view.grid()->setFocus();
    EXPECT_EQ(view.currentImageId(), idAt(0, 0));
    QTest::keyClick(view.grid(), Qt::Key_Right);
    QTest::keyClick(view.grid(), Qt::Key_Down);
    ASSERT_EQ(view.currentImageId(), idAt(1, 1));
    QTest::keyClick(view.grid(), Qt::Key_3);
    ASSERT_EQ(rated.count(), 1);
    EXPECT_EQ(rated.at(0).at(0).toLongLong(), idAt(1, 1));
    EXPECT_EQ(rated.at(0).at(1).toInt(), 3);
    EXPECT_EQ(view.model()->index(1, 1).data(CompareGridModel::RatingRole).toInt(), 3);
    EXPECT_TRUE(view.detailsText().contains(CompareGridModel::stars(3)));

    QTest::keyClick(view.grid(), Qt::Key_Space);
    ASSERT_EQ(won.count(), 1);
    EXPECT_EQ(won.at(0).at(0).toLongLong(), idAt(1, 1));
    EXPECT_TRUE(won.at(0).at(1).toBool());
    EXPECT_EQ(view.model()->index(1, 1).data().toString(), CompareGridModel::stars(3) + "  winner");
    QTest::keyClick(view.grid(), Qt::Key_Right);
    QTest::keyClick(view.grid(), Qt::Key_Space); // another winner: one per group
    EXPECT_TRUE(view.model()->index(1, 2).data(CompareGridModel::WinnerRole).toBool());
    EXPECT_FALSE(view.model()->index(1, 1).data(CompareGridModel::WinnerRole).toBool());
    QTest::keyClick(view.grid(), Qt::Key_Space); // again: not the winner
    ASSERT_EQ(won.count(), 3);
    EXPECT_FALSE(won.at(2).at(1).toBool());
    EXPECT_FALSE(view.model()->index(1, 2).data(CompareGridModel::WinnerRole).toBool());
    QTest::keyClick(view.grid(), Qt::Key_Left);
    QTest::keyClick(view.grid(), Qt::Key_0);
    EXPECT_EQ(view.model()->index(1, 1).data(CompareGridModel::RatingRole).toInt(), 0);
    EXPECT_EQ(rated.last().at(1).toInt(), 0);
    QTest::keyClick(view.grid(), Qt::Key_7); // not a rating
    EXPECT_EQ(rated.count(), 2);

    // The same group shown again (the app's answer) keeps the current image.
    CompareSet again = view.model()->compareSet();
    view.setCompareSet(again);
    EXPECT_EQ(view.currentImageId(), idAt(1, 1));
}

TEST_F(CompareViewTest, SideBySideZoomsAndPansTheSelectedImagesTogether) {
    view.selectImages({idAt(0, 0), idAt(1, 2), idAt(2, 3)});
    view.setMode(CompareView::SideBySideMode);
    const auto viewers = view.sideBySideViewers();
    ASSERT_EQ(viewers.size(), 4);
    EXPECT_EQ(view.comparedImages(), (QList<qint64>{idAt(0, 0), idAt(1, 2), idAt(2, 3)}));
    for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(viewers[i]->isVisible()) << i;
        EXPECT_TRUE(viewers[i]->hasImage()) << i;
    }
    EXPECT_FALSE(viewers[3]->isVisible());
    EXPECT_EQ(viewers[1]->image().pixelColor(0, 0),
              QImage(view.model()->imageAt(view.model()->index(1, 2))->path).pixelColor(0, 0));

    viewers[0]->zoomAt(6.0, QRectF(viewers[0]->rect()).center());
    const auto zoomed = viewers[0]->viewState();
    EXPECT_FALSE(zoomed.fit);
    EXPECT_EQ(viewers[1]->viewState(), zoomed);
    EXPECT_EQ(viewers[2]->viewState(), zoomed);
    viewers[2]->panBy(QPointF(40, 25));
    const auto panned = viewers[2]->viewState();
    EXPECT_NE(panned.centre, zoomed.centre);
    EXPECT_EQ(viewers[0]->viewState(), panned);
    EXPECT_EQ(viewers[1]->viewState(), panned);
    viewers[1]->fitToWindow();
    EXPECT_TRUE(viewers[0]->viewState().fit);
}

TEST_F(CompareViewTest, ABSwipeShowsOneImageEachSideAndFlips) {
    view.selectImages({idAt(0, 1), idAt(2, 2)});
    view.setMode(CompareView::SwipeMode);
    auto* swipe = view.swipeView();
    const QImage a = swipe->imageA(), b = swipe->imageB();
    ASSERT_FALSE(a.isNull());
    ASSERT_FALSE(b.isNull());
    const QColor colourA = a.pixelColor(0, 0), colourB = b.pixelColor(0, 0);
    ASSERT_NE(colourA, colourB);
    auto sample = [swipe](double x) {
        const QRect r = swipe->imageRect();
        const QImage shot = swipe->grab().toImage();
        return shot.pixelColor(r.left() + static_cast<int>(x * r.width()), r.center().y());
    };
    EXPECT_EQ(sample(0.25), colourA);
    EXPECT_EQ(sample(0.75), colourB);
    view.findChild<QPushButton*>("flipButton")->click();
    EXPECT_EQ(sample(0.25), colourB);
    EXPECT_EQ(sample(0.75), colourA);
    QTest::keyClick(swipe, Qt::Key_F); // F flips back
    EXPECT_EQ(sample(0.25), colourA);
    view.findChild<QSlider*>("swipeSlider")->setValue(900);
    EXPECT_DOUBLE_EQ(swipe->split(), 0.9);
    EXPECT_EQ(sample(0.75), colourA);
    // Arrows move the current image in the other modes too.
    const qint64 before = view.currentImageId();
    QTest::keyClick(swipe, Qt::Key_Down);
    EXPECT_NE(view.currentImageId(), before);
}

TEST_F(CompareViewTest, BranchFromHereAsksForTheCurrentImage) {
    QSignalSpy branch(&view, &CompareView::branchRequested);
    view.setCurrentImage(idAt(2, 1));
    view.findChild<QPushButton*>("branchButton")->click();
    ASSERT_EQ(branch.count(), 1);
    EXPECT_EQ(branch.at(0).at(0).toLongLong(), idAt(2, 1));
    // A cell whose job has no image yet cannot be branched from or rated.
    CompareSet set = view.model()->compareSet();
    set.images[0].imageId = 0;
    set.images[0].state = QStringLiteral("queued");
    view.setCompareSet(set);
    view.grid()->setCurrentIndex(view.model()->index(0, 0));
    EXPECT_EQ(view.model()->index(0, 0).data().toString(), "queued");
    EXPECT_FALSE(view.findChild<QPushButton*>("branchButton")->isEnabled());
    view.rateCurrent(4);
    EXPECT_EQ(branch.count(), 1);
}
