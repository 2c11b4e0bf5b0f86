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

int batchThatFits(int limit, qint64 budget, const std::function<qint64(int)>& predictPeak) {
    limit = std::max(1, limit);
    if (budget <= 0)
        return limit;
    int n = 0;
    while (n < limit && predictPeak(n + 1) <= budget)
        ++n; // the peak grows with the batch: the first that does not fit ends the search
    return n;
}

MemoryFit memoryFit(int wanted, qint64 budget, const std::function<qint64(int)>& predictPeak) {
    if (budget <= 0 || predictPeak(1) <= 0)
        return MemoryFit::Unknown;
    const int n = batchThatFits(wanted, budget, predictPeak);
    return n == 0 ? MemoryFit::TooLarge : n < std::max(1, wanted) ? MemoryFit::WillBeSplit : MemoryFit::Fits;
}

QString memoryFitText(MemoryFit fit, bool lowMode) {
    switch (fit) {
    case MemoryFit::Fits:
        return QStringLiteral("fits");
    case MemoryFit::WillBeSplit:
        return QStringLiteral("will be split");
    case MemoryFit::TooLarge:
        return lowMode ? QStringLiteral("too large for this GPU even in mode low: lower the size")
                       : QStringLiteral("too large for this GPU: try mode low");
    case MemoryFit::Unknown:
        break;
    }
    return {};
}

QMap<qint64, QString> memoryFitsOf(const QList<Job>& jobs, int maxBatch, qint64 budget,
                                   const std::function<qint64(const JobSpec&, int)>& predictPeak, bool lowMode) {
    QMap<qint64, QString> out;
    if (budget <= 0)
        return out;
    QMap<QString, int> queuedPerKey;
    for (const auto& j : jobs)
        if (j.state == JobState::Queued)
            ++queuedPerKey[batchKey(j)];
    for (const auto& j : jobs) {
        if (j.state != JobState::Queued)
            continue;
        const int wanted = std::min(std::max(1, maxBatch), queuedPerKey.value(batchKey(j)));
        const auto fit = memoryFit(wanted, budget, [&](int n) { return predictPeak(j.spec, n); });
        if (fit != MemoryFit::Unknown)
            out.insert(j.id, memoryFitText(fit, lowMode));
    }
    return out;
}

} // namespace charaforge::queue
