#pragma once
// The studio's test rig (charaforge_studio_tests): the window and a CPU queue worker on its thread, started by
// the test, as the app wires them; and waiting for the event loop.
#include "gui/queue_worker.h"
#include "test_util.h"
#include "ui/main_window.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QThread>

#include <functional>

namespace charaforge::test {

// Processes events until `done` or the timeout; returns done().
inline bool waitFor(const std::function<bool()>& done, int timeoutMs) {
    QElapsedTimer t;
    t.start();
    while (!done() && t.elapsed() < timeoutMs)
        QApplication::processEvents(QEventLoop::AllEvents, 50);
    return done();
}

struct Rig {
    TempDir tmp;
    QString dir = QString::fromStdString(tmp.path().string());
    QString db = dir + QStringLiteral("/queue.sqlite");
    ui::MainWindow window;
    QThread thread;
    app::QueueWorker* worker = nullptr;

    Rig() {
        engine::RuntimeOptions rt;
        rt.device = "cpu";
        worker = new app::QueueWorker(db, rt);
        worker->moveToThread(&thread);
        QObject::connect(&thread, &QThread::finished, worker, &QObject::deleteLater);
        QObject::connect(&thread, &QThread::started, worker, &app::QueueWorker::start);
    }
    ~Rig() {
        if (thread.isRunning()) {
            worker->requestStop();
            thread.quit();
            thread.wait();
        } else if (!thread.isFinished()) {
            delete worker; // never started (a started one is deleted when its thread finishes)
        }
    }
    Rig(const Rig&) = delete;
    Rig& operator=(const Rig&) = delete;
};

} // namespace charaforge::test
