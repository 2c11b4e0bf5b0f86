#pragma once
// The queue's executor on the real engine: opens the job's model on demand and keeps it open.
#include "queue/queue_runner.h"

#include <memory>

namespace charaforge::queue {

// The weight files of an open model as (role, path): "transformer", "vae", "text_encoder", "clip_model".
QList<QPair<QString, QString>> modelFilesOf(const engine::ModelInfo& info);

class PipelineExecutor : public Executor {
public:
    explicit PipelineExecutor(engine::RuntimeOptions options);
    ~PipelineExecutor() override;

    void checkReady() override;
    void openModel(const QString& model) override;
    int suggestBatch(const JobSpec& spec) override;
    QList<QPair<QString, QString>> modelFiles() const override;
    std::vector<engine::Image> generate(const std::vector<engine::GenerationRequest>& requests,
                                        const engine::Callbacks& callbacks) override;

    engine::Pipeline* pipeline() const { return m_pipeline.get(); }
    QString openModelPath() const { return m_model; }

private:
    engine::RuntimeOptions m_options;
    std::unique_ptr<engine::Pipeline> m_pipeline;
    QString m_model;
};

} // namespace charaforge::queue
