#include "gui/erase_controller.h"

#include "gui/studio_controller.h"
#include "queue/job_store.h"
#include "ui/gallery_view.h"
#include "ui/main_window.h"
#include "ui/mask_dialog.h"

#include <QDateTime>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QImageReader>
#include <QSettings>
#include <QStandardPaths>

namespace charaforge::app {

namespace {

const QString kLamaSetting = QStringLiteral("erase/lamaModel");

} // namespace

EraseController::EraseController(ui::MainWindow& window, StudioController& studio, const QString& queuePath,
                                 std::function<void()> wake)
    : m_window(window), m_studio(studio), m_store(std::make_unique<queue::JobStore>(queuePath)),
      m_wake(std::move(wake)) {
    m_filePrompt = [this](const QString& title, const QString& filter) {
        return QFileDialog::getOpenFileName(&m_window, title,
                                            QStandardPaths::writableLocation(QStandardPaths::PicturesLocation), filter);
    };
    connect(&window, &ui::MainWindow::eraseRequested, this, &EraseController::openMaskEditor);
    connect(window.gallery(), &ui::GalleryView::eraseRequested, this, &EraseController::openMaskEditor);
}

EraseController::~EraseController() = default;

QString EraseController::lamaModel() const {
    for (const QString& path :
         {QSettings().value(kLamaSetting).toString(), qEnvironmentVariable("CHARAFORGE_LAMA_MODEL")})
        if (!path.isEmpty() && QFileInfo(path).isFile())
            return QFileInfo(path).absoluteFilePath();
    return {};
}

void EraseController::setLamaModel(const QString& path) {
    QSettings().setValue(kLamaSetting, QFileInfo(path).absoluteFilePath());
    if (m_dialog)
        m_dialog->setLamaModel(lamaModel());
}

QString EraseController::masksFolder() const {
    return QFileInfo(m_store->path()).absoluteDir().filePath(QStringLiteral("masks"));
}

void EraseController::chooseLamaModel() {
    const QString path =
        m_filePrompt(tr("Choose the LaMa model (big-lama.pt)"), tr("LaMa models (*.pt *.safetensors);;All files (*)"));
    if (path.isEmpty())
        return;
    setLamaModel(path);
    m_window.showMessage(tr("Erasing uses %1").arg(QDir::toNativeSeparators(path)));
}

void EraseController::openMaskEditor(const QStringList& paths) {
    QStringList images = paths;
    if (images.isEmpty()) {
        const QString path = m_filePrompt(tr("Image to erase in"), tr("Images (*.png *.jpg *.jpeg *.webp)"));
        if (path.isEmpty())
            return;
        images = {path};
    }
    if (m_dialog)
        m_dialog->close();
    auto* dialog = new ui::MaskDialog(&m_window);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    if (!dialog->setImages(images)) {
        m_window.showError(tr("%1: not an image this build can read").arg(QDir::toNativeSeparators(images.front())));
        delete dialog;
        return;
    }
    dialog->setLamaModel(lamaModel());
    connect(dialog, &ui::MaskDialog::lamaModelRequested, this, &EraseController::chooseLamaModel);
    connect(dialog, &ui::MaskDialog::eraseRequested, this,
            [this](const QStringList& imgs, const QImage& mask, const QString& strategy) {
                if (!queueErase(imgs, mask, strategy).isEmpty() && m_dialog)
                    m_dialog->accept();
            });
    m_dialog = dialog;
    dialog->show();
}

QList<qint64> EraseController::queueErase(const QStringList& images, const QImage& mask, const QString& strategy) {
    const QString lama = lamaModel();
    if (lama.isEmpty()) {
        m_window.showError(tr("nothing was erased: no LaMa model is set. Choose big-lama.pt with “LaMa model…” in "
                              "the mask editor, or set CHARAFORGE_LAMA_MODEL to its path."));
        return {};
    }
    if (images.isEmpty() || mask.isNull() || mask.size().isEmpty()) {
        m_window.showError(tr("nothing was erased: no image or no mask"));
        return {};
    }
    const QString folder = masksFolder();
    if (!QDir().mkpath(folder)) {
        m_window.showError(tr("nothing was erased: cannot create %1").arg(QDir::toNativeSeparators(folder)));
        return {};
    }
    const qint64 stamp = QDateTime::currentMSecsSinceEpoch();
    QList<queue::JobSpec> specs;
    for (int i = 0; i < images.size(); ++i) {
        const QString& path = images[i];
        QImageReader reader(path);
        const QByteArray format = reader.format();
        const QImage image = reader.read();
        if (image.isNull()) {
            m_window.showError(tr("nothing was erased: %1 cannot be read").arg(QDir::toNativeSeparators(path)));
            return {};
        }
        const QString stem = QStringLiteral("%1-%2-%3").arg(QFileInfo(path).completeBaseName()).arg(stamp).arg(i);
        queue::JobSpec spec;
        spec.kind = queue::JobKind::Erase;
        spec.image = QFileInfo(path).absoluteFilePath();
        if (format != "png") {
            // The worker reads PNGs: another format is erased from a PNG copy beside its mask.
            spec.image = QDir(folder).filePath(stem + QStringLiteral("-image.png"));
            if (!image.save(spec.image, "PNG")) {
                m_window.showError(tr("nothing was erased: cannot write %1").arg(spec.image));
                return {};
            }
        }
        // The mask painted on the first image, scaled (nearest: it stays binary) to this one's size.
        const QImage scaled =
            (mask.size() == image.size() ? mask
                                         : mask.scaled(image.size(), Qt::IgnoreAspectRatio, Qt::FastTransformation))
                .convertToFormat(QImage::Format_Grayscale8);
        spec.mask = QDir(folder).filePath(stem + QStringLiteral("-mask.png"));
        if (!scaled.save(spec.mask, "PNG")) {
            m_window.showError(tr("nothing was erased: cannot write %1").arg(spec.mask));
            return {};
        }
        spec.strategy = strategy;
        spec.model = lama;
        spec.outputDir = m_studio.outputDir();
        spec.width = image.width();
        spec.height = image.height();
        spec.steps = 1;
        specs.push_back(spec);
    }
    QList<qint64> ids;
    try {
        ids = m_store->add(specs, QStringLiteral("erase-%1").arg(stamp));
    } catch (const std::exception& e) {
        m_window.showError(QString::fromStdString(e.what()));
        return {};
    }
    m_window.showMessage(tr("Queued %n erase job(s).", nullptr, static_cast<int>(ids.size())));
    m_studio.refresh();
    if (m_wake)
        m_wake();
    return ids;
}

} // namespace charaforge::app
