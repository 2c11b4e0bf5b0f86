#pragma once
// The studio's main window: a view. It emits requests and shows what the worker and the queue report; it
// owns no work. Prompt editor and settings on the left, the image viewer and the gallery in the middle,
// the queue panel and the memory monitor in docks.
#include <QImage>
#include <QList>
#include <QMainWindow>
#include <QPair>
#include <QSize>
#include <QString>
#include <QStringList>

#include <functional>

class QLabel;
class QShowEvent;
class QSettings;
class QSplitter;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QDoubleSpinBox;
class QComboBox;
class QDockWidget;
class QMenu;
class QProgressBar;

namespace charaforge::ui {

class GalleryView;
class ImageViewer;
class ModelNotice;
class PromptEditor;
class QueuePanel;
class VariantsDialog;
class VramMonitor;

// The largest seed, the engine's (charaforge::engine::kMaxSeed, 2^32-1; the app layer asserts they agree).
inline constexpr qint64 kMaxSeed = 0xFFFFFFFFll;
// The engine's other limits (charaforge/engine/request_validation.h; the app layer asserts they agree): the form
// takes every job the command line can queue, so editing one never clamps a setting.
inline constexpr int kMaxImageSide = 8192;
inline constexpr int kMaxSteps = 1000;
inline constexpr double kMaxGuidance = 100.0;
inline constexpr double kMaxShift = 1000.0;

// What the settings form holds; the app layer turns it into queued jobs.
struct GenerationSettings {
    QString prompt;
    QString negative;
    int width = 1024;
    int height = 1024;
    int steps = 28;
    QString sampler = QStringLiteral("euler");
    double cfg = 5.0;
    double cfgTrunc = 1.0; // guidance applies while t < this (1: every step)
    double renorm = 0.0;   // > 0 caps the guided velocity at this times |v_cond|
    double shift = 6.0;    // time-shift of the sampling grid
    qint64 seed = 0;
    int count = 1;                               // jobs queued by one click
    QString seedMode = QStringLiteral("random"); // "random" (a new seed per job), "fixed", "increment"
    // The model folder and output folder of the job being edited or restored; empty: the window's (the app
    // layer's current ones). A job queued from the command line keeps its own through an edit.
    QString model;
    QString outputDir;
};

// The model's trained 1024-class resolution buckets (spec 6.1: 4096 patches of 16 px, aspect ratio at most
// 4, each side's side/32 even), largest width first.
QList<QSize> trainedResolutions();

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    GenerationSettings settings() const;
    void setSettings(const GenerationSettings& s);
    // A plain notice above the editor (e.g. "test model: images are noise"), with a "Choose model folder…" button
    // (chooseModelRequested, as the menu's action) when `offerChooser`; "" hides it.
    void setModelNotice(const QString& html, bool offerChooser = false);
    // One short line in the panel; the full details as its tooltip.
    void setModelDescription(const QString& line, const QString& details = QString());
    // Why no model is open ("" once one is): while set, nothing can be queued and the buttons say why.
    void setModelProblem(const QString& problem);
    QString statusText() const;
    QImage currentImage() const;

    // The settings a restored image recorded that have no equivalent here, one line each, shown above the queue
    // button until dismissed or replaced (an empty list hides it).
    void setRestoreNotice(const QStringList& lines);
    QStringList restoreNotice() const { return m_restoreNoticeLines; }

    // Editing a queued job: the queue button becomes "Update job N" (0 ends editing). Call it before showing
    // the job's settings: the form as it was before is put back when editing ends (Update or Stop editing).
    void setEditingJob(qint64 id);
    qint64 editingJob() const { return m_editing; }

    // The window's geometry, dock and splitter layout, the prompt and the settings form, under
    // "window/" and "editor/"; restoreSession ignores what is absent or unreadable.
    void saveSession(QSettings& settings) const;
    void restoreSession(const QSettings& settings);

    // Extra lines for Help → About (the model in use and its device), from the app layer.
    void setAboutDetails(const QString& html);
    // The LibTorch version the engine was built with (engine::torch_version(), from the app layer).
    void setLibTorchVersion(const QString& version);
    // Help → About's text: the app, the model licence notice, the Qt and LibTorch versions, the details.
    QString aboutText() const;
    // Help → Keyboard shortcuts' rows (keys, what), made from the window's actions and buttons that carry
    // a shortcut (so the list cannot drift from them) and the few typing keys that are no action.
    QList<QPair<QString, QString>> shortcutRows() const;
    // The same as an HTML table.
    QString shortcutsText() const;
    // The progress line's text ("idle" when no job runs).
    QString progressText() const;

    // File → Open image without the dialog: shows `path` in the viewer; one of our PNGs also offers its
    // settings (imageDropped, as a drop does). False, with the reason in the status bar, when unreadable.
    bool openImageFile(const QString& path);
    // Shows the image file `path` in the viewer (a gallery's pick; no settings are restored) and makes it the
    // image File → Erase with a mask… works on. False when unreadable.
    bool showImageFile(const QString& path);
    // What File → Erase with a mask… erases in: the gallery's selected images when several are, else the image
    // shown (picked in the gallery or opened); empty when none (the app layer then asks for a file).
    QStringList eraseTargets() const;

    // Adds `panel` (made by the app layer, e.g. the gallery browser) as a dock titled `title`, tabbed with the
    // queue's, with its entry in the View menu. Call it before restoreSession so that its place is restored.
    QDockWidget* addPanelDock(QWidget* panel, const QString& title);

    QueuePanel* queuePanel() const { return m_queue; }
    GalleryView* gallery() const { return m_gallery; }
    ImageViewer* viewer() const { return m_viewer; }
    VramMonitor* memoryMonitor() const { return m_monitor; }

public Q_SLOTS:
    // Progress of the running batch `jobs`; `detail` e.g. "job 12 · ETA 0:42". The line is the batch's while
    // one of `jobs` runs (an empty list: while any job runs); the queue's state decides otherwise.
    void showProgress(int step, int total, const QString& detail = QString(), const QList<qint64>& jobs = {});
    // Back to "idle": called when the queue has no running job any more.
    void clearProgress();
    void showImage(const QImage& image, const QString& caption = QString());
    void showPreview(const QImage& preview, const QString& caption);
    void showError(const QString& message);
    // Opens the Variants dialog for the form's prompt; `prepare` (tests) may fill it before it runs.
    void openVariants(const std::function<void(VariantsDialog&)>& prepare = {});
    // The form's settings with the prompt in canonical form, as queued (the command line queues the same text);
    // false, with the first error shown, while the prompt has errors.
    bool queueableSettings(GenerationSettings& out);
    void showMessage(const QString& message);

Q_SIGNALS:
    void queueRequested(const charaforge::ui::GenerationSettings& settings);
    // Variants…: the form's settings expanded along `vary` (KIND=V1|V2 texts, as `queue add --vary`).
    void variantsRequested(const charaforge::ui::GenerationSettings& settings, const QStringList& vary,
                           const QString& label);
    void updateJobRequested(qint64 id, const charaforge::ui::GenerationSettings& settings);
    void chooseModelRequested();
    // File → Use the built-in model.
    void builtInModelRequested();
    // A PNG was dropped anywhere on the window: restore its settings.
    void imageDropped(const QString& path);
    // Folders were dropped anywhere on the window: import their PNGs into the gallery.
    void foldersDropped(const QStringList& paths);
    // File → Erase with a mask… (eraseTargets()).
    void eraseRequested(const QStringList& paths);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    void applyPreset(int index);
    // The form's job folders (GenerationSettings::model, outputDir), shown when not the window's.
    void setJobTarget(const QString& model, const QString& outputDir);
    // Rounds an edited width/height to the model's size step and says why when it changed.
    void snapSize(QSpinBox* box, const QString& what);
    void updateProgressFromQueue();
    void showAbout();
    void showShortcuts();
    void openImage();
    void showEvent(QShowEvent* event) override;
    void closeEvent(QCloseEvent* event) override;
    void syncPreset();
    void updateQueueButtons();

    ModelNotice* m_notice = nullptr;
    QLabel* m_modelLabel = nullptr;
    PromptEditor* m_prompt = nullptr;
    QPlainTextEdit* m_negative = nullptr;
    QComboBox* m_preset = nullptr;
    QSpinBox* m_width = nullptr;
    QSpinBox* m_height = nullptr;
    QSpinBox* m_steps = nullptr;
    QComboBox* m_sampler = nullptr;
    QDoubleSpinBox* m_cfg = nullptr;
    QDoubleSpinBox* m_cfgTrunc = nullptr;
    QDoubleSpinBox* m_renorm = nullptr;
    QDoubleSpinBox* m_shift = nullptr;
    QString m_jobModel;     // GenerationSettings::model of the form ("" = the window's)
    QString m_jobOutputDir; // GenerationSettings::outputDir of the form
    QLabel* m_jobTarget = nullptr;
    QPushButton* m_useWindowTarget = nullptr;
    QLabel* m_restoreNotice = nullptr;
    QStringList m_restoreNoticeLines;
    QDoubleSpinBox* m_seed = nullptr;
    QComboBox* m_seedMode = nullptr;
    QSpinBox* m_count = nullptr;
    QPushButton* m_queueButton = nullptr;
    QPushButton* m_variantsButton = nullptr;
    bool m_promptHasErrors = false;
    QString m_modelProblem;
    QPushButton* m_cancelEdit = nullptr;
    QProgressBar* m_progress = nullptr;
    QSplitter* m_splitter = nullptr;
    bool m_placeSplitter = true; // the first show splits the form from the image (no saved split)
    QSplitter* m_rightSplitter = nullptr;
    ImageViewer* m_viewer = nullptr;
    GalleryView* m_gallery = nullptr;
    QueuePanel* m_queue = nullptr;
    QDockWidget* m_queueDock = nullptr;
    QMenu* m_viewMenu = nullptr;
    VramMonitor* m_monitor = nullptr;
    qint64 m_editing = 0;
    GenerationSettings m_beforeEditing; // the form when editing began
    QString m_aboutDetails;
    QString m_torchVersion;
    QList<qint64> m_progressJobs;   // the batch the progress line shows
    bool m_samplerProgress = false; // the line is the sampler's report (showProgress), not the queue's state
    QString m_samplingMessage;      // the status bar's last "Sampling: …" message
    QString m_shownFile;            // the file of the image shown (gallery or opened), "" for a job's image
};

} // namespace charaforge::ui

Q_DECLARE_METATYPE(charaforge::ui::GenerationSettings)
