#include "ui/queue_model.h"

#include "ui/job_states.h"

#include <QFileInfo>
#include <QMimeData>
#include <QPainter>
#include <QPainterPath>
#include <QPixmap>
#include <QSet>

namespace charaforge::ui {

using namespace job_state;

namespace {

QString stateWord(const QString& state) {
    if (state == kQueued)
        return QueueModel::tr("queued");
    if (state == kRunning)
        return QueueModel::tr("running");
    if (state == kDone)
        return QueueModel::tr("done");
    if (state == kFailed)
        return QueueModel::tr("failed");
    if (state == kCancelled)
        return QueueModel::tr("cancelled");
    return state;
}

QColor stateColor(const QString& state) {
    if (state == kRunning)
        return QColor(30, 120, 220);
    if (state == kDone)
        return QColor(40, 160, 70);
    if (state == kFailed)
        return QColor(210, 50, 50);
    return QColor(130, 130, 130);
}

// Ids in the given order after moving `moved` (in their current order) just above `beforeId`.
QList<qint64> orderAfterMove(const QList<qint64>& order, const QList<qint64>& moved, qint64 beforeId) {
    QList<qint64> result;
    const QSet<qint64> movedSet(moved.begin(), moved.end());
    for (qint64 id : order) {
        if (id == beforeId)
            result += moved;
        if (!movedSet.contains(id))
            result.append(id);
    }
    if (beforeId == -1)
        result += moved;
    return result;
}

} // namespace

QueueModel::QueueModel(QObject* parent) : QAbstractTableModel(parent) {}

QString QueueModel::mimeType() {
    return QStringLiteral("application/x-charaforge-job-ids");
}

void QueueModel::setJobs(const QList<JobView>& jobs) {
    bool sameOrder = jobs.size() == m_jobs.size();
    for (qsizetype i = 0; sameOrder && i < jobs.size(); ++i)
        sameOrder = jobs[i].id == m_jobs[i].id;

    // Live progress outlives a reload while the job keeps running: the store's stepsDone is only the
    // last checkpoint, so a reload must not move the bar back.
    QHash<qint64, Live> live;
    for (const JobView& j : jobs) {
        auto it = m_live.constFind(j.id);
        if (j.state == kRunning && it != m_live.constEnd()) {
            Live l = *it;
            l.step = std::max(l.step, j.stepsDone);
            live.insert(j.id, l);
        }
    }

    QHash<qint64, QPixmap> thumbnails;
    for (const JobView& j : jobs)
        if (auto it = m_thumbnails.constFind(j.id); it != m_thumbnails.constEnd())
            thumbnails.insert(j.id, *it);
    m_thumbnails = thumbnails;

    if (sameOrder) {
        m_jobs = jobs;
        m_live = live;
        if (!m_jobs.isEmpty())
            Q_EMIT dataChanged(index(0, 0), index(static_cast<int>(m_jobs.size()) - 1, ColumnCount - 1));
        return;
    }
    beginResetModel();
    m_jobs = jobs;
    m_live = live;
    endResetModel();
}

bool QueueModel::setJobProgress(qint64 id, int step, int total, const QString& eta) {
    const int row = rowOf(id);
    if (row < 0)
        return false;
    m_live.insert(id, Live{step, total, eta});
    Q_EMIT dataChanged(index(row, 0), index(row, ColumnCount - 1));
    return true;
}

bool QueueModel::setThumbnail(qint64 id, const QImage& image) {
    const int row = rowOf(id);
    if (row < 0 || image.isNull())
        return false;
    m_thumbnails.insert(id, QPixmap::fromImage(image.scaled(kThumbnailSize, kThumbnailSize, Qt::KeepAspectRatio,
                                                            Qt::SmoothTransformation)));
    Q_EMIT dataChanged(index(row, TitleColumn), index(row, TitleColumn), {Qt::DecorationRole});
    return true;
}

int QueueModel::rowOf(qint64 id) const {
    for (qsizetype i = 0; i < m_jobs.size(); ++i) {
        if (m_jobs[i].id == id)
            return static_cast<int>(i);
    }
    return -1;
}

JobView QueueModel::job(int row) const {
    JobView j = m_jobs.value(row);
    if (j.state == kRunning) {
        auto it = m_live.constFind(j.id);
        if (it != m_live.constEnd())
            j.stepsDone = it->step;
    }
    return j;
}

int QueueModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(m_jobs.size());
}

int QueueModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QString QueueModel::progressText(const JobView& j) const {
    if (j.state == kRunning) {
        int step = j.stepsDone;
        int total = j.steps;
        QString eta;
        auto it = m_live.constFind(j.id);
        if (it != m_live.constEnd()) {
            step = it->step;
            total = it->total;
            eta = it->eta;
        }
        const int percent = total > 0 ? std::clamp(step * 100 / total, 0, 100) : 0;
        QString text = tr("%1/%2 · %3%").arg(step).arg(total).arg(percent);
        if (!eta.isEmpty())
            text += tr(" · ETA %1").arg(eta);
        return text;
    }
    if (j.state == kQueued && j.stepsDone > 0)
        return tr("resumes at step %1/%2").arg(j.stepsDone).arg(j.steps);
    if (j.state == kFailed)
        return j.message.section(QLatin1Char('\n'), 0, 0);
    if (j.state == kDone && !j.outputPath.isEmpty())
        return QFileInfo(j.outputPath).fileName();
    if (j.state == kCancelled && j.stepsDone > 0)
        return tr("stopped at step %1/%2").arg(j.stepsDone).arg(j.steps);
    return QString();
}

QIcon QueueModel::stateIcon(const QString& state) const {
    auto it = m_icons.constFind(state);
    if (it != m_icons.constEnd())
        return *it;
    // A coloured disc with a distinct white mark per state, so the states differ in shape as well.
    const int size = 16;
    QPixmap pixmap(size, size);
    pixmap.fill(Qt::transparent);
    QPainter p(&pixmap);
    p.setRenderHint(QPainter::Antialiasing);
    const QColor color = stateColor(state);
    const QRectF disc(1.5, 1.5, size - 3, size - 3);
    if (state == kQueued) {
        p.setPen(QPen(color, 2));
        p.setBrush(Qt::NoBrush);
        p.drawEllipse(disc);
    } else {
        p.setPen(Qt::NoPen);
        p.setBrush(color);
        p.drawEllipse(disc);
        p.setPen(QPen(Qt::white, 2, Qt::SolidLine, Qt::RoundCap, Qt::RoundJoin));
        p.setBrush(Qt::white);
        if (state == kRunning) {
            QPainterPath triangle;
            triangle.moveTo(6.5, 5);
            triangle.lineTo(11.5, 8);
            triangle.lineTo(6.5, 11);
            triangle.closeSubpath();
            p.setPen(Qt::NoPen);
            p.drawPath(triangle);
        } else if (state == kDone) {
            p.setBrush(Qt::NoBrush);
            p.drawPolyline(QList<QPointF>{{5, 8.5}, {7.2, 10.8}, {11.2, 5.5}});
        } else if (state == kFailed) {
            p.drawLine(QPointF(5.5, 5.5), QPointF(10.5, 10.5));
            p.drawLine(QPointF(10.5, 5.5), QPointF(5.5, 10.5));
        } else {
            p.drawLine(QPointF(5, 8), QPointF(11, 8));
        }
    }
    p.end();
    const QIcon icon(pixmap);
    m_icons.insert(state, icon);
    return icon;
}

QVariant QueueModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= m_jobs.size())
        return {};
    const JobView j = job(index.row());
    switch (role) {
    case IdRole:
        return j.id;
    case StateRole:
        return j.state;
    case ProgressRole: {
        if (j.state != kRunning)
            return -1;
        int step = j.stepsDone;
        int total = j.steps;
        auto it = m_live.constFind(j.id);
        if (it != m_live.constEnd()) {
            step = it->step;
            total = it->total;
        }
        return total > 0 ? std::clamp(step * 100 / total, 0, 100) : 0;
    }
    case Qt::DisplayRole:
        switch (index.column()) {
        case IdColumn:
            return j.id;
        case StateColumn:
            return stateWord(j.state);
        case TitleColumn:
            return j.title;
        case SizeColumn:
            return tr("%1×%2").arg(j.width).arg(j.height);
        case StepsColumn:
            return j.steps;
        case SamplerColumn:
            return j.sampler;
        case CfgColumn:
            return QString::number(j.cfg, 'g', 4);
        case SeedColumn:
            return QString::number(j.seed);
        case ProgressColumn:
            return progressText(j);
        default:
            return {};
        }
    case Qt::DecorationRole:
        if (index.column() == StateColumn)
            return stateIcon(j.state);
        if (index.column() == TitleColumn && j.state == kDone)
            if (auto it = m_thumbnails.constFind(j.id); it != m_thumbnails.constEnd())
                return *it;
        return {};
    case Qt::TextAlignmentRole:
        if (index.column() == IdColumn)
            return QVariant(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    case Qt::ForegroundRole:
        if (j.state == kFailed && (index.column() == ProgressColumn || index.column() == StateColumn))
            return QColor(200, 40, 40);
        return {};
    case Qt::ToolTipRole: {
        QStringList lines{j.title.isEmpty() ? tr("Job %1").arg(j.id) : tr("Job %1: %2").arg(j.id).arg(j.title)};
        lines << tr("%1×%2, %3 steps, %4, CFG %5, seed %6")
                     .arg(j.width)
                     .arg(j.height)
                     .arg(j.steps)
                     .arg(j.sampler, QString::number(j.cfg, 'g', 4))
                     .arg(j.seed);
        if (j.state == kFailed && !j.message.isEmpty())
            lines << tr("Failed: %1").arg(j.message);
        if (j.state == kDone && !j.outputPath.isEmpty())
            lines << tr("Saved to %1").arg(j.outputPath);
        if (j.state == kQueued && j.stepsDone > 0)
            lines << tr("Resumes at step %1 of %2").arg(j.stepsDone).arg(j.steps);
        return lines.join(QLatin1Char('\n'));
    }
    default:
        return {};
    }
}

QVariant QueueModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case IdColumn:
        return tr("Job");
    case StateColumn:
        return tr("State");
    case TitleColumn:
        return tr("Prompt");
    case SizeColumn:
        return tr("Size");
    case StepsColumn:
        return tr("Steps");
    case SamplerColumn:
        return tr("Sampler");
    case CfgColumn:
        return tr("CFG");
    case SeedColumn:
        return tr("Seed");
    case ProgressColumn:
        return tr("Progress");
    default:
        return {};
    }
}

Qt::ItemFlags QueueModel::flags(const QModelIndex& index) const {
    if (!index.isValid())
        return Qt::ItemIsDropEnabled; // drops land between rows, never on one
    Qt::ItemFlags f = Qt::ItemIsEnabled | Qt::ItemIsSelectable | Qt::ItemNeverHasChildren;
    if (m_jobs.value(index.row()).state == kQueued)
        f |= Qt::ItemIsDragEnabled;
    return f;
}

Qt::DropActions QueueModel::supportedDropActions() const {
    return Qt::MoveAction;
}

Qt::DropActions QueueModel::supportedDragActions() const {
    return Qt::MoveAction;
}

QStringList QueueModel::mimeTypes() const {
    return {mimeType()};
}

QMimeData* QueueModel::mimeData(const QModelIndexList& indexes) const {
    QList<int> rows;
    for (const QModelIndex& index : indexes) {
        if (index.isValid() && m_jobs.value(index.row()).state == kQueued && !rows.contains(index.row()))
            rows.append(index.row());
    }
    if (rows.isEmpty())
        return nullptr;
    std::sort(rows.begin(), rows.end());
    QStringList ids;
    for (int row : rows)
        ids << QString::number(m_jobs[row].id);
    auto* mime = new QMimeData;
    mime->setData(mimeType(), ids.join(QLatin1Char('\n')).toUtf8());
    return mime;
}

bool QueueModel::canDropMimeData(const QMimeData* data, Qt::DropAction action, int, int,
                                 const QModelIndex& parent) const {
    return data && data->hasFormat(mimeType()) && action == Qt::MoveAction && !parent.isValid();
}

bool QueueModel::dropMimeData(const QMimeData* data, Qt::DropAction action, int row, int column,
                              const QModelIndex& parent) {
    if (!canDropMimeData(data, action, row, column, parent))
        return false;
    QSet<qint64> dragged;
    for (const QByteArray& line : data->data(mimeType()).split('\n')) {
        bool ok = false;
        const qint64 id = line.trimmed().toLongLong(&ok);
        if (ok)
            dragged.insert(id);
    }
    // Only queued jobs move; they keep their relative order.
    QList<qint64> moved;
    QList<qint64> order;
    for (const JobView& j : std::as_const(m_jobs)) {
        order.append(j.id);
        if (dragged.contains(j.id) && j.state == kQueued)
            moved.append(j.id);
    }
    if (moved.isEmpty())
        return false;
    qint64 beforeId = -1;
    const QSet<qint64> movedSet(moved.begin(), moved.end());
    for (qsizetype r = row < 0 ? m_jobs.size() : row; r < m_jobs.size(); ++r) {
        if (!movedSet.contains(m_jobs[r].id)) {
            beforeId = m_jobs[r].id;
            break;
        }
    }
    if (orderAfterMove(order, moved, beforeId) == order)
        return false; // dropped where the jobs already are
    // The app may answer each request with setJobs (a reset) before the next: work on copies.
    for (qint64 id : std::as_const(moved))
        Q_EMIT moveRequested(id, beforeId);
    return true;
}

bool QueueModel::removeRows(int, int, const QModelIndex&) {
    return false;
}

} // namespace charaforge::ui
