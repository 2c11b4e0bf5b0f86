#pragma once
// The mask editor: a MaskCanvas over the first image with its tools (brush size, eraser, undo, redo, clear,
// invert), the strategy for large images, the LaMa model in use, and Erase. With several images (erase many)
// the one mask painted on the first is scaled to each of the others. A view: Erase emits what to queue; the app
// layer writes the mask files and queues the jobs. An image dropped on it becomes the image to paint on.
#include <QDialog>
#include <QImage>
#include <QString>
#include <QStringList>

class QAction;
class QComboBox;
class QLabel;
class QPushButton;
class QSpinBox;
class QToolButton;

namespace charaforge::ui {

class MaskCanvas;

class MaskDialog : public QDialog {
    Q_OBJECT
public:
    explicit MaskDialog(QWidget* parent = nullptr);

    // The images to erase in: the first is painted on. False (and nothing changes) when the first cannot be read.
    bool setImages(const QStringList& paths);
    QStringList images() const { return m_paths; }

    // The LaMa file Erase uses ("" = none set: Erase is disabled and the dialog says what to set).
    void setLamaModel(const QString& path);
    QString lamaModel() const { return m_lama; }
    QString strategy() const; // "crop", "resize" or "original"

    MaskCanvas* canvas() const { return m_canvas; }
    QPushButton* eraseButton() const { return m_erase; }
    // The line that says why Erase is not possible ("" when it is).
    QString problem() const;

Q_SIGNALS:
    // Erase: the images, the mask painted on the first (Format_Grayscale8, 255 = hole) and the strategy.
    void eraseRequested(const QStringList& images, const QImage& mask, const QString& strategy);
    // "LaMa model…": the app layer asks for big-lama.pt and calls setLamaModel.
    void lamaModelRequested();

protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    void updateState();

    MaskCanvas* m_canvas = nullptr;
    QStringList m_paths;
    QString m_lama;
    QLabel* m_title = nullptr;
    QLabel* m_lamaLabel = nullptr;
    QLabel* m_problem = nullptr;
    QSpinBox* m_brush = nullptr;
    QToolButton* m_eraser = nullptr;
    QAction* m_undo = nullptr;
    QAction* m_redo = nullptr;
    QComboBox* m_strategy = nullptr;
    QPushButton* m_erase = nullptr;
};

} // namespace charaforge::ui
