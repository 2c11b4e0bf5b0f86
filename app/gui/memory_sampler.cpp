#include "gui/memory_sampler.h"

#include <QTimer>

namespace charaforge::app {

MemorySampler::MemorySampler(int intervalMs, Source source) : m_source(std::move(source)) {
    if (!m_source)
        m_source = [](const std::string& device) { return engine::memory_report(device); };
    m_thread.setObjectName(QStringLiteral("memory sampler"));
    m_ticker = new QObject;
    m_ticker->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_ticker, &QObject::deleteLater);
    connect(&m_thread, &QThread::started, m_ticker, [this, intervalMs] {
        auto* timer = new QTimer(m_ticker);
        timer->setInterval(intervalMs);
        connect(timer, &QTimer::timeout, m_ticker, [this] { sample(); });
        timer->start();
        sample();
    });
    m_thread.start();
}

MemorySampler::~MemorySampler() {
    m_thread.quit();
    m_thread.wait();
}

void MemorySampler::setDevice(const QString& device) {
    setDevices({device});
}

void MemorySampler::setDevices(const QStringList& devices) {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_devices.clear();
    for (const auto& d : devices)
        m_devices.push_back(d.toStdString());
}

void MemorySampler::sample() {
    std::vector<std::string> devices;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        devices = m_devices;
    }
    for (const auto& device : devices)
        sampleOne(device);
}

void MemorySampler::sampleOne(const std::string& device) {
    const auto r = m_source(device);
    ui::MemorySample s;
    s.gpu = r.gpu;
    s.device = QString::fromStdString(r.device);
    s.allocated = r.allocated;
    s.reserved = r.reserved;
    s.freeBytes = r.free;
    s.total = r.total;
    s.processResident = r.process_resident;
    Q_EMIT sampled(s); // queued to receivers on other threads
}

} // namespace charaforge::app
