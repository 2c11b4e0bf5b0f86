#pragma once
// Wires the studio window (a view) to the job store (the window's own connection) and to the queue worker:
// user intents become store changes, store and worker reports become view values.
#include "gui/memory_sampler.h"
#include "queue/job.h"
#include "ui/main_window.h"
#include "ui/studio_types.h"

#include <QElapsedTimer>
#include <QHash>
#include <QList>
#include <QMap>
#include <QObject>
#include <QPair>
#include <QSet>
#include <QString>
#include <QStringList>
#include <QTimer>

#include <atomic>
#include <functional>
#include <memory>

class QThread;

namespace charaforge::queue {
class JobStore;
class GroupStore;
struct GalleryImage;
} // namespace charaforge::queue

namespace charaforge::gallery {
class GalleryPanel;
}

namespace charaforge::app {

class CompareController;
class QueueWorker;

class StudioController : public QObject {
    Q_OBJECT
public:
    StudioController(ui::MainWindow& window, QueueWorker& worker, const QString& queuePath);
    // One worker per GPU: each worker's batches show their device in the queue panel and the status line, and the
    // memory monitor has a tab for each device.
    StudioController(ui::MainWindow& window, const QList<QueueWorker*>& workers, const QString& queuePath);
    ~StudioController() override;

    // The model new jobs are generated with, and the folder their images go to.
    void setModel(const QString& path);
    QString model() const { return m_model; }
    // Makes `dir` the model of new jobs and retries and opens it in the worker. An editor size that is the current
    // model's default side (its charaforge.json's native_resolution, else NewBie's 1024) becomes the new model's:
    // the demo model opens at 256 x 256, a size the user set stays.
    void openModel(const QString& dir);
    // A folder the user picked (File → Choose model folder…): it becomes the model, remembered for the next
    // start, only when it holds every part (engine::check_model_folder, no weights loaded). Otherwise the
    // current model stays and the problem prompt says what is missing and offers the built-in model; the
    // same happens when the folder passes the check but fails to load. True when `dir` was taken.
    bool chooseModelFolder(const QString& dir);
    // The built-in model (the demo model, else the test model, created when missing) becomes the model and is
    // remembered.
    void useBuiltInModel();
    // Answers a folder that cannot be used: true switches to the built-in model. The default is a dialog over
    // the window; tests answer without one.
    using ModelProblemPrompt = std::function<bool(const QString& folder, const QString& problem)>;
    void setModelProblemPrompt(ModelProblemPrompt prompt) { m_modelProblemPrompt = std::move(prompt); }
    void setOutputDir(const QString& dir) { m_outputDir = dir; }
    QString outputDir() const { return m_outputDir; }
    // The device whose memory the monitor shows ("auto" until a model is open).
    void setDevice(const QString& device);
    // Where memory samples come from (tests; default engine::memory_report). Called on the sampler's thread.
    void setMemorySource(MemorySampler::Source source);

    // The jobs one click of "Add to queue" makes from the form (seed modes applied).
    void queueVariants(const ui::GenerationSettings& s, const QStringList& vary, const QString& label);
    QList<queue::JobSpec> specsFor(const ui::GenerationSettings& settings) const;
    static ui::GenerationSettings settingsFor(const queue::JobSpec& spec);

    // Re-reads the store into the queue panel.
    void refresh();
    // Stops the worker and its thread for the window closing: the running batch goes back to the queue
    // with its sampler state. A worker stuck in a long call (a model load) is not waited for past
    // `timeoutMs`: its jobs are put back in the queue from here and false is returned; the caller then
    // exits without destroying the thread (the next start resumes the jobs).
    bool stopWorker(QThread& thread, int timeoutMs);
    // The same for every worker and its thread (in the order of the constructor's workers).
    bool stopWorkers(const QList<QThread*>& threads, int timeoutMs);
    // Restores the settings stored in one of our PNGs into the editor.
    bool restoreFromImage(const QString& path);

    // The compare view of a variant group (from the queue panel's group row, the gallery, or anyone).
    bool openCompare(const QString& groupId);
    // The gallery browser's requests: restore an image's settings, compare its group.
    void attachGalleryPanel(gallery::GalleryPanel& panel);
    CompareController& compare() { return *m_compare; }
    // Branch from here: every setting of a gallery image into the editor, and the image the parent of the
    // next group queued (Add to queue or Variants…); the lineage is stored with that group.
    void branchFrom(const queue::GalleryImage& image);
    // The image the next group is branched from (0: none).
    qint64 branchParent() const { return m_branchParent; }

private:
    void apply(const std::function<void()>& change);
    // `device`: the worker's when there are several, else "".
    void onProgress(const QList<qint64>& ids, int step, int total, double secondsPerStep, const QString& device);
    void pollChanges();
    void show();
    void startMemorySampler(MemorySampler::Source source);
    QStringList workerDevices() const;
    void loadHistory();
    // The groups as the queue panel shows them; reads the store's groups (and caches their jobs' axis values).
    QList<ui::GroupView> groupViews();
    void onModelFailed(const QString& message);
    // openModel's size rule, from the model `from` ("" at start: NewBie's default) to `to`.
    void fitSizeToModel(const QString& from, const QString& to);
    // An image's settings for the editor; its model folder only when it is here and not the window's (else a
    // line in `notes` when it is gone).
    ui::GenerationSettings imageSettings(const queue::JobSpec& spec, QStringList& notes) const;

    ui::MainWindow& m_window;
    QList<QueueWorker*> m_workers;
    std::unique_ptr<queue::JobStore> m_store;
    std::unique_ptr<queue::GroupStore> m_groups;
    std::unique_ptr<CompareController> m_compare;
    qint64 m_branchParent = 0;
    QList<ui::GroupView> m_groupViews;       // as last shown
    QHash<qint64, QStringList> m_axisValues; // jobs' values on their group's axes (fixed when queued)
    QSet<QString> m_groupsRead;              // groups whose members' values are in m_axisValues
    QString m_model;
    QString m_switchedFrom; // the working model while a newly chosen one loads (back to it if that fails)
    QString m_modelProblem; // why no model is open ("" while one is)
    ModelProblemPrompt m_modelProblemPrompt;
    QString m_outputDir;
    QString m_device = QStringLiteral("auto");
    QList<QPair<QString, qint64>> m_components;
    QTimer m_poll;
    std::unique_ptr<MemorySampler> m_sampler;
    qint64 m_version = -1;
    qint64 m_revision = -1;
    bool m_paused = false;
    QList<queue::Job> m_jobs;           // the store's rows as last read, in queue order
    QMap<qint64, QString> m_memoryFits; // the worker's memory verdict per queued job
    QThread* m_history = nullptr;       // decodes the gallery's first thumbnails
    std::atomic<bool> m_closing{false};
};

} // namespace charaforge::app
