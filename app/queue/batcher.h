#pragma once
// Which queued jobs run together. Pure functions over job values: the store calls them inside its claim
// transaction, the worker keeps the out-of-memory limits.
#include "queue/job.h"

#include <QList>
#include <QMap>
#include <QString>

#include <functional>

namespace charaforge::queue {

// Jobs with equal keys can share the transformer's forward passes: same model, size, steps, sampler,
// shift and resume step (prompts, seeds and guidance may differ). Erase jobs share a key per LaMa file and
// never one with a generation.
QString batchKey(const Job& job);

// Jobs with equal keys need the same memory per image: same model, size and guidance (CFG doubles the
// batch). The out-of-memory limits are learnt per memory key: unlike the batch key it does not change when
// a job resumes from a checkpoint, so a limit learnt before a checkpoint holds after it.
QString memoryKey(const Job& job);

// Indices into `queued` (in queue order) of the next batch: the first job and then, in order, the later
// jobs with its key, `limit` at most (at least 1 when `queued` is not empty). A job whose worker died
// running it is never batched with others.
QList<int> selectBatch(const QList<Job>& queued, int limit);

// Batch limits learnt from out-of-memory failures, per memory key: after a batch of n failed, at most
// n/2 are tried together; a single job that fails is reported instead.
class OomLimits {
public:
    int limit(const QString& key, int suggested) const;
    // Records a failure of a batch of `size`; returns false when size was 1 (nothing left to split).
    bool recordFailure(const QString& key, int size);

private:
    QMap<QString, int> m_limits;
};

// What the memory prediction (engine::Pipeline::predict_memory) says of a job (issue 15).
enum class MemoryFit {
    Unknown,     // no prediction (no model open, or the CPU: no device budget)
    Fits,        // the batch it would join fits
    WillBeSplit, // runs in smaller batches than it could be batched in
    TooLarge,    // not even alone: the queue never starts it
};

// The largest n <= limit (at least 1 asked) whose predicted peak (predictPeak(n), bytes) fits `budget`; 0 when not
// even one image does. budget <= 0 (unknown): limit.
int batchThatFits(int limit, qint64 budget, const std::function<qint64(int)>& predictPeak);

// The verdict for a batch of `wanted` jobs.
MemoryFit memoryFit(int wanted, qint64 budget, const std::function<qint64(int)>& predictPeak);

// "fits", "will be split", "too large for this GPU: try mode low" ("... even in mode low: lower the size" when the
// mode is already low), "" for Unknown.
QString memoryFitText(MemoryFit fit, bool lowMode);

// The verdict text of every queued job (id -> memoryFitText), each judged in the batch it would join: the queued
// jobs of its batch key, maxBatch at most. predictPeak(spec, n) as Executor::predictPeak. Empty when the budget
// is unknown.
QMap<qint64, QString> memoryFitsOf(const QList<Job>& jobs, int maxBatch, qint64 budget,
                                   const std::function<qint64(const JobSpec&, int)>& predictPeak, bool lowMode);

} // namespace charaforge::queue
