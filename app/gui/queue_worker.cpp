#include "gui/queue_worker.h"

#include "model/model_card.h"
#include "queue/job_store.h"
#include "queue/pipeline_executor.h"
#include "queue/queue_runner.h"

#include <QDir>
#include <QTimer>

namespace charaforge::app {

namespace {

QImage toQImage(const engine::Image& img) {
    QImage q(img.rgb.data(), img.width, img.height, img.width * 3, QImage::Format_RGB888);
    return q.copy(); // owns its pixels: it crosses threads
}

constexpr int kIdlePollMs = 500;

} // namespace

QueueWorker::QueueWorker(const QString& queuePath, const engine::RuntimeOptions& options,
                         std::shared_ptr<queue::EmbeddingCache> embeddings)
    : m_queuePath(queuePath), m_owner(queue::JobStore::newOwnerId()), m_options(options),
      m_embeddings(std::move(embeddings)) {}

QueueWorker::~QueueWorker() = default;

void QueueWorker::requestStop() {
    m_stop = true;
    // start() creates the runner on the worker thread: under the lock, either it sees m_stop or we see it.
    std::lock_guard<std::mutex> lock(m_runnerMutex);
    if (m_runner)
        m_runner->requestStop();
}

void QueueWorker::start() {
    // The single place where exceptions of the queue and the engine become signals.
    try {
        m_store = std::make_unique<queue::JobStore>(m_queuePath);
    } catch (const std::exception& e) {
        Q_EMIT modelFailed(QString::fromStdString(e.what()));
        return;
    }
    m_executor = std::make_unique<queue::PipelineExecutor>(m_options, 8, m_embeddings);
    queue::RunnerOptions options;
    options.maxBatch = m_options.max_batch;
    options.checkpointEvery = 4;
    options.previewEvery = 1;
    options.appVersion = QStringLiteral(CHARAFORGE_VERSION);
    options.owner = m_owner;
    queue::RunnerEvents ev;
    ev.started = [this](const QList<qint64>& ids) {
        reportModel();
        Q_EMIT jobsStarted(ids);
    };
    ev.progress = [this](const QList<qint64>& ids, int step, int total, double s) {
        Q_EMIT progress(ids, step, total, s);
    };
    ev.preview = [this](qint64 id, int step, int total, const engine::Image& img) {
        Q_EMIT preview(id, toQImage(img), step, total);
    };
    ev.finished = [this](qint64 id, const QString& path, const engine::Image& img) {
        Q_EMIT imageFinished(id, toQImage(img), path);
    };
    ev.failed = [this](qint64 id, const QString& message) { Q_EMIT jobFailed(id, message); };
    ev.notice = [this](const QString& message) { Q_EMIT notice(message); };
    ev.changed = [this] { Q_EMIT queueChanged(); };
    {
        std::lock_guard<std::mutex> lock(m_runnerMutex);
        m_runner = std::make_unique<queue::QueueRunner>(*m_store, *m_executor, options, ev);
        if (m_stop)
            m_runner->requestStop();
    }
    m_timer = new QTimer(this); // created here: it lives on the worker thread
    m_timer->setSingleShot(true);
    connect(m_timer, &QTimer::timeout, this, &QueueWorker::tick);
    wake();
}

void QueueWorker::openModel(const QString& path) {
    try {
        m_executor->openModel(path);
        reportModel();
        m_fitsStale = true;
    } catch (const std::exception& e) {
        m_reportedModel.clear(); // the executor dropped it: the next model opened is reported, the same one too
        Q_EMIT modelFailed(QString::fromStdString(e.what()));
    }
}

void QueueWorker::reportModel() {
    auto* p = m_executor ? m_executor->pipeline() : nullptr;
    if (!p || m_executor->openModelPath() == m_reportedModel)
        return;
    m_reportedModel = m_executor->openModelPath();
    const QString device = QString::fromStdString(p->device_name());
    QString title = QDir(m_reportedModel).dirName();
    switch (modelKind(m_reportedModel.toStdString())) {
    case ModelKind::Demo:
        title = tr("Demo model");
        break;
    case ModelKind::Test:
        title = tr("Test model");
        break;
    case ModelKind::Other:
        break;
    }
    const QString line = title + QStringLiteral(" · ") + device;
    QList<QPair<QString, qint64>> components;
    for (const auto& [name, bytes] : p->component_bytes())
        components.push_back({QString::fromStdString(name), static_cast<qint64>(bytes)});
    Q_EMIT modelOpened(line, QString::fromStdString(p->info().summary) + tr("device: ") + device, m_reportedModel,
                       components, QString::fromStdString(p->device()));
}

void QueueWorker::reportMemoryFits() {
    if (!m_executor || !m_executor->pipeline() || !m_store)
        return;
    QMap<qint64, QString> fits;
    try {
        const auto low = m_executor->lowMemoryMode();
        fits = queue::memoryFitsOf(
            m_store->jobs(), m_options.max_batch, m_executor->memoryBudget(),
            [this](const queue::JobSpec& spec, int n) { return m_executor->predictPeak(spec, n); }, low);
    } catch (const std::exception&) {
        return; // a busy store: the next tick tries again
    }
    m_fitsStale = false;
    if (fits != m_memoryFits) {
        m_memoryFits = fits;
        Q_EMIT memoryFitsChanged(fits);
    }
}

void QueueWorker::wake() {
    m_fitsStale = true;
    if (m_timer)
        m_timer->start(0);
}

void QueueWorker::tick() {
    if (m_stop || !m_runner)
        return;
    bool ran = false;
    try {
        // One batch per tick: between batches the event loop runs queued slots (openModel, wake).
        ran = m_runner->runOnce();
    } catch (const std::exception& e) {
        Q_EMIT notice(tr("queue error: %1").arg(QString::fromStdString(e.what())));
    }
    if (ran || m_fitsStale)
        reportMemoryFits();
    m_timer->start(ran ? 0 : kIdlePollMs);
}

} // namespace charaforge::app
