#pragma once
// The memory monitor: the latest reading as text (device, allocator and driver numbers, weights per
// model component), a stacked bar of the device memory and a graph of the recent readings.
#include "ui/studio_types.h"

#include <QList>
#include <QMap>
#include <QString>
#include <QStringList>
#include <QWidget>

class QLabel;
class QTabBar;

namespace charaforge::ui {

// Bytes as "512.0 MiB" below one GiB and "12.3 GiB" from there (binary units, one decimal).
QString formatBytes(qint64 bytes);

// The memory graph's top: the first of 64, 96, 128, 192, 256, 384 … MiB (powers of two and one and a half times
// them) at or above the most the app held in `history` (GPU: reserved or allocated; CPU: the process's resident
// memory), and no more than the device's total. The graph scales to what the app uses and states the total
// beside it: on a 23.5 GiB axis a 0.3 GiB process was a flat line.
qint64 memoryAxisTop(const QList<MemorySample>& history);
// The graph's corner label: the axis top and, when it is not the whole device, its total ("384.0 MiB of 23.5 GiB").
QString memoryAxisLabel(const QList<MemorySample>& history);

class VramMonitor : public QWidget {
    Q_OBJECT
public:
    static constexpr int kDefaultHistoryLimit = 120;

    explicit VramMonitor(QWidget* parent = nullptr);

    // Shows `sample` and appends it to the history (the oldest sample goes once the limit is reached).
    // A sample of another device than the last one starts a new history.
    void addSample(const MemorySample& sample);

    // One tab per device ("cuda:0", "cuda:1") when the studio runs a worker on each of several GPUs: each device keeps
    // its own history, routed by the sample's device (its first word), and the selected tab's is shown. None or one
    // device: one history, as above.
    void setDevices(const QStringList& devices);
    QStringList devices() const { return m_devices; }
    // The tab shown (an index into devices()).
    void selectDevice(int index);
    int selectedDevice() const;
    // The history of one of devices(), oldest first.
    QList<MemorySample> historyOf(const QString& device) const { return m_byDevice.value(device); }
    void clear();

    void setHistoryLimit(int limit);
    int historyLimit() const { return m_limit; }
    int historySize() const { return static_cast<int>(m_history.size()); }
    // Oldest first.
    const QList<MemorySample>& history() const { return m_history; }

    // The text lines shown for the latest sample, joined by '\n'; "" before the first sample.
    QString summaryText() const;

private:
    void showSelected();

    QTabBar* m_tabs = nullptr;
    QStringList m_devices;
    QMap<QString, QList<MemorySample>> m_byDevice;
    QLabel* m_summary = nullptr;
    QWidget* m_chart = nullptr;
    QList<MemorySample> m_history;
    int m_limit = kDefaultHistoryLimit;
};

} // namespace charaforge::ui
