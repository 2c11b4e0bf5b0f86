// Offscreen widget tests of the main window (QT_QPA_PLATFORM=offscreen).
#include "ui/main_window.h"

#include "charaforge/prompt/prompt.h"

#include "ui/prompt_editor.h"
#include "ui/queue_panel.h"
#include "ui/studio_types.h"
#include "ui/theme.h"

#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QDir>
#include <QDockWidget>
#include <QDoubleSpinBox>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMimeData>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScreen>
#include <QScrollArea>
#include <QScrollBar>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QSplitter>
#include <QTemporaryDir>
#include <QTest>
#include <QTreeView>
#include <QUrl>

#include <gtest/gtest.h>

using charaforge::ui::GenerationSettings;
using charaforge::ui::MainWindow;

TEST(MainWindow, GenerateEmitsTheFormsSettings) {
    MainWindow w;
    w.show();
    GenerationSettings s;
    s.prompt = QStringLiteral("<general_tags><count>1girl</count></general_tags>");
    s.negative = QStringLiteral("lowres");
    s.width = 832;
    s.height = 1216;
    s.steps = 17;
    s.sampler = QStringLiteral("midpoint");
    s.cfg = 4.5;
    s.seed = 1234;
    s.count = 20;
    s.seedMode = QStringLiteral("increment");
    w.setSettings(s);
    QSignalSpy spy(&w, &MainWindow::queueRequested);
    QTest::mouseClick(w.findChild<QPushButton*>(QStringLiteral("queue")), Qt::LeftButton);
    ASSERT_EQ(spy.count(), 1);
    auto got = spy.at(0).at(0).value<GenerationSettings>();
    // The canonical form, as the command line queues it: one prompt, one image for a seed.
    EXPECT_EQ(got.prompt, charaforge::prompt::serialise(charaforge::prompt::parse(s.prompt).document));
    EXPECT_EQ(got.negative, s.negative);
    EXPECT_EQ(got.width, 832);
    EXPECT_EQ(got.height, 1216);
    EXPECT_EQ(got.steps, 17);
    EXPECT_EQ(got.sampler, QStringLiteral("midpoint"));
    EXPECT_DOUBLE_EQ(got.cfg, 4.5);
    EXPECT_EQ(got.seed, 1234);
    EXPECT_EQ(got.count, 20);
    EXPECT_EQ(got.seedMode, QStringLiteral("increment"));
    // 832 x 1216 (an SDXL size) is not one of NewBie's trained buckets: the preset says Custom.
    EXPECT_EQ(w.findChild<QComboBox*>(QStringLiteral("resolutionPreset"))->currentIndex(), 0);
}

TEST(MainWindow, ResolutionPresetsAreTheTrainedBuckets) {
    const auto sizes = charaforge::ui::trainedResolutions();
    EXPECT_EQ(sizes.size(), 51); // spec 6.1
    for (const QSize s : {QSize(1024, 1024), QSize(1088, 960), QSize(1168, 896), QSize(1232, 832), QSize(2048, 512),
                          QSize(512, 2048), QSize(832, 1232)})
        EXPECT_TRUE(sizes.contains(s)) << s.width() << "x" << s.height();
    for (const auto& s : sizes) {
        EXPECT_LE(s.width() * s.height(), 4096 * 256);
        EXPECT_LE(std::max(s.width(), s.height()), 4 * std::min(s.width(), s.height()));
        EXPECT_EQ(s.width() % 16, 0);
    }
    MainWindow w;
    auto* preset = w.findChild<QComboBox*>(QStringLiteral("resolutionPreset"));
    const int at = preset->findData(QSize(1344, 768));
    ASSERT_GT(at, 0);
    preset->setCurrentIndex(at);
    Q_EMIT preset->activated(at);
    EXPECT_EQ(w.settings().width, 1344);
    EXPECT_EQ(w.settings().height, 768);
    w.findChild<QSpinBox*>(QStringLiteral("width"))->setValue(1360);
    EXPECT_EQ(preset->currentIndex(), preset->findData(QSize(1360, 768)));
    w.findChild<QSpinBox*>(QStringLiteral("width"))->setValue(1376);
    EXPECT_EQ(preset->currentIndex(), 0) << "an untrained size shows Custom";
}

TEST(MainWindow, EditingAQueuedJobEmitsAnUpdate) {
    MainWindow w;
    w.setEditingJob(7);
    auto* button = w.findChild<QPushButton*>(QStringLiteral("queue"));
    EXPECT_EQ(button->text(), QStringLiteral("Update job 7"));
    QSignalSpy update(&w, &MainWindow::updateJobRequested);
    QSignalSpy add(&w, &MainWindow::queueRequested);
    button->click();
    ASSERT_EQ(update.count(), 1);
    EXPECT_EQ(update.at(0).at(0).toLongLong(), 7);
    EXPECT_EQ(add.count(), 0);
    w.findChild<QPushButton*>(QStringLiteral("cancelEdit"))->click();
    EXPECT_EQ(w.editingJob(), 0);
    button->click();
    EXPECT_EQ(add.count(), 1);
}

TEST(MainWindow, DroppingAPngAnywhereAsksToRestoreIt) {
    MainWindow w;
    w.show();
    QSignalSpy spy(&w, &MainWindow::imageDropped);
    QMimeData png;
    png.setUrls({QUrl::fromLocalFile(QStringLiteral("/tmp/charaforge-000001-5.png"))});
    auto* negative = w.findChild<QPlainTextEdit*>(QStringLiteral("negative")); // a text field accepts drops itself
    QDragEnterEvent enter(QPoint(5, 5), Qt::CopyAction, &png, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(negative->viewport(), &enter);
    EXPECT_TRUE(enter.isAccepted());
    QDropEvent drop(QPointF(5, 5), Qt::CopyAction, &png, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(negative->viewport(), &drop);
    ASSERT_EQ(spy.count(), 1);
    EXPECT_EQ(spy.at(0).at(0).toString(), QStringLiteral("/tmp/charaforge-000001-5.png"));
    EXPECT_TRUE(w.findChild<QPlainTextEdit*>(QStringLiteral("negative"))->toPlainText().isEmpty());
    QMimeData text;
    text.setText(QStringLiteral("just text"));
    QDropEvent other(QPointF(5, 5), Qt::CopyAction, &text, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&w, &other);
    EXPECT_EQ(spy.count(), 1) << "other drops are left to the widgets";
}

TEST(MainWindow, DroppingAFolderAnywhereAsksToImportIt) {
    MainWindow w;
    w.show();
    QSignalSpy folders(&w, &MainWindow::foldersDropped);
    QSignalSpy images(&w, &MainWindow::imageDropped);
    QTemporaryDir dir;
    QMimeData mime;
    mime.setUrls({QUrl::fromLocalFile(dir.path())});
    auto* negative = w.findChild<QPlainTextEdit*>(QStringLiteral("negative"));
    QDragEnterEvent enter(QPoint(5, 5), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(negative->viewport(), &enter);
    EXPECT_TRUE(enter.isAccepted());
    QDropEvent drop(QPointF(5, 5), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(negative->viewport(), &drop);
    ASSERT_EQ(folders.count(), 1);
    EXPECT_EQ(folders.at(0).at(0).toStringList(), QStringList{dir.path()});
    EXPECT_EQ(images.count(), 0);
    EXPECT_TRUE(negative->toPlainText().isEmpty());
}

TEST(MainWindow, APanelDockIsTabbedWithTheQueueAndListedInTheViewMenu) {
    MainWindow w;
    auto* panel = new QWidget;
    panel->setObjectName(QStringLiteral("galleryPanel"));
    QDockWidget* dock = w.addPanelDock(panel, QStringLiteral("Gallery"));
    EXPECT_EQ(dock->objectName(), QStringLiteral("galleryPanelDock"));
    EXPECT_EQ(dock->widget(), panel);
    auto* queueDock = w.findChild<QDockWidget*>(QStringLiteral("queueDock"));
    EXPECT_TRUE(w.tabifiedDockWidgets(queueDock).contains(dock));
    EXPECT_TRUE(w.findChild<QMenu*>(QStringLiteral("viewMenu"))->actions().contains(dock->toggleViewAction()));
}

TEST(MainWindow, ShowsNoticeProgressImageAndErrors) {
    MainWindow w;
    w.show();
    auto* notice = w.findChild<QLabel*>(QStringLiteral("modelNotice"));
    EXPECT_FALSE(notice->isVisible());
    w.setModelNotice(QStringLiteral("<b>Test model in use.</b> images are noise"));
    EXPECT_TRUE(notice->isVisible());
    w.showProgress(3, 10, QStringLiteral("job 4 · ETA 0:12"));
    EXPECT_TRUE(w.statusText().contains(QStringLiteral("3 of 10")));
    EXPECT_TRUE(w.statusText().contains(QStringLiteral("ETA 0:12")));
    QImage img(64, 48, QImage::Format_RGB888);
    img.fill(Qt::red);
    w.showImage(img);
    EXPECT_EQ(w.currentImage().size(), QSize(64, 48));
    w.showError(QStringLiteral("out of memory"));
    EXPECT_TRUE(w.statusText().contains(QStringLiteral("out of memory")));
    w.setModelDescription(QStringLiteral("Test model · cpu fp32"), QStringLiteral("model: /x\ntransformer: /x/t"));
    auto* model = w.findChild<QLabel*>(QStringLiteral("modelLabel"));
    EXPECT_EQ(model->text(), QStringLiteral("Test model · cpu fp32"));
    EXPECT_TRUE(model->toolTip().contains(QStringLiteral("transformer")));
}

TEST(MainWindow, FitsTheScreenItOpensOn) {
    MainWindow w;
    const QRect avail = w.screen()->availableGeometry();
    // Opened at a fixed 1500 x 950 before, larger than a 1280 x 800 laptop (and the offscreen screen).
    EXPECT_LE(w.width(), avail.width());
    EXPECT_LE(w.height(), avail.height());
    EXPECT_LE(w.minimumSizeHint().width(), 1024);
}

TEST(MainWindow, MenusCarryQuitOpenShortcutsAndAbout) {
    MainWindow w;
    auto* quit = w.findChild<QAction*>(QStringLiteral("quitAction"));
    ASSERT_NE(quit, nullptr);
    EXPECT_EQ(quit->shortcut(), QKeySequence(Qt::CTRL | Qt::Key_Q));
    auto* open = w.findChild<QAction*>(QStringLiteral("openImageAction"));
    ASSERT_NE(open, nullptr);
    EXPECT_EQ(open->shortcut(), QKeySequence(QKeySequence::Open));
    ASSERT_NE(w.findChild<QAction*>(QStringLiteral("shortcutsAction")), nullptr);
    ASSERT_NE(w.findChild<QAction*>(QStringLiteral("aboutAction")), nullptr);
    EXPECT_TRUE(w.shortcutsText().contains(QKeySequence(Qt::CTRL | Qt::Key_Q).toString(QKeySequence::NativeText)));
    EXPECT_TRUE(w.aboutText().contains(QStringLiteral("none open"))) << "no model yet, said so";
    w.setAboutDetails(QStringLiteral("Model: NewBie-image-Exp0.1 · cuda:0"));
    w.setLibTorchVersion(QStringLiteral("1.13.1"));
    const QString about = w.aboutText();
    EXPECT_TRUE(about.contains(QStringLiteral("Qt ") + QString::fromLatin1(qVersion())));
    EXPECT_TRUE(about.contains(QStringLiteral("LibTorch 1.13.1")));
    EXPECT_TRUE(about.contains(QStringLiteral("NewBie-image-Exp0.1 · cuda:0")));
    EXPECT_TRUE(about.contains(QStringLiteral("non-commercial licence")));
    EXPECT_TRUE(about.contains(QStringLiteral("does not ship its weights")));
}

// The queue dock at the window's default width, at a laptop's and a desktop's size: no horizontal scrolling
// with long titles and messages (eight columns, the progress at a fixed 220 px, needed about 700 px).
TEST(MainWindow, TheQueueNeedsNoHorizontalScrolling) {
    for (const QSize size : {QSize(1280, 800), QSize(1920, 1080)}) {
        MainWindow w;
        w.resize(size);
        w.show();
        QList<charaforge::ui::JobView> jobs;
        for (const char* state : {"done", "failed", "running", "queued", "cancelled"}) {
            charaforge::ui::JobView j;
            j.id = 1000000 + jobs.size();
            j.state = QString::fromLatin1(state);
            j.title =
                QStringLiteral("hatsune_miku (1girl) & kagamine_rin (1girl) · watercolor, cherry_blossoms, night");
            j.width = 1024;
            j.height = 1024;
            j.steps = 28;
            j.sampler = QStringLiteral("midpoint");
            j.cfg = 4.5;
            j.seed = 4294967295;
            j.message =
                QStringLiteral("model: /home/someone/models/NewBie-image-Exp0.1 is not a complete model folder");
            j.outputPath = QStringLiteral("/home/someone/Pictures/CharaForge/hatsune_miku_0001.png");
            jobs.push_back(j);
        }
        w.queuePanel()->setJobs(jobs);
        w.queuePanel()->setJobProgress(1000002, 12, 28, QStringLiteral("0:42"));
        QCoreApplication::processEvents();
        QTreeView* view = w.queuePanel()->view();
        EXPECT_EQ(view->horizontalScrollBar()->maximum(), 0)
            << "scrolls by " << view->horizontalScrollBar()->maximum() << " px in a " << view->viewport()->width()
            << " px view at " << size.width() << "x" << size.height();
    }
}

TEST(MainWindow, SizesSnapToTheModelsStepWithAReason) {
    MainWindow w;
    w.show();
    auto* width = w.findChild<QSpinBox*>(QStringLiteral("width"));
    ASSERT_NE(width, nullptr);
    // Typed 1000 was accepted as is before: not a multiple of 16.
    width->setValue(1000);
    Q_EMIT width->editingFinished();
    EXPECT_EQ(width->value() % 16, 0);
    EXPECT_EQ(width->value(), 1008);
    EXPECT_TRUE(w.statusText().contains(QStringLiteral("multiples of 16"))) << w.statusText().toStdString();
    EXPECT_FALSE(width->toolTip().isEmpty());
}

TEST(MainWindow, ProgressLineIsClearedWhenNoJobRuns) {
    MainWindow w;
    charaforge::ui::JobView running;
    running.id = 7;
    running.state = QStringLiteral("running");
    running.steps = 10;
    w.queuePanel()->setJobs({running});
    w.showProgress(4, 10, QStringLiteral("job 7"));
    EXPECT_TRUE(w.progressText().contains(QStringLiteral("4 of 10")));
    // The job ends: the line said "step 4 of 10" for ever before.
    charaforge::ui::JobView done = running;
    done.state = QStringLiteral("done");
    w.queuePanel()->setJobs({done});
    EXPECT_EQ(w.progressText(), QStringLiteral("idle"));
}

// The line followed the sampler's reports only: after the last step it kept "step 60 of 60 · ETA 0:00"
// while the next job loaded, and it said "idle" while a job ran before its first step.
TEST(MainWindow, ProgressLineFollowsTheQueueBeforeAndAfterTheSampler) {
    MainWindow w;
    charaforge::ui::JobView first;
    first.id = 7;
    first.state = QStringLiteral("running");
    first.steps = 60;
    charaforge::ui::JobView second = first;
    second.id = 8;
    second.state = QStringLiteral("queued");
    w.queuePanel()->setJobs({first, second});
    EXPECT_NE(w.progressText(), QStringLiteral("idle")) << "a job runs before its first step";
    EXPECT_TRUE(w.progressText().contains(QStringLiteral("job 7"))) << w.progressText().toStdString();

    w.showProgress(60, 60, QStringLiteral("job 7 · ETA 0:00"), {7});
    EXPECT_TRUE(w.progressText().contains(QStringLiteral("60 of 60")));
    w.queuePanel()->setJobs({first, second}); // a reload while job 7 runs keeps the sampler's line
    EXPECT_TRUE(w.progressText().contains(QStringLiteral("60 of 60")));

    first.state = QStringLiteral("done");
    second.state = QStringLiteral("running");
    w.queuePanel()->setJobs({first, second});
    EXPECT_FALSE(w.progressText().contains(QStringLiteral("60 of 60"))) << w.progressText().toStdString();
    EXPECT_TRUE(w.progressText().contains(QStringLiteral("job 8"))) << w.progressText().toStdString();
    EXPECT_NE(w.progressText(), QStringLiteral("idle"));

    w.showProgress(60, 60, QStringLiteral("job 8 · ETA 0:00"), {8});
    second.state = QStringLiteral("done");
    w.queuePanel()->setJobs({first, second});
    EXPECT_EQ(w.progressText(), QStringLiteral("idle"));
    EXPECT_FALSE(w.statusText().contains(QStringLiteral("Sampling"))) << w.statusText().toStdString();
}

TEST(MainWindow, SessionRemembersLayoutPromptAndSettings) {
    QTemporaryDir dir;
    QSettings store(dir.filePath(QStringLiteral("session.ini")), QSettings::IniFormat);
    GenerationSettings s;
    s.prompt = QStringLiteral("<general_tags><count>2girls</count></general_tags>");
    s.negative = QStringLiteral("lowres");
    s.width = 1232;
    s.height = 832;
    s.steps = 33;
    s.sampler = QStringLiteral("midpoint");
    s.cfg = 6.5;
    s.seed = 99;
    s.count = 3;
    s.seedMode = QStringLiteral("fixed");
    QList<int> sizes;
    {
        MainWindow w;
        w.show();
        w.setSettings(s);
        auto* splitter = w.findChild<QSplitter*>(QStringLiteral("mainSplitter"));
        splitter->setSizes({500, splitter->width() - 500});
        sizes = splitter->sizes();
        w.saveSession(store);
    }
    MainWindow w;
    w.restoreSession(store);
    w.show();
    const GenerationSettings got = w.settings();
    // Nothing was remembered before: a new window always showed the example prompt at 1024 x 1024.
    EXPECT_EQ(got.prompt, s.prompt);
    EXPECT_EQ(got.negative, s.negative);
    EXPECT_EQ(got.width, 1232);
    EXPECT_EQ(got.height, 832);
    EXPECT_EQ(got.steps, 33);
    EXPECT_EQ(got.sampler, s.sampler);
    EXPECT_DOUBLE_EQ(got.cfg, 6.5);
    EXPECT_EQ(got.seed, 99);
    EXPECT_EQ(got.count, 3);
    EXPECT_EQ(got.seedMode, s.seedMode);
    EXPECT_EQ(w.findChild<QSplitter*>(QStringLiteral("mainSplitter"))->sizes().front(), sizes.front());
}

TEST(Theme, DarkAndLightAreAppliedAndSystemFollowsThePalette) {
    auto& app = *static_cast<QApplication*>(QCoreApplication::instance());
    EXPECT_TRUE(charaforge::ui::applyTheme(app, charaforge::ui::Theme::Dark));
    EXPECT_TRUE(charaforge::ui::isDarkPalette(QApplication::palette()));
    EXPECT_FALSE(charaforge::ui::applyTheme(app, charaforge::ui::Theme::Light));
    EXPECT_FALSE(charaforge::ui::isDarkPalette(QApplication::palette()));
    EXPECT_TRUE(charaforge::ui::isDarkPalette(charaforge::ui::darkPalette()));
    EXPECT_EQ(charaforge::ui::themeFromName(QStringLiteral("Dark")), charaforge::ui::Theme::Dark);
    EXPECT_EQ(charaforge::ui::themeFromName(QStringLiteral("bogus")), charaforge::ui::Theme::System);
    charaforge::ui::applyTheme(app, charaforge::ui::Theme::System);
}

// At a laptop's 1280 x 800 and at 1920 x 1080, light and dark: no two visible buttons of one parent overlap
// (the queue panel's six buttons in one row needed 551 px before). With CHARAFORGE_SCREENSHOT_DIR set the
// window's own grab is saved there.
TEST(MainWindow, NoButtonsOverlapAtLaptopAndDesktopSizes) {
    auto& app = *static_cast<QApplication*>(QCoreApplication::instance());
    const QString shots = qEnvironmentVariable("CHARAFORGE_SCREENSHOT_DIR");
    for (const auto theme : {charaforge::ui::Theme::Light, charaforge::ui::Theme::Dark}) {
        charaforge::ui::applyTheme(app, theme);
        for (const QSize size : {QSize(1280, 800), QSize(1920, 1080)}) {
            MainWindow w;
            w.resize(size);
            w.show();
            QCoreApplication::processEvents();
            ASSERT_EQ(w.size(), size);
            const auto buttons = w.findChildren<QPushButton*>();
            for (qsizetype i = 0; i < buttons.size(); ++i)
                for (qsizetype j = i + 1; j < buttons.size(); ++j) {
                    QPushButton* a = buttons[i];
                    QPushButton* b = buttons[j];
                    if (!a->isVisible() || !b->isVisible() || a->parentWidget() != b->parentWidget())
                        continue;
                    EXPECT_FALSE(a->geometry().intersects(b->geometry()))
                        << a->objectName().toStdString() << " overlaps " << b->objectName().toStdString() << " at "
                        << size.width() << "x" << size.height();
                }
            if (!shots.isEmpty())
                w.grab().save(QDir(shots).filePath(QStringLiteral("window-%1x%2-%3.png")
                                                       .arg(size.width())
                                                       .arg(size.height())
                                                       .arg(charaforge::ui::themeName(theme))));
        }
    }
    charaforge::ui::applyTheme(app, charaforge::ui::Theme::System);
}

// The window at `size` with the test model's notice, as a first start shows it (the notice takes height).
static void showWithTheTestModelNotice(MainWindow& w, const QSize& size) {
    w.setModelNotice(QStringLiteral("<b>Test model in use.</b> CharaForge is running a tiny model with random "
                                    "weights that it created on first start: its images are noise. To make "
                                    "real images, download <b>NewBie-image-Exp0.1</b> and choose its folder."));
    w.resize(size);
    w.show();
}

// Every label of the settings grid shows its whole text at a laptop's 1280 x 800 ("Guidance (CFG)" and "CFG
// truncation" were cut there) and at 1920 x 1080.
TEST(MainWindow, TheSettingsLabelsAreWholeAtLaptopAndDesktopSizes) {
    for (const QSize size : {QSize(1280, 800), QSize(1920, 1080)}) {
        SCOPED_TRACE(testing::Message() << size.width() << "x" << size.height());
        MainWindow w;
        showWithTheTestModelNotice(w, size);
        QCoreApplication::processEvents();
        QCoreApplication::sendPostedEvents(nullptr, QEvent::LayoutRequest);
        QCoreApplication::processEvents();
        for (int i = 0; i < 12; ++i) { // all twelve labels of the grid
            auto* label = w.findChild<QLabel*>(QStringLiteral("settingLabel%1").arg(i));
            ASSERT_NE(label, nullptr) << i;
            EXPECT_TRUE(label->isVisible()) << label->text().toStdString();
            EXPECT_GE(label->width(), label->sizeHint().width()) << label->text().toStdString() << " is cut";
        }
    }
}

// The character form in the left pane at a laptop's 1280 x 800 and at 1920 x 1080, with the test model's
// notice shown: no horizontal scrolling (the cards' button row needed more than the pane, "Save to li…" cut
// off), every button of a card whole and inside its card and the view, no two widgets of a card on top of
// each other, and the image at least as wide as the form.
TEST(MainWindow, TheCharacterFormFitsTheLeftPane) {
    for (const QSize size : {QSize(1280, 800), QSize(1920, 1080)}) {
        SCOPED_TRACE(testing::Message() << size.width() << "x" << size.height());
        MainWindow w;
        showWithTheTestModelNotice(w, size);
        auto* editor = w.findChild<charaforge::ui::PromptEditor*>(QStringLiteral("prompt"));
        ASSERT_NE(editor, nullptr);
        editor->addCharacter(); // two cards: the second one's move-down button is disabled, the first's enabled
        QCoreApplication::processEvents();
        QCoreApplication::sendPostedEvents(nullptr, QEvent::LayoutRequest);
        QCoreApplication::processEvents();
        ASSERT_EQ(w.size(), size);
        auto* scroll = editor->findChild<QScrollArea*>(QStringLiteral("formScroll"));
        ASSERT_NE(scroll, nullptr);
        EXPECT_EQ(scroll->horizontalScrollBar()->maximum(), 0)
            << "the form scrolls sideways by " << scroll->horizontalScrollBar()->maximum() << " px in a "
            << scroll->viewport()->width() << " px view";
        EXPECT_FALSE(scroll->horizontalScrollBar()->isVisible());
        const QWidget* viewport = scroll->viewport();
        for (int n = 1; n <= 2; ++n) {
            auto* card = editor->findChild<QWidget*>(QStringLiteral("character_%1").arg(n));
            ASSERT_NE(card, nullptr);
            scroll->ensureWidgetVisible(card);
            QCoreApplication::processEvents();
            const auto buttons = card->findChildren<QAbstractButton*>();
            ASSERT_GE(buttons.size(), 5);
            for (QAbstractButton* b : buttons) {
                if (b->parentWidget() != card)
                    continue; // a chip's remove button
                const std::string name = b->objectName().toStdString();
                EXPECT_TRUE(b->isVisible()) << name;
                EXPECT_GE(b->width(), b->sizeHint().width()) << name << " is cut";
                EXPECT_GE(b->height(), b->minimumSizeHint().height()) << name << " is cut";
                EXPECT_TRUE(card->contentsRect().contains(b->geometry())) << name << " sticks out of its card";
                const QRect inView(b->mapTo(viewport, QPoint(0, 0)), b->size());
                EXPECT_GE(inView.left(), 0) << name;
                EXPECT_LE(inView.right(), viewport->width() - 1) << name << " is beyond the view's right edge";
            }
            const auto children = card->findChildren<QWidget*>(Qt::FindDirectChildrenOnly);
            for (qsizetype i = 0; i < children.size(); ++i)
                for (qsizetype j = i + 1; j < children.size(); ++j) {
                    QWidget* a = children[i];
                    QWidget* b = children[j];
                    if (!a->isVisible() || !b->isVisible())
                        continue;
                    EXPECT_FALSE(a->geometry().intersects(b->geometry()))
                        << a->metaObject()->className() << " " << a->objectName().toStdString() << " overlaps "
                        << b->metaObject()->className() << " " << b->objectName().toStdString();
                }
        }
        auto* viewer = w.findChild<QWidget*>(QStringLiteral("imageViewer"));
        ASSERT_NE(viewer, nullptr);
        EXPECT_GE(viewer->width(), editor->width()) << "the image is narrower than the form";
    }
}

int main(int argc, char** argv) {
    // Widget tests never need a display (CTest's discovery runs this binary without one too).
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    qRegisterMetaType<GenerationSettings>();
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}

// A prompt with XML errors is never queued (the command line refuses it): the buttons are disabled with the
// first error as the reason, and a forced click queues nothing. A valid prompt is queued in canonical form.
TEST(MainWindow, APromptWithErrorsIsNotQueuedAndAValidOneIsQueuedCanonical) {
    MainWindow w;
    w.show();
    GenerationSettings s = w.settings();
    s.prompt = QStringLiteral("<character_1><n>miku</n></character_2>");
    w.setSettings(s);
    auto* queue = w.findChild<QPushButton*>(QStringLiteral("queue"));
    auto* variants = w.findChild<QPushButton*>(QStringLiteral("variants"));
    EXPECT_FALSE(queue->isEnabled());
    EXPECT_FALSE(variants->isEnabled());
    EXPECT_TRUE(queue->toolTip().contains(QStringLiteral("errors"))) << queue->toolTip().toStdString();
    QSignalSpy spy(&w, &MainWindow::queueRequested);
    queue->click();                              // disabled: nothing
    QMetaObject::invokeMethod(queue, "clicked"); // even when forced
    EXPECT_EQ(spy.count(), 0);

    // Fixed: enabled again, and what is queued is the canonical text, not the verbatim one.
    const QString verbatim =
        QStringLiteral("<general_tags>  <count>1girl</count><style>anime</style>  </general_tags>");
    s.prompt = verbatim;
    w.setSettings(s);
    EXPECT_TRUE(queue->isEnabled());
    EXPECT_TRUE(variants->isEnabled());
    queue->click();
    ASSERT_EQ(spy.count(), 1);
    const auto got = spy.at(0).at(0).value<GenerationSettings>();
    const QString canonical = charaforge::prompt::serialise(charaforge::prompt::parse(verbatim).document);
    EXPECT_EQ(got.prompt, canonical);
    EXPECT_NE(canonical, verbatim);
}

// cfg_trunc, renorm and shift are in the form (they were not, and an edited job lost them), with the engine's
// ranges and enough decimals for a value typed on the command line; they are shown with their own digits only,
// and the saved session keeps them.
TEST(MainWindow, CfgTruncRenormAndShiftAreInTheFormAndTheSession) {
    QTemporaryDir dir;
    QSettings store(dir.filePath(QStringLiteral("session.ini")), QSettings::IniFormat);
    GenerationSettings s;
    s.prompt = QStringLiteral("<general_tags><count>1girl</count></general_tags>");
    s.cfg = 0.625;
    s.cfgTrunc = 0.375;
    s.renorm = 1.25;
    s.shift = 3.0625;
    s.steps = 640;
    s.width = 4096;
    {
        MainWindow w;
        w.setSettings(s);
        const GenerationSettings got = w.settings();
        EXPECT_EQ(got.cfg, 0.625);
        EXPECT_EQ(got.cfgTrunc, 0.375);
        EXPECT_EQ(got.renorm, 1.25);
        EXPECT_EQ(got.shift, 3.0625);
        EXPECT_EQ(got.steps, 640);
        EXPECT_EQ(got.width, 4096);
        auto* shift = w.findChild<QDoubleSpinBox*>(QStringLiteral("shift"));
        ASSERT_NE(shift, nullptr);
        EXPECT_EQ(shift->text(), QStringLiteral("3.0625"));
        EXPECT_EQ(w.findChild<QDoubleSpinBox*>(QStringLiteral("cfg"))->text(), QStringLiteral("0.625"));
        w.saveSession(store);
    }
    MainWindow w;
    w.restoreSession(store);
    const GenerationSettings got = w.settings();
    EXPECT_EQ(got.cfgTrunc, 0.375);
    EXPECT_EQ(got.renorm, 1.25);
    EXPECT_EQ(got.shift, 3.0625);
    EXPECT_EQ(got.cfg, 0.625);
    // A guidance scale of 0 is kept too (the session used to give 5 for it).
    GenerationSettings zero = got;
    zero.cfg = 0.0;
    w.setSettings(zero);
    w.saveSession(store);
    MainWindow again;
    again.restoreSession(store);
    EXPECT_EQ(again.settings().cfg, 0.0);
}

// A job with its own model or output folder (queued from the command line, or restored) says so in the form, and
// one click goes back to the window's.
TEST(MainWindow, AJobsOwnFoldersAreShownAndCanBeDropped) {
    MainWindow w;
    w.show();
    GenerationSettings s = w.settings();
    auto* label = w.findChild<QLabel*>(QStringLiteral("jobTarget"));
    auto* drop = w.findChild<QPushButton*>(QStringLiteral("useWindowTarget"));
    ASSERT_NE(label, nullptr);
    ASSERT_NE(drop, nullptr);
    EXPECT_FALSE(label->isVisible());
    s.model = QStringLiteral("/models/cli");
    s.outputDir = QStringLiteral("/out/cli");
    w.setSettings(s);
    EXPECT_TRUE(label->isVisible());
    EXPECT_TRUE(label->text().contains(QDir::toNativeSeparators(QStringLiteral("/models/cli"))));
    EXPECT_TRUE(label->text().contains(QDir::toNativeSeparators(QStringLiteral("/out/cli"))));
    EXPECT_EQ(w.settings().model, QStringLiteral("/models/cli"));
    EXPECT_EQ(w.settings().outputDir, QStringLiteral("/out/cli"));
    drop->click();
    EXPECT_FALSE(label->isVisible());
    EXPECT_TRUE(w.settings().model.isEmpty());
    EXPECT_TRUE(w.settings().outputDir.isEmpty());
}

TEST(MainWindow, TheSamplerComboOffersDpmSolver) {
    MainWindow w;
    w.show();
    auto* combo = w.findChild<QComboBox*>(QStringLiteral("sampler"));
    ASSERT_NE(combo, nullptr);
    const int dpm = combo->findData(QStringLiteral("dpm"));
    ASSERT_GE(dpm, 0);
    EXPECT_EQ(combo->itemText(dpm), QStringLiteral("DPM-Solver++ 2M"));
    GenerationSettings s = w.settings();
    s.prompt = QStringLiteral("<general_tags><count>1girl</count></general_tags>");
    s.sampler = QStringLiteral("dpm");
    w.setSettings(s);
    EXPECT_EQ(combo->currentIndex(), dpm);
    QSignalSpy spy(&w, &MainWindow::queueRequested);
    w.findChild<QPushButton*>(QStringLiteral("queue"))->click();
    ASSERT_EQ(spy.count(), 1);
    EXPECT_EQ(spy.at(0).at(0).value<GenerationSettings>().sampler, QStringLiteral("dpm"));
}
