#pragma once
// Samples the device's memory on a thread of its own: the first CUDA query initialises CUDA (seconds, and
// a context on the device), which must happen neither on the GUI thread nor wait for the queue worker,
// which is busy for a whole batch. Reports arrive as queued signals carrying values.
#include "charaforge/engine/pipeline.h"
#include "ui/studio_types.h"

#include <QObject>
#include <QString>
#include <QStringList>
#include <QThread>

#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace charaforge::app {

class MemorySampler : public QObject {
    Q_OBJECT
public:
    using Source = std::function<engine::MemoryReport(const std::string& device)>;

    // Starts sampling every `intervalMs` on its own thread (engine::memory_report unless `source`).
    explicit MemorySampler(int intervalMs, Source source = {});
    // Stops the thread (waits for a sample in progress).
    ~MemorySampler() override;

    // Thread-safe: the device the next samples are of ("auto", "cpu", "cuda:0").
    void setDevice(const QString& device);
    // Thread-safe: several devices, each sampled in turn (one worker per GPU).
    void setDevices(const QStringList& devices);

Q_SIGNALS:
    void sampled(const charaforge::ui::MemorySample& sample);

private:
    void sample();
    void sampleOne(const std::string& device);

    Source m_source;
    std::mutex m_mutex;
    std::vector<std::string> m_devices{"auto"};
    QThread m_thread;
    QObject* m_ticker = nullptr; // lives on m_thread
};

} // namespace charaforge::app
