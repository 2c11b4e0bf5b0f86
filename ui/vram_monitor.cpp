#include "ui/vram_monitor.h"

#include <algorithm>
#include <cmath>

#include <QCoreApplication>
#include <QLabel>
#include <QPainter>
#include <QPainterPath>
#include <QSignalBlocker>
#include <QTabBar>
#include <QVBoxLayout>

namespace charaforge::ui {

namespace {

constexpr double kMiB = 1024.0 * 1024.0;
constexpr double kGiB = kMiB * 1024.0;
// Below this share of the total left for new work the monitor warns.
constexpr double kLowMemoryShare = 0.10;

const QColor kUsedColor(30, 110, 210);      // allocated tensors / the process
const QColor kReservedColor(130, 180, 240); // held by the CUDA cache beyond the tensors
const QColor kOtherColor(150, 150, 150);    // other processes and the driver
const QColor kFreeColor(225, 235, 225);

// What the bar and the graph show for a sample: "used" and "held" (used plus cached) bytes.
// On the CPU: the process's resident memory, and the memory in use by everything.
qint64 usedBytes(const MemorySample& s) {
    return s.gpu ? s.allocated : s.processResident;
}
qint64 heldBytes(const MemorySample& s) {
    return s.gpu ? std::max(s.reserved, s.allocated) : std::max<qint64>(s.total - s.freeBytes, 0);
}

// What the graph draws of a sample: the app's own memory (on the CPU the process, not the whole machine).
qint64 graphHeldBytes(const MemorySample& s) {
    return s.gpu ? heldBytes(s) : usedBytes(s);
}

// The stacked bar of the latest sample, a small legend and the history of used/held bytes.
class MemoryChart : public QWidget {
public:
    explicit MemoryChart(const VramMonitor* monitor, QWidget* parent) : QWidget(parent), m_monitor(monitor) {
        setMinimumHeight(110);
        setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    }

    QSize sizeHint() const override { return {320, 110}; }

protected:
    void paintEvent(QPaintEvent*) override {
        QPainter p(this);
        p.setRenderHint(QPainter::Antialiasing);
        const QList<MemorySample>& history = m_monitor->history();
        const QRect area = rect().adjusted(1, 1, -1, -1);
        if (history.isEmpty()) {
            p.setPen(palette().color(QPalette::PlaceholderText));
            p.drawText(area, Qt::AlignCenter, VramMonitor::tr("No memory readings yet"));
            return;
        }
        const MemorySample& last = history.last();
        const int barHeight = 16;
        const int legendHeight = fontMetrics().height() + 4;
        const QRect bar(area.left(), area.top(), area.width(), barHeight);
        const QRect legend(area.left(), bar.bottom() + 2, area.width(), legendHeight);
        const QRect graph(area.left(), legend.bottom() + 2, area.width(), area.bottom() - legend.bottom() - 2);

        paintBar(p, bar, last);
        paintLegend(p, legend, last.gpu);
        if (graph.height() > 8)
            paintGraph(p, graph, history);
    }

private:
    void paintBar(QPainter& p, const QRect& bar, const MemorySample& s) const {
        p.fillRect(bar, kFreeColor);
        if (s.total > 0) {
            const qint64 used = std::clamp<qint64>(usedBytes(s), 0, s.total);
            const qint64 held = std::clamp<qint64>(heldBytes(s), used, s.total);
            // GPU: whatever the driver does not report free and our allocator does not hold is someone else's.
            const qint64 notFree = std::clamp<qint64>(s.total - s.freeBytes, held, s.total);
            auto x = [&](qint64 bytes) {
                return bar.left() + static_cast<int>(std::lround(double(bytes) / double(s.total) * bar.width()));
            };
            if (s.gpu) {
                p.fillRect(QRect(QPoint(x(held), bar.top()), QPoint(x(notFree), bar.bottom())), kOtherColor);
                p.fillRect(QRect(QPoint(x(used), bar.top()), QPoint(x(held), bar.bottom())), kReservedColor);
            } else {
                p.fillRect(QRect(QPoint(x(used), bar.top()), QPoint(x(held), bar.bottom())), kOtherColor);
            }
            p.fillRect(QRect(QPoint(bar.left(), bar.top()), QPoint(x(used), bar.bottom())), kUsedColor);
        }
        p.setPen(palette().color(QPalette::Mid));
        p.setBrush(Qt::NoBrush);
        p.drawRect(bar.adjusted(0, 0, -1, -1));
    }

    void paintLegend(QPainter& p, const QRect& legend, bool gpu) const {
        const QList<QPair<QColor, QString>> entries =
            gpu ? QList<QPair<QColor, QString>>{{kUsedColor, VramMonitor::tr("allocated")},
                                                {kReservedColor, VramMonitor::tr("reserved")},
                                                {kOtherColor, VramMonitor::tr("other")},
                                                {kFreeColor, VramMonitor::tr("free")}}
                : QList<QPair<QColor, QString>>{{kUsedColor, VramMonitor::tr("this process")},
                                                {kOtherColor, VramMonitor::tr("in use")},
                                                {kFreeColor, VramMonitor::tr("available")}};
        int x = legend.left();
        const int box = fontMetrics().height() - 4;
        for (const auto& [color, text] : entries) {
            p.fillRect(QRect(x, legend.top() + 2 + (legend.height() - box) / 2 - 2, box, box), color);
            x += box + 4;
            p.setPen(palette().color(QPalette::WindowText));
            const int w = fontMetrics().horizontalAdvance(text);
            p.drawText(QRect(x, legend.top(), w, legend.height()), Qt::AlignVCenter | Qt::AlignLeft, text);
            x += w + 12;
        }
    }

    void paintGraph(QPainter& p, const QRect& graph, const QList<MemorySample>& history) const {
        p.fillRect(graph, palette().color(QPalette::Base));
        const qint64 top = memoryAxisTop(history);
        // Newest at the right edge; one slot per sample the history can hold.
        const int slots = std::max(m_monitor->historyLimit(), 2);
        const double dx = double(graph.width()) / double(slots - 1);
        const qsizetype first = history.size() - 1;
        auto point = [&](qsizetype i, qint64 bytes) {
            const double x = graph.right() - double(first - i) * dx;
            const double y = graph.bottom() - double(bytes) / double(top) * graph.height();
            return QPointF(x, y);
        };
        QPainterPath held;
        QPainterPath used;
        held.moveTo(point(0, 0).x(), graph.bottom());
        for (qsizetype i = 0; i < history.size(); ++i) {
            held.lineTo(point(i, graphHeldBytes(history[i])));
            if (i == 0)
                used.moveTo(point(i, usedBytes(history[i])));
            else
                used.lineTo(point(i, usedBytes(history[i])));
        }
        held.lineTo(point(first, 0).x(), graph.bottom());
        held.closeSubpath();
        p.save();
        p.setClipRect(graph);
        p.setPen(Qt::NoPen);
        p.setBrush(history.last().gpu ? kReservedColor : kOtherColor);
        p.drawPath(held);
        p.setPen(QPen(kUsedColor, 2));
        p.setBrush(Qt::NoBrush);
        if (history.size() == 1)
            p.drawPoint(point(0, usedBytes(history[0])));
        else
            p.drawPath(used);
        p.restore();
        p.setPen(palette().color(QPalette::Mid));
        p.drawRect(graph.adjusted(0, 0, -1, -1));
        p.setPen(palette().color(QPalette::PlaceholderText));
        p.drawText(graph.adjusted(4, 2, -4, -2), Qt::AlignTop | Qt::AlignRight, memoryAxisLabel(history));
    }

    const VramMonitor* m_monitor;
};

} // namespace

qint64 memoryAxisTop(const QList<MemorySample>& history) {
    qint64 peak = 0;
    for (const MemorySample& s : history)
        peak = std::max({peak, graphHeldBytes(s), usedBytes(s)});
    qint64 top = 64 * static_cast<qint64>(kMiB);
    for (bool powerOfTwo = true; top < peak; powerOfTwo = !powerOfTwo)
        top = powerOfTwo ? top / 2 * 3 : top / 3 * 4;
    const qint64 total = history.isEmpty() ? 0 : history.last().total;
    return total > 0 && top > total ? std::max(total, peak) : top;
}

QString memoryAxisLabel(const QList<MemorySample>& history) {
    const qint64 top = memoryAxisTop(history);
    const qint64 total = history.isEmpty() ? 0 : history.last().total;
    if (total <= 0 || top >= total)
        return formatBytes(top);
    return QCoreApplication::translate("charaforge::ui::memoryAxisLabel", "%1 of %2")
        .arg(formatBytes(top), formatBytes(total));
}

QString formatBytes(qint64 bytes) {
    if (bytes < 0)
        return QLatin1Char('-') + formatBytes(-bytes);
    const double mib = double(bytes) / kMiB;
    // 1023.95 MiB and more would print as "1024.0 MiB": show GiB from there.
    if (mib < 1023.95)
        return QCoreApplication::translate("charaforge::ui::formatBytes", "%1 MiB").arg(mib, 0, 'f', 1);
    return QCoreApplication::translate("charaforge::ui::formatBytes", "%1 GiB").arg(double(bytes) / kGiB, 0, 'f', 1);
}

VramMonitor::VramMonitor(QWidget* parent) : QWidget(parent) {
    m_summary = new QLabel(this);
    m_summary->setObjectName(QStringLiteral("memorySummary"));
    m_summary->setWordWrap(true);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_summary->setText(tr("No memory readings yet"));
    m_chart = new MemoryChart(this, this);
    m_chart->setObjectName(QStringLiteral("memoryChart"));

    m_tabs = new QTabBar(this);
    m_tabs->setObjectName(QStringLiteral("memoryDevices"));
    m_tabs->setVisible(false);
    connect(m_tabs, &QTabBar::currentChanged, this, [this] { showSelected(); });
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_tabs);
    layout->addWidget(m_summary);
    layout->addWidget(m_chart);
}

void VramMonitor::setDevices(const QStringList& devices) {
    m_devices = devices.size() > 1 ? devices : QStringList();
    m_byDevice.clear();
    const QSignalBlocker block(m_tabs);
    while (m_tabs->count() > 0)
        m_tabs->removeTab(0);
    for (const auto& d : m_devices)
        m_tabs->addTab(d);
    m_tabs->setVisible(!m_devices.isEmpty());
    clear();
}

void VramMonitor::selectDevice(int index) {
    m_tabs->setCurrentIndex(index);
}

int VramMonitor::selectedDevice() const {
    return m_devices.isEmpty() ? -1 : m_tabs->currentIndex();
}

void VramMonitor::showSelected() {
    m_history = m_byDevice.value(m_devices.value(m_tabs->currentIndex()));
    m_summary->setText(m_history.isEmpty() ? tr("No memory readings yet") : summaryText());
    m_chart->update();
}

void VramMonitor::addSample(const MemorySample& sample) {
    if (!m_devices.isEmpty()) {
        const QString device = sample.device.section(QLatin1Char(' '), 0, 0);
        const int tab = static_cast<int>(m_devices.indexOf(device));
        if (tab < 0)
            return; // not one of the workers' devices
        auto& history = m_byDevice[device];
        history.append(sample);
        while (history.size() > m_limit)
            history.removeFirst();
        m_tabs->setTabToolTip(
            tab, tr("%1: used %2 of %3").arg(sample.device, formatBytes(sample.allocated), formatBytes(sample.total)));
        if (tab == m_tabs->currentIndex())
            showSelected();
        return;
    }
    // The graph is the history of one device: another device (or the CPU fallback) starts a new one.
    if (!m_history.isEmpty() && (m_history.last().gpu != sample.gpu || m_history.last().device != sample.device))
        m_history.clear();
    m_history.append(sample);
    while (m_history.size() > m_limit)
        m_history.removeFirst();
    m_summary->setText(summaryText());
    m_chart->update();
}

void VramMonitor::clear() {
    m_history.clear();
    m_summary->setText(tr("No memory readings yet"));
    m_chart->update();
}

void VramMonitor::setHistoryLimit(int limit) {
    m_limit = std::max(limit, 1);
    while (m_history.size() > m_limit)
        m_history.removeFirst();
    for (auto& history : m_byDevice)
        while (history.size() > m_limit)
            history.removeFirst();
    m_chart->update();
}

QString VramMonitor::summaryText() const {
    if (m_history.isEmpty())
        return QString();
    const MemorySample& s = m_history.last();
    QStringList lines;
    qint64 headroom = 0; // what new work can still get
    if (s.gpu) {
        lines << tr("%1 — used %2 · reserved %3 · free %4 of %5")
                     .arg(s.device, formatBytes(s.allocated), formatBytes(s.reserved), formatBytes(s.freeBytes),
                          formatBytes(s.total));
        headroom = s.freeBytes + std::max<qint64>(s.reserved - s.allocated, 0);
    } else {
        lines << tr("Running on the CPU — process memory %1; %2 of %3 available")
                     .arg(formatBytes(s.processResident), formatBytes(s.freeBytes), formatBytes(s.total));
        headroom = s.freeBytes;
    }
    QStringList parts;
    for (const auto& [name, bytes] : s.components)
        parts << tr("%1 %2").arg(name, formatBytes(bytes));
    if (!parts.isEmpty())
        lines << parts.join(QStringLiteral(" · "));
    if (s.total > 0 && double(headroom) < kLowMemoryShare * double(s.total))
        lines << tr("Low memory: %1 left for new work; large jobs may fail (offload or lower the batch size).")
                     .arg(formatBytes(headroom));
    return lines.join(QLatin1Char('\n'));
}

} // namespace charaforge::ui
