// Offscreen widget tests of the gallery, the image viewer and the memory monitor
// (QT_QPA_PLATFORM=offscreen): thumbnails newest first and the signals, fitting with the aspect ratio
// kept, live previews, the monitor's text for GPU and CPU readings, the bounded history, byte formatting,
// and painting.
#include "ui/gallery_view.h"
#include "ui/image_viewer.h"
#include "ui/vram_monitor.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QDesktopServices>
#include <QDir>
#include <QListWidget>
#include <QSignalSpy>
#include <QTabBar>
#include <QTest>
#include <QUrl>

#include <gtest/gtest.h>

#include <cmath>
#include <memory>

using charaforge::ui::formatBytes;
using charaforge::ui::GalleryView;
using charaforge::ui::ImageViewer;
using charaforge::ui::MemorySample;
using charaforge::ui::VramMonitor;

// Receives the URLs QDesktopServices would hand to the desktop.
class UrlCatcher : public QObject {
    Q_OBJECT
public:
    QList<QUrl> urls;
public Q_SLOTS:
    void open(const QUrl& url) { urls.append(url); }
};

namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
constexpr double kMiB = 1024.0 * 1024.0;

qint64 gib(double n) {
    return std::llround(n * kGiB);
}
qint64 mib(double n) {
    return std::llround(n * kMiB);
}

QImage solid(int w, int h, const QColor& color) {
    QImage image(w, h, QImage::Format_RGB32);
    image.fill(color);
    return image;
}

// ---------------------------------------------------------------------------------------------------
// GalleryView

class GalleryViewTest : public ::testing::Test {
protected:
    void SetUp() override {
        m_gallery = std::make_unique<GalleryView>();
        m_gallery->resize(600, 400);
        m_gallery->show();
    }
    void addThree() {
        m_gallery->addImage(1, solid(1024, 512, Qt::red), QStringLiteral("/out/a.png"), QStringLiteral("alice"));
        m_gallery->addImage(2, solid(512, 1024, Qt::green), QStringLiteral("/out/b.png"), QString());
        m_gallery->addImage(3, solid(64, 64, Qt::blue), QStringLiteral("/out/c.png"), QStringLiteral("carol"));
    }
    QAction* action(const char* name) const {
        auto* a = m_gallery->findChild<QAction*>(QString::fromLatin1(name));
        EXPECT_NE(a, nullptr) << name;
        return a;
    }
    QListWidget* list() const { return m_gallery->list(); }
    // The part of an item's 160 px thumbnail that the image covers.
    static QRect opaqueRect(const QListWidgetItem* item) {
        const QImage thumb = item->icon().pixmap(QSize(160, 160)).toImage();
        EXPECT_EQ(thumb.size(), QSize(160, 160));
        QRect r;
        for (int y = 0; y < thumb.height(); ++y) {
            for (int x = 0; x < thumb.width(); ++x) {
                if (qAlpha(thumb.pixel(x, y)) > 0)
                    r |= QRect(x, y, 1, 1);
            }
        }
        return r;
    }

    std::unique_ptr<GalleryView> m_gallery;
};

TEST_F(GalleryViewTest, AddsThumbnailsNewestFirst) {
    QSignalSpy selected(m_gallery.get(), &GalleryView::imageSelected);
    addThree();
    ASSERT_EQ(m_gallery->count(), 3);
    EXPECT_EQ(m_gallery->pathAt(0), QStringLiteral("/out/c.png"));
    EXPECT_EQ(m_gallery->pathAt(1), QStringLiteral("/out/b.png"));
    EXPECT_EQ(m_gallery->pathAt(2), QStringLiteral("/out/a.png"));
    EXPECT_EQ(m_gallery->jobIdAt(0), 3);
    EXPECT_EQ(m_gallery->jobIdAt(2), 1);
    EXPECT_EQ(list()->item(0)->toolTip(), QStringLiteral("carol"));
    EXPECT_EQ(list()->item(1)->toolTip(), QDir::toNativeSeparators(QStringLiteral("/out/b.png")));
    // Scaled down to 160 px on the longest side with the aspect ratio kept, centred in a 160 px cell;
    // small images are not scaled up.
    EXPECT_EQ(opaqueRect(list()->item(2)), QRect(0, 40, 160, 80));
    EXPECT_EQ(opaqueRect(list()->item(1)), QRect(40, 0, 80, 160));
    EXPECT_EQ(opaqueRect(list()->item(0)), QRect(48, 48, 64, 64));
    EXPECT_EQ(list()->viewMode(), QListView::IconMode);
    EXPECT_EQ(selected.count(), 0); // adding does not pick an image for the user

    // The same file written again replaces its thumbnail and comes to the front.
    m_gallery->addImage(4, solid(32, 32, Qt::white), QStringLiteral("/out/a.png"), QString());
    EXPECT_EQ(m_gallery->count(), 3);
    EXPECT_EQ(m_gallery->pathAt(0), QStringLiteral("/out/a.png"));
    EXPECT_EQ(m_gallery->jobIdAt(0), 4);

    m_gallery->clear();
    EXPECT_EQ(m_gallery->count(), 0);
    EXPECT_EQ(m_gallery->currentPath(), QString());
}

TEST_F(GalleryViewTest, SelectionAndActivationEmitThePath) {
    addThree();
    QSignalSpy selected(m_gallery.get(), &GalleryView::imageSelected);
    QSignalSpy activated(m_gallery.get(), &GalleryView::imageActivated);

    const QRect rect = list()->visualItemRect(list()->item(1));
    QTest::mouseClick(list()->viewport(), Qt::LeftButton, Qt::NoModifier, rect.center());
    ASSERT_EQ(selected.count(), 1);
    EXPECT_EQ(selected.at(0).at(0).toString(), QStringLiteral("/out/b.png"));
    EXPECT_EQ(m_gallery->currentPath(), QStringLiteral("/out/b.png"));

    QTest::mouseDClick(list()->viewport(), Qt::LeftButton, Qt::NoModifier, rect.center()); // after the click
    ASSERT_EQ(activated.count(), 1);
    EXPECT_EQ(activated.at(0).at(0).toString(), QStringLiteral("/out/b.png"));

    EXPECT_TRUE(m_gallery->selectPath(QStringLiteral("/out/a.png")));
    EXPECT_EQ(selected.last().at(0).toString(), QStringLiteral("/out/a.png"));
    list()->setFocus();
    QTest::keyClick(list(), Qt::Key_Return);
    ASSERT_EQ(activated.count(), 2);
    EXPECT_EQ(activated.at(1).at(0).toString(), QStringLiteral("/out/a.png"));
    EXPECT_FALSE(m_gallery->selectPath(QStringLiteral("/out/missing.png")));
}

TEST_F(GalleryViewTest, ContextActionsActOnTheCurrentImage) {
    addThree();
    QAction* restore = action("restoreAction");
    QAction* copy = action("copyPathAction");
    QAction* open = action("openFolderAction");
    ASSERT_TRUE(restore && copy && open);
    EXPECT_FALSE(restore->isEnabled()); // nothing current yet

    m_gallery->selectPath(QStringLiteral("/out/c.png"));
    EXPECT_TRUE(restore->isEnabled());
    QSignalSpy restoreSpy(m_gallery.get(), &GalleryView::restoreRequested);
    restore->trigger();
    ASSERT_EQ(restoreSpy.count(), 1);
    EXPECT_EQ(restoreSpy.at(0).at(0).toString(), QStringLiteral("/out/c.png"));

    copy->trigger();
    EXPECT_EQ(QGuiApplication::clipboard()->text(), QDir::toNativeSeparators(QStringLiteral("/out/c.png")));

    UrlCatcher catcher;
    QDesktopServices::setUrlHandler(QStringLiteral("file"), &catcher, "open");
    open->trigger();
    QDesktopServices::unsetUrlHandler(QStringLiteral("file"));
    ASSERT_EQ(catcher.urls.size(), 1);
    EXPECT_EQ(catcher.urls.at(0), QUrl::fromLocalFile(QStringLiteral("/out")));
}

TEST_F(GalleryViewTest, Paints) {
    addThree();
    m_gallery->selectPath(QStringLiteral("/out/b.png"));
    const QImage image = m_gallery->grab().toImage();
    EXPECT_FALSE(image.isNull());
    EXPECT_EQ(image.size(), m_gallery->size() * image.devicePixelRatio());
}

// ---------------------------------------------------------------------------------------------------
// ImageViewer

TEST(ImageViewerTest, FitsTheImageKeepingItsAspectRatio) {
    ImageViewer viewer;
    viewer.resize(400, 300);
    viewer.show();
    EXPECT_FALSE(viewer.hasImage());
    EXPECT_TRUE(viewer.imageRect().isEmpty());

    viewer.setImage(solid(200, 100, Qt::red), QString());
    EXPECT_FALSE(viewer.isPreview());
    // 4 px margins: the 392x292 area fits 392x196, centred vertically.
    EXPECT_EQ(viewer.imageRect(), QRect(4, 52, 392, 196));

    // A resize refits it.
    viewer.resize(200, 400);
    EXPECT_EQ(viewer.imageRect(), QRect(4, 152, 192, 96));

    // The drawn pixels are the image's (centre) and the background (outside).
    const QImage shot = viewer.grab().toImage().scaled(viewer.size());
    EXPECT_EQ(QColor(shot.pixel(100, 200)), QColor(Qt::red));
    EXPECT_NE(QColor(shot.pixel(100, 20)), QColor(Qt::red));

    // A caption takes room under the image.
    viewer.resize(400, 300);
    viewer.setImage(solid(100, 100, Qt::green), QStringLiteral("alice · seed 42"));
    EXPECT_EQ(viewer.caption(), QStringLiteral("alice · seed 42"));
    const QRect r = viewer.imageRect();
    EXPECT_EQ(r.width(), r.height());
    EXPECT_LT(r.height(), 292);
    EXPECT_LT(r.bottom(), 300 - viewer.fontMetrics().height());
}

TEST(ImageViewerTest, ShowsAPreviewScaledUpSmoothly) {
    ImageViewer viewer;
    viewer.resize(300, 340);
    viewer.show();
    QImage preview(16, 16, QImage::Format_RGB32);
    preview.fill(Qt::blue);
    preview.setPixel(0, 0, qRgb(255, 255, 0));
    viewer.setPreview(preview, QStringLiteral("preview · step 12/28"));
    EXPECT_TRUE(viewer.isPreview());
    EXPECT_EQ(viewer.caption(), QStringLiteral("preview · step 12/28"));
    const QRect r = viewer.imageRect();
    EXPECT_EQ(r.width(), 292); // 16 px scaled up to the full width
    EXPECT_EQ(r.height(), 292);

    const QImage shot = viewer.grab().toImage().scaled(viewer.size());
    EXPECT_EQ(QColor(shot.pixel(r.center())), QColor(Qt::blue));
    // Smooth scaling blends the yellow corner into its neighbours instead of a hard-edged block.
    const QColor nearCorner(shot.pixel(r.left() + 14, r.top() + 14));
    EXPECT_NE(nearCorner, QColor(Qt::blue));
    EXPECT_NE(nearCorner, QColor(255, 255, 0));

    // The finished image replaces the preview.
    viewer.setImage(solid(64, 64, Qt::red), QStringLiteral("done"));
    EXPECT_FALSE(viewer.isPreview());
    viewer.clear();
    EXPECT_FALSE(viewer.hasImage());
    EXPECT_FALSE(viewer.grab().toImage().isNull());
}

// ---------------------------------------------------------------------------------------------------
// VramMonitor

MemorySample gpuSample() {
    MemorySample s;
    s.gpu = true;
    s.device = QStringLiteral("cuda:0 NVIDIA H200");
    s.allocated = gib(12.3);
    s.reserved = gib(14.0);
    s.freeBytes = gib(120.1);
    s.total = gib(139.8);
    s.components = {{QStringLiteral("transformer"), gib(7.2)},
                    {QStringLiteral("vae"), mib(160)},
                    {QStringLiteral("text_encoder"), gib(8.0)},
                    {QStringLiteral("clip_model"), gib(1.1)}};
    return s;
}

MemorySample cpuSample() {
    MemorySample s;
    s.device = QStringLiteral("cpu");
    s.processResident = gib(1.2);
    s.freeBytes = gib(20.0);
    s.total = gib(23.4);
    return s;
}

TEST(VramMonitorTest, FormatBytes) {
    EXPECT_EQ(formatBytes(0), QStringLiteral("0.0 MiB"));
    EXPECT_EQ(formatBytes(1536 * 1024), QStringLiteral("1.5 MiB"));
    EXPECT_EQ(formatBytes(mib(512)), QStringLiteral("512.0 MiB"));
    EXPECT_EQ(formatBytes(mib(1023.9)), QStringLiteral("1023.9 MiB"));
    EXPECT_EQ(formatBytes(gib(1) - 1), QStringLiteral("1.0 GiB")); // not "1024.0 MiB"
    EXPECT_EQ(formatBytes(gib(1)), QStringLiteral("1.0 GiB"));
    EXPECT_EQ(formatBytes(mib(1536)), QStringLiteral("1.5 GiB"));
    EXPECT_EQ(formatBytes(gib(139.8)), QStringLiteral("139.8 GiB"));
    EXPECT_EQ(formatBytes(-gib(2)), QStringLiteral("-2.0 GiB"));
}

TEST(VramMonitorTest, DescribesAGpuSample) {
    VramMonitor monitor;
    EXPECT_EQ(monitor.summaryText(), QString());
    monitor.addSample(gpuSample());
    EXPECT_EQ(monitor.summaryText(),
              QStringLiteral("cuda:0 NVIDIA H200 — used 12.3 GiB · reserved 14.0 GiB · free 120.1 GiB of 139.8 GiB\n"
                             "transformer 7.2 GiB · vae 160.0 MiB · text_encoder 8.0 GiB · clip_model 1.1 GiB"));
    EXPECT_EQ(monitor.historySize(), 1);
}

TEST(VramMonitorTest, ATabPerGpuEachWithItsOwnHistory) {
    VramMonitor monitor;
    monitor.setDevices({QStringLiteral("cuda:0"), QStringLiteral("cuda:1")});
    auto* tabs = monitor.findChild<QTabBar*>(QStringLiteral("memoryDevices"));
    ASSERT_NE(tabs, nullptr);
    EXPECT_EQ(tabs->count(), 2);
    EXPECT_FALSE(tabs->isHidden());
    MemorySample zero = gpuSample(), one = gpuSample();
    one.device = QStringLiteral("cuda:1 NVIDIA H200");
    one.allocated = 2 * 1024LL * 1024 * 1024;
    for (int i = 0; i < 3; ++i) {
        monitor.addSample(zero);
        monitor.addSample(one); // alternating devices do not restart each other's history
    }
    EXPECT_EQ(monitor.historyOf(QStringLiteral("cuda:0")).size(), 3);
    EXPECT_EQ(monitor.historyOf(QStringLiteral("cuda:1")).size(), 3);
    EXPECT_EQ(monitor.selectedDevice(), 0);
    EXPECT_TRUE(monitor.summaryText().startsWith(QStringLiteral("cuda:0 NVIDIA H200 — used 12.3 GiB")))
        << monitor.summaryText().toStdString();
    monitor.selectDevice(1);
    EXPECT_TRUE(monitor.summaryText().startsWith(QStringLiteral("cuda:1 NVIDIA H200 — used 2.0 GiB")))
        << monitor.summaryText().toStdString();
    EXPECT_EQ(monitor.historySize(), 3);
    MemorySample other = gpuSample();
    other.device = QStringLiteral("cuda:5 NVIDIA H200");
    monitor.addSample(other);
    EXPECT_EQ(monitor.historyOf(QStringLiteral("cuda:5")).size(), 0) << "no worker runs on cuda:5";

    monitor.setDevices({QStringLiteral("cpu")}); // one worker: one history, no tabs
    EXPECT_TRUE(tabs->isHidden());
    monitor.addSample(cpuSample());
    EXPECT_EQ(monitor.historySize(), 1);
}

TEST(VramMonitorTest, DescribesACpuSample) {
    VramMonitor monitor;
    monitor.addSample(cpuSample());
    EXPECT_EQ(monitor.summaryText(),
              QStringLiteral("Running on the CPU — process memory 1.2 GiB; 20.0 GiB of 23.4 GiB available"));
}

TEST(VramMonitorTest, WarnsWhenLittleIsLeft) {
    VramMonitor monitor;
    MemorySample s = gpuSample();
    s.components.clear();
    s.total = gib(24);
    s.allocated = gib(21);
    s.reserved = gib(22); // 1 GiB cached + 0.5 GiB free: 1.5 GiB of 24 left for new work
    s.freeBytes = gib(0.5);
    monitor.addSample(s);
    const QStringList lines = monitor.summaryText().split(QLatin1Char('\n'));
    ASSERT_EQ(lines.size(), 2);
    EXPECT_TRUE(lines[1].startsWith(QStringLiteral("Low memory: 1.5 GiB left"))) << lines[1].toStdString();

    s.freeBytes = gib(3); // 4 GiB left: no warning
    monitor.addSample(s);
    EXPECT_EQ(monitor.summaryText().split(QLatin1Char('\n')).size(), 1);
}

// The graph scaled to the device's total before: a 0.3 GiB process on a 23.5 GiB machine was a flat line at
// the bottom. The axis is now the next step (64, 96, 128, 192 … MiB) above the most the app held.
TEST(VramMonitorTest, TheGraphScalesToWhatTheAppUses) {
    using charaforge::ui::memoryAxisLabel;
    using charaforge::ui::memoryAxisTop;
    MemorySample cpu = cpuSample();
    cpu.total = gib(23.5);
    cpu.freeBytes = gib(10); // 13.5 GiB in use by the machine: not the app's
    cpu.processResident = mib(307);
    EXPECT_EQ(memoryAxisTop({cpu}), mib(384));
    EXPECT_EQ(memoryAxisLabel({cpu}), QStringLiteral("384.0 MiB of 23.5 GiB"));
    cpu.processResident = mib(384);
    EXPECT_EQ(memoryAxisTop({cpu}), mib(384)) << "at the step: no headroom needed";
    MemorySample later = cpu;
    later.processResident = mib(700);
    EXPECT_EQ(memoryAxisTop({cpu, later}), mib(768)) << "the history's largest reading sets it";
    cpu.processResident = mib(1);
    EXPECT_EQ(memoryAxisTop({cpu}), mib(64)) << "never a 1-byte axis";

    MemorySample gpu = gpuSample(); // 12.3 GiB allocated, 14.0 GiB reserved of 139.8 GiB
    EXPECT_EQ(memoryAxisTop({gpu}), gib(16)) << "reserved memory is the app's too";
    gpu.total = gib(15);
    EXPECT_EQ(memoryAxisTop({gpu}), gib(15)) << "never above the device";
    EXPECT_EQ(memoryAxisLabel({gpu}), QStringLiteral("15.0 GiB"));
    EXPECT_EQ(memoryAxisTop({}), mib(64));
}

TEST(VramMonitorTest, HistoryIsBounded) {
    VramMonitor monitor;
    EXPECT_EQ(monitor.historyLimit(), 120);
    for (int i = 0; i < 130; ++i) {
        MemorySample s = gpuSample();
        s.allocated = i;
        monitor.addSample(s);
    }
    EXPECT_EQ(monitor.historySize(), 120);
    EXPECT_EQ(monitor.history().first().allocated, 10); // the oldest ten went
    EXPECT_EQ(monitor.history().last().allocated, 129);
    monitor.setHistoryLimit(5);
    EXPECT_EQ(monitor.historySize(), 5);
    EXPECT_EQ(monitor.history().first().allocated, 125);
    // Another device starts a new history: the graph never mixes devices.
    monitor.addSample(cpuSample());
    EXPECT_EQ(monitor.historySize(), 1);
    monitor.clear();
    EXPECT_EQ(monitor.historySize(), 0);
}

TEST(VramMonitorTest, PaintsTheBarAndTheGraph) {
    VramMonitor monitor;
    monitor.resize(400, 200);
    monitor.show();
    EXPECT_FALSE(monitor.grab().toImage().isNull()); // no sample yet

    for (int i = 0; i < 30; ++i) {
        MemorySample s = gpuSample();
        s.allocated = gib(40 + i);
        s.reserved = gib(50 + i);
        s.freeBytes = gib(80 - i);
        monitor.addSample(s);
    }
    auto* chart = monitor.findChild<QWidget*>(QStringLiteral("memoryChart"));
    ASSERT_NE(chart, nullptr);
    const QImage shot = chart->grab().toImage().scaled(chart->size());
    // The bar's left end is allocated memory, its right end free memory.
    EXPECT_EQ(QColor(shot.pixel(5, 8)), QColor(30, 110, 210));
    EXPECT_EQ(QColor(shot.pixel(chart->width() - 5, 8)), QColor(225, 235, 225));

    monitor.addSample(cpuSample());
    EXPECT_FALSE(monitor.grab().toImage().isNull());
}

} // namespace

#include "test_studio_widgets.moc"
