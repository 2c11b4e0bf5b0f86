#pragma once
// The studio's erasing: opens the mask editor on the images the window or the gallery names, writes each
// image's mask file next to the queue, and queues one erase job per image (the worker runs them through the erase
// scheduler). The LaMa file is a setting (remembered), else CHARAFORGE_LAMA_MODEL; without one, Erase says what
// to set.
#include "ui/mask_dialog.h"

#include <QImage>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QString>
#include <QStringList>

#include <functional>
#include <memory>

namespace charaforge::queue {
class JobStore;
}
namespace charaforge::ui {
class MainWindow;
}

namespace charaforge::app {

class StudioController;

class EraseController : public QObject {
    Q_OBJECT
public:
    // `wake` tells the worker there is work. Output folder: the studio controller's.
    EraseController(ui::MainWindow& window, StudioController& studio, const QString& queuePath,
                    std::function<void()> wake);
    ~EraseController() override;

    // The LaMa file erase jobs use: the remembered one (settings "erase/lamaModel"), else CHARAFORGE_LAMA_MODEL;
    // "" when neither names an existing file.
    QString lamaModel() const;
    void setLamaModel(const QString& path); // remembered for the next start

    // Opens the mask editor on `paths` (the first is painted on); with none, asks for an image file first.
    void openMaskEditor(const QStringList& paths);
    ui::MaskDialog* dialog() const { return m_dialog; }

    // One erase job per image, with `mask` (Format_Grayscale8, 255 = hole, painted on images.front()) scaled to
    // each image's size and written as a PNG in the masks folder. Returns the job ids; nothing is queued (and the
    // window says why) without a LaMa model, an empty mask or an unreadable image.
    QList<qint64> queueErase(const QStringList& images, const QImage& mask, const QString& strategy);
    // Where the mask files go: "masks" in the queue's folder.
    QString masksFolder() const;

    // Asks for a file (an image to paint on, big-lama.pt); tests answer without a dialog.
    using FilePrompt = std::function<QString(const QString& title, const QString& filter)>;
    void setFilePrompt(FilePrompt prompt) { m_filePrompt = std::move(prompt); }

private:
    void chooseLamaModel();

    ui::MainWindow& m_window;
    StudioController& m_studio;
    std::unique_ptr<queue::JobStore> m_store;
    std::function<void()> m_wake;
    FilePrompt m_filePrompt;
    QPointer<ui::MaskDialog> m_dialog;
};

} // namespace charaforge::app
