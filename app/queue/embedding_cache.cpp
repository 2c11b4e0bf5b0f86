#include "queue/embedding_cache.h"

#include <algorithm>

namespace charaforge::queue {

EmbeddingCache::EmbeddingCache(std::size_t maxEntries) : m_max(std::max<std::size_t>(1, maxEntries)) {}

EmbeddingCache::Entry EmbeddingCache::get(const QString& key, const std::function<Entry()>& compute) {
    {
        std::unique_lock<std::mutex> lock(m_mutex);
        m_ready.wait(lock, [&] { return !m_computing.count(key); });
        if (const auto it = m_entries.find(key); it != m_entries.end()) {
            ++m_hits;
            return it->second;
        }
        m_computing.insert(key);
    }
    Entry entry;
    try {
        entry = compute();
    } catch (...) {
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_computing.erase(key);
        }
        m_ready.notify_all();
        throw;
    }
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_computing.erase(key);
        ++m_computed;
        if (m_order.size() >= m_max) {
            m_entries.erase(m_order.front());
            m_order.pop_front();
        }
        m_order.push_back(key);
        m_entries[key] = entry;
    }
    m_ready.notify_all();
    return entry;
}

int EmbeddingCache::computed() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_computed;
}

int EmbeddingCache::hits() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_hits;
}

} // namespace charaforge::queue
