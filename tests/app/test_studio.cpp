// The studio wired as the app wires it (window, controller, queue worker thread, real engine on the tiny
// model, CPU), driven through the window and the queue panel offscreen: queue variants, pause, reorder,
// cancel one, resume; images stream into the gallery with previews; a dropped PNG restores its settings.
#include "charaforge/engine/pipeline.h"
#include "gui/queue_worker.h"
#include "gui/studio_controller.h"
#include "queue/job_store.h"
#include "test_util.h"
#include "ui/gallery_view.h"
#include "ui/main_window.h"
#include "ui/queue_panel.h"
#include "ui/vram_monitor.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QPushButton>
#include <QSignalSpy>
#include <QThread>

#include <gtest/gtest.h>

using namespace charaforge;

namespace {

// Processes events until `done` or the timeout; returns done().
bool waitFor(const std::function<bool()>& done, int timeoutMs) {
    QElapsedTimer t;
    t.start();
    while (!done() && t.elapsed() < timeoutMs)
        QApplication::processEvents(QEventLoop::AllEvents, 50);
    return done();
}

} // namespace

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

int main(int argc, char** argv) {
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    qRegisterMetaType<QList<qint64>>();
    qRegisterMetaType<QList<QPair<QString, qint64>>>();
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
