#include "queue/pipeline_executor.h"

#include "charaforge/engine/error.h"

namespace charaforge::queue {

PipelineExecutor::PipelineExecutor(engine::RuntimeOptions options) : m_options(std::move(options)) {}
PipelineExecutor::~PipelineExecutor() = default;

void PipelineExecutor::openModel(const QString& model) {
    if (m_pipeline && model == m_model)
        return;
    m_pipeline.reset(); // free the old model's memory before loading the new one
    m_model.clear();
    m_pipeline = engine::Pipeline::open(model.toStdString(), m_options);
    m_model = model;
}

int PipelineExecutor::suggestBatch(const JobSpec& spec) {
    if (!m_pipeline)
        return m_options.max_batch;
    return m_pipeline->suggest_batch(spec.width, spec.height, spec.cfg != 1.0);
}

QList<QPair<QString, QString>> PipelineExecutor::modelFiles() const {
    QList<QPair<QString, QString>> out;
    if (!m_pipeline)
        return out;
    const auto& info = m_pipeline->info();
    for (const auto& [role, file] : {std::pair<const char*, const std::string&>{"transformer", info.transformer_file},
                                     {"vae", info.vae_file},
                                     {"text_encoder", info.text_encoder_file},
                                     {"clip_model", info.clip_file}})
        if (!file.empty())
            out.push_back({QString::fromLatin1(role), QString::fromStdString(file)});
    return out;
}

std::vector<engine::Image> PipelineExecutor::generate(const std::vector<engine::GenerationRequest>& requests,
                                                      const engine::Callbacks& callbacks) {
    if (!m_pipeline)
        throw engine::EngineError("queue: no model is open");
    return m_pipeline->generate(requests, callbacks); // an OutOfMemory has already emptied the device cache
}

} // namespace charaforge::queue
