#pragma once
// Text embeddings shared by the workers of one process (one per GPU): a prompt that many jobs share is encoded
// once, not once per GPU, and while one worker encodes it the others wait for its result rather than encode it
// too. Torch-free: the embeddings are the engine's host-side values.
#include "charaforge/engine/pipeline.h"

#include <QString>

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>

namespace charaforge::queue {

class EmbeddingCache {
public:
    struct Entry {
        engine::TextEmbedding cond;
        engine::TextEmbedding uncond;
    };

    // Bounded: the oldest entries go first (a 512-token Gemma embedding holds 5 MB).
    explicit EmbeddingCache(std::size_t maxEntries = 32);

    // The entry for `key`, made by `compute` when no caller has made it. Thread-safe: a caller asking for a key
    // that another is computing waits for that result; if that compute throws, one waiter computes it instead.
    // `compute`'s exception reaches its own caller only.
    Entry get(const QString& key, const std::function<Entry()>& compute);

    int computed() const; // calls of compute that returned
    int hits() const;     // entries given without computing

private:
    std::size_t m_max;
    mutable std::mutex m_mutex;
    std::condition_variable m_ready;
    std::map<QString, Entry> m_entries;
    std::deque<QString> m_order;
    std::set<QString> m_computing;
    int m_computed = 0;
    int m_hits = 0;
};

} // namespace charaforge::queue
