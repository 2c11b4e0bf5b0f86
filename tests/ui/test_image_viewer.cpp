// Offscreen widget tests of the image viewer as the studio uses it (QT_QPA_PLATFORM=offscreen): zoom
// steps, 1:1 and fit, wheel zoom around the cursor, panning by dragging, full screen and back, copying
// the image, stepping through the gallery with the arrow keys, a double-click opening an image 1:1, and
// the menus and the shortcuts list made from the actions.
#include "ui/gallery_view.h"
#include "ui/image_viewer.h"
#include "ui/main_window.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QFile>
#include <QListWidget>
#include <QMenu>
#include <QMenuBar>
#include <QScreen>
#include <QSignalSpy>
#include <QSplitter>
#include <QTemporaryDir>
#include <QTest>
#include <QWheelEvent>

#include <gtest/gtest.h>

using charaforge::ui::GalleryView;
using charaforge::ui::ImageViewer;
using charaforge::ui::MainWindow;

namespace {

QImage solid(int w, int h, const QColor& color) {
    QImage image(w, h, QImage::Format_RGB32);
    image.fill(color);
    return image;
}

// A 1000 x 800 image in a 400 x 300 viewer (the area is 392 x 292 inside 4 px margins).
struct Viewer {
    ImageViewer viewer;
    Viewer() {
        viewer.resize(400, 300);
        viewer.show();
        viewer.setImage(solid(1000, 800, Qt::darkCyan), QString());
    }
};

void wheel(QWidget* w, const QPointF& at, int angle) {
    QWheelEvent event(at, w->mapToGlobal(at), QPoint(), QPoint(0, angle), Qt::NoButton, Qt::NoModifier,
                      Qt::NoScrollPhase, false);
    QApplication::sendEvent(w, &event);
}

} // namespace

TEST(ImageViewerZoom, StepsOneToOneAndFitChangeTheScale) {
    Viewer v;
    const double fit = 292.0 / 800.0; // height-bound
    EXPECT_TRUE(v.viewer.isFitting());
    EXPECT_NEAR(v.viewer.scale(), fit, 0.002);
    v.viewer.zoomInAction()->trigger();
    EXPECT_FALSE(v.viewer.isFitting());
    EXPECT_NEAR(v.viewer.scale(), fit * ImageViewer::kZoomStep, 0.003);
    v.viewer.zoomOutAction()->trigger();
    v.viewer.zoomOutAction()->trigger();
    EXPECT_NEAR(v.viewer.scale(), fit / ImageViewer::kZoomStep, 0.003);
    v.viewer.actualSizeAction()->trigger();
    EXPECT_DOUBLE_EQ(v.viewer.scale(), 1.0);
    EXPECT_EQ(v.viewer.imageRect().size(), QSize(1000, 800));
    v.viewer.fitAction()->trigger();
    EXPECT_TRUE(v.viewer.isFitting());
    EXPECT_EQ(v.viewer.imageRect().height(), 292);
    for (int i = 0; i < 100; ++i)
        v.viewer.zoomIn();
    EXPECT_DOUBLE_EQ(v.viewer.scale(), ImageViewer::kMaxScale) << "zoom stops at its limit";
    // The zoomed view paints the image where it says it is.
    v.viewer.actualSize();
    const QImage shot = v.viewer.grab().toImage().scaled(v.viewer.size());
    EXPECT_EQ(QColor(shot.pixel(200, 150)), QColor(Qt::darkCyan));
}

TEST(ImageViewerZoom, ShortcutsWorkWhileTheViewerHasTheFocus) {
    Viewer v;
    v.viewer.activateWindow();
    ASSERT_TRUE(QTest::qWaitForWindowActive(&v.viewer));
    v.viewer.setFocus();
    QTest::keyClick(&v.viewer, Qt::Key_1, Qt::ControlModifier);
    EXPECT_DOUBLE_EQ(v.viewer.scale(), 1.0);
    QTest::keyClick(&v.viewer, Qt::Key_F);
    EXPECT_TRUE(v.viewer.isFitting());
    QTest::keyClick(&v.viewer, Qt::Key_1);
    EXPECT_DOUBLE_EQ(v.viewer.scale(), 1.0);
    QTest::keyClick(&v.viewer, Qt::Key_Plus, Qt::ControlModifier);
    EXPECT_NEAR(v.viewer.scale(), ImageViewer::kZoomStep, 1e-9);
    QTest::keyClick(&v.viewer, Qt::Key_Minus, Qt::ControlModifier);
    EXPECT_NEAR(v.viewer.scale(), 1.0, 1e-9);
    QTest::keyClick(&v.viewer, Qt::Key_0, Qt::ControlModifier);
    EXPECT_TRUE(v.viewer.isFitting());
}

TEST(ImageViewerZoom, TheWheelZoomsAroundTheCursor) {
    Viewer v;
    v.viewer.actualSize();
    for (const QPointF at : {QPointF(100, 80), QPointF(330, 240)}) {
        const QPointF before = v.viewer.mapToImage(at);
        const double scale = v.viewer.scale();
        wheel(&v.viewer, at, 120);
        EXPECT_NEAR(v.viewer.scale(), scale * ImageViewer::kZoomStep, 1e-9);
        const QPointF after = v.viewer.mapToImage(at);
        EXPECT_NEAR(after.x(), before.x(), 0.01) << "the point under the cursor stays";
        EXPECT_NEAR(after.y(), before.y(), 0.01);
    }
    wheel(&v.viewer, QPointF(200, 150), -240);
    EXPECT_NEAR(v.viewer.scale(), 1.0, 1e-9) << "two notches back";
}

TEST(ImageViewerZoom, DraggingPansAnImageLargerThanTheView) {
    Viewer v;
    EXPECT_FALSE(v.viewer.canPan()) << "a fitted image has nothing to pan";
    v.viewer.actualSize();
    ASSERT_TRUE(v.viewer.canPan());
    const QRectF before = v.viewer.imageRectF();
    QTest::mousePress(&v.viewer, Qt::LeftButton, Qt::NoModifier, QPoint(200, 150));
    QTest::mouseMove(&v.viewer, QPoint(230, 170));
    QTest::mouseRelease(&v.viewer, Qt::LeftButton, Qt::NoModifier, QPoint(230, 170));
    const QRectF after = v.viewer.imageRectF();
    EXPECT_NEAR(after.left() - before.left(), 30, 0.01);
    EXPECT_NEAR(after.top() - before.top(), 20, 0.01);
    // Never past the image's edge: no background beside an image larger than the view.
    v.viewer.panBy(QPointF(5000, 5000));
    EXPECT_NEAR(v.viewer.imageRectF().left(), 4, 0.01);
    EXPECT_NEAR(v.viewer.imageRectF().top(), 4, 0.01);
    v.viewer.panBy(QPointF(-5000, -5000));
    EXPECT_NEAR(v.viewer.imageRectF().right(), 396, 0.01);
}

TEST(ImageViewerZoom, SameSizedImagesKeepTheZoomOthersAreFitted) {
    Viewer v;
    v.viewer.actualSize();
    v.viewer.panBy(QPointF(-100, -50));
    const QRectF at = v.viewer.imageRectF();
    v.viewer.setImage(solid(1000, 800, Qt::red), QStringLiteral("variant b"));
    EXPECT_FALSE(v.viewer.isFitting()) << "comparing variants at 1:1";
    EXPECT_NEAR(v.viewer.imageRectF().left(), at.left(), 0.01);
    v.viewer.setImage(solid(640, 480, Qt::red), QString());
    EXPECT_TRUE(v.viewer.isFitting());
}

TEST(ImageViewerCopy, CopyPutsTheImageOnTheClipboard) {
    ImageViewer viewer;
    EXPECT_FALSE(viewer.copyAction()->isEnabled());
    viewer.setImage(solid(123, 45, Qt::magenta), QString());
    ASSERT_TRUE(viewer.copyAction()->isEnabled());
    viewer.copyAction()->trigger();
    const QImage copied = QGuiApplication::clipboard()->image();
    EXPECT_EQ(copied.size(), QSize(123, 45));
    EXPECT_EQ(QColor(copied.pixel(60, 20)), QColor(Qt::magenta));
}

namespace {

// A window whose gallery shows three images saved in a temporary folder (newest first: c, b, a).
struct Studio {
    QTemporaryDir dir;
    MainWindow w;
    QStringList paths;
    Studio() {
        const std::pair<const char*, QColor> images[] = {{"a", Qt::red}, {"b", Qt::green}, {"c", Qt::blue}};
        for (const auto& [name, color] : images) {
            const QString path = dir.filePath(QString::fromLatin1(name) + QStringLiteral(".png"));
            EXPECT_TRUE(solid(900, 700, color).save(path));
            w.gallery()->addImage(0, solid(90, 70, color), path, QString());
            paths.prepend(path);
        }
        w.show();
        w.activateWindow();
        EXPECT_TRUE(QTest::qWaitForWindowActive(&w));
    }
    QColor shown() const { return QColor(w.viewer()->image().pixel(10, 10)); }
};

} // namespace

TEST(ImageViewerInWindow, ArrowsStepThroughTheGallery) {
    Studio s;
    ASSERT_TRUE(s.w.gallery()->selectPath(s.paths[0]));
    EXPECT_EQ(s.shown(), QColor(Qt::blue));
    s.w.viewer()->setFocus();
    QTest::keyClick(s.w.viewer(), Qt::Key_Right);
    EXPECT_EQ(s.w.gallery()->currentPath(), s.paths[1]);
    EXPECT_EQ(s.shown(), QColor(Qt::green));
    QTest::keyClick(s.w.viewer(), Qt::Key_Right);
    QTest::keyClick(s.w.viewer(), Qt::Key_Right); // past the oldest: stays
    EXPECT_EQ(s.w.gallery()->currentPath(), s.paths[2]);
    EXPECT_EQ(s.shown(), QColor(Qt::red));
    QTest::keyClick(s.w.viewer(), Qt::Key_Left);
    EXPECT_EQ(s.w.gallery()->currentPath(), s.paths[1]);
    // The same keys while the gallery has the focus.
    s.w.gallery()->list()->setFocus();
    QTest::keyClick(s.w.gallery()->list(), Qt::Key_Left);
    EXPECT_EQ(s.w.gallery()->currentPath(), s.paths[0]);
}

TEST(ImageViewerInWindow, DoubleClickOpensTheImageOneToOne) {
    Studio s;
    QListWidget* list = s.w.gallery()->list();
    QListWidgetItem* item = list->item(1);
    const QRect cell = list->visualItemRect(item);
    QSignalSpy activated(s.w.gallery(), &GalleryView::imageActivated);
    QTest::mouseClick(list->viewport(), Qt::LeftButton, Qt::NoModifier, cell.center());
    QTest::mouseDClick(list->viewport(), Qt::LeftButton, Qt::NoModifier, cell.center());
    ASSERT_EQ(activated.count(), 1);
    EXPECT_EQ(s.w.viewer()->image().size(), QSize(900, 700)) << "the file, not the thumbnail";
    EXPECT_EQ(s.shown(), QColor(Qt::green));
    EXPECT_FALSE(s.w.viewer()->isFitting());
    EXPECT_DOUBLE_EQ(s.w.viewer()->scale(), 1.0);
    EXPECT_TRUE(s.w.viewer()->hasFocus());
}

TEST(ImageViewerInWindow, F11ShowsTheViewerAloneAndEscapeBringsItBack) {
    Studio s;
    ImageViewer* viewer = s.w.viewer();
    auto* splitter = qobject_cast<QSplitter*>(viewer->parentWidget());
    ASSERT_NE(splitter, nullptr);
    const int index = splitter->indexOf(viewer);
    viewer->setFocus();
    QTest::keyClick(viewer, Qt::Key_F11);
    EXPECT_TRUE(viewer->isFullScreenView());
    EXPECT_TRUE(viewer->isWindow());
    EXPECT_TRUE(viewer->windowState() & Qt::WindowFullScreen);
    EXPECT_TRUE(viewer->fullScreenAction()->isChecked());
    EXPECT_EQ(viewer->geometry(), s.w.screen()->geometry()) << "the whole screen";
    viewer->activateWindow();
    ASSERT_TRUE(QTest::qWaitForWindowActive(viewer));
    QTest::keyClick(viewer, Qt::Key_Right); // the keys work in the full-screen window
    EXPECT_FALSE(s.w.gallery()->currentPath().isEmpty());
    QTest::keyClick(viewer, Qt::Key_Escape);
    EXPECT_FALSE(viewer->isFullScreenView());
    EXPECT_FALSE(viewer->isWindow());
    EXPECT_EQ(viewer->parentWidget(), splitter);
    EXPECT_EQ(splitter->indexOf(viewer), index);
    EXPECT_TRUE(viewer->isVisible());
    viewer->fullScreenAction()->trigger();
    EXPECT_TRUE(viewer->isFullScreenView());
    viewer->fullScreenAction()->trigger();
    EXPECT_FALSE(viewer->isFullScreenView());
}

TEST(ImageViewerInWindow, TheViewMenuShowsTheViewerActionsWithTheirShortcuts) {
    MainWindow w;
    auto* view = w.menuBar()->findChild<QMenu*>(QStringLiteral("viewMenu"));
    ASSERT_NE(view, nullptr);
    for (QAction* a : w.viewer()->viewerActions()) {
        EXPECT_TRUE(view->actions().contains(a)) << a->objectName().toStdString();
        EXPECT_FALSE(a->shortcut().isEmpty()) << a->objectName().toStdString();
    }
    EXPECT_EQ(w.viewer()->fitAction()->shortcuts(),
              (QList<QKeySequence>{QKeySequence(Qt::CTRL | Qt::Key_0), QKeySequence(Qt::Key_F)}));
    EXPECT_EQ(w.viewer()->fullScreenAction()->shortcut(), QKeySequence(Qt::Key_F11));
}

TEST(ImageViewerInWindow, TheShortcutsListHasEveryActionWithAShortcut) {
    MainWindow w;
    const QString text = w.shortcutsText();
    QList<QAction*> actions = w.findChildren<QAction*>();
    int checked = 0;
    for (QAction* a : actions) {
        if (a->shortcuts().isEmpty() || a->text().isEmpty())
            continue;
        ++checked;
        for (const QKeySequence& k : a->shortcuts())
            EXPECT_TRUE(text.contains(k.toString(QKeySequence::NativeText).toHtmlEscaped()))
                << a->objectName().toStdString() << " " << k.toString().toStdString();
        const QString label = QString(a->text()).remove(QLatin1Char('&')).remove(QChar(0x2026)).trimmed();
        EXPECT_TRUE(text.contains(label.toHtmlEscaped())) << label.toStdString();
    }
    EXPECT_GE(checked, 14) << "viewer, file, help and queue actions";
    EXPECT_TRUE(text.contains(QKeySequence(Qt::CTRL | Qt::Key_Return).toString(QKeySequence::NativeText)))
        << "the Add to queue button's shortcut";
}

TEST(ImageViewerInWindow, OpenImageShowsItAndOffersACharaForgePngsSettings) {
    Studio s;
    QSignalSpy offered(&s.w, &MainWindow::imageDropped);
    QImage ours = solid(320, 200, Qt::yellow);
    ours.setText(QStringLiteral("charaforge"), QStringLiteral("{\"prompt\":\"x\"}"));
    const QString oursPath = s.dir.filePath(QStringLiteral("ours.png"));
    ASSERT_TRUE(ours.save(oursPath));
    ASSERT_TRUE(s.w.openImageFile(oursPath));
    EXPECT_EQ(s.w.viewer()->image().size(), QSize(320, 200));
    ASSERT_EQ(offered.count(), 1) << "the same path as a dropped PNG";
    EXPECT_EQ(offered.at(0).at(0).toString(), oursPath);

    ASSERT_TRUE(s.w.openImageFile(s.paths[0])); // a PNG without our record: shown, nothing offered
    EXPECT_EQ(offered.count(), 1);
    EXPECT_EQ(s.shown(), QColor(Qt::blue));

    const QString junk = s.dir.filePath(QStringLiteral("junk.png"));
    QFile f(junk);
    ASSERT_TRUE(f.open(QIODevice::WriteOnly));
    f.write("not a png");
    f.close();
    EXPECT_FALSE(s.w.openImageFile(junk));
    EXPECT_TRUE(s.w.statusText().contains(QStringLiteral("junk.png"))) << s.w.statusText().toStdString();
    EXPECT_EQ(s.shown(), QColor(Qt::blue)) << "the image shown stays";
}

// At a laptop's 1280 x 800 the gallery strip was 70 px high: every thumbnail (176 px cells) cut in half.
TEST(ImageViewerInWindow, TheGalleryShowsAWholeRowOfThumbnailsAtLaptopSize) {
    Studio s;
    s.w.resize(1280, 800);
    QCoreApplication::processEvents();
    QListWidget* list = s.w.gallery()->list();
    EXPECT_GE(list->viewport()->height(), list->gridSize().height());
    EXPECT_GE(s.w.viewer()->height(), s.w.viewer()->minimumHeight());
}
