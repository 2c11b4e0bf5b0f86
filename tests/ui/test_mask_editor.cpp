// Offscreen widget tests of erasing in the studio: the mask brush (painting with the mouse, the eraser, undo,
// redo, clear, invert, the brush size), the mask editor's Erase (disabled with the reason without a LaMa model),
// the viewer's before/after flip, the gallery's erase-many selection and the result placed beside its original.
#include "ui/gallery_view.h"
#include "ui/image_viewer.h"
#include "ui/main_window.h"
#include "ui/mask_canvas.h"
#include "ui/mask_dialog.h"

#include <QAction>
#include <QApplication>
#include <QLabel>
#include <QListWidget>
#include <QMouseEvent>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QWheelEvent>

#include <gtest/gtest.h>

using namespace charaforge::ui;

namespace {

QImage solid(int w, int h, const QColor& color) {
    QImage image(w, h, QImage::Format_RGB32);
    image.fill(color);
    return image;
}

void mouse(QWidget* w, QEvent::Type type, const QPointF& pos, Qt::MouseButton button, Qt::MouseButtons buttons) {
    QMouseEvent e(type, pos, w->mapToGlobal(pos), button, buttons, Qt::NoModifier);
    QApplication::sendEvent(w, &e);
}

// A press at `from`, moves to `to`, a release there (image coordinates, mapped to the widget).
void stroke(MaskCanvas& c, QPointF from, QPointF to) {
    const QRectF r = c.imageRect();
    auto widget = [&](QPointF p) {
        return QPointF(r.left() + p.x() * r.width() / c.image().width(),
                       r.top() + p.y() * r.height() / c.image().height());
    };
    mouse(&c, QEvent::MouseButtonPress, widget(from), Qt::LeftButton, Qt::LeftButton);
    for (int i = 1; i <= 4; ++i)
        mouse(&c, QEvent::MouseMove, widget(from + (to - from) * i / 4.0), Qt::NoButton, Qt::LeftButton);
    mouse(&c, QEvent::MouseButtonRelease, widget(to), Qt::LeftButton, Qt::NoButton);
}

int hole(const QImage& mask, int x, int y) {
    return qGray(mask.pixel(x, y));
}

// A 200 x 100 image in a 400 x 200 canvas: 2 screen pixels per image pixel.
struct Canvas {
    MaskCanvas canvas;
    Canvas() {
        canvas.resize(400, 200);
        canvas.setImage(solid(200, 100, Qt::darkGreen));
        canvas.setBrushSize(10);
    }
};

} // namespace

TEST(MaskCanvas, PaintingWithTheMouseMakesAHoleUnderTheStrokeOnly) {
    Canvas t;
    MaskCanvas& c = t.canvas;
    ASSERT_TRUE(c.isEmpty());
    QSignalSpy changed(&c, &MaskCanvas::maskChanged);
    stroke(c, {20, 50}, {120, 50});
    const QImage m = c.mask();
    EXPECT_EQ(m.size(), QSize(200, 100));
    EXPECT_EQ(m.format(), QImage::Format_Grayscale8);
    EXPECT_EQ(hole(m, 20, 50), 255);
    EXPECT_EQ(hole(m, 70, 52), 255);
    EXPECT_EQ(hole(m, 120, 48), 255);
    EXPECT_EQ(hole(m, 70, 60), 0) << "the brush is 10 px wide";
    EXPECT_EQ(hole(m, 150, 50), 0);
    EXPECT_EQ(hole(m, 10, 50), 0);
    // About the stroke's area (100 x 10 plus its round caps), and only 0 or 255.
    EXPECT_NEAR(static_cast<double>(c.holePixels()), 100 * 10 + 3.14159 * 25, 150);
    for (int y = 0; y < m.height(); ++y)
        for (int x = 0; x < m.width(); ++x)
            ASSERT_TRUE(hole(m, x, y) == 0 || hole(m, x, y) == 255);
    EXPECT_GE(changed.count(), 2);
    EXPECT_TRUE(c.canUndo());
}

TEST(MaskCanvas, TheEraserTakesPaintAwayAndUndoRedoWalkTheStrokes) {
    Canvas t;
    MaskCanvas& c = t.canvas;
    stroke(c, {20, 50}, {120, 50});
    const QImage afterPaint = c.mask();
    const qint64 painted = c.holePixels();
    c.setEraser(true);
    stroke(c, {70, 30}, {70, 70}); // across the middle of the stroke
    const QImage afterErase = c.mask();
    EXPECT_EQ(hole(afterErase, 70, 50), 0);
    EXPECT_EQ(hole(afterErase, 30, 50), 255);
    EXPECT_LT(c.holePixels(), painted - 10 * 8) << "a 10 px band of the 10 px stroke is gone";

    c.undo();
    EXPECT_EQ(c.mask(), afterPaint);
    EXPECT_TRUE(c.canRedo());
    c.undo();
    EXPECT_TRUE(c.isEmpty());
    EXPECT_FALSE(c.canUndo());
    c.redo();
    EXPECT_EQ(c.mask(), afterPaint);
    c.redo();
    EXPECT_EQ(c.mask(), afterErase);
    EXPECT_FALSE(c.canRedo());
    // A new stroke after an undo drops what could be redone.
    c.undo();
    c.setEraser(false);
    stroke(c, {150, 20}, {150, 80});
    EXPECT_FALSE(c.canRedo());
}

TEST(MaskCanvas, ClearAndInvertAreUndoableSteps) {
    Canvas t;
    MaskCanvas& c = t.canvas;
    stroke(c, {20, 50}, {120, 50});
    const QImage painted = c.mask();
    const qint64 n = c.holePixels();
    c.invert();
    EXPECT_EQ(c.holePixels(), 200 * 100 - n);
    EXPECT_EQ(hole(c.mask(), 70, 50), 0);
    EXPECT_EQ(hole(c.mask(), 5, 5), 255);
    c.clear();
    EXPECT_TRUE(c.isEmpty());
    c.undo();
    EXPECT_EQ(c.holePixels(), 200 * 100 - n);
    c.undo();
    EXPECT_EQ(c.mask(), painted);
}

TEST(MaskCanvas, TheWheelSizesTheBrush) {
    Canvas t;
    MaskCanvas& c = t.canvas;
    c.setBrushSize(40);
    QWheelEvent up(QPointF(100, 100), c.mapToGlobal(QPointF(100, 100)), QPoint(), QPoint(0, 120), Qt::NoButton,
                   Qt::NoModifier, Qt::NoScrollPhase, false);
    QApplication::sendEvent(&c, &up);
    EXPECT_EQ(c.brushSize(), 45);
    c.setBrushSize(100000);
    EXPECT_EQ(c.brushSize(), MaskCanvas::kMaxBrush);
}

TEST(MaskDialog, EraseSaysWhatToSetWithoutALamaModelAndSendsTheMaskWithOne) {
    QTemporaryDir dir;
    const QString a = dir.filePath(QStringLiteral("a.png")), b = dir.filePath(QStringLiteral("b.png"));
    ASSERT_TRUE(solid(200, 100, Qt::blue).save(a));
    ASSERT_TRUE(solid(80, 40, Qt::red).save(b));
    MaskDialog d;
    d.show();
    ASSERT_TRUE(d.setImages({a, b}));
    EXPECT_EQ(d.canvas()->image().size(), QSize(200, 100)) << "the first image is painted on";
    auto* title = d.findChild<QLabel*>(QStringLiteral("maskTitle"));
    EXPECT_TRUE(title->text().contains(QStringLiteral("scaled"))) << title->text().toStdString();
    EXPECT_FALSE(d.eraseButton()->isEnabled());
    EXPECT_TRUE(d.problem().contains(QStringLiteral("big-lama.pt"))) << d.problem().toStdString();
    EXPECT_TRUE(d.problem().contains(QStringLiteral("CHARAFORGE_LAMA_MODEL")));
    QSignalSpy askedForModel(&d, &MaskDialog::lamaModelRequested);
    d.findChild<QPushButton*>(QStringLiteral("chooseLamaButton"))->click();
    EXPECT_EQ(askedForModel.count(), 1);

    d.setLamaModel(QStringLiteral("/models/big-lama.pt"));
    EXPECT_FALSE(d.eraseButton()->isEnabled()) << "nothing painted yet";
    EXPECT_TRUE(d.problem().contains(QStringLiteral("Paint")));
    d.canvas()->resize(400, 200);
    stroke(*d.canvas(), {20, 50}, {120, 50});
    EXPECT_TRUE(d.eraseButton()->isEnabled()) << d.problem().toStdString();
    QSignalSpy erase(&d, &MaskDialog::eraseRequested);
    d.eraseButton()->click();
    ASSERT_EQ(erase.count(), 1);
    EXPECT_EQ(erase.at(0).at(0).toStringList(), (QStringList{a, b}));
    EXPECT_EQ(erase.at(0).at(1).value<QImage>(), d.canvas()->mask());
    EXPECT_EQ(erase.at(0).at(2).toString(), QStringLiteral("crop"));
    // The undo and redo actions follow the canvas.
    auto* undo = d.findChild<QAction*>(QStringLiteral("maskUndoAction"));
    EXPECT_TRUE(undo->isEnabled());
    undo->trigger();
    EXPECT_TRUE(d.canvas()->isEmpty());
    EXPECT_FALSE(d.eraseButton()->isEnabled());
    EXPECT_FALSE(d.setImages({dir.filePath(QStringLiteral("none.png"))})) << "an unreadable image";
    EXPECT_EQ(d.images(), (QStringList{a, b}));
}

TEST(ImageViewerCompare, BeforeAfterFlipsAtTheSameZoomAndAnotherImageEndsIt) {
    ImageViewer v;
    v.resize(400, 300);
    v.show();
    const QImage after = solid(100, 80, Qt::white), before = solid(100, 80, Qt::black);
    v.setImage(after, QStringLiteral("erased"));
    v.actualSize();
    EXPECT_FALSE(v.beforeAfterAction()->isEnabled());
    v.setComparison(solid(50, 50, Qt::black), QStringLiteral("other size"));
    EXPECT_FALSE(v.hasComparison()) << "a pair of other sizes is not compared";
    v.setComparison(before, QStringLiteral("original"));
    ASSERT_TRUE(v.hasComparison());
    EXPECT_TRUE(v.beforeAfterAction()->isEnabled());
    v.beforeAfterAction()->trigger();
    EXPECT_TRUE(v.showingBefore());
    EXPECT_EQ(v.image(), before);
    EXPECT_EQ(v.caption(), QStringLiteral("original"));
    EXPECT_DOUBLE_EQ(v.scale(), 1.0) << "the zoom stays";
    EXPECT_TRUE(v.flipComparison());
    EXPECT_EQ(v.image(), after);
    EXPECT_EQ(v.caption(), QStringLiteral("erased"));
    v.setImage(solid(100, 80, Qt::gray), QStringLiteral("next"));
    EXPECT_FALSE(v.hasComparison());
    EXPECT_FALSE(v.flipComparison());
}

TEST(GalleryErase, AResultGoesBesideItsOriginalAndSeveralSelectedImagesAreErasedTogether) {
    GalleryView g;
    g.addImage(1, solid(10, 10, Qt::red), QStringLiteral("/i/one.png"), {});
    g.addImage(2, solid(10, 10, Qt::green), QStringLiteral("/i/two.png"), {});
    g.addImage(3, solid(10, 10, Qt::blue), QStringLiteral("/i/three.png"), {});
    // Newest first: three, two, one. The erased "one" goes right after one, not to the front.
    g.addImageBeside(QStringLiteral("/i/one.png"), 4, solid(10, 10, Qt::white), QStringLiteral("/o/one-erased.png"),
                     {});
    EXPECT_EQ(g.pathAt(2), QStringLiteral("/i/one.png"));
    EXPECT_EQ(g.pathAt(3), QStringLiteral("/o/one-erased.png"));
    g.addImageBeside(QStringLiteral("/i/gone.png"), 5, solid(10, 10, Qt::white), QStringLiteral("/o/x.png"), {});
    EXPECT_EQ(g.pathAt(0), QStringLiteral("/o/x.png")) << "no original shown: at the front";

    g.list()->item(1)->setSelected(true);
    g.list()->item(3)->setSelected(true);
    EXPECT_EQ(g.selectedPaths(), (QStringList{QStringLiteral("/i/three.png"), QStringLiteral("/i/one.png")}));
    QSignalSpy erase(&g, &GalleryView::eraseRequested);
    g.list()->setCurrentRow(1, QItemSelectionModel::Current); // the current one, selection kept
    g.findChild<QAction*>(QStringLiteral("galleryEraseAction"))->trigger();
    ASSERT_EQ(erase.count(), 1);
    EXPECT_EQ(erase.at(0).at(0).toStringList().size(), 2);
}

TEST(MainWindowErase, EraseTargetsAreTheSelectedImagesElseTheImageShown) {
    QTemporaryDir dir;
    const QString a = dir.filePath(QStringLiteral("a.png")), b = dir.filePath(QStringLiteral("b.png"));
    ASSERT_TRUE(solid(20, 20, Qt::blue).save(a));
    ASSERT_TRUE(solid(20, 20, Qt::red).save(b));
    MainWindow w;
    EXPECT_TRUE(w.eraseTargets().isEmpty());
    ASSERT_TRUE(w.openImageFile(a));
    EXPECT_EQ(w.eraseTargets(), QStringList{a});
    w.gallery()->addImage(1, solid(20, 20, Qt::blue), a, {});
    w.gallery()->addImage(2, solid(20, 20, Qt::red), b, {});
    ASSERT_TRUE(w.gallery()->selectPath(b));
    EXPECT_EQ(w.eraseTargets(), QStringList{b});
    w.gallery()->list()->item(1)->setSelected(true);
    EXPECT_EQ(w.eraseTargets(), (QStringList{b, a}));
    QSignalSpy erase(&w, &MainWindow::eraseRequested);
    w.findChild<QAction*>(QStringLiteral("eraseAction"))->trigger();
    ASSERT_EQ(erase.count(), 1);
    EXPECT_EQ(erase.at(0).at(0).toStringList(), (QStringList{b, a}));
}
