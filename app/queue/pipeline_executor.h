#pragma once
// The queue's executor on the real engine: opens the job's model (and an erase job's LaMa file) on demand and
// keeps it open.
#include "queue/queue_runner.h"

#include <memory>

namespace charaforge::engine {
class LamaInpainter;
}

namespace charaforge::queue {

// The weight files of an open model as (role, path): "transformer", "vae", "text_encoder", "clip_model".
QList<QPair<QString, QString>> modelFilesOf(const engine::ModelInfo& info);

class EmbeddingCache;

class PipelineExecutor : public Executor {
public:
    // `lamaMaxBatch`: tiles per LaMa forward at most (RunnerOptions::eraseBatch). `embeddings`: text embeddings
    // shared with the process's other workers (one per GPU), or none.
    explicit PipelineExecutor(engine::RuntimeOptions options, int lamaMaxBatch = 8,
                              std::shared_ptr<EmbeddingCache> embeddings = nullptr);
    ~PipelineExecutor() override;

    void checkReady() override;
    void openModel(const QString& model) override;
    int suggestBatch(const JobSpec& spec) override;
    qint64 predictPeak(const JobSpec& spec, int batch) override;
    qint64 memoryBudget() override;
    bool lowMemoryMode() const override;
    QList<QPair<QString, QString>> modelFiles() const override;
    std::vector<engine::Image> generate(const std::vector<engine::GenerationRequest>& requests,
                                        const engine::Callbacks& callbacks) override;
    void openLama(const QString& path) override;
    std::vector<engine::LamaOutput> inpaint(const std::vector<const engine::LamaTile*>& tiles) override;
    int suggestEraseBatch(int width, int height) override;

    engine::Pipeline* pipeline() const { return m_pipeline.get(); }
    QString openModelPath() const { return m_model; }

private:
    engine::RuntimeOptions m_options;
    std::shared_ptr<EmbeddingCache> m_embeddings;
    std::unique_ptr<engine::Pipeline> m_pipeline;
    QString m_model;
    int m_lamaMaxBatch = 8;
    std::unique_ptr<engine::LamaInpainter> m_lama;
    QString m_lamaPath;
};

} // namespace charaforge::queue
