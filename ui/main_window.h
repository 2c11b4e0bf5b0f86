#pragma once
// The studio's main window: a view. It emits requests and shows what the worker reports; it owns no work.
#include <QImage>
#include <QMainWindow>
#include <QString>

class QLabel;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QDoubleSpinBox;
class QComboBox;
class QProgressBar;

namespace charaforge::ui {

class PromptEditor;

// What the settings form holds; copied into requests by the app layer.
struct GenerationSettings {
    QString prompt;
    QString negative;
    int width = 1024;
    int height = 1024;
    int steps = 28;
    QString sampler = QStringLiteral("euler");
    double cfg = 5.0;
    qint64 seed = 0;
};

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);

    GenerationSettings settings() const;
    void setSettings(const GenerationSettings& s);
    // A plain notice above the editor (e.g. "test model: images are noise").
    void setModelNotice(const QString& html);
    // One short line in the panel; the full details as its tooltip.
    void setModelDescription(const QString& line, const QString& details = QString());
    QString statusText() const;
    QImage currentImage() const { return m_image; }

public Q_SLOTS:
    void showProgress(int step, int total);
    void showImage(const QImage& image);
    void showError(const QString& message);
    void setBusy(bool busy);

Q_SIGNALS:
    void generateRequested(const charaforge::ui::GenerationSettings& settings);
    void chooseModelRequested();

private:
    QLabel* m_notice = nullptr;
    QLabel* m_modelLabel = nullptr;
    PromptEditor* m_prompt = nullptr;
    QPlainTextEdit* m_negative = nullptr;
    QSpinBox* m_width = nullptr;
    QSpinBox* m_height = nullptr;
    QSpinBox* m_steps = nullptr;
    QComboBox* m_sampler = nullptr;
    QDoubleSpinBox* m_cfg = nullptr;
    QSpinBox* m_seed = nullptr;
    QPushButton* m_generate = nullptr;
    QProgressBar* m_progress = nullptr;
    QLabel* m_imageView = nullptr;
    QImage m_image;
};

} // namespace charaforge::ui

Q_DECLARE_METATYPE(charaforge::ui::GenerationSettings)
