#include "queue/heartbeat.h"

#include "queue/job_store.h"

#include <chrono>
#include <memory>

namespace charaforge::queue {

Heartbeat::Heartbeat(QString storePath, QString owner, qint64 intervalMs)
    : m_path(std::move(storePath)), m_owner(std::move(owner)), m_intervalMs(std::max<qint64>(10, intervalMs)),
      m_thread([this] { loop(); }) {}

Heartbeat::~Heartbeat() {
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_stop = true;
    }
    m_wake.notify_all();
    m_thread.join();
}

void Heartbeat::loop() {
    std::unique_ptr<JobStore> store;
    std::unique_lock<std::mutex> lock(m_mutex);
    while (!m_stop) {
        lock.unlock();
        try {
            // Wait for a busy database at most one interval: the next beat tries again.
            if (!store)
                store = std::make_unique<JobStore>(m_path, static_cast<int>(m_intervalMs));
            store->heartbeat(m_owner);
        } catch (const std::exception&) {
            // Busy or full: the stale limit is many beats long; the next one may get through.
        }
        lock.lock();
        m_wake.wait_for(lock, std::chrono::milliseconds(m_intervalMs), [this] { return m_stop; });
    }
}

} // namespace charaforge::queue
