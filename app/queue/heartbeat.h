#pragma once
// A worker's heartbeat from a thread of its own while it holds jobs: loading a model, hashing a 17 GB file
// or decoding do not pass through the sampler's step callback, and must not let another worker take the
// jobs as abandoned meanwhile.
#include <QString>

#include <condition_variable>
#include <mutex>
#include <thread>

namespace charaforge::queue {

class Heartbeat {
public:
    // Starts refreshing the heartbeat of `owner`'s running jobs in the queue at `storePath` every
    // `intervalMs`, on its own database connection. A busy database skips a beat; it never throws.
    Heartbeat(QString storePath, QString owner, qint64 intervalMs);
    // Stops the thread and waits for it (at most one database call).
    ~Heartbeat();
    Heartbeat(const Heartbeat&) = delete;
    Heartbeat& operator=(const Heartbeat&) = delete;

private:
    void loop();

    QString m_path;
    QString m_owner;
    qint64 m_intervalMs;
    std::mutex m_mutex;
    std::condition_variable m_wake;
    bool m_stop = false;
    std::thread m_thread;
};

} // namespace charaforge::queue
