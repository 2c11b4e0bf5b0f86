#include "queue/worker_pool.h"

#include "queue/job_store.h"

#include <chrono>

namespace charaforge::queue {

WorkerPool::WorkerPool(QString storePath, QStringList devices, ExecutorFactory executors, EventsFactory events,
                       Options options)
    : m_path(std::move(storePath)), m_devices(std::move(devices)), m_executors(std::move(executors)),
      m_events(std::move(events)), m_options(std::move(options)), m_runners(m_devices.size(), nullptr) {
    for (int i = 0; i < m_devices.size(); ++i)
        m_owners.push_back(JobStore::newOwnerId());
}

WorkerPool::~WorkerPool() {
    requestStop();
    wait();
}

void WorkerPool::start() {
    if (m_started)
        return;
    m_started = true;
    m_running = static_cast<int>(m_devices.size());
    for (int i = 0; i < m_devices.size(); ++i)
        m_threads.emplace_back([this, i] { run(i); });
}

void WorkerPool::requestStop() {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_stop = true;
    for (auto* r : m_runners)
        if (r)
            r->requestStop();
    m_wake.notify_all();
}

void WorkerPool::wake() {
    std::lock_guard<std::mutex> lock(m_mutex);
    ++m_wakes;
    m_wake.notify_all();
}

QStringList WorkerPool::wait() {
    for (auto& t : m_threads)
        if (t.joinable())
            t.join();
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_errors;
}

void WorkerPool::run(int index) {
    const QString device = m_devices[index];
    try {
        JobStore store(m_path);
        const auto executor = m_executors(index, device);
        RunnerOptions options = m_options.runner;
        options.owner = m_owners[index];
        QueueRunner runner(store, *executor, options, m_events ? m_events(index, device) : RunnerEvents{});
        // Published for requestStop() while it lives; withdrawn before it is destroyed, however the loop ends.
        struct Published {
            WorkerPool& pool;
            int index;
            ~Published() {
                std::lock_guard<std::mutex> lock(pool.m_mutex);
                pool.m_runners[index] = nullptr;
            }
        } published{*this, index};
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_runners[index] = &runner;
            if (m_stop)
                runner.requestStop();
        }
        while (!runner.stopRequested()) {
            if (runner.runOnce())
                continue;
            if (m_options.idle)
                m_options.idle(index);
            if (m_options.untilEmpty) {
                bool pending = true;
                try {
                    pending = false;
                    for (const auto& j : store.jobs())
                        pending = pending || j.state == JobState::Queued || j.state == JobState::Running;
                    pending = pending && !store.paused();
                } catch (const StoreError&) {
                    pending = true; // a busy database: look again later
                }
                if (!pending)
                    break;
            }
            std::unique_lock<std::mutex> lock(m_mutex);
            const int wakes = m_wakes;
            m_wake.wait_for(lock, std::chrono::milliseconds(m_options.idleMs),
                            [&] { return m_stop || m_wakes != wakes; });
        }
    } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_errors.push_back(device + QStringLiteral(": ") + QString::fromStdString(e.what()));
    }
    --m_running;
}

} // namespace charaforge::queue
