#include "gui/studio_controller.h"

#include "charaforge/engine/model_check.h"
#include "charaforge/engine/pipeline.h"
#include "charaforge/engine/request_validation.h"
#include "gallery/gallery_panel.h"
#include "gui/compare_controller.h"
#include "gui/queue_worker.h"
#include "model/model_card.h"
#include "queue/gallery_store.h"
#include "queue/group_store.h"
#include "queue/job_record.h"
#include "queue/job_store.h"
#include "queue/job_title.h"
#include "queue/model_setup.h"
#include "ui/gallery_view.h"
#include "ui/image_viewer.h"
#include "ui/queue_panel.h"
#include "ui/vram_monitor.h"

#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QImageReader>
#include <QMessageBox>
#include <QPushButton>
#include <QRandomGenerator>
#include <QThread>

#include <algorithm>

namespace charaforge::app {

static_assert(static_cast<uint64_t>(ui::kMaxSeed) == engine::kMaxSeed, "the window's seed range must be the engine's");
static_assert(ui::kMaxImageSide == engine::kMaxImageSize && ui::kMaxSteps == engine::kMaxSteps &&
                  ui::kMaxGuidance == engine::kMaxGuidance && ui::kMaxShift == engine::kMaxShift,
              "the window's ranges must be the engine's");

namespace {

constexpr int kPollMs = 500;
constexpr int kMemoryMs = 1000;
constexpr int kHistoryImages = 200;
constexpr int kMaxTitle = 80; // the queue panel elides it to its column, the tooltip shows it whole

QString clock(double seconds) {
    const int s = static_cast<int>(seconds + 0.5);
    return s >= 3600 ? QStringLiteral("%1:%2:%3")
                           .arg(s / 3600)
                           .arg(s / 60 % 60, 2, 10, QLatin1Char('0'))
                           .arg(s % 60, 2, 10, QLatin1Char('0'))
                     : QStringLiteral("%1:%2").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
}

// The width and height of a restored image or an edited job rounded to the model's size step, one notice line for
// each side that was not on it (a PNG, or a queue written by another program, can hold any size; the form took
// it as it was and the job failed later).
QStringList snapRestoredSize(ui::GenerationSettings& s) {
    QStringList notes;
    auto snap = [&](int& side, const QString& name) {
        constexpr int step = engine::kImageSizeMultiple;
        const int snapped =
            std::clamp(qRound(side / double(step)) * step, engine::kMinImageSize, engine::kMaxImageSize);
        if (snapped == side)
            return;
        if (side < engine::kMinImageSize || side > engine::kMaxImageSize)
            notes << QObject::tr("%1 %2 is outside %3 to %4; using %5")
                         .arg(name)
                         .arg(side)
                         .arg(engine::kMinImageSize)
                         .arg(engine::kMaxImageSize)
                         .arg(snapped);
        else
            notes << QObject::tr("%1 %2 is not a multiple of %3 (the model's sizes are); rounded to %4")
                         .arg(name)
                         .arg(side)
                         .arg(step)
                         .arg(snapped);
        side = snapped;
    };
    snap(s.width, QObject::tr("width"));
    snap(s.height, QObject::tr("height"));
    return notes;
}

} // namespace

StudioController::StudioController(ui::MainWindow& window, QueueWorker& worker, const QString& queuePath)
    : StudioController(window, QList<QueueWorker*>{&worker}, queuePath) {}

StudioController::StudioController(ui::MainWindow& window, const QList<QueueWorker*>& workers, const QString& queuePath)
    : m_window(window), m_workers(workers), m_store(std::make_unique<queue::JobStore>(queuePath)),
      m_groups(std::make_unique<queue::GroupStore>(*m_store)),
      m_compare(std::make_unique<CompareController>(window, *m_store, *m_groups)) {
    auto* panel = window.queuePanel();
    m_compare->setBranchHandler([this](const queue::GalleryImage& image) { branchFrom(image); });
    auto wake = [this] {
        for (auto* w : m_workers)
            QMetaObject::invokeMethod(w, "wake", Qt::QueuedConnection);
    };

    connect(&window, &ui::MainWindow::queueRequested, this, [this, wake](const ui::GenerationSettings& s) {
        if (m_branchParent != 0) { // a branch is a group: its lineage is kept
            apply([&] { queueVariants(s, {}, QString()); });
            return wake();
        }
        apply([&] {
            const auto ids =
                m_store->add(specsFor(s), QStringLiteral("gui-%1").arg(QDateTime::currentMSecsSinceEpoch()));
            m_window.showMessage(tr("Queued %n job(s).", nullptr, static_cast<int>(ids.size())));
        });
        wake();
    });
    connect(&window, &ui::MainWindow::variantsRequested, this,
            [this, wake](const ui::GenerationSettings& s, const QStringList& vary, const QString& label) {
                apply([&] { queueVariants(s, vary, label); });
                wake();
            });
    connect(&window, &ui::MainWindow::updateJobRequested, this,
            [this, wake](qint64 id, const ui::GenerationSettings& s) {
                apply([&] {
                    auto spec = specsFor(s).front();
                    spec.seed = s.seed; // an edited job keeps the seed shown in the form
                    m_store->edit(id, spec);
                    m_window.setEditingJob(0);
                    m_window.showMessage(tr("Job %1 updated.").arg(id));
                });
                wake();
            });
    connect(&window, &ui::MainWindow::imageDropped, this, &StudioController::restoreFromImage);
    connect(window.gallery(), &ui::GalleryView::restoreRequested, this, &StudioController::restoreFromImage);
    connect(window.gallery(), &ui::GalleryView::compareRequested, this,
            [this](const QString& path) { m_compare->openCompareForImage(path); });
    connect(panel, &ui::QueuePanel::compareRequested, this, &StudioController::openCompare);

    connect(panel, &ui::QueuePanel::pauseToggled, this, [this, wake](bool paused) {
        apply([&] { m_store->setPaused(paused); });
        m_window.showMessage(paused ? tr("Queue paused: the running batch finishes, no new job starts.")
                                    : tr("Queue resumed."));
        wake();
    });
    connect(panel, &ui::QueuePanel::cancelRequested, this,
            [this](const QList<qint64>& ids) { apply([&] { m_store->cancel(ids); }); });
    connect(panel, &ui::QueuePanel::retryRequested, this, [this, wake](const QList<qint64>& ids) {
        if (!m_modelProblem.isEmpty())
            return m_window.showError(tr("nothing was retried: no model is open (%1)").arg(m_modelProblem));
        apply([&] { m_store->retry(ids, m_model); }); // with the window's model, which may not be the job's
        wake();
    });
    connect(panel, &ui::QueuePanel::duplicateRequested, this, [this, wake](const QList<qint64>& ids) {
        apply([&] { m_store->duplicate(ids); });
        wake();
    });
    connect(panel, &ui::QueuePanel::removeRequested, this,
            [this](const QList<qint64>& ids) { apply([&] { m_store->remove(ids); }); });
    connect(panel, &ui::QueuePanel::clearFinishedRequested, this,
            [this] { apply([&] { m_store->removeFinished(); }); });
    connect(panel, &ui::QueuePanel::moveRequested, this,
            [this](qint64 id, qint64 before) { apply([&] { m_store->move(id, before); }); });
    connect(panel, &ui::QueuePanel::groupPauseRequested, this, [this, wake](const QString& id, bool paused) {
        apply([&] { m_groups->setPaused(id, paused); });
        m_window.showMessage(paused ? tr("Group %1 paused: its queued jobs wait.").arg(id)
                                    : tr("Group %1 resumed.").arg(id));
        wake();
    });
    connect(panel, &ui::QueuePanel::groupCancelRequested, this,
            [this](const QString& id) { apply([&] { m_groups->cancel(id); }); });
    connect(panel, &ui::QueuePanel::groupMoveRequested, this,
            [this](const QString& id, qint64 before) { apply([&] { m_groups->move(id, before); }); });
    connect(panel, &ui::QueuePanel::editRequested, this, [this](qint64 id) {
        const auto job = m_store->job(id);
        if (!job || job->state != queue::JobState::Queued) {
            m_window.showError(tr("job %1 is no longer queued").arg(id));
            return;
        }
        auto s = settingsFor(job->spec);
        s.seedMode = QStringLiteral("fixed");
        // Folders that are the window's are not the job's own (a later change of the window's applies).
        if (s.model == m_model)
            s.model.clear();
        if (s.outputDir == m_outputDir)
            s.outputDir.clear();
        const QStringList notes = snapRestoredSize(s); // about this job (not an image restored before)
        m_window.setEditingJob(id);                    // first: the form as it is comes back when editing ends
        m_window.setSettings(s);
        m_window.setRestoreNotice(notes);
    });

    for (QueueWorker* w : m_workers) {
        connect(w, &QueueWorker::queueChanged, this, &StudioController::refresh);
        // Each worker judges the queued jobs for its own device; the last report is shown.
        connect(w, &QueueWorker::memoryFitsChanged, this, [this](const QMap<qint64, QString>& fits) {
            m_memoryFits = fits;
            show();
        });
        connect(w, &QueueWorker::progress, this,
                [this, w](const QList<qint64>& ids, int step, int total, double secondsPerStep) {
                    onProgress(ids, step, total, secondsPerStep, m_workers.size() > 1 ? w->device() : QString());
                });
        connect(w, &QueueWorker::preview, this, [this](qint64 id, const QImage& img, int step, int total) {
            m_window.showPreview(img, tr("job %1 · preview · step %2/%3").arg(id).arg(step).arg(total));
        });
        connect(w, &QueueWorker::imageFinished, this, [this](qint64 id, const QImage& img, const QString& path) {
            std::optional<queue::Job> job;
            try {
                job = m_store->job(id);
            } catch (const std::exception&) {
            }
            const QString tooltip = tr("job %1\n%2").arg(id).arg(path);
            const bool erased = job && job->spec.kind == queue::JobKind::Erase;
            if (erased)
                m_window.gallery()->addImageBeside(job->spec.image, id, img, path, tooltip);
            else
                m_window.gallery()->addImage(id, img, path, tooltip);
            m_window.queuePanel()->setJobThumbnail(id, img);
            m_window.showImage(img, tr("job %1 · %2").arg(id).arg(QFileInfo(path).fileName()));
            m_compare->refresh(); // an open compare view shows the new image
            // Before and after: B flips the viewer to the original and back.
            if (erased)
                m_window.viewer()->setComparison(QImage(job->spec.image),
                                                 tr("original · %1").arg(QFileInfo(job->spec.image).fileName()));
        });
        connect(w, &QueueWorker::jobFailed, this, [this](qint64 id, const QString& message) {
            m_window.showError(tr("job %1: %2").arg(id).arg(message));
        });
        connect(w, &QueueWorker::notice, this, [this](const QString& m) { m_window.showMessage(m); });
        connect(w, &QueueWorker::modelOpened, this,
                [this](const QString& line, const QString& details, const QString& folder,
                       const QList<QPair<QString, qint64>>& components, const QString& device) {
                    m_window.setModelDescription(line, details);
                    m_window.setAboutDetails(
                        tr("Model: %1<br>%2")
                            .arg(line.toHtmlEscaped(), details.toHtmlEscaped().replace(u'\n', QStringLiteral("<br>"))));
                    // The demo model's notice offers the chooser: NewBie's folder is what makes real images.
                    m_window.setModelNotice(modelNotice(folder), isDemoModel(folder.toStdString()));
                    m_components = components;
                    if (m_workers.size() == 1) // several: the monitor has a tab per worker's device
                        setDevice(device);
                    m_switchedFrom.clear();
                    m_modelProblem.clear();
                    m_window.setModelProblem({});
                });
        connect(w, &QueueWorker::modelFailed, this, &StudioController::onModelFailed);
    }
    connect(&window, &ui::MainWindow::builtInModelRequested, this, &StudioController::useBuiltInModel);
    m_modelProblemPrompt = [this](const QString& folder, const QString& problem) {
        QMessageBox box(QMessageBox::Warning, tr("Model folder not usable"),
                        tr("%1 cannot be used as the model folder.").arg(QDir::toNativeSeparators(folder)),
                        QMessageBox::NoButton, &m_window);
        box.setInformativeText(m_model.isEmpty() || !m_modelProblem.isEmpty()
                                   ? problem
                                   : tr("%1\n\nThe current model stays in use: %2").arg(problem, m_model));
        QPushButton* builtIn = box.addButton(tr("Use the built-in model"), QMessageBox::AcceptRole);
        QPushButton* keep = box.addButton(tr("Keep the current model"), QMessageBox::RejectRole);
        box.setDefaultButton(keep);
        box.setEscapeButton(keep);
        box.exec();
        return box.clickedButton() == builtIn;
    };

    // Another process (charaforge-cli) may change the queue: a cheap version check finds out, and only
    // the rows that changed are read (a worker's heartbeat changes none).
    m_poll.setInterval(kPollMs);
    connect(&m_poll, &QTimer::timeout, this, &StudioController::pollChanges);
    m_poll.start();
    startMemorySampler({});
    if (m_workers.size() > 1)
        window.memoryMonitor()->setDevices(workerDevices());
    refresh();
    loadHistory();
}

StudioController::~StudioController() {
    m_closing = true;
    if (m_history) {
        m_history->wait();
        delete m_history;
    }
}

void StudioController::setDevice(const QString& device) {
    m_device = device;
    if (m_sampler)
        m_sampler->setDevice(device);
}

void StudioController::setMemorySource(MemorySampler::Source source) {
    startMemorySampler(std::move(source));
}

void StudioController::startMemorySampler(MemorySampler::Source source) {
    m_sampler.reset(); // stops the old thread first
    m_sampler = std::make_unique<MemorySampler>(kMemoryMs, std::move(source));
    if (m_workers.size() > 1)
        m_sampler->setDevices(workerDevices());
    else
        m_sampler->setDevice(m_device);
    connect(m_sampler.get(), &MemorySampler::sampled, this, [this](ui::MemorySample s) {
        s.components = m_components;
        m_window.memoryMonitor()->addSample(s);
    });
}

bool StudioController::stopWorker(QThread& thread, int timeoutMs) {
    return stopWorkers({&thread}, timeoutMs);
}

bool StudioController::stopWorkers(const QList<QThread*>& threads, int timeoutMs) {
    for (auto* w : m_workers)
        w->requestStop();
    for (auto* t : threads)
        t->quit();
    const QDeadlineTimer deadline(timeoutMs);
    bool all = true;
    for (int i = 0; i < threads.size(); ++i) {
        if (threads[i]->wait(deadline))
            continue;
        all = false;
        try {
            if (i < m_workers.size())
                m_store->releaseOwner(m_workers[i]->owner());
        } catch (const std::exception&) {
            // Not released: the jobs are taken back when the next start finds this process gone.
        }
    }
    return all;
}

QStringList StudioController::workerDevices() const {
    QStringList devices;
    for (auto* w : m_workers)
        devices.push_back(w->device());
    return devices;
}

void StudioController::setModel(const QString& path) {
    m_model = path;
}

void StudioController::openModel(const QString& dir) {
    fitSizeToModel(m_model, dir);
    m_model = dir;
    m_window.setModelDescription(tr("Opening %1…").arg(dir));
    for (auto* w : m_workers) // each worker loads its own copy on its device
        QMetaObject::invokeMethod(w, "openModel", Qt::QueuedConnection, Q_ARG(QString, dir));
}

void StudioController::fitSizeToModel(const QString& from, const QString& to) {
    const int was = from.isEmpty() ? kNewBieSide : modelDefaultSide(from.toStdString());
    const int side = modelDefaultSide(to.toStdString());
    auto s = m_window.settings();
    if (side == was || s.width != was || s.height != was)
        return; // the same default, or a size the user chose: it stays
    s.width = s.height = side;
    m_window.setSettings(s);
}

bool StudioController::chooseModelFolder(const QString& dir) {
    if (dir == m_model && m_modelProblem.isEmpty()) {
        m_window.showMessage(tr("%1 is the model in use already.").arg(dir));
        return true;
    }
    const QString problem = QString::fromStdString(engine::check_model_folder(dir.toStdString()));
    if (!problem.isEmpty()) {
        m_window.showError(problem.section(QLatin1Char('\n'), 0, 0));
        if (m_modelProblemPrompt(dir, problem))
            useBuiltInModel();
        return false;
    }
    // Back to the working model should this one fail to load after all (bad weights, wrong shapes).
    m_switchedFrom = m_modelProblem.isEmpty() ? m_model : QString();
    rememberModel(dir);
    openModel(dir);
    return true;
}

void StudioController::useBuiltInModel() {
    try {
        const QString dir = builtInModel();
        m_switchedFrom.clear();
        rememberModel(dir);
        openModel(dir);
        m_window.showMessage(isDemoModel(dir.toStdString())
                                 ? tr("Using the built-in demo model: for real images choose the NewBie model folder.")
                                 : tr("Using the built-in test model: its images are noise."));
    } catch (const std::exception& e) {
        m_window.showError(tr("cannot prepare the built-in model: %1").arg(QString::fromStdString(e.what())));
    }
}

void StudioController::onModelFailed(const QString& message) {
    if (!m_switchedFrom.isEmpty()) {
        const QString failed = m_model;
        const QString previous = m_switchedFrom;
        m_switchedFrom.clear();
        rememberModel(previous);
        openModel(previous);
        m_window.showError(message.section(QLatin1Char('\n'), 0, 0));
        if (m_modelProblemPrompt(failed, message))
            useBuiltInModel();
        return;
    }
    // No model is open: nothing can be queued until one is.
    m_modelProblem = message;
    m_window.setModelDescription(tr("No model open"), message);
    m_window.setModelProblem(message);
    m_window.showError(message.section(QLatin1Char('\n'), 0, 0));
}

void StudioController::queueVariants(const ui::GenerationSettings& s, const QStringList& vary, const QString& label) {
    auto settings = s;
    settings.count = 1;
    queue::JobSpec base = specsFor(settings).front(); // the form's seed (or one drawn for it)
    QList<queue::VariantAxis> axes;
    bool seeds = false;
    for (const auto& text : vary) {
        axes.push_back(queue::parseVaryOption(text, base.seed));
        seeds = seeds || axes.back().kind == queue::AxisKind::Seed;
    }
    // The form's count is a seed axis too, as `queue add --count N --vary ...`.
    if (s.count > 1 && !seeds)
        axes.push_back(queue::seedAxis(base.seed, s.count));
    const auto expansion = queue::expandVariants(base, axes);
    QStringList product;
    for (const auto& a : axes)
        product << QStringLiteral("%1 (%2)").arg(a.name()).arg(a.values.size());
    const QString name = !label.isEmpty()      ? label
                         : !product.isEmpty()  ? product.join(QStringLiteral(" × "))
                         : m_branchParent != 0 ? tr("branch of image %1").arg(m_branchParent)
                                               : QString();
    const qint64 parent = m_branchParent;
    const QString id = m_groups->create(expansion, axes, name, parent);
    if (parent != 0) {
        // The lineage is in the gallery at once (not only once an image is done), and the branch is used up.
        const auto g = m_groups->group(id);
        m_compare->gallery().recordGroup({id, name, axes, parent, g ? g->created : 0});
        m_branchParent = 0;
        m_window.setRestoreNotice({});
    }
    m_window.showMessage(tr("Queued group %1: %2 = %n job(s).", nullptr, static_cast<int>(expansion.variants.size()))
                             .arg(id, product.join(QStringLiteral(" × "))));
}

QList<queue::JobSpec> StudioController::specsFor(const ui::GenerationSettings& s) const {
    QList<queue::JobSpec> specs;
    for (int i = 0; i < std::max(1, s.count); ++i) {
        queue::JobSpec j;
        j.prompt = s.prompt;
        j.negative = s.negative;
        j.width = s.width;
        j.height = s.height;
        j.steps = s.steps;
        j.sampler = s.sampler;
        j.cfg = s.cfg;
        j.cfgTrunc = s.cfgTrunc;
        j.renorm = s.renorm;
        j.shift = s.shift;
        // An edited or restored job's own folders, else the window's.
        j.model = s.model.isEmpty() ? m_model : s.model;
        j.outputDir = s.outputDir.isEmpty() ? m_outputDir : s.outputDir;
        j.seed = s.seedMode == QStringLiteral("random")      ? QRandomGenerator::global()->bounded(ui::kMaxSeed + 1)
                 : s.seedMode == QStringLiteral("increment") ? s.seed + i
                                                             : s.seed;
        specs.push_back(j);
    }
    return specs;
}

ui::GenerationSettings StudioController::settingsFor(const queue::JobSpec& spec) {
    ui::GenerationSettings s;
    s.prompt = spec.prompt;
    s.negative = spec.negative;
    s.width = spec.width;
    s.height = spec.height;
    s.steps = spec.steps;
    s.sampler = spec.sampler;
    s.cfg = spec.cfg;
    s.cfgTrunc = spec.cfgTrunc;
    s.renorm = spec.renorm;
    s.shift = spec.shift;
    s.seed = spec.seed;
    s.model = spec.model;
    s.outputDir = spec.outputDir;
    s.count = 1;
    s.seedMode = QStringLiteral("fixed");
    return s;
}

void StudioController::apply(const std::function<void()>& change) {
    try {
        change();
    } catch (const std::exception& e) {
        m_window.showError(QString::fromStdString(e.what()));
    }
    refresh();
}

void StudioController::refresh() {
    try {
        m_version = m_store->dataVersion();
        m_revision = m_store->revision(); // before the rows: a change in between is read again next time
        m_jobs = m_store->jobs();
        m_paused = m_store->paused();
        m_groupViews = groupViews();
        show();
    } catch (const std::exception& e) {
        m_window.showError(QString::fromStdString(e.what()));
    }
}

void StudioController::pollChanges() {
    try {
        const qint64 version = m_store->dataVersion();
        if (version == m_version)
            return;
        m_version = version;
        const bool paused = m_store->paused();
        const qint64 revision = m_store->revision();
        if (revision == m_revision) {
            // Heartbeats only (or settings, or a group paused elsewhere): no job row changed.
            if (paused != m_paused) {
                m_paused = paused;
                m_window.queuePanel()->setPaused(paused);
            }
            if (auto groups = groupViews();
                groups.size() != m_groupViews.size() || !std::equal(groups.begin(), groups.end(), m_groupViews.begin(),
                                                                    [](const ui::GroupView& a, const ui::GroupView& b) {
                                                                        return a.id == b.id && a.paused == b.paused;
                                                                    })) {
                m_groupViews = groups;
                show();
            }
            return;
        }
        int total = 0;
        const auto changed = m_store->jobsChangedSince(m_revision, &total);
        m_revision = revision;
        m_paused = paused;
        // An open compare view follows its group's jobs, whoever runs them (charaforge-cli worker too).
        bool compared = false;
        for (const auto& j : changed)
            compared = compared || m_compare->isComparing(j.group);
        if (compared)
            m_compare->refresh();
        for (const auto& j : changed) {
            auto it = std::find_if(m_jobs.begin(), m_jobs.end(), [&](const queue::Job& o) { return o.id == j.id; });
            if (it != m_jobs.end())
                *it = j;
            else
                m_jobs.push_back(j);
        }
        if (m_jobs.size() != total) {
            refresh(); // rows were removed
            return;
        }
        std::stable_sort(m_jobs.begin(), m_jobs.end(),
                         [](const queue::Job& a, const queue::Job& b) { return a.position < b.position; });
        m_groupViews = groupViews();
        show();
    } catch (const std::exception& e) {
        m_window.showError(QString::fromStdString(e.what()));
    }
}

void StudioController::show() {
    QList<ui::JobView> rows;
    for (const auto& j : m_jobs) {
        ui::JobView v;
        v.id = j.id;
        v.state = queue::stateName(j.state);
        v.title = j.spec.kind == queue::JobKind::Erase ? tr("Erase in %1").arg(QFileInfo(j.spec.image).fileName())
                                                       : queue::jobTitle(j.spec.prompt, kMaxTitle);
        v.width = j.spec.width;
        v.height = j.spec.height;
        v.steps = j.spec.steps;
        v.sampler = j.spec.sampler;
        v.cfg = j.spec.cfg;
        v.seed = j.spec.seed;
        v.stepsDone = j.stepsDone;
        v.message = j.message;
        v.outputPath = j.outputPath;
        v.group = j.group;
        v.axisValues = m_axisValues.value(j.id);
        v.memoryFit = m_memoryFits.value(j.id);
        rows.push_back(v);
    }
    m_window.queuePanel()->setJobs(rows, m_groupViews);
    m_window.queuePanel()->setPaused(m_paused);
}

QList<ui::GroupView> StudioController::groupViews() {
    QSet<QString> present;
    for (const auto& j : m_jobs)
        if (!j.group.isEmpty())
            present.insert(j.group);
    QList<ui::GroupView> views;
    for (const auto& g : m_groups->groups()) {
        if (!present.contains(g.id))
            continue; // no row of it is left in the queue
        if (!m_groupsRead.contains(g.id)) {
            // Values are written just after the jobs: a group read in between is read again.
            bool complete = true;
            for (const auto& m : m_groups->members(g.id)) {
                m_axisValues.insert(m.jobId, m.axisValues);
                complete = complete && (!m.axisValues.isEmpty() || g.axes.isEmpty());
            }
            if (complete)
                m_groupsRead.insert(g.id);
        }
        views.push_back({g.id, g.label, g.axisNames(), g.paused});
    }
    return views;
}

void StudioController::onProgress(const QList<qint64>& ids, int step, int total, double secondsPerStep,
                                  const QString& device) {
    const double batch = (total - step) * secondsPerStep;
    // The rest of the queue at the same pace, batched like this one (a rough guide, said so).
    double queued = 0;
    // From the panel's rows: no database read on every sampler step.
    for (const auto& j : m_window.queuePanel()->jobs())
        if (j.state == QStringLiteral("queued"))
            queued += (j.steps - j.stepsDone) * secondsPerStep / std::max<qsizetype>(1, ids.size());
    for (auto id : ids)
        m_window.queuePanel()->setJobProgress(id, step, total, clock(batch), device);
    // Ids in batch order: after a reorder they are not ascending, so they are listed, not given as a range.
    QStringList names;
    for (auto id : ids.mid(0, 4))
        names << QString::number(id);
    QString who = ids.size() == 1 ? tr("job %1").arg(ids.front())
                                  : tr("jobs %1").arg(names.join(QStringLiteral(", "))) +
                                        (ids.size() > 4 ? tr(" +%1").arg(ids.size() - 4) : QString());
    QString detail = tr("%1 · ETA %2").arg(who, clock(batch));
    if (!device.isEmpty())
        detail = tr("%1 · %2").arg(device, detail);
    if (queued > 0)
        detail += tr(" · queue ≈ %1").arg(clock(batch + queued));
    m_window.showProgress(step, total, detail, ids);
}

void StudioController::loadHistory() {
    // The gallery starts with the latest finished images (oldest first, so the newest ends on top),
    // decoded and scaled down on a thread of their own: 200 full-size PNGs would freeze the window.
    QList<queue::Job> done;
    for (const auto& j : m_jobs)
        if (j.state == queue::JobState::Done && !j.outputPath.isEmpty())
            done.push_back(j);
    std::sort(done.begin(), done.end(), [](const auto& a, const auto& b) { return a.finished < b.finished; });
    if (done.size() > kHistoryImages)
        done = done.mid(done.size() - kHistoryImages);
    if (done.isEmpty())
        return;
    m_history = QThread::create([this, done] {
        for (const auto& j : done) {
            if (m_closing)
                return;
            QImageReader reader(j.outputPath);
            const QSize size = reader.size();
            const int side = ui::GalleryView::kThumbnailSize;
            if (size.isValid() && (size.width() > side || size.height() > side))
                reader.setScaledSize(size.scaled(side, side, Qt::KeepAspectRatio));
            const QImage img = reader.read();
            if (img.isNull())
                continue; // deleted or unreadable: not shown
            const qint64 id = j.id;
            const QString path = j.outputPath;
            // Queued to the controller: dropped if it is gone by then.
            QMetaObject::invokeMethod(
                this,
                [this, id, img, path] {
                    m_window.gallery()->addImage(id, img, path, tr("job %1\n%2").arg(id).arg(path));
                    m_window.queuePanel()->setJobThumbnail(id, img);
                },
                Qt::QueuedConnection);
        }
    });
    m_history->setObjectName(QStringLiteral("gallery history"));
    m_history->start(QThread::LowPriority);
}

ui::GenerationSettings StudioController::imageSettings(const queue::JobSpec& spec, QStringList& notes) const {
    auto s = settingsFor(spec);
    // The image's model when it is here and not the window's.
    if (s.model == m_model || s.model.isEmpty()) {
        s.model.clear();
    } else if (!QFileInfo(s.model).isDir()) {
        notes << tr("model folder %1 is not here; using the current model").arg(s.model);
        s.model.clear();
    }
    notes << snapRestoredSize(s);
    return s;
}

bool StudioController::openCompare(const QString& groupId) {
    return m_compare->openCompare(groupId);
}

void StudioController::attachGalleryPanel(gallery::GalleryPanel& panel) {
    connect(&panel, &gallery::GalleryPanel::restoreRequested, this, &StudioController::restoreFromImage);
    connect(&panel, &gallery::GalleryPanel::compareGroupRequested, this, &StudioController::openCompare);
}

void StudioController::branchFrom(const queue::GalleryImage& image) {
    QStringList notes;
    auto s = imageSettings(image.spec, notes);
    // The folder a gallery image is in is where its group's jobs wrote (the window's is not the job's own).
    if (s.outputDir == m_outputDir)
        s.outputDir.clear();
    m_window.setEditingJob(0);
    m_window.setSettings(s);
    m_branchParent = image.id;
    notes.prepend(tr("Branching from image %1 (seed %2): the next group you queue is its child.")
                      .arg(image.id)
                      .arg(image.spec.seed));
    m_window.setRestoreNotice(notes);
    m_window.showMessage(tr("Branching from image %1: its settings are in the editor.").arg(image.id));
}

bool StudioController::restoreFromImage(const QString& path) {
    QString error;
    QStringList notes;
    const auto spec = queue::specFromPng(path, &error, &notes);
    if (!spec) {
        m_window.showError(tr("cannot restore settings: %1").arg(error));
        return false;
    }
    auto s = imageSettings(*spec, notes);
    // New images go to the window's output folder (a PNG does not record one, and the folder it lies in may
    // be a download folder).
    s.outputDir.clear();
    if (s.seed < 0 || s.seed > ui::kMaxSeed) {
        notes << tr("seed %1 is outside 0 to %2; using random seeds").arg(s.seed).arg(ui::kMaxSeed);
        s.seed = 0;
        s.seedMode = QStringLiteral("random");
    }
    m_window.setEditingJob(0);
    m_window.setSettings(s);
    m_branchParent = 0; // restoring another image is no branch
    m_window.setRestoreNotice(notes);
    m_window.showMessage(
        tr("Restored the settings of %1 (seed %2)%3.")
            .arg(QFileInfo(path).fileName())
            .arg(spec->seed)
            .arg(notes.isEmpty() ? QString()
                                 : tr("; %n setting(s) with no equivalent", nullptr, static_cast<int>(notes.size()))));
    return true;
}

} // namespace charaforge::app
