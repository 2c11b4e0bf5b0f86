#pragma once
// Several workers in one process draining one queue: one QueueRunner per device (GPU), each on a thread of its
// own with its own store connection, executor (its own model copy), batch limits, owner id and heartbeat. The
// store's claims are atomic, so the workers never share a job; each claims its next batch as soon as it is free.
// A worker that dies with its process has its jobs taken over by any other worker, as for single workers.
#include "queue/queue_runner.h"

#include <QString>
#include <QStringList>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace charaforge::queue {

class WorkerPool {
public:
    // Makes worker `index`'s executor for `device`; called on that worker's thread.
    using ExecutorFactory = std::function<std::unique_ptr<Executor>(int index, const QString& device)>;
    // Worker `index`'s events; they are called on that worker's thread.
    using EventsFactory = std::function<RunnerEvents(int index, const QString& device)>;

    struct Options {
        RunnerOptions runner;    // every worker's (RunnerOptions::owner is ignored: each worker has its own)
        bool untilEmpty = false; // a worker ends when no job is queued or running (or the queue is paused)
        int idleMs = 500;        // how long a worker that found nothing waits before it looks again (wake() cuts it)
        std::function<void(int index)> idle; // on worker `index`'s thread each time it found nothing to claim
    };

    WorkerPool(QString storePath, QStringList devices, ExecutorFactory executors, EventsFactory events,
               Options options);
    // Stops the workers and waits for them.
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    // Starts one thread per device. Call once.
    void start();
    // Thread-safe (not async-signal-safe). Running batches stop after their current step and go back to the queue
    // with their sampler state.
    void requestStop();
    // Thread-safe: idle workers look for work now.
    void wake();
    // Waits until every worker has ended; returns "DEVICE: message" for each worker that failed to run (its
    // store could not be opened, its executor not made), empty when none did.
    QStringList wait();
    // True once every worker has ended.
    bool finished() const { return m_running.load() == 0 && m_started; }

    const QStringList& devices() const { return m_devices; }
    // Worker i's owner id in the store (fixed at construction).
    const QStringList& owners() const { return m_owners; }

private:
    void run(int index);

    QString m_path;
    QStringList m_devices;
    QStringList m_owners;
    ExecutorFactory m_executors;
    EventsFactory m_events;
    Options m_options;
    std::vector<std::thread> m_threads;
    std::atomic<int> m_running{0};
    bool m_started = false;
    std::mutex m_mutex; // guards the fields below
    std::condition_variable m_wake;
    bool m_stop = false;
    int m_wakes = 0;
    std::vector<QueueRunner*> m_runners; // while each worker runs
    QStringList m_errors;
};

} // namespace charaforge::queue
