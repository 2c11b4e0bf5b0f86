// The studio wired as the app wires it (window, controller, queue worker thread, real engine on the tiny
// model, CPU), driven through the window and the queue panel offscreen: queue variants, pause, reorder,
// cancel one, resume; images stream into the gallery with previews; a dropped PNG restores its settings.
#include "charaforge/engine/lama.h"
#include "charaforge/engine/model_check.h"
#include "charaforge/engine/pipeline.h"
#include "charaforge/imaging/png_io.h"
#include "charaforge/prompt/prompt.h"
#include "gallery/gallery_panel.h"
#include "gui/compare_controller.h"
#include "gui/erase_controller.h"
#include "gui/queue_worker.h"
#include "gui/studio_controller.h"
#include "queue/gallery_recorder.h"
#include "queue/gallery_store.h"
#include "queue/group_store.h"
#include "queue/job_record.h"
#include "queue/job_store.h"
#include "queue/model_setup.h"
#include "studio_rig.h"
#include "test_util.h"
#include "ui/compare_grid_model.h"
#include "ui/compare_view.h"
#include "ui/gallery_view.h"
#include "ui/image_viewer.h"
#include "ui/main_window.h"
#include "ui/mask_canvas.h"
#include "ui/mask_dialog.h"
#include "ui/queue_model.h"
#include "ui/queue_panel.h"
#include "ui/variants_dialog.h"
#include "ui/vram_monitor.h"

#include <QAbstractButton>
#include <QAction>
#include <QApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QLabel>
#include <QMessageBox>
#include <QMouseEvent>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QTableView>
#include <QTest>
#include <QThread>
#include <QTimer>
#include <QTreeView>

#include <filesystem>
#include <mutex>

#include <gtest/gtest.h>

using namespace charaforge;

using test::waitFor;

TEST(Studio, QueuePauseReorderCancelAndResumeThroughTheWindow) {
    test::TempDir tmp;
    const QString dir = QString::fromStdString(tmp.path().string());
    const QString model = dir + QStringLiteral("/model"), db = dir + QStringLiteral("/queue.sqlite");
    engine::make_test_model(model.toStdString());

    ui::MainWindow window;
    window.show();
    QThread thread;
    engine::RuntimeOptions rt;
    rt.device = "cpu";
    auto* worker = new app::QueueWorker(db, rt);
    worker->moveToThread(&thread);
    QObject::connect(&thread, &QThread::finished, worker, &QObject::deleteLater);
    QObject::connect(&thread, &QThread::started, worker, &app::QueueWorker::start);
    app::StudioController controller(window, *worker, db);
    controller.setModel(model);
    controller.setOutputDir(dir + QStringLiteral("/out"));
    QSignalSpy previews(worker, &app::QueueWorker::preview);
    thread.start();

    auto* panel = window.queuePanel();
    panel->findChild<QPushButton*>(QStringLiteral("pauseButton"))->click();
    queue::JobStore store(db);
    ASSERT_TRUE(store.paused());

    ui::GenerationSettings s = window.settings();
    s.width = s.height = 64;
    s.steps = 6;
    s.count = 5;
    s.seedMode = QStringLiteral("increment");
    s.seed = 10;
    window.setSettings(s);
    window.findChild<QPushButton*>(QStringLiteral("queue"))->click();
    auto jobs = store.jobs();
    ASSERT_EQ(jobs.size(), 5);
    ASSERT_TRUE(waitFor([&] { return panel->jobs().size() == 5; }, 5000));
    EXPECT_EQ(jobs[4].spec.seed, 14);
    QThread::msleep(700); // paused: nothing starts
    QApplication::processEvents();
    EXPECT_EQ(store.jobs()[0].state, queue::JobState::Queued);

    // The last job to the top, the third cancelled, then resume.
    Q_EMIT panel->moveRequested(jobs[4].id, jobs[0].id);
    EXPECT_EQ(panel->jobs().front().id, jobs[4].id) << "the panel shows the store's new order";
    panel->selectJobs({jobs[2].id});
    panel->cancelSelected();
    EXPECT_EQ(store.job(jobs[2].id)->state, queue::JobState::Cancelled);
    panel->findChild<QPushButton*>(QStringLiteral("pauseButton"))->click();
    EXPECT_FALSE(store.paused());
    // While a job runs the progress line is never "idle" (it was before the first step), and it is
    // "idle" again once none runs (it kept "step 6 of 6 · ETA 0:00").
    int idleWhileRunning = 0;
    auto countIdle = [&] {
        for (const auto& j : panel->jobs())
            if (j.state == QStringLiteral("running") && window.progressText() == QStringLiteral("idle"))
                ++idleWhileRunning;
    };
    QObject::connect(panel->model(), &QAbstractItemModel::dataChanged, &window, countIdle);
    QObject::connect(panel->model(), &QAbstractItemModel::modelReset, &window, countIdle);

    ASSERT_TRUE(waitFor([&] { return window.gallery()->count() == 4; }, 180000))
        << "gallery has " << window.gallery()->count();
    ASSERT_TRUE(waitFor(
        [&] {
            for (const auto& j : store.jobs())
                if (j.state == queue::JobState::Running || j.state == queue::JobState::Queued)
                    return false;
            return true;
        },
        10000));
    ASSERT_TRUE(waitFor([&] { return window.progressText() == QStringLiteral("idle"); }, 10000))
        << window.progressText().toStdString();
    EXPECT_EQ(idleWhileRunning, 0);
    const auto top = *store.job(jobs[4].id);
    EXPECT_EQ(top.state, queue::JobState::Done);
    EXPECT_LE(top.finished, store.job(jobs[0].id)->finished) << "the job moved to the top finished first";
    EXPECT_EQ(store.job(jobs[2].id)->state, queue::JobState::Cancelled);
    EXPECT_TRUE(QFileInfo::exists(top.outputPath));
    EXPECT_GT(previews.count(), 0) << "live previews were streamed";
    EXPECT_TRUE(panel->countsText().contains(QStringLiteral("4 done"))) << panel->countsText().toStdString();
    EXPECT_GT(window.memoryMonitor()->historySize(), 0);
    EXPECT_TRUE(window.memoryMonitor()->summaryText().contains(QStringLiteral("CPU")))
        << window.memoryMonitor()->summaryText().toStdString();

    // Dropping a finished image restores its settings.
    window.setSettings(ui::GenerationSettings{});
    ASSERT_TRUE(controller.restoreFromImage(top.outputPath));
    EXPECT_EQ(window.settings().seed, 14);
    EXPECT_EQ(window.settings().width, 64);
    EXPECT_EQ(window.settings().steps, 6);
    EXPECT_FALSE(controller.restoreFromImage(dir + QStringLiteral("/queue.sqlite")));
    EXPECT_TRUE(window.statusText().contains(QStringLiteral("cannot restore"))) << window.statusText().toStdString();

    worker->requestStop();
    thread.quit();
    thread.wait();
}

namespace {

// A finished job with its image on disk, in the queue at `db`.
qint64 addDoneJob(queue::JobStore& store, const QString& dir, int seed, int size) {
    queue::JobSpec spec;
    spec.prompt = QStringLiteral("<general_tags>x</general_tags>");
    spec.width = spec.height = size;
    spec.seed = seed;
    spec.model = QStringLiteral("/models/none");
    spec.outputDir = dir;
    const auto id = store.add({spec}).front();
    const QString owner = queue::JobStore::newOwnerId();
    store.claimBatch(owner, [](const queue::Job&) { return 1; });
    const QString path = dir + QStringLiteral("/%1.png").arg(id);
    QImage img(size, size, QImage::Format_RGB888);
    img.fill(Qt::darkCyan);
    EXPECT_TRUE(img.save(path));
    EXPECT_TRUE(store.markDone(id, owner, path));
    return id;
}

// Runs every queued job of the queue "by hand": a flat PNG per job (its colour from its seed), marked done and
// recorded in the gallery as a worker records it. Returns the done jobs.
QList<queue::Job> finishQueuedJobs(queue::JobStore& store, const QString& dir) {
    const bool paused = store.paused();
    store.setPaused(false);
    const QString owner = queue::JobStore::newOwnerId();
    const auto jobs = store.claimBatch(owner, [](const queue::Job&) { return 1000; });
    store.setPaused(paused);
    queue::GalleryRecorder recorder(store);
    QList<queue::Job> done;
    for (const auto& j : jobs) {
        QDir().mkpath(j.spec.outputDir.isEmpty() ? dir : j.spec.outputDir);
        const QString path =
            (j.spec.outputDir.isEmpty() ? dir : j.spec.outputDir) + QStringLiteral("/job-%1.png").arg(j.id);
        QImage img(32, 24, QImage::Format_RGB888);
        img.fill(QColor::fromHsv(static_cast<int>(j.spec.seed * 37 % 360), 180, 200));
        EXPECT_TRUE(img.save(path));
        EXPECT_TRUE(store.markDone(j.id, owner, path));
        recorder.record(*store.job(j.id), path);
        done.push_back(*store.job(j.id));
    }
    return done;
}

using test::Rig;

} // namespace

TEST(Studio, TheGalleryHistoryIsDecodedOffTheGuiThread) {
    Rig rig;
    {
        queue::JobStore store(rig.db);
        for (int i = 0; i < 3; ++i)
            addDoneJob(store, rig.dir, i, 1024);
    }
    app::StudioController controller(rig.window, *rig.worker, rig.db);
    EXPECT_EQ(rig.window.gallery()->count(), 0) << "the constructor returned before any image was decoded";
    ASSERT_TRUE(waitFor([&] { return rig.window.gallery()->count() == 3; }, 20000))
        << "gallery has " << rig.window.gallery()->count();
}

TEST(Studio, HeartbeatsDoNotReloadTheJobsTable) {
    Rig rig;
    queue::JobStore store(rig.db);
    queue::JobSpec spec;
    spec.prompt = QStringLiteral("<general_tags>x</general_tags>");
    spec.model = QStringLiteral("/models/none");
    spec.outputDir = rig.dir;
    const auto ids = store.add({spec, spec});
    const QString other = queue::JobStore::newOwnerId(); // a worker in another process
    ASSERT_EQ(store.claimBatch(other, [](const queue::Job&) { return 2; }).size(), 2);
    app::StudioController controller(rig.window, *rig.worker, rig.db);
    auto* model = rig.window.queuePanel()->findChild<QTreeView*>()->model();
    QApplication::processEvents();
    QSignalSpy changed(model, &QAbstractItemModel::dataChanged);
    QSignalSpy reset(model, &QAbstractItemModel::modelReset);
    for (int beat = 0; beat < 4; ++beat) {
        store.heartbeat(other);
        QElapsedTimer t;
        t.start();
        while (t.elapsed() < 600)
            QApplication::processEvents(QEventLoop::AllEvents, 50);
    }
    EXPECT_EQ(changed.count() + reset.count(), 0) << "a heartbeat changes no row";
    // A real change still shows, and only its row is read.
    store.saveCheckpoint(ids[1], queue::Checkpoint{3, 1, 1, 1, QByteArray(4, 'x')});
    ASSERT_TRUE(waitFor(
        [&] {
            const auto rows = rig.window.queuePanel()->jobs();
            return rows.size() == 2 && rows[1].stepsDone == 3;
        },
        5000));
    EXPECT_EQ(store.jobsChangedSince(store.revision()).size(), 0);
}

TEST(Studio, MemoryIsSampledOffTheGuiThread) {
    Rig rig;
    app::StudioController controller(rig.window, *rig.worker, rig.db);
    std::mutex mutex;
    QList<QThread*> threads;
    controller.setMemorySource([&](const std::string& device) {
        std::lock_guard<std::mutex> lock(mutex);
        threads.push_back(QThread::currentThread());
        engine::MemoryReport r;
        r.device = device;
        r.total = 1 << 30;
        return r;
    });
    const int before = rig.window.memoryMonitor()->historySize();
    ASSERT_TRUE(waitFor([&] { return rig.window.memoryMonitor()->historySize() >= before + 2; }, 10000));
    std::lock_guard<std::mutex> lock(mutex);
    ASSERT_FALSE(threads.isEmpty());
    for (auto* t : threads)
        EXPECT_NE(t, QApplication::instance()->thread()) << "memory_report (CUDA init) ran on the GUI thread";
}

TEST(Studio, AStuckWorkerDoesNotHangTheShutdownAndItsJobsGoBack) {
    Rig rig;
    app::StudioController controller(rig.window, *rig.worker, rig.db);
    rig.thread.start();
    // The worker busy in a long call (a model load) that cannot be interrupted.
    QMetaObject::invokeMethod(
        rig.worker, [] { QThread::msleep(3000); }, Qt::QueuedConnection);
    QThread::msleep(100);
    queue::JobStore store(rig.db);
    queue::JobSpec spec;
    spec.prompt = QStringLiteral("<general_tags>x</general_tags>");
    spec.model = QStringLiteral("/models/none");
    spec.outputDir = rig.dir;
    const auto id = store.add({spec}).front();
    ASSERT_EQ(store.claimBatch(rig.worker->owner(), [](const queue::Job&) { return 1; }).size(), 1);
    QElapsedTimer t;
    t.start();
    EXPECT_FALSE(controller.stopWorker(rig.thread, 300));
    EXPECT_LT(t.elapsed(), 2000) << "the shutdown waited for the stuck call";
    EXPECT_EQ(store.job(id)->state, queue::JobState::Queued) << "its job went back to the queue";
    rig.thread.wait(); // the test, unlike the app, waits to clean up
}

// Add to queue with settings the engine would refuse shows the store's message (naming the field) and queues
// nothing: the window's add path goes through the same check as the CLI's.
TEST(Studio, AddToQueueWithSettingsTheEngineRefusesQueuesNothingAndSaysWhy) {
    Rig rig;
    app::StudioController controller(rig.window, *rig.worker, rig.db);
    controller.setModel(rig.dir + QStringLiteral("/model"));
    controller.setOutputDir(rig.dir);
    ui::GenerationSettings s = rig.window.settings();
    s.prompt = QStringLiteral("<general_tags>x</general_tags>");
    s.negative = QStringLiteral("blurry") + QChar(0xDC00); // an unpaired surrogate: no valid UTF-8 for it
    s.count = 2;
    rig.window.setSettings(s);
    rig.window.findChild<QPushButton*>(QStringLiteral("queue"))->click();
    queue::JobStore store(rig.db);
    EXPECT_EQ(store.jobs().size(), 0);
    EXPECT_TRUE(rig.window.statusText().contains(QStringLiteral("negative: invalid UTF-8")))
        << rig.window.statusText().toStdString();
    s.negative = QStringLiteral("blurry");
    rig.window.setSettings(s);
    rig.window.findChild<QPushButton*>(QStringLiteral("queue"))->click();
    EXPECT_EQ(store.jobs().size(), 2);
}

// Seeds are 0 .. 2^32-1 in the window too: editing a queued job, restoring from a PNG and the saved session
// keep a seed above 2^31 (the form's QSpinBox used to clamp it to 2147483647).
TEST(Studio, ASeedAbove31BitsSurvivesEditRestoreAndTheSession) {
    constexpr qint64 kSeed = 4000000000;
    Rig rig;
    queue::JobStore store(rig.db);
    store.setPaused(true);
    queue::JobSpec spec;
    spec.prompt = QStringLiteral("<general_tags>x</general_tags>");
    spec.width = spec.height = 64;
    spec.seed = kSeed;
    spec.model = QStringLiteral("/models/none");
    spec.outputDir = rig.dir;
    const auto id = store.add({spec}).front();
    app::StudioController controller(rig.window, *rig.worker, rig.db);

    Q_EMIT rig.window.queuePanel()->editRequested(id);
    ASSERT_EQ(rig.window.editingJob(), id);
    EXPECT_EQ(rig.window.settings().seed, kSeed) << "the form shows the job's seed";
    rig.window.findChild<QPushButton*>(QStringLiteral("queue"))->click(); // "Update job N"
    EXPECT_EQ(store.job(id)->spec.seed, kSeed) << rig.window.statusText().toStdString();

    // A PNG record carrying the seed restores it.
    queue::Job job = *store.job(id);
    const QString png = rig.dir + QStringLiteral("/restored.png");
    imaging::write_png_atomic(png.toStdString(), imaging::RgbImage{16, 16, std::vector<uint8_t>(16 * 16 * 3, 90)},
                              queue::pngRecord(job, {}, QStringLiteral("test"), store.queueId()));
    rig.window.setSettings(ui::GenerationSettings{});
    ASSERT_TRUE(controller.restoreFromImage(png));
    EXPECT_EQ(rig.window.settings().seed, kSeed);

    // The largest seed, and the saved session.
    ui::GenerationSettings s = rig.window.settings();
    s.seed = 4294967295;
    rig.window.setSettings(s);
    EXPECT_EQ(rig.window.settings().seed, 4294967295);
    QSettings session(rig.dir + QStringLiteral("/session.ini"), QSettings::IniFormat);
    rig.window.saveSession(session);
    ui::MainWindow other;
    other.restoreSession(session);
    EXPECT_EQ(other.settings().seed, 4294967295);
}

// Variants…: a 3-style × 4-seed group from the form, queued as one group whose jobs carry their axis values;
// the form's count is the seed axis, as on the command line.
TEST(Studio, VariantsQueueAGroupOfTheProductWithItsAxisValues) {
    Rig rig;
    app::StudioController controller(rig.window, *rig.worker, rig.db);
    controller.setModel(rig.dir + QStringLiteral("/model"));
    controller.setOutputDir(rig.dir);
    ui::GenerationSettings s = rig.window.settings();
    s.prompt =
        QStringLiteral("<character_1><n>miku</n></character_1><general_tags><style>anime</style></general_tags>");
    s.seed = 4000000000;
    s.seedMode = QStringLiteral("increment");
    s.count = 4;
    rig.window.setSettings(s);
    rig.window.openVariants([](ui::VariantsDialog& d) {
        d.addAxis(QStringLiteral("style"), QStringLiteral("watercolor | cel shading, flat colors | sketch"));
        EXPECT_EQ(d.productText(), QStringLiteral("style (3) × seed (4, the form's count) = 12 jobs"));
        QTimer::singleShot(0, &d, &QDialog::accept);
    });
    queue::JobStore store(rig.db);
    queue::GroupStore groups(store);
    const auto all = groups.groups();
    ASSERT_EQ(all.size(), 1) << rig.window.statusText().toStdString();
    EXPECT_EQ(all[0].axisNames(), (QStringList{QStringLiteral("style"), QStringLiteral("seed")}));
    EXPECT_EQ(all[0].label, QStringLiteral("style (3) × seed (4)"));
    const auto members = groups.members(all[0].id);
    ASSERT_EQ(members.size(), 12);
    EXPECT_EQ(members[5].axisValues,
              (QStringList{QStringLiteral("cel shading, flat colors"), QStringLiteral("4000000001")}));
    const auto jobs = store.jobs();
    ASSERT_EQ(jobs.size(), 12);
    EXPECT_TRUE(jobs[5].spec.prompt.contains(QStringLiteral("cel shading"))) << jobs[5].spec.prompt.toStdString();
    EXPECT_FALSE(jobs[5].spec.prompt.contains(QStringLiteral("anime")));
    EXPECT_EQ(jobs[5].spec.seed, 4000000001);
    EXPECT_TRUE(rig.window.statusText().contains(QStringLiteral("12 job"))) << rig.window.statusText().toStdString();

    // An axis the prompt cannot take is refused with the reason, and nothing is queued.
    rig.window.openVariants([](ui::VariantsDialog& d) {
        d.addAxis(QStringLiteral("character"), QStringLiteral("maid outfit"), 3, QStringLiteral("clothing"));
        QTimer::singleShot(0, &d, &QDialog::accept);
    });
    EXPECT_EQ(store.jobs().size(), 12);
    EXPECT_TRUE(rig.window.statusText().contains(QStringLiteral("character_3")))
        << rig.window.statusText().toStdString();
}

TEST(Studio, AGroupRowPausesMovesAndCancelsTheWholeGroupInTheStore) {
    Rig rig; // the worker never starts: nothing runs
    app::StudioController controller(rig.window, *rig.worker, rig.db);
    controller.setModel(rig.dir + QStringLiteral("/model"));
    controller.setOutputDir(rig.dir);
    queue::JobStore store(rig.db);
    queue::GroupStore groups(store);
    queue::JobSpec loose;
    loose.model = controller.model();
    loose.outputDir = rig.dir;
    const qint64 first = store.add({loose}).front();
    ui::GenerationSettings s = rig.window.settings();
    s.seedMode = QStringLiteral("fixed");
    s.seed = 7;
    controller.queueVariants(s, {QStringLiteral("seeds=3")}, QStringLiteral("trio"));
    ASSERT_EQ(groups.groups().size(), 1) << rig.window.statusText().toStdString();
    const QString id = groups.groups().front().id;
    controller.refresh();

    auto* panel = rig.window.queuePanel();
    const QModelIndex row = panel->model()->groupIndex(id);
    ASSERT_TRUE(row.isValid());
    EXPECT_EQ(panel->model()->rowCount(row), 3);
    EXPECT_EQ(panel->model()->index(1, ui::QueueModel::TitleColumn, row).data().toString(), "seed 8");
    panel->selectGroup(id);
    auto* pause = panel->findChild<QPushButton*>(QStringLiteral("groupPauseButton"));
    pause->click();
    EXPECT_TRUE(groups.group(id)->paused);
    EXPECT_EQ(pause->text(), "Resume group");
    EXPECT_EQ(panel->model()->index(row.row(), ui::QueueModel::StateColumn).data().toString(), "paused");

    panel->moveSelectedToTop();
    QList<qint64> order;
    for (const auto& j : store.jobs())
        order.push_back(j.id);
    ASSERT_EQ(order.size(), 4);
    EXPECT_EQ(order.back(), first) << "the group's three jobs went above the loose one";
    EXPECT_EQ(panel->model()->groupIndex(id).row(), 0);

    panel->selectGroup(id);
    panel->cancelSelected();
    EXPECT_EQ(groups.progress(id).cancelled, 3);
    EXPECT_EQ(store.job(first)->state, queue::JobState::Queued);
    EXPECT_EQ(panel->model()->index(0, ui::QueueModel::StateColumn).data().toString(), "cancelled");
}

TEST(Studio, TheCompareViewOfAGroupIsLabelledByItsAxesAndItsMarksSurviveARestart) {
    Rig rig;
    queue::JobStore store(rig.db);
    queue::GroupStore groups(store);
    queue::JobSpec base;
    base.prompt =
        QStringLiteral("<character_1><n>miku</n></character_1><general_tags><style>anime</style></general_tags>");
    base.width = base.height = 64;
    base.model = QStringLiteral("/models/none");
    base.outputDir = rig.dir + QStringLiteral("/out");
    queue::VariantAxis style;
    style.kind = queue::AxisKind::Style;
    style.values = QStringList{"flat color", "watercolor", "oil painting"};
    const QList<queue::VariantAxis> axes{style, queue::seedAxis(1, 4)};
    const QString id = groups.create(queue::expandVariants(base, axes), axes, QStringLiteral("miku styles"));
    ASSERT_EQ(finishQueuedJobs(store, rig.dir).size(), 12);
    queue::GalleryStore gallery(queue::GalleryStore::pathNextTo(rig.db));
    qint64 chosen = 0;
    {
        app::StudioController controller(rig.window, *rig.worker, rig.db);
        auto* panel = rig.window.queuePanel();
        panel->selectGroup(id);
        panel->findChild<QPushButton*>(QStringLiteral("compareButton"))->click(); // the GUI's way in
        ui::CompareView* view = controller.compare().view();
        ASSERT_NE(view, nullptr) << rig.window.statusText().toStdString();
        EXPECT_TRUE(view->isVisible());
        EXPECT_EQ(view->groupId(), id);
        const auto* model = view->grid()->model();
        ASSERT_EQ(model->rowCount(), 3);
        ASSERT_EQ(model->columnCount(), 4);
        for (int r = 0; r < 3; ++r)
            EXPECT_EQ(model->headerData(r, Qt::Vertical).toString(), style.values[r]);
        for (int c = 0; c < 4; ++c)
            EXPECT_EQ(model->headerData(c, Qt::Horizontal).toString(), QString::number(c + 1));
        // Each cell is the gallery image of the job with those values.
        const auto img = gallery.image(model->index(2, 1).data(ui::CompareGridModel::ImageIdRole).toLongLong());
        ASSERT_TRUE(img);
        EXPECT_EQ(img->axisValues, (QStringList{"oil painting", "2"}));
        EXPECT_TRUE(img->spec.prompt.contains("oil painting"));

        // Keys: to the cell of watercolor, seed 3; 4 stars; Space: the winner.
        view->grid()->setFocus();
        view->grid()->setCurrentIndex(model->index(0, 0));
        QTest::keyClick(view->grid(), Qt::Key_Down);
        QTest::keyClick(view->grid(), Qt::Key_Right);
        QTest::keyClick(view->grid(), Qt::Key_Right);
        chosen = view->currentImageId();
        ASSERT_EQ(gallery.image(chosen)->axisValues, (QStringList{"watercolor", "3"}));
        QTest::keyClick(view->grid(), Qt::Key_4);
        QTest::keyClick(view->grid(), Qt::Key_Space);
        EXPECT_EQ(gallery.image(chosen)->rating, 4);
        EXPECT_TRUE(gallery.image(chosen)->winner);
        EXPECT_TRUE(view->detailsText().contains("The winner of its group")) << view->detailsText().toStdString();
        // Another winner replaces it: one per group.
        QTest::keyClick(view->grid(), Qt::Key_Left);
        QTest::keyClick(view->grid(), Qt::Key_Space);
        QTest::keyClick(view->grid(), Qt::Key_Right);
        QTest::keyClick(view->grid(), Qt::Key_Space);
        EXPECT_TRUE(gallery.image(chosen)->winner);
        EXPECT_EQ(gallery.count({.winnersOnly = true, .group = id}), 1);
    }
    // A restart: a new controller and a new gallery connection read the marks back.
    queue::GalleryStore reopened(queue::GalleryStore::pathNextTo(rig.db));
    EXPECT_EQ(reopened.image(chosen)->rating, 4);
    EXPECT_TRUE(reopened.image(chosen)->winner);
    app::StudioController controller(rig.window, *rig.worker, rig.db);
    ASSERT_TRUE(controller.openCompare(id));
    const QModelIndex cell = controller.compare().view()->model()->indexOfImage(chosen);
    EXPECT_EQ(cell.data(ui::CompareGridModel::RatingRole).toInt(), 4);
    EXPECT_TRUE(cell.data(ui::CompareGridModel::WinnerRole).toBool());
    EXPECT_EQ(cell.row(), 1);
    EXPECT_EQ(cell.column(), 2);
    EXPECT_FALSE(controller.openCompare(QStringLiteral("g-nope")));
    EXPECT_TRUE(rig.window.statusText().contains("g-nope")) << rig.window.statusText().toStdString();

    // The queue forgets the finished jobs: the gallery still has the group, its images and their places.
    store.removeFinished();
    ASSERT_TRUE(controller.openCompare(id));
    const auto* model = controller.compare().view()->model();
    ASSERT_EQ(model->rowCount(), 3);
    ASSERT_EQ(model->columnCount(), 4);
    EXPECT_EQ(model->indexOfImage(chosen), model->index(1, 2));
    for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 4; ++c)
            EXPECT_NE(model->index(r, c).data(ui::CompareGridModel::ImageIdRole).toLongLong(), 0) << r << "," << c;
}

TEST(Studio, AnOpenCompareViewFillsAsAnotherWorkerFinishesTheGroupsImages) {
    Rig rig;
    app::StudioController controller(rig.window, *rig.worker, rig.db);
    queue::JobStore store(rig.db); // another connection, as a charaforge-cli worker has
    queue::GroupStore groups(store);
    queue::JobSpec base;
    base.prompt = QStringLiteral("<general_tags>x</general_tags>");
    base.width = base.height = 64;
    base.model = QStringLiteral("/models/none");
    base.outputDir = rig.dir + QStringLiteral("/out");
    const QList<queue::VariantAxis> axes{queue::seedAxis(3, 2)};
    const QString id = groups.create(queue::expandVariants(base, axes), axes, QStringLiteral("pair"));
    controller.refresh();
    ASSERT_TRUE(controller.openCompare(id)) << rig.window.statusText().toStdString();
    const auto* model = controller.compare().view()->model();
    ASSERT_EQ(model->columnCount(), 2);
    EXPECT_EQ(model->index(0, 1).data().toString(), "queued");
    EXPECT_EQ(model->index(0, 1).data(ui::CompareGridModel::ImageIdRole).toLongLong(), 0);
    ASSERT_EQ(finishQueuedJobs(store, rig.dir).size(), 2);
    EXPECT_TRUE(waitFor(
        [&] {
            return model->index(0, 0).data(ui::CompareGridModel::ImageIdRole).toLongLong() != 0 &&
                   model->index(0, 1).data(ui::CompareGridModel::ImageIdRole).toLongLong() != 0;
        },
        5000))
        << "the view shows both images";
}

TEST(Studio, BranchingFromAWinnerStoresTheLineageAndTheImagesDetailsShowIt) {
    Rig rig;
    app::StudioController controller(rig.window, *rig.worker, rig.db);
    controller.setModel(rig.dir + QStringLiteral("/model"));
    controller.setOutputDir(rig.dir + QStringLiteral("/out"));
    queue::JobStore store(rig.db);
    queue::GroupStore groups(store);
    store.setPaused(true);
    ui::GenerationSettings s = rig.window.settings();
    s.prompt = prompt::serialise( // as the window queues it
        prompt::parse(QStringLiteral("<character_1><n>miku</n></character_1><general_tags><style>anime</style>"
                                     "</general_tags>"))
            .document);
    s.width = s.height = 64;
    s.seedMode = QStringLiteral("fixed");
    s.seed = 20;
    controller.queueVariants(s, {QStringLiteral("seeds=2")}, QStringLiteral("first"));
    const QString first = groups.groups().front().id;
    const auto done = finishQueuedJobs(store, rig.dir);
    ASSERT_EQ(done.size(), 2);
    queue::GalleryStore gallery(queue::GalleryStore::pathNextTo(rig.db));
    const qint64 winner = gallery.imageForPath(done[1].outputPath)->id;

    ASSERT_TRUE(controller.openCompare(first));
    ui::CompareView* view = controller.compare().view();
    view->setCurrentImage(winner);
    view->findChild<QPushButton*>(QStringLiteral("pickWinnerButton"))->click();
    view->findChild<QPushButton*>(QStringLiteral("branchButton"))->click();
    EXPECT_EQ(controller.branchParent(), winner);
    EXPECT_EQ(rig.window.settings().seed, 21);
    EXPECT_FALSE(rig.window.restoreNotice().isEmpty());
    EXPECT_TRUE(rig.window.restoreNotice().front().contains(QString::number(winner)));

    // The next Add to queue is a group whose parent is the winner: in the queue and in the gallery.
    rig.window.findChild<QPushButton*>(QStringLiteral("queue"))->click();
    ASSERT_EQ(groups.groups().size(), 2) << rig.window.statusText().toStdString();
    const auto child = groups.groups().back();
    EXPECT_EQ(child.parentImage, winner);
    EXPECT_EQ(controller.branchParent(), 0) << "the branch is used up";
    EXPECT_TRUE(rig.window.restoreNotice().isEmpty());
    ASSERT_TRUE(gallery.group(child.id));
    EXPECT_EQ(gallery.group(child.id)->parentImage, winner);
    const auto childJobs = groups.members(child.id);
    ASSERT_EQ(childJobs.size(), 1);
    EXPECT_EQ(store.job(childJobs[0].jobId)->spec, done[1].spec) << "every setting of the winner";

    const auto next = finishQueuedJobs(store, rig.dir);
    ASSERT_EQ(next.size(), 1);
    const qint64 grandchild = gallery.imageForPath(next[0].outputPath)->id;
    const auto lineage = gallery.lineage(grandchild);
    EXPECT_EQ(lineage.parentImage, winner);
    EXPECT_EQ(lineage.parentGroup, first);
    ASSERT_TRUE(lineage.group);
    EXPECT_EQ(lineage.group->id, child.id);
    ASSERT_EQ(gallery.lineage(winner).branches.size(), 1);
    EXPECT_EQ(gallery.lineage(winner).winners, QList<qint64>{winner});

    // The details of both images say so.
    ASSERT_TRUE(controller.openCompare(child.id));
    view->setCurrentImage(grandchild);
    EXPECT_TRUE(
        view->detailsText().contains(QStringLiteral("Branched from image %1 of group %2").arg(winner).arg(first)))
        << view->detailsText().toStdString();
    ASSERT_TRUE(controller.openCompare(first));
    view->setCurrentImage(winner);
    EXPECT_TRUE(view->detailsText().contains(QStringLiteral("Branched into group")))
        << view->detailsText().toStdString();
    EXPECT_TRUE(view->detailsText().contains(QStringLiteral("The winner of its group")));

    // The gallery browser's "Compare this group" opens the view of that group.
    gallery::GalleryPanel browser(rig.db, rig.dir + QStringLiteral("/thumbnails"));
    controller.attachGalleryPanel(browser);
    Q_EMIT browser.compareGroupRequested(child.id);
    EXPECT_EQ(view->groupId(), child.id);
}

// ---------------------------------------------------------------------------------------------
// Every field of a job survives every round trip, one test per field: the form → a queued job → Edit job →
// the form → Update; a job queued from the command line → Edit job → Update; a job's PNG record → restore →
// the form → Add to queue. Each case changes one field of a base job to a value the form used to lose
// (cfg_trunc, renorm and shift were not in the form; cfg below 1 or with 3 decimals, steps above 200 and
// sizes above 2048 were clamped; a CLI job's model and output folder became the window's).

namespace {

struct FieldCase {
    const char* name;
    std::function<void(queue::JobSpec&, const QString& dir)> set;
};

std::ostream& operator<<(std::ostream& os, const FieldCase& c) {
    return os << c.name;
}

const FieldCase kFieldCases[] = {
    {"prompt",
     [](queue::JobSpec& s, const QString&) {
         s.prompt = prompt::serialise(
             prompt::parse(QStringLiteral("<character_1><n>rin</n><gender>1girl</gender></character_1>")).document);
     }},
    {"negative", [](queue::JobSpec& s, const QString&) { s.negative = QStringLiteral("lowres, bad hands"); }},
    {"width", [](queue::JobSpec& s, const QString&) { s.width = 4096; }},
    {"height", [](queue::JobSpec& s, const QString&) { s.height = 3008; }},
    {"steps", [](queue::JobSpec& s, const QString&) { s.steps = 640; }},
    {"sampler", [](queue::JobSpec& s, const QString&) { s.sampler = QStringLiteral("midpoint"); }},
    {"cfg", [](queue::JobSpec& s, const QString&) { s.cfg = 0.625; }},
    {"cfg_trunc", [](queue::JobSpec& s, const QString&) { s.cfgTrunc = 0.375; }},
    {"renorm", [](queue::JobSpec& s, const QString&) { s.renorm = 1.25; }},
    {"shift", [](queue::JobSpec& s, const QString&) { s.shift = 3.0625; }},
    {"seed", [](queue::JobSpec& s, const QString&) { s.seed = 4000000001; }},
    {"model", [](queue::JobSpec& s, const QString& dir) { s.model = dir + QStringLiteral("/cli-model"); }},
    {"output_folder", [](queue::JobSpec& s, const QString& dir) { s.outputDir = dir + QStringLiteral("/cli-out"); }},
};

class JobFieldRoundTrip : public ::testing::TestWithParam<FieldCase> {
protected:
    void SetUp() override {
        QDir().mkpath(rig.dir + QStringLiteral("/cli-model")); // a restored model folder is used when it is here
        controller.setModel(rig.dir + QStringLiteral("/model"));
        controller.setOutputDir(rig.dir + QStringLiteral("/out"));
        store.setPaused(true);
        base.prompt = prompt::serialise(prompt::parse(QStringLiteral("<general_tags>x</general_tags>")).document);
        base.width = base.height = 64;
        base.steps = 3;
        base.seed = 17;
        base.model = controller.model();
        base.outputDir = controller.outputDir();
        spec = base;
        GetParam().set(spec, rig.dir);
        ASSERT_NE(spec, base) << "the case changes its field";
    }

    // Queued job `id`: Edit job, then Update job (without a change) through the window's buttons.
    void editAndUpdate(qint64 id) {
        Q_EMIT rig.window.queuePanel()->editRequested(id);
        ASSERT_EQ(rig.window.editingJob(), id) << rig.window.statusText().toStdString();
        rig.window.findChild<QPushButton*>(QStringLiteral("queue"))->click();
        ASSERT_EQ(rig.window.editingJob(), 0) << rig.window.statusText().toStdString();
    }

    qint64 clickAddToQueue() {
        const auto before = store.jobs().size();
        rig.window.findChild<QPushButton*>(QStringLiteral("queue"))->click();
        const auto jobs = store.jobs();
        EXPECT_EQ(jobs.size(), before + 1) << rig.window.statusText().toStdString();
        return jobs.isEmpty() ? 0 : jobs.back().id;
    }

    Rig rig;
    app::StudioController controller{rig.window, *rig.worker, rig.db};
    queue::JobStore store{rig.db};
    queue::JobSpec base;
    queue::JobSpec spec;
};

} // namespace

TEST_P(JobFieldRoundTrip, SurvivesEditingAJobQueuedFromTheCommandLine) {
    const qint64 id = store.add({spec}).front();
    Q_EMIT rig.window.queuePanel()->editRequested(id);
    ui::GenerationSettings shown = rig.window.settings();
    if (shown.model.isEmpty())
        shown.model = controller.model();
    if (shown.outputDir.isEmpty())
        shown.outputDir = controller.outputDir();
    shown.seedMode = QStringLiteral("fixed");
    EXPECT_EQ(controller.specsFor(shown).front(), spec) << "the form shows the job as it is";
    rig.window.findChild<QPushButton*>(QStringLiteral("queue"))->click();
    EXPECT_EQ(store.job(id)->spec, spec) << rig.window.statusText().toStdString();
}

TEST_P(JobFieldRoundTrip, SurvivesTheFormAQueuedJobEditJobAndTheFormAgain) {
    rig.window.setSettings(app::StudioController::settingsFor(spec));
    const qint64 id = clickAddToQueue();
    ASSERT_NE(id, 0);
    EXPECT_EQ(store.job(id)->spec, spec) << "the form to the queue";
    editAndUpdate(id);
    EXPECT_EQ(store.job(id)->spec, spec) << "Edit job, then Update job";
    // The form still holds the job: queued again, it is the same job.
    const qint64 again = clickAddToQueue();
    ASSERT_NE(again, 0);
    EXPECT_EQ(store.job(again)->spec, spec) << "the form after the edit";
}

// A PNG does not record an output folder (and may lie in a download folder): a restored job's images go to the
// window's output folder; every other field is the recorded one.
TEST_P(JobFieldRoundTrip, SurvivesAPngRecordRestoredAndQueued) {
    const qint64 id = store.add({spec}).front();
    const QString png = rig.dir + QStringLiteral("/record.png");
    ASSERT_NO_THROW(
        imaging::write_png_atomic(png.toStdString(), imaging::RgbImage{8, 8, std::vector<uint8_t>(8 * 8 * 3, 90)},
                                  queue::pngRecord(*store.job(id), {}, QStringLiteral("test"), store.queueId())));
    rig.window.setSettings(ui::GenerationSettings{});
    ASSERT_TRUE(controller.restoreFromImage(png)) << rig.window.statusText().toStdString();
    EXPECT_TRUE(rig.window.restoreNotice().isEmpty()) << rig.window.restoreNotice().join(u'\n').toStdString();
    const qint64 again = clickAddToQueue();
    ASSERT_NE(again, 0);
    queue::JobSpec expected = spec;
    expected.outputDir = controller.outputDir();
    EXPECT_EQ(store.job(again)->spec, expected);
}

// Branch from here in the compare view puts every setting of the image into the editor; queued, the branch is
// the same job (its images go to the folder the image is in).
TEST_P(JobFieldRoundTrip, SurvivesBranchingFromAnImageInTheCompareView) {
    queue::GroupStore groups(store);
    const QString id = groups.create(queue::expandVariants(spec, {}), {}, QStringLiteral("one"));
    const auto done = finishQueuedJobs(store, rig.dir);
    ASSERT_EQ(done.size(), 1);
    rig.window.setSettings(ui::GenerationSettings{});
    ASSERT_TRUE(controller.openCompare(id)) << rig.window.statusText().toStdString();
    auto* view = controller.compare().view();
    ASSERT_NE(view->currentImageId(), 0);
    view->findChild<QPushButton*>(QStringLiteral("branchButton"))->click();
    ui::GenerationSettings shown = rig.window.settings();
    if (shown.model.isEmpty())
        shown.model = controller.model();
    if (shown.outputDir.isEmpty())
        shown.outputDir = controller.outputDir();
    EXPECT_EQ(shown.seedMode, "fixed");
    EXPECT_EQ(controller.specsFor(shown).front(), spec) << "the editor holds the image's settings";
    const qint64 again = clickAddToQueue();
    ASSERT_NE(again, 0);
    EXPECT_EQ(store.job(again)->spec, spec);
    EXPECT_EQ(groups.group(store.job(again)->group)->parentImage, view->currentImageId());
}

INSTANTIATE_TEST_SUITE_P(Studio, JobFieldRoundTrip, ::testing::ValuesIn(kFieldCases),
                         [](const ::testing::TestParamInfo<FieldCase>& info) { return std::string(info.param.name); });

// A recorded model folder that is not on this machine is not queued: the current model is used and the
// notice says so, as it does for a seed the engine cannot take (-1, A1111's "random").
TEST(Studio, ARestoredModelFolderThatIsNotHereOrABadSeedIsReplacedAndSaid) {
    Rig rig;
    app::StudioController controller(rig.window, *rig.worker, rig.db);
    controller.setModel(rig.dir + QStringLiteral("/model"));
    controller.setOutputDir(rig.dir);
    queue::Job job;
    job.id = 5;
    job.spec.prompt = QStringLiteral("1girl, smile");
    job.spec.model = QStringLiteral("/nowhere/NewBie-image-Exp0.1");
    job.spec.seed = -1;
    const QString png = rig.dir + QStringLiteral("/record.png");
    imaging::write_png_atomic(png.toStdString(), imaging::RgbImage{8, 8, std::vector<uint8_t>(8 * 8 * 3, 90)},
                              queue::pngRecord(job, {}, QStringLiteral("test"), QStringLiteral("q")));
    ASSERT_TRUE(controller.restoreFromImage(png));
    const QStringList notice = rig.window.restoreNotice();
    ASSERT_EQ(notice.size(), 2) << notice.join(u'\n').toStdString();
    EXPECT_TRUE(notice[0].contains(QStringLiteral("/nowhere/NewBie-image-Exp0.1"))) << notice[0].toStdString();
    EXPECT_TRUE(notice[1].contains(QStringLiteral("seed -1"))) << notice[1].toStdString();
    EXPECT_TRUE(rig.window.settings().model.isEmpty()) << "the current model";
    EXPECT_EQ(rig.window.settings().seedMode, QStringLiteral("random"));
    EXPECT_TRUE(rig.window.findChild<QLabel*>(QStringLiteral("restoreNotice"))->isVisibleTo(&rig.window));
    EXPECT_TRUE(rig.window.statusText().contains(QStringLiteral("2 setting(s) with no equivalent")))
        << rig.window.statusText().toStdString();
}

// Edit job is a detour: after Update job, or Stop editing, the form is back as it was before (it stayed at the
// job's seed mode Fixed and count 1, and the prompt being written was replaced by the job's).
TEST(Studio, AfterEditJobTheFormIsBackAsItWasBeforeWithItsSeedModeAndCount) {
    Rig rig;
    app::StudioController controller(rig.window, *rig.worker, rig.db);
    controller.setModel(rig.dir + QStringLiteral("/model"));
    controller.setOutputDir(rig.dir);
    queue::JobStore store(rig.db);
    store.setPaused(true);
    queue::JobSpec job;
    job.prompt = QStringLiteral("<general_tags>\n<style>sketch</style>\n</general_tags>");
    job.width = job.height = 64;
    job.seed = 7;
    job.model = controller.model();
    job.outputDir = rig.dir;
    const qint64 id = store.add({job}).front();

    ui::GenerationSettings mine = rig.window.settings();
    mine.prompt = QStringLiteral("<general_tags><style>watercolor</style></general_tags>");
    mine.seedMode = QStringLiteral("increment");
    mine.seed = 4000000000;
    mine.count = 5;
    mine.cfg = 3.5;
    for (const char* end : {"queue", "cancelEdit"}) { // Update job, then Stop editing
        rig.window.setSettings(mine);
        Q_EMIT rig.window.queuePanel()->editRequested(id);
        ASSERT_EQ(rig.window.editingJob(), id);
        EXPECT_EQ(rig.window.settings().seedMode, QStringLiteral("fixed")) << "the job's own seed while editing";
        EXPECT_EQ(rig.window.settings().seed, 7);
        EXPECT_EQ(rig.window.settings().prompt, job.prompt);
        rig.window.findChild<QPushButton*>(QString::fromLatin1(end))->click();
        ASSERT_EQ(rig.window.editingJob(), 0) << end;
        const ui::GenerationSettings back = rig.window.settings();
        EXPECT_EQ(back.seedMode, QStringLiteral("increment")) << end;
        EXPECT_EQ(back.count, 5) << end;
        EXPECT_EQ(back.seed, 4000000000) << end;
        EXPECT_EQ(back.prompt, mine.prompt) << end;
        EXPECT_EQ(back.cfg, 3.5) << end;
        EXPECT_TRUE(rig.window.findChild<QSpinBox*>(QStringLiteral("count"))->isEnabled()) << end;
    }
    EXPECT_EQ(store.jobs().size(), 1) << "Update job changed the job, it queued none";
}

// An A1111 image: its tag-list prompt is in the Form tab's free-text field (the form looked empty), and the
// sampler with no equivalent is in the notice instead of silently becoming Euler.
TEST(Studio, AnA1111ImageShowsItsTagsInTheFormAndListsWhatHasNoEquivalent) {
    Rig rig;
    app::StudioController controller(rig.window, *rig.worker, rig.db);
    controller.setModel(rig.dir + QStringLiteral("/model"));
    const QString png = rig.dir + QStringLiteral("/a1111.png");
    imaging::write_png_atomic(png.toStdString(), imaging::RgbImage{8, 8, std::vector<uint8_t>(8 * 8 * 3, 90)},
                              {{"parameters", "masterpiece, 1girl, smile\nNegative prompt: lowres\nSteps: 20, "
                                              "Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 5, Size: 512x768"}});
    ASSERT_TRUE(controller.restoreFromImage(png)) << rig.window.statusText().toStdString();
    EXPECT_EQ(rig.window.restoreNotice(),
              QStringList{QStringLiteral("sampler \"DPM++ 2M Karras\" has no equivalent; using Euler")});
    auto* notice = rig.window.findChild<QLabel*>(QStringLiteral("restoreNotice"));
    ASSERT_NE(notice, nullptr);
    EXPECT_TRUE(notice->isVisibleTo(&rig.window));
    EXPECT_TRUE(notice->text().contains(QStringLiteral("DPM++ 2M Karras"))) << notice->text().toStdString();
    auto* text = rig.window.findChild<QPlainTextEdit*>(QStringLiteral("freeText"));
    ASSERT_NE(text, nullptr);
    EXPECT_EQ(text->toPlainText(), QStringLiteral("masterpiece, 1girl, smile"));
    const ui::GenerationSettings s = rig.window.settings();
    EXPECT_EQ(s.sampler, QStringLiteral("euler"));
    EXPECT_EQ(s.steps, 20);
    EXPECT_EQ(s.width, 512);
    EXPECT_EQ(s.negative, QStringLiteral("lowres"));
    // Dismissed, it is gone.
    Q_EMIT notice->linkActivated(QStringLiteral("dismiss"));
    EXPECT_FALSE(notice->isVisibleTo(&rig.window));
    EXPECT_TRUE(rig.window.restoreNotice().isEmpty());
}

namespace {

// A test model at `to` without its `drop` subfolder ("" keeps all).
void makeModel(const QString& to, const char* drop = "") {
    engine::make_test_model(to.toStdString());
    if (*drop)
        test::remove_tree(std::filesystem::path(to.toStdString()) / drop);
}

QString rememberedModel() {
    return QSettings().value(QStringLiteral("model/path")).toString();
}

} // namespace

// Choosing a folder that is no model dropped the working model and remembered the bad path before. Now the
// folder is checked first: the model stays, the default dialog says what is missing, nothing is remembered,
// jobs still queue with the working model; answering "Use the built-in model" switches to it.
TEST(Studio, AnIncompleteModelFolderKeepsTheWorkingModelAndSaysWhatIsMissing) {
    Rig rig;
    const QString model = rig.dir + QStringLiteral("/model"), bad = rig.dir + QStringLiteral("/no-clip");
    engine::make_test_model(model.toStdString());
    makeModel(bad, "clip_model");
    app::StudioController controller(rig.window, *rig.worker, rig.db);
    controller.setOutputDir(rig.dir);
    controller.openModel(model);
    rig.thread.start();
    auto* label = rig.window.findChild<QLabel*>(QStringLiteral("modelLabel"));
    ASSERT_TRUE(waitFor([&] { return label->text().startsWith(QStringLiteral("Test model")); }, 60000))
        << label->text().toStdString();
    const QString before = rememberedModel();

    // The default dialog: it names the folder and what is missing; "Keep the current model" is the answer.
    QString dialogText;
    QTimer::singleShot(0, &rig.window, [&] {
        auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget());
        ASSERT_NE(box, nullptr) << "no dialog";
        dialogText = box->text() + QLatin1Char('\n') + box->informativeText();
        for (QAbstractButton* b : box->buttons())
            if (b->text() == QStringLiteral("Keep the current model"))
                b->click();
    });
    EXPECT_FALSE(controller.chooseModelFolder(bad));
    EXPECT_TRUE(dialogText.contains(bad)) << dialogText.toStdString();
    EXPECT_TRUE(dialogText.contains(QStringLiteral("Jina CLIP v2 text encoder"))) << dialogText.toStdString();
    EXPECT_TRUE(dialogText.contains(QStringLiteral("The current model stays in use"))) << dialogText.toStdString();
    EXPECT_EQ(controller.model(), model);
    EXPECT_EQ(rememberedModel(), before) << "the bad path was remembered";
    QApplication::processEvents();
    EXPECT_TRUE(label->text().startsWith(QStringLiteral("Test model"))) << label->text().toStdString();

    queue::JobStore store(rig.db);
    store.setPaused(true);
    auto* queueButton = rig.window.findChild<QPushButton*>(QStringLiteral("queue"));
    EXPECT_TRUE(queueButton->isEnabled());
    queueButton->click();
    ASSERT_EQ(store.jobs().size(), 1);
    EXPECT_EQ(store.jobs()[0].spec.model, model) << "queued with the bad folder";

    // Offered the built-in model and taking it.
    QString problem;
    controller.setModelProblemPrompt([&](const QString& folder, const QString& p) {
        EXPECT_EQ(folder, bad);
        problem = p;
        return true;
    });
    EXPECT_FALSE(controller.chooseModelFolder(bad));
    EXPECT_TRUE(problem.contains(QStringLiteral("clip_model"))) << problem.toStdString();
    EXPECT_EQ(controller.model(), app::defaultTestModelPath());
    EXPECT_EQ(rememberedModel(), app::defaultTestModelPath());
    EXPECT_TRUE(engine::check_model_folder(app::defaultTestModelPath().toStdString()).empty());

    // A complete folder is taken and remembered.
    const QString good = rig.dir + QStringLiteral("/good");
    makeModel(good);
    EXPECT_TRUE(controller.chooseModelFolder(good));
    EXPECT_EQ(controller.model(), good);
    EXPECT_EQ(rememberedModel(), good);
}

// A folder that passes the check but does not load (a transformer file with the VAE's keys) puts the working
// model back, in the controller, the worker and the remembered setting, and says why.
TEST(Studio, AFolderThatFailsToLoadPutsTheWorkingModelBack) {
    Rig rig;
    const QString model = rig.dir + QStringLiteral("/model"), broken = rig.dir + QStringLiteral("/broken");
    engine::make_test_model(model.toStdString());
    makeModel(broken);
    const QString transformer = broken + QStringLiteral("/transformer/diffusion_pytorch_model.safetensors");
    ASSERT_TRUE(QFile::remove(transformer));
    ASSERT_TRUE(QFile::copy(model + QStringLiteral("/vae/diffusion_pytorch_model.safetensors"), transformer));
    ASSERT_TRUE(engine::check_model_folder(broken.toStdString()).empty()) << "the check reads no weights";
    app::StudioController controller(rig.window, *rig.worker, rig.db);
    controller.openModel(model);
    rig.thread.start();
    auto* label = rig.window.findChild<QLabel*>(QStringLiteral("modelLabel"));
    ASSERT_TRUE(waitFor([&] { return label->text().startsWith(QStringLiteral("Test model")); }, 60000));

    QString failed, problem;
    controller.setModelProblemPrompt([&](const QString& folder, const QString& p) {
        failed = folder;
        problem = p;
        return false;
    });
    EXPECT_TRUE(controller.chooseModelFolder(broken));
    ASSERT_TRUE(waitFor([&] { return !failed.isEmpty(); }, 60000)) << "no word of the failure";
    EXPECT_EQ(failed, broken);
    EXPECT_FALSE(problem.isEmpty());
    EXPECT_EQ(controller.model(), model);
    EXPECT_EQ(rememberedModel(), model);
    ASSERT_TRUE(waitFor([&] { return label->text().startsWith(QStringLiteral("Test model")); }, 60000))
        << "the working model was not reopened: " << label->text().toStdString();
    EXPECT_TRUE(rig.window.findChild<QPushButton*>(QStringLiteral("queue"))->isEnabled());
}

// A model that cannot open at start (a bad --model) blocked nothing before: jobs were queued for it. Now the
// buttons are disabled with the reason until a model opens, and File → Use the built-in model is the way out.
TEST(Studio, NoModelOpenBlocksQueueingUntilTheBuiltInModelOpens) {
    Rig rig;
    app::StudioController controller(rig.window, *rig.worker, rig.db);
    controller.setOutputDir(rig.dir);
    controller.openModel(rig.dir + QStringLiteral("/nope"));
    rig.thread.start();
    auto* queueButton = rig.window.findChild<QPushButton*>(QStringLiteral("queue"));
    ASSERT_TRUE(waitFor([&] { return !queueButton->isEnabled(); }, 60000)) << "queueing stayed open";
    EXPECT_TRUE(queueButton->toolTip().contains(QStringLiteral("does not exist")))
        << queueButton->toolTip().toStdString();
    queue::JobStore store(rig.db);
    store.setPaused(true);
    ui::GenerationSettings s;
    EXPECT_FALSE(rig.window.queueableSettings(s));
    EXPECT_TRUE(rig.window.statusText().contains(QStringLiteral("No model is open")))
        << rig.window.statusText().toStdString();
    EXPECT_EQ(store.jobs().size(), 0);

    rig.window.findChild<QAction*>(QStringLiteral("builtInModelAction"))->trigger();
    EXPECT_EQ(controller.model(), app::defaultTestModelPath());
    ASSERT_TRUE(waitFor([&] { return queueButton->isEnabled(); }, 60000)) << queueButton->toolTip().toStdString();
    queueButton->click();
    ASSERT_EQ(store.jobs().size(), 1);
    EXPECT_EQ(store.jobs()[0].spec.model, app::defaultTestModelPath());
}

// Retry re-queues a failed job with the window's model: a job that failed on a folder that went bad runs
// again on the working one (it kept the bad folder and failed again before).
TEST(Studio, RetryRequeuesAFailedJobWithTheCurrentModel) {
    Rig rig;
    queue::JobStore store(rig.db);
    queue::JobSpec spec;
    spec.prompt = QStringLiteral("<general_tags>x</general_tags>");
    spec.width = spec.height = 64;
    spec.model = rig.dir + QStringLiteral("/gone");
    spec.outputDir = rig.dir;
    const auto id = store.add({spec}).front();
    const QString owner = queue::JobStore::newOwnerId();
    store.claimBatch(owner, [](const queue::Job&) { return 1; });
    ASSERT_TRUE(
        store.markFailed(id, owner, QStringLiteral("model: ") + spec.model + QStringLiteral(" does not exist")));
    store.setPaused(true);
    app::StudioController controller(rig.window, *rig.worker, rig.db);
    controller.setModel(rig.dir + QStringLiteral("/model"));
    auto* panel = rig.window.queuePanel();
    panel->selectJobs({id});
    auto* retry = panel->findChild<QPushButton*>(QStringLiteral("retryButton"));
    ASSERT_TRUE(retry->isEnabled());
    retry->click();
    EXPECT_EQ(store.job(id)->state, queue::JobState::Queued);
    EXPECT_EQ(store.job(id)->spec.model, rig.dir + QStringLiteral("/model"));
}

// Erasing in the studio: without a LaMa model Erase says what to set and queues nothing; with one, the brush's
// mask goes into a mask file beside the queue and an erase job of the gallery image; the worker's result shows
// up in the gallery right after its original, and the viewer flips between before and after. Erase many: the
// same mask scaled to each selected image.
TEST(Studio, EraseQueuesTheMaskedImageAndTheResultShowsUpBesideTheOriginal) {
    Rig rig;
    const QString lama = rig.dir + QStringLiteral("/big-lama.safetensors");
    engine::write_lama_test_model(lama.toStdString());
    const QString a = rig.dir + QStringLiteral("/a.png"), b = rig.dir + QStringLiteral("/b.png");
    QImage imageA(64, 48, QImage::Format_RGB888), imageB(32, 24, QImage::Format_RGB888);
    for (int y = 0; y < 48; ++y)
        for (int x = 0; x < 64; ++x)
            imageA.setPixelColor(x, y, QColor(x * 4, y * 5, (x * y) % 256));
    imageB.fill(Qt::darkMagenta);
    ASSERT_TRUE(imageA.save(a));
    ASSERT_TRUE(imageB.save(b));
    QSettings().remove(QStringLiteral("erase/lamaModel"));
    qunsetenv("CHARAFORGE_LAMA_MODEL");

    app::StudioController controller(rig.window, *rig.worker, rig.db);
    controller.setOutputDir(rig.dir + QStringLiteral("/out"));
    app::EraseController erase(rig.window, controller, rig.db,
                               [&] { QMetaObject::invokeMethod(rig.worker, "wake", Qt::QueuedConnection); });
    QStringList asked;
    erase.setFilePrompt([&](const QString& title, const QString&) {
        asked << title;
        return lama;
    });
    rig.window.show();
    rig.window.gallery()->addImage(0, imageA, a, {});
    rig.window.gallery()->addImage(0, imageB, b, {});
    ASSERT_TRUE(rig.window.gallery()->selectPath(a));
    rig.window.findChild<QAction*>(QStringLiteral("eraseAction"))->trigger();
    ui::MaskDialog* dialog = erase.dialog();
    ASSERT_NE(dialog, nullptr);
    EXPECT_EQ(dialog->images(), QStringList{a});

    // Paint a band across the middle.
    ui::MaskCanvas* canvas = dialog->canvas();
    canvas->resize(640, 480);
    canvas->setBrushSize(8);
    const QRectF r = canvas->imageRect();
    auto at = [&](double x, double y) { return QPointF(r.left() + x * r.width() / 64, r.top() + y * r.height() / 48); };
    auto send = [&](QEvent::Type type, QPointF pos, Qt::MouseButton button, Qt::MouseButtons buttons) {
        QMouseEvent e(type, pos, canvas->mapToGlobal(pos), button, buttons, Qt::NoModifier);
        QApplication::sendEvent(canvas, &e);
    };
    send(QEvent::MouseButtonPress, at(10, 24), Qt::LeftButton, Qt::LeftButton);
    send(QEvent::MouseMove, at(30, 24), Qt::NoButton, Qt::LeftButton);
    send(QEvent::MouseButtonRelease, at(50, 24), Qt::LeftButton, Qt::NoButton);
    const QImage painted = canvas->mask();
    ASSERT_FALSE(canvas->isEmpty());

    // No LaMa model: Erase is off and says what to set; queueing anyway queues nothing and says why.
    EXPECT_FALSE(dialog->eraseButton()->isEnabled());
    EXPECT_TRUE(dialog->problem().contains(QStringLiteral("big-lama.pt")));
    EXPECT_TRUE(erase.queueErase({a}, painted, QStringLiteral("crop")).isEmpty());
    EXPECT_TRUE(rig.window.statusText().contains(QStringLiteral("no LaMa model is set")))
        << rig.window.statusText().toStdString();
    queue::JobStore store(rig.db);
    EXPECT_TRUE(store.jobs().isEmpty());

    // "LaMa model…" asks for the file and remembers it.
    dialog->findChild<QPushButton*>(QStringLiteral("chooseLamaButton"))->click();
    ASSERT_EQ(asked.size(), 1);
    EXPECT_EQ(erase.lamaModel(), lama);
    EXPECT_EQ(QSettings().value(QStringLiteral("erase/lamaModel")).toString(), lama);
    ASSERT_TRUE(dialog->eraseButton()->isEnabled()) << dialog->problem().toStdString();
    dialog->eraseButton()->click();
    const auto jobs = store.jobs();
    ASSERT_EQ(jobs.size(), 1);
    const queue::JobSpec& spec = jobs[0].spec;
    EXPECT_EQ(spec.kind, queue::JobKind::Erase);
    EXPECT_EQ(spec.image, a);
    EXPECT_EQ(spec.model, lama);
    EXPECT_EQ(spec.strategy, QStringLiteral("crop"));
    EXPECT_TRUE(spec.mask.startsWith(erase.masksFolder())) << spec.mask.toStdString();
    EXPECT_EQ(QImage(spec.mask).convertToFormat(QImage::Format_Grayscale8), painted) << "the mask file is the brush's";

    rig.thread.start();
    ASSERT_TRUE(waitFor([&] { return store.job(jobs[0].id)->state == queue::JobState::Done; }, 120000))
        << store.job(jobs[0].id)->message.toStdString();
    ASSERT_TRUE(waitFor([&] { return rig.window.gallery()->count() == 3; }, 10000));
    const QString result = store.job(jobs[0].id)->outputPath;
    // Newest first: b, a, then a's result right after it.
    EXPECT_EQ(rig.window.gallery()->pathAt(1), a);
    EXPECT_EQ(rig.window.gallery()->pathAt(2), result);
    auto* viewer = rig.window.viewer();
    ASSERT_TRUE(viewer->hasComparison());
    const QImage after = viewer->image();
    EXPECT_NE(after.convertToFormat(QImage::Format_RGB888), imageA) << "the band was erased";
    viewer->beforeAfterAction()->trigger();
    EXPECT_EQ(viewer->image().convertToFormat(QImage::Format_RGB888), imageA) << "B shows the original";

    // Erase many: both gallery images, the one mask scaled to each.
    const auto many = erase.queueErase({a, b}, painted, QStringLiteral("original"));
    ASSERT_EQ(many.size(), 2);
    const auto maskB = QImage(store.job(many[1])->spec.mask);
    EXPECT_EQ(maskB.size(), QSize(32, 24));
    EXPECT_EQ(qGray(maskB.pixel(15, 12)), 255);
    EXPECT_EQ(qGray(maskB.pixel(15, 2)), 0);
    EXPECT_EQ(store.job(many[1])->spec.strategy, QStringLiteral("original"));
}

// File → Choose model folder… opens beside the last chosen model (its parent folder, so that it or a sibling is
// one click away), else in the home folder: never in the working directory, where a relative remembered path
// would have led.
TEST(Studio, TheModelFolderDialogStartsBesideTheLastModelOrAtHome) {
    test::TempDir tmp;
    const QDir root(QString::fromStdString(tmp.path().string()));
    ASSERT_TRUE(root.mkpath(QStringLiteral("models/NewBie-image-Exp0.1")));
    ASSERT_TRUE(root.mkpath(QStringLiteral("home")));
    const QString models = root.filePath(QStringLiteral("models"));
    const QString home = root.filePath(QStringLiteral("home"));
    using app::modelDialogStartFolder;
    EXPECT_EQ(modelDialogStartFolder(models + QStringLiteral("/NewBie-image-Exp0.1"), home), models);
    EXPECT_EQ(modelDialogStartFolder(models + QStringLiteral("/NewBie-image-Exp0.1/"), home), models);
    EXPECT_EQ(modelDialogStartFolder(models + QStringLiteral("/deleted-model"), home), models);
    EXPECT_EQ(modelDialogStartFolder(root.filePath(QStringLiteral("gone/NewBie")), home), home);
    EXPECT_EQ(modelDialogStartFolder(QString(), home), home);
    // A relative path would be read against the working directory: not used, even where it exists there.
    const QString cwd = QDir::currentPath();
    ASSERT_TRUE(QDir::setCurrent(root.path()));
    EXPECT_EQ(modelDialogStartFolder(QStringLiteral("models/NewBie-image-Exp0.1"), home), home);
    EXPECT_EQ(modelDialogStartFolder(QString(), home), home);
    ASSERT_TRUE(QDir::setCurrent(cwd));
    // The remembered model (QSettings "model/path", under the test's scratch home) and the user's home.
    app::rememberModel(models + QStringLiteral("/NewBie-image-Exp0.1"));
    EXPECT_EQ(modelDialogStartFolder(), models);
    QSettings().remove(QStringLiteral("model/path"));
    EXPECT_EQ(modelDialogStartFolder(), QDir::homePath());
}

// A restored image or an edited job whose width or height is not a multiple of 16 (a PNG or a queue written by
// another program; the form accepted 1000 silently and the job failed later): rounded to the model's step and
// said in the restore notice, one line per side.
TEST(Studio, ASizeOffTheModelsStepIsRoundedAndSaidOnRestoreAndEdit) {
    Rig rig;
    app::StudioController controller(rig.window, *rig.worker, rig.db);
    controller.setOutputDir(rig.dir);
    queue::Job job;
    job.id = 3;
    job.spec.prompt = QStringLiteral("1girl, smile");
    job.spec.width = 1000;
    job.spec.height = 1216; // on the step: nothing said
    job.spec.seed = 11;
    const QString png = rig.dir + QStringLiteral("/odd.png");
    imaging::write_png_atomic(png.toStdString(), imaging::RgbImage{8, 8, std::vector<uint8_t>(8 * 8 * 3, 90)},
                              queue::pngRecord(job, {}, QStringLiteral("test"), QStringLiteral("q")));
    ASSERT_TRUE(controller.restoreFromImage(png)) << rig.window.statusText().toStdString();
    EXPECT_EQ(
        rig.window.restoreNotice(),
        QStringList{QStringLiteral("width 1000 is not a multiple of 16 (the model's sizes are); rounded to 1008")});
    EXPECT_EQ(rig.window.settings().width, 1008);
    EXPECT_EQ(rig.window.settings().height, 1216);
    EXPECT_TRUE(rig.window.findChild<QLabel*>(QStringLiteral("restoreNotice"))->isVisibleTo(&rig.window));

    // A queued job the store holds with such sizes (written there by another program): Edit job says so too.
    queue::JobStore store(rig.db);
    store.setPaused(true);
    queue::JobSpec spec;
    spec.prompt = QStringLiteral("<general_tags><style>sketch</style></general_tags>");
    spec.width = spec.height = 512;
    spec.model = QStringLiteral("/models/none");
    spec.outputDir = rig.dir;
    const auto id = store.add({spec}).front();
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("edit-sizes"));
        db.setDatabaseName(rig.db);
        ASSERT_TRUE(db.open());
        QSqlQuery q(db);
        ASSERT_TRUE(q.exec(QStringLiteral("UPDATE jobs SET width = 500, height = 7 WHERE id = %1").arg(id)))
            << q.lastError().text().toStdString();
        db.close();
    }
    QSqlDatabase::removeDatabase(QStringLiteral("edit-sizes"));
    ASSERT_EQ(store.job(id)->spec.width, 500);
    Q_EMIT rig.window.queuePanel()->editRequested(id);
    ASSERT_EQ(rig.window.editingJob(), id);
    EXPECT_EQ(rig.window.restoreNotice(),
              (QStringList{QStringLiteral("width 500 is not a multiple of 16 (the model's sizes are); rounded to 496"),
                           QStringLiteral("height 7 is outside 16 to 8192; using 16")}));
    EXPECT_EQ(rig.window.settings().width, 496);
    EXPECT_EQ(rig.window.settings().height, 16);
    rig.window.findChild<QPushButton*>(QStringLiteral("queue"))->click(); // "Update job N": accepted now
    EXPECT_EQ(store.job(id)->spec.width, 496) << rig.window.statusText().toStdString();
    EXPECT_EQ(store.job(id)->spec.height, 16);
}

int main(int argc, char** argv) {
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    // The remembered model folder and the built-in model go to a scratch home, never the user's.
    const auto home = test::make_temp_dir("studio-home");
    qputenv("XDG_CONFIG_HOME", (home / "config").string().c_str());
    qputenv("XDG_DATA_HOME", (home / "data").string().c_str());
    // No demo model unless a test gives one (the committed resources/demo-model would be found from the build tree).
    qputenv("CHARAFORGE_DEMO_MODEL", "");
    QApplication app(argc, argv);
    qRegisterMetaType<QList<qint64>>();
    qRegisterMetaType<QList<QPair<QString, qint64>>>();
    ::testing::InitGoogleTest(&argc, argv);
    const int rc = RUN_ALL_TESTS();
    test::remove_tree(home);
    return rc;
}

// One worker per GPU ("GPUs to use"): here one on the CPU and one on a GPU this machine lacks, which takes no job.
// The jobs all run; the status line names the device of the running batch, and the memory monitor has a tab and a
// history for each worker's device.
TEST(Studio, AWorkerPerDeviceEachBatchNamesItsDeviceAndTheMonitorShowsEveryDevice) {
    test::TempDir tmp;
    const QString dir = QString::fromStdString(tmp.path().string());
    const QString model = dir + QStringLiteral("/model"), db = dir + QStringLiteral("/queue.sqlite");
    engine::make_test_model(model.toStdString());
    ui::MainWindow window;
    window.show();
    QThread first, second;
    QList<app::QueueWorker*> workers;
    for (const auto& [device, thread] : {std::pair<const char*, QThread*>{"cpu", &first}, {"cuda:1", &second}}) {
        engine::RuntimeOptions rt;
        rt.device = device;
        auto* w = new app::QueueWorker(db, rt);
        w->moveToThread(thread);
        QObject::connect(thread, &QThread::finished, w, &QObject::deleteLater);
        QObject::connect(thread, &QThread::started, w, &app::QueueWorker::start);
        workers.push_back(w);
    }
    app::StudioController controller(window, workers, db);
    controller.setModel(model);
    controller.setOutputDir(dir + QStringLiteral("/out"));
    controller.setMemorySource([](const std::string& device) {
        engine::MemoryReport r;
        r.device = device + " (fake)";
        r.gpu = device != "cpu";
        r.total = 1LL << 32;
        r.free = 1LL << 31;
        return r;
    });
    auto* monitor = window.memoryMonitor();
    EXPECT_EQ(monitor->devices(), (QStringList{QStringLiteral("cpu"), QStringLiteral("cuda:1")}));
    int named = 0;
    QObject::connect(window.queuePanel()->model(), &QAbstractItemModel::dataChanged, &window,
                     [&] { named += window.progressText().contains(QStringLiteral("cpu · job")); });
    first.start();
    second.start();

    ui::GenerationSettings s = window.settings();
    s.width = s.height = 64;
    s.steps = 4;
    s.count = 3;
    window.setSettings(s);
    window.findChild<QPushButton*>(QStringLiteral("queue"))->click();
    ASSERT_TRUE(waitFor([&] { return window.gallery()->count() == 3; }, 180000))
        << "gallery has " << window.gallery()->count();
    EXPECT_GT(named, 0) << "the status line named the batch's device";
    ASSERT_TRUE(waitFor(
        [&] {
            return !monitor->historyOf(QStringLiteral("cpu")).isEmpty() &&
                   !monitor->historyOf(QStringLiteral("cuda:1")).isEmpty();
        },
        10000))
        << "every device is sampled";
    EXPECT_TRUE(controller.stopWorkers({&first, &second}, 10000));
}
