#include "queue/batcher.h"

#include <algorithm>

namespace charaforge::queue {

QString batchKey(const Job& job) {
    const auto& s = job.spec;
    // Erase jobs of one LaMa file go together: the erase scheduler batches their tiles by padded size.
    if (s.kind == JobKind::Erase)
        return QStringLiteral("erase|%1").arg(s.model);
    return QStringLiteral("%1|%2x%3|%4|%5|%6|%7")
        .arg(s.model)
        .arg(s.width)
        .arg(s.height)
        .arg(s.steps)
        .arg(s.sampler)
        .arg(s.shift, 0, 'g', 9)
        .arg(job.stepsDone);
}

QString memoryKey(const Job& job) {
    const auto& s = job.spec;
    if (s.kind == JobKind::Erase)
        return QStringLiteral("erase|%1").arg(s.model);
    return QStringLiteral("%1|%2x%3|%4")
        .arg(s.model)
        .arg(s.width)
        .arg(s.height)
        .arg(QLatin1String(s.cfg != 1.0 ? "cfg" : "nocfg"));
}

QList<int> selectBatch(const QList<Job>& queued, int limit) {
    QList<int> picked;
    if (queued.isEmpty())
        return picked;
    limit = std::max(1, limit);
    // A job whose worker died running it may be what kills workers: it runs alone, and no other job shares
    // its fate (or its death count).
    if (queued.front().workerDeaths > 0)
        limit = 1;
    const QString key = batchKey(queued.front());
    for (int i = 0; i < queued.size() && picked.size() < limit; ++i)
        if (i == 0 || (batchKey(queued[i]) == key && queued[i].workerDeaths == 0))
            picked.push_back(i);
    return picked;
}

int OomLimits::limit(const QString& key, int suggested) const {
    const int learnt = m_limits.value(key, suggested);
    return std::max(1, std::min(suggested, learnt));
}

bool OomLimits::recordFailure(const QString& key, int size) {
    if (size <= 1)
        return false;
    m_limits[key] = std::max(1, size / 2);
    return true;
}

} // namespace charaforge::queue
