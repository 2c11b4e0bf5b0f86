#pragma once
// Which queued jobs run together. Pure functions over job values: the store calls them inside its claim
// transaction, the worker keeps the out-of-memory limits.
#include "queue/job.h"

#include <QList>
#include <QMap>
#include <QString>

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

} // namespace charaforge::queue
