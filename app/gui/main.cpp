// charaforge: the studio GUI. Composition root: wires the window (a view), the job store and the queue
// worker thread.
#include "charaforge/engine/tools.h"
#include "gallery/gallery_panel.h"
#include "gui/erase_controller.h"
#include "gui/memory_mode_menu.h"
#include "gui/queue_worker.h"
#include "gui/start_model.h"
#include "gui/studio_controller.h"
#include "queue/device_list.h"
#include "queue/embedding_cache.h"
#include "queue/job_store.h"
#include "queue/model_setup.h"
#include "ui/image_viewer.h"
#include "ui/main_window.h"
#include "ui/studio_types.h"
#include "ui/theme.h"

#include <QApplication>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QInputDialog>
#include <QLineEdit>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QSettings>
#include <QStandardPaths>
#include <QThread>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <utility>
#include <vector>

namespace {

constexpr int kShutdownWaitMs = 10000;

QString argumentValue(const QStringList& args, const QString& name) {
    const int at = args.indexOf(name);
    return at >= 0 && at + 1 < args.size() ? args.at(at + 1) : QString();
}

} // namespace

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("charaforge"));
    QApplication::setOrganizationName(QStringLiteral("CharaForge"));
    QApplication::setApplicationVersion(QStringLiteral(CHARAFORGE_VERSION));
    qRegisterMetaType<charaforge::ui::GenerationSettings>();
    qRegisterMetaType<QList<qint64>>();
    qRegisterMetaType<QList<QPair<QString, qint64>>>();
    qRegisterMetaType<QMap<qint64, QString>>();

    using charaforge::app::QueueWorker;
    using charaforge::app::StudioController;
    const QStringList args = QApplication::arguments();
    QString queuePath = argumentValue(args, QStringLiteral("--queue"));
    if (queuePath.isEmpty())
        queuePath = charaforge::queue::JobStore::defaultPath();
    charaforge::engine::RuntimeOptions runtime;
    if (const auto device = argumentValue(args, QStringLiteral("--device")); !device.isEmpty())
        runtime.device = device.toStdString();
    // --memory-mode auto|high|balanced|low (remembered), else the remembered choice (File → Memory mode), else auto.
    const auto memoryMode = charaforge::app::chooseMemoryMode(argumentValue(args, QStringLiteral("--memory-mode")));
    if (!memoryMode.error.isEmpty()) {
        std::fprintf(stderr, "charaforge: %s\n", memoryMode.error.toLocal8Bit().constData());
        return 2;
    }
    runtime.memory_mode = charaforge::engine::parse_memory_mode(memoryMode.name.toStdString(), "--memory-mode");

    // --theme light|dark|system, else the remembered choice (default: follow the desktop's palette).
    QString theme = argumentValue(args, QStringLiteral("--theme"));
    if (theme.isEmpty())
        theme = QSettings().value(QStringLiteral("ui/theme"), QStringLiteral("system")).toString();
    else
        QSettings().setValue(QStringLiteral("ui/theme"), theme);
    charaforge::ui::applyTheme(app, charaforge::ui::themeFromName(theme));

    charaforge::ui::MainWindow window;
    // The gallery browser over every image recorded beside the queue; the studio works without it.
    charaforge::gallery::GalleryPanel* galleryPanel = nullptr;
    QString galleryProblem;
    try {
        galleryPanel = new charaforge::gallery::GalleryPanel(
            queuePath, QStandardPaths::writableLocation(QStandardPaths::CacheLocation) + QStringLiteral("/thumbnails"));
        galleryPanel->setObjectName(QStringLiteral("galleryPanel"));
        window.addPanelDock(galleryPanel, QObject::tr("Gallery"));
        const auto show = [&window](const QString& path) { window.showImageFile(path); };
        QObject::connect(galleryPanel, &charaforge::gallery::GalleryPanel::imageSelected, &window, show);
        QObject::connect(galleryPanel, &charaforge::gallery::GalleryPanel::imageActivated, &window, show);
        QObject::connect(&window, &charaforge::ui::MainWindow::foldersDropped, galleryPanel,
                         &charaforge::gallery::GalleryPanel::importPaths);
        QObject::connect(galleryPanel, &charaforge::gallery::GalleryPanel::importFinished, &window,
                         [&window](int added, const QStringList& problems) {
                             window.showMessage(
                                 QObject::tr("Gallery: imported %n image(s)", nullptr, added) +
                                 (problems.isEmpty()
                                      ? QString()
                                      : QObject::tr("; skipped: %1").arg(problems.join(QStringLiteral("; ")))));
                         });
    } catch (const std::exception& e) {
        galleryProblem = QString::fromStdString(e.what());
    }
    window.restoreSession(QSettings());
    window.setLibTorchVersion(QString::fromStdString(charaforge::engine::torch_version()));
    // One worker per GPU of the setting "GPUs to use" (default: all), each on a thread of its own with its own model
    // copy, sharing the prompts' embeddings; --device, or a machine without GPU, gives one worker as before.
    QString gpuProblem;
    QStringList devices;
    if (argumentValue(args, QStringLiteral("--device")).isEmpty())
        devices = charaforge::queue::studioDevices(QSettings().value(QStringLiteral("gpu/devices")).toString(),
                                                   charaforge::engine::cuda_device_count(), &gpuProblem);
    if (devices.isEmpty())
        devices = {QString::fromStdString(runtime.device)};
    const auto embeddings = devices.size() > 1 ? std::make_shared<charaforge::queue::EmbeddingCache>() : nullptr;
    std::vector<std::unique_ptr<QThread>> threads;
    QList<QThread*> threadList;
    QList<QueueWorker*> workers;
    for (const auto& device : devices) {
        threads.push_back(std::make_unique<QThread>());
        QThread& thread = *threads.back();
        thread.setObjectName(QStringLiteral("queue worker %1").arg(device));
        auto each = runtime;
        each.device = device.toStdString();
        auto* worker = new QueueWorker(queuePath, each, embeddings);
        worker->moveToThread(&thread);
        QObject::connect(&thread, &QThread::finished, worker, &QObject::deleteLater);
        QObject::connect(&thread, &QThread::started, worker, &QueueWorker::start);
        workers.push_back(worker);
        threadList.push_back(&thread);
    }

    std::unique_ptr<StudioController> controller;
    try {
        controller = std::make_unique<StudioController>(window, workers, queuePath);
    } catch (const std::exception& e) {
        QMessageBox::critical(nullptr, QObject::tr("CharaForge"),
                              QObject::tr("Cannot open the job queue: %1").arg(QString::fromStdString(e.what())));
        qDeleteAll(workers);
        return 1;
    }
    if (!gpuProblem.isEmpty())
        window.showError(gpuProblem);
    if (galleryPanel)
        controller->attachGalleryPanel(*galleryPanel);
    else
        window.showError(QObject::tr("the gallery cannot be opened: %1").arg(galleryProblem));
    QString outputDir = argumentValue(args, QStringLiteral("--out"));
    if (outputDir.isEmpty())
        outputDir = QSettings().value(QStringLiteral("output/dir"), charaforge::app::defaultOutputDir()).toString();
    controller->setOutputDir(QDir(outputDir).absolutePath());
    // Erasing: the mask editor on a gallery or opened image, erase jobs queued for the worker.
    charaforge::app::EraseController erase(window, *controller, queuePath, [workers] {
        for (auto* w : workers)
            QMetaObject::invokeMethod(w, "wake", Qt::QueuedConnection);
    });
    if (galleryPanel)
        QObject::connect(galleryPanel, &charaforge::gallery::GalleryPanel::eraseRequested, &erase,
                         &charaforge::app::EraseController::openMaskEditor);

    // The model opening, opened or failing is the controller's to show (and to go back from).
    QObject::connect(&window, &charaforge::ui::MainWindow::chooseModelRequested, &window, [&window, &controller] {
        const QString dir = QFileDialog::getExistingDirectory(
            &window, QObject::tr("Choose the NewBie-image model folder"), charaforge::app::modelDialogStartFolder());
        if (!dir.isEmpty())
            controller->chooseModelFolder(dir); // checked first: a folder that is not a model changes nothing
    });
    auto* file = window.menuBar()->actions().front()->menu();
    file->insertAction(file->actions().at(1), new QAction(QObject::tr("Choose output folder…"), file));
    QObject::connect(file->actions().at(1), &QAction::triggered, &window, [&window, &controller] {
        const QString dir = QFileDialog::getExistingDirectory(&window, QObject::tr("Folder for generated images"),
                                                              controller->outputDir());
        if (dir.isEmpty())
            return;
        QSettings().setValue(QStringLiteral("output/dir"), dir);
        controller->setOutputDir(dir);
        window.showMessage(QObject::tr("New images go to %1").arg(dir));
    });
    // File → GPUs to use…: which GPUs get a worker, from the next start.
    auto* gpus = new QAction(QObject::tr("GPUs to use…"), file);
    gpus->setObjectName(QStringLiteral("gpusToUse"));
    file->insertAction(file->actions().at(2), gpus);
    QObject::connect(gpus, &QAction::triggered, &window, [&window] {
        const int count = charaforge::engine::cuda_device_count();
        bool ok = false;
        const QString text = QInputDialog::getText(
            &window, QObject::tr("GPUs to use"),
            count == 0 ? QObject::tr("This machine has no CUDA GPU: the studio runs one worker on the CPU.\n"
                                     "GPUs to use (all, or cuda:0,cuda:1,...):")
                       : QObject::tr("This machine has %n CUDA GPU(s). One worker runs on each GPU listed, with "
                                     "its own copy of the model.\nGPUs to use (all, or cuda:0,cuda:1,...):",
                                     nullptr, count),
            QLineEdit::Normal, QSettings().value(QStringLiteral("gpu/devices"), QStringLiteral("all")).toString(), &ok);
        if (!ok)
            return;
        if (count > 0 || text.trimmed() != QStringLiteral("all")) {
            try {
                charaforge::queue::parseDeviceList(text, count);
            } catch (const std::invalid_argument& e) {
                QMessageBox::warning(&window, QObject::tr("GPUs to use"), QString::fromStdString(e.what()));
                return;
            }
        }
        QSettings().setValue(QStringLiteral("gpu/devices"), text.trimmed());
        window.showMessage(QObject::tr("GPUs to use: %1 (from the next start)").arg(text.trimmed()));
    });
    // File → Memory mode: how much of the model stays on the GPU (engine/memory_mode.h), for the next start.
    auto* modes = charaforge::app::makeMemoryModeMenu(memoryMode.name, file,
                                                      [&window](const QString& m) { window.showMessage(m); });
    if (!memoryMode.warning.isEmpty())
        window.showMessage(memoryMode.warning);
    file->insertMenu(file->actions().at(2), modes);
    for (auto* thread : threadList)
        thread->start();

    charaforge::app::openStartModel(window, *controller, args);
    window.show();
    const int rc = QApplication::exec();
    {
        QSettings settings;
        window.saveSession(settings);
    }
    // The running batch goes back to the queue with its sampler state; the next start resumes it. A worker
    // stuck in a long call (loading a model) is not waited for: its jobs are put back in the queue and the
    // process ends without tearing down the running thread.
    if (!controller->stopWorkers(threadList, kShutdownWaitMs)) {
        std::fprintf(stderr, "charaforge: the worker did not stop within %d s; its jobs stay queued\n",
                     kShutdownWaitMs / 1000);
        std::fflush(nullptr);
        std::_Exit(rc);
    }
    controller.reset();
    threads.clear();
    return rc;
}
