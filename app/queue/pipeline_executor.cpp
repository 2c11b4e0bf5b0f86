#include "queue/pipeline_executor.h"

#include "charaforge/engine/error.h"
#include "charaforge/engine/lama.h"
#include "queue/embedding_cache.h"

#include <QStringList>

#include <algorithm>
#include <iterator>
#include <string>

namespace charaforge::queue {

PipelineExecutor::PipelineExecutor(engine::RuntimeOptions options, int lamaMaxBatch,
                                   std::shared_ptr<EmbeddingCache> embeddings)
    : m_options(std::move(options)), m_embeddings(std::move(embeddings)), m_lamaMaxBatch(lamaMaxBatch) {}
PipelineExecutor::~PipelineExecutor() = default;

void PipelineExecutor::checkReady() {
    const std::string& device = m_options.device;
    if (device == "cuda" || device.rfind("cuda:", 0) == 0) {
        const std::string index = device.size() > 5 ? device.substr(5) : "0";
        if (index.empty() || index.size() > 3 || index.find_first_not_of("0123456789") != std::string::npos)
            throw engine::EngineError("device '" + device + "': not a device (use auto, cpu, cuda or cuda:N)");
        const int gpus = engine::cuda_device_count();
        if (std::stoi(index) >= gpus)
            throw engine::EngineError("device '" + device + "': " +
                                      (gpus == 0 ? std::string("no CUDA device is available")
                                                 : "this machine has " + std::to_string(gpus) + " CUDA device(s)"));
    } else if (device != "auto" && device != "cpu") {
        throw engine::EngineError("device '" + device + "': not a device (use auto, cpu, cuda or cuda:N)");
    }
    static const char* kDtypes[] = {"auto", "bf16", "bfloat16", "fp16", "float16", "fp32", "float32"};
    if (std::find(std::begin(kDtypes), std::end(kDtypes), m_options.dtype) == std::end(kDtypes))
        throw engine::EngineError("dtype '" + m_options.dtype + "': not a dtype (use auto, bf16, fp16 or fp32)");
    if (m_options.max_batch < 1)
        throw engine::EngineError("batch " + std::to_string(m_options.max_batch) + ": must be at least 1");
}

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

qint64 PipelineExecutor::predictPeak(const JobSpec& spec, int batch) {
    if (!m_pipeline)
        return 0;
    return m_pipeline->predict_memory(batch, spec.width, spec.height, spec.cfg != 1.0).peak;
}

qint64 PipelineExecutor::memoryBudget() {
    return m_pipeline ? m_pipeline->memory_budget() : 0;
}

bool PipelineExecutor::lowMemoryMode() const {
    return m_pipeline && m_pipeline->memory_mode() == engine::MemoryMode::Low;
}

QList<QPair<QString, QString>> modelFilesOf(const engine::ModelInfo& info) {
    QList<QPair<QString, QString>> out;
    for (const auto& [role, file] : {std::pair<const char*, const std::string&>{"transformer", info.transformer_file},
                                     {"vae", info.vae_file},
                                     {"text_encoder", info.text_encoder_file},
                                     {"clip_model", info.clip_file}})
        if (!file.empty())
            out.push_back({QString::fromLatin1(role), QString::fromStdString(file)});
    return out;
}

QList<QPair<QString, QString>> PipelineExecutor::modelFiles() const {
    return m_pipeline ? modelFilesOf(m_pipeline->info()) : QList<QPair<QString, QString>>();
}

std::vector<engine::Image> PipelineExecutor::generate(const std::vector<engine::GenerationRequest>& requests,
                                                      const engine::Callbacks& callbacks) {
    if (!m_pipeline)
        throw engine::EngineError("queue: no model is open");
    if (!m_embeddings || !m_pipeline->has_text_encoders())
        return m_pipeline->generate(requests, callbacks); // an OutOfMemory has already emptied the device cache
    // A prompt that another worker has encoded (or is encoding) is taken from it. One this worker encodes is also
    // in its engine's own cache: left without its embedding, the request finds it there and the engine reports a
    // prompt cut at the token limit as usual.
    std::vector<engine::GenerationRequest> shared = requests;
    const std::string device = m_pipeline->device();
    for (auto& r : shared) {
        if (r.cond)
            continue;
        // The same texts give the same embedding on every device of one kind and dtype.
        const QString key =
            QStringList{m_model,
                        QString::fromStdString(device.substr(0, device.find(':'))),
                        QString::fromStdString(m_options.dtype),
                        r.system_prompt ? QString::fromStdString("1" + *r.system_prompt) : QStringLiteral("0"),
                        QString::fromStdString(r.prompt),
                        QString::fromStdString(r.negative_prompt)}
                .join(QChar(0));
        bool encodedHere = false;
        const auto entry = m_embeddings->get(key, [&] {
            encodedHere = true;
            auto [cond, uncond] = m_pipeline->encode(r);
            return EmbeddingCache::Entry{std::move(cond), std::move(uncond)};
        });
        if (encodedHere)
            continue;
        r.cond = entry.cond;
        if (r.guidance != 1.0f)
            r.uncond = entry.uncond;
    }
    return m_pipeline->generate(shared, callbacks);
}

} // namespace charaforge::queue

namespace charaforge::queue {

void PipelineExecutor::openLama(const QString& path) {
    if (m_lama && path == m_lamaPath)
        return;
    m_lama.reset();
    m_lamaPath.clear();
    engine::LamaOptions options;
    options.device = m_options.device;
    options.max_batch = std::max(1, m_lamaMaxBatch);
    m_lama = engine::LamaInpainter::load(path.toStdString(), options);
    m_lamaPath = path;
}

std::vector<engine::LamaOutput> PipelineExecutor::inpaint(const std::vector<const engine::LamaTile*>& tiles) {
    if (!m_lama)
        throw engine::EngineError("queue: no LaMa model is open");
    return m_lama->inpaint(tiles);
}

int PipelineExecutor::suggestEraseBatch(int width, int height) {
    return m_lama ? m_lama->suggest_batch(width, height) : 1;
}

} // namespace charaforge::queue
