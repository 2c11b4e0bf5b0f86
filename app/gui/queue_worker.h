#pragma once
// The worker owns the engine on its own QThread: it drains the job queue (the same QueueRunner as
// `charaforge-cli worker`) and speaks only through queued signals carrying values.
#include "charaforge/engine/pipeline.h"

#include <QImage>
#include <QList>
#include <QMap>
#include <QObject>
#include <QPair>
#include <QString>
#include <QTimer>

#include <atomic>
#include <memory>
#include <mutex>

namespace charaforge::queue {
class EmbeddingCache;
class JobStore;
class PipelineExecutor;
class QueueRunner;
} // namespace charaforge::queue

namespace charaforge::app {

class QueueWorker : public QObject {
    Q_OBJECT
public:
    // `embeddings`: text embeddings shared with the other workers of the studio (one worker per GPU), or none.
    QueueWorker(const QString& queuePath, const engine::RuntimeOptions& options,
                std::shared_ptr<queue::EmbeddingCache> embeddings = nullptr);
    ~QueueWorker() override;

    // Thread-safe: the running batch stops after its current step and goes back to the queue with its
    // sampler state (used when the window closes).
    void requestStop();
    // The identity under which its runner owns jobs in the store (fixed at construction).
    QString owner() const { return m_owner; }
    // The device it runs on, as configured ("auto", "cpu", "cuda:1").
    QString device() const { return QString::fromStdString(m_options.device); }

public Q_SLOTS:
    // Opens the store and starts draining. Call once, on the worker thread.
    void start();
    // Opens a model now (jobs name their model; this makes the first job fast and reports the model).
    void openModel(const QString& path);
    // Something changed in the queue: look for work now rather than at the next poll.
    void wake();

Q_SIGNALS:
    // `folder`: the model opened (its kind, model/model_card.h, decides the window's notice).
    void modelOpened(const QString& line, const QString& details, const QString& folder,
                     const QList<QPair<QString, qint64>>& components, const QString& device);
    void modelFailed(const QString& message);
    void jobsStarted(const QList<qint64>& ids);
    void progress(const QList<qint64>& ids, int step, int total, double secondsPerStep);
    void preview(qint64 id, const QImage& image, int step, int total);
    void imageFinished(qint64 id, const QImage& image, const QString& path);
    void jobFailed(qint64 id, const QString& message);
    void notice(const QString& message);
    void queueChanged();
    // The memory prediction's verdict per queued job (id -> "fits", "will be split", "too large ..."), when it
    // changes; empty without a device budget (the CPU) or before a model is open.
    void memoryFitsChanged(const QMap<qint64, QString>& fits);

private:
    void tick();
    void reportModel();
    void reportMemoryFits();

    QString m_queuePath;
    QString m_owner;
    engine::RuntimeOptions m_options;
    std::shared_ptr<queue::EmbeddingCache> m_embeddings;
    std::unique_ptr<queue::JobStore> m_store;
    std::unique_ptr<queue::PipelineExecutor> m_executor;
    std::unique_ptr<queue::QueueRunner> m_runner; // set on the worker thread; guarded by m_runnerMutex
    std::mutex m_runnerMutex;                     // requestStop() runs on another thread
    std::atomic<bool> m_stop{false};
    QTimer* m_timer = nullptr;
    QString m_reportedModel;
    QMap<qint64, QString> m_memoryFits;
    bool m_fitsStale = true;
};

} // namespace charaforge::app
