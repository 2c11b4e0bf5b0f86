#include "gui/generation_worker.h"

#include "charaforge/engine/error.h"
#include "charaforge/engine/pipeline.h"

#include <QDir>
#include <QStandardPaths>

namespace charaforge::app {

GenerationWorker::GenerationWorker() = default;
GenerationWorker::~GenerationWorker() = default;

void GenerationWorker::openModel(const QString& path) {
    // The single place where engine exceptions become a signal.
    try {
        Q_EMIT busyChanged(true);
        m_pipeline = engine::Pipeline::open(path.toStdString());
        m_modelPath = path;
        const bool test = engine::is_test_model(path.toStdString());
        const QString device = QString::fromStdString(m_pipeline->device_name());
        const QString line = (test ? tr("Test model") : QDir(path).dirName()) + QStringLiteral(" · ") + device;
        Q_EMIT modelOpened(line, QString::fromStdString(m_pipeline->info().summary) + tr("device: ") + device, test);
    } catch (const std::exception& e) {
        m_pipeline.reset();
        Q_EMIT failed(QString::fromStdString(e.what()));
    }
    Q_EMIT busyChanged(false);
}

void GenerationWorker::generate(const charaforge::ui::GenerationSettings& s) {
    if (!m_pipeline) {
        Q_EMIT failed(tr("no model is open"));
        return;
    }
    m_cancel = false;
    Q_EMIT busyChanged(true);
    try {
        engine::GenerationRequest r;
        r.prompt = s.prompt.toStdString();
        r.negative_prompt = s.negative.toStdString();
        r.width = s.width;
        r.height = s.height;
        r.steps = s.steps;
        r.solver = s.sampler == QStringLiteral("midpoint") ? engine::SolverKind::Midpoint : engine::SolverKind::Euler;
        r.guidance = static_cast<float>(s.cfg);
        r.seed = static_cast<uint64_t>(s.seed);
        engine::Callbacks cb;
        cb.should_abort = [this] { return m_cancel.load(); };
        cb.on_step = [this](const engine::StepProgress& p) { Q_EMIT progress(p.step, p.total_steps); };
        auto images = m_pipeline->generate({r}, cb);
        const auto& img = images.front();
        QImage q(img.rgb.data(), img.width, img.height, img.width * 3, QImage::Format_RGB888);
        Q_EMIT imageReady(q.copy(), QString());
    } catch (const engine::Cancelled&) {
        Q_EMIT failed(tr("cancelled"));
    } catch (const std::exception& e) {
        Q_EMIT failed(QString::fromStdString(e.what()));
    }
    Q_EMIT busyChanged(false);
}

} // namespace charaforge::app
