// charaforge: the studio GUI. Composition root: wires the window (a view) to the worker thread.
#include "gui/generation_worker.h"
#include "gui/model_setup.h"
#include "ui/main_window.h"

#include <QApplication>
#include <QFileDialog>
#include <QMessageBox>
#include <QThread>

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("charaforge"));
    QApplication::setOrganizationName(QStringLiteral("CharaForge"));
    QApplication::setApplicationVersion(QStringLiteral(CHARAFORGE_VERSION));
    qRegisterMetaType<charaforge::ui::GenerationSettings>();

    using charaforge::app::GenerationWorker;
    charaforge::ui::MainWindow window;
    QThread thread;
    auto* worker = new GenerationWorker;
    worker->moveToThread(&thread);
    QObject::connect(&thread, &QThread::finished, worker, &QObject::deleteLater);

    QObject::connect(&window, &charaforge::ui::MainWindow::generateRequested, worker, &GenerationWorker::generate,
                     Qt::QueuedConnection);
    QObject::connect(worker, &GenerationWorker::progress, &window, &charaforge::ui::MainWindow::showProgress);
    QObject::connect(worker, &GenerationWorker::imageReady, &window,
                     [&window](const QImage& img, const QString&) { window.showImage(img); });
    QObject::connect(worker, &GenerationWorker::failed, &window, &charaforge::ui::MainWindow::showError);
    QObject::connect(worker, &GenerationWorker::busyChanged, &window, &charaforge::ui::MainWindow::setBusy);
    QObject::connect(worker, &GenerationWorker::modelOpened, &window,
                     [&window](const QString& line, const QString& details, bool test) {
                         window.setModelDescription(line, details);
                         window.setModelNotice(test ? charaforge::app::testModelNotice() : QString());
                         if (test) {
                             // The test model's images are noise: small and quick is all it needs, even on a CPU.
                             auto settings = window.settings();
                             settings.width = settings.height = 256;
                             settings.steps = 12;
                             window.setSettings(settings);
                         }
                     });
    QObject::connect(&window, &charaforge::ui::MainWindow::chooseModelRequested, &window, [&window, worker] {
        const QString dir =
            QFileDialog::getExistingDirectory(&window, QObject::tr("Choose the NewBie-image model folder"));
        if (dir.isEmpty())
            return;
        charaforge::app::rememberModel(dir);
        QMetaObject::invokeMethod(worker, "openModel", Qt::QueuedConnection, Q_ARG(QString, dir));
    });
    thread.start();

    charaforge::app::ModelChoice choice;
    try {
        choice = charaforge::app::chooseModel(QApplication::arguments());
    } catch (const std::exception& e) {
        QMessageBox::critical(
            &window, QObject::tr("CharaForge"),
            QObject::tr("Could not prepare the default test model: %1").arg(QString::fromStdString(e.what())));
    }
    window.setModelDescription(QObject::tr("Opening %1…").arg(choice.path));
    if (!choice.path.isEmpty())
        QMetaObject::invokeMethod(worker, "openModel", Qt::QueuedConnection, Q_ARG(QString, choice.path));
    window.show();
    const int rc = QApplication::exec();
    worker->requestCancel();
    thread.quit();
    thread.wait();
    return rc;
}
