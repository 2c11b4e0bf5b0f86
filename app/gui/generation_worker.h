#pragma once
// The worker owns the engine on its own QThread and speaks only through queued signals carrying values.
#include "ui/main_window.h"

#include <QImage>
#include <QObject>
#include <QString>

#include <atomic>
#include <memory>

namespace charaforge::engine {
class Pipeline;
}

namespace charaforge::app {

class GenerationWorker : public QObject {
    Q_OBJECT
public:
    GenerationWorker();
    ~GenerationWorker() override;

    // Cancellation is a flag polled between sampler steps, not a queued slot.
    void requestCancel() { m_cancel = true; }

public Q_SLOTS:
    void openModel(const QString& path);
    void generate(const charaforge::ui::GenerationSettings& settings);

Q_SIGNALS:
    void modelOpened(const QString& line, const QString& details, bool isTestModel);
    void progress(int step, int total);
    void imageReady(const QImage& image, const QString& savedPath);
    void failed(const QString& message);
    void busyChanged(bool busy);

private:
    std::unique_ptr<engine::Pipeline> m_pipeline;
    QString m_modelPath;
    std::atomic<bool> m_cancel{false};
};

} // namespace charaforge::app
