#include "ui/queue_model.h"

#include "ui/job_states.h"

#include <QFileInfo>
#include <QFont>
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
    if (state == QStringLiteral("paused"))
        return QueueModel::tr("paused");
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

const QString kPaused = QStringLiteral("paused");

// "style watercolor · seed 2": a job's values named by its group's axes.
QString axisText(const JobView& j, const std::optional<GroupView>& group) {
    QStringList parts;
    for (qsizetype i = 0; i < j.axisValues.size(); ++i) {
        const QString name = group ? group->axisNames.value(i) : QString();
        parts << (name.isEmpty() ? j.axisValues[i] : QStringLiteral("%1 %2").arg(name, j.axisValues[i]));
    }
    return parts.join(QStringLiteral(" · "));
}

// The state a group row shows: running while one job runs, then queued (or paused), failed, done.
QString groupState(const QueueModel::GroupCounts& c, bool paused) {
    if (c.running > 0)
        return kRunning;
    if (c.queued > 0)
        return paused ? kPaused : kQueued;
    if (c.failed > 0)
        return kFailed;
    return c.done > 0 ? kDone : kCancelled;
}

} // namespace

QueueModel::QueueModel(QObject* parent) : QAbstractItemModel(parent) {}

QString QueueModel::mimeType() {
    return QStringLiteral("application/x-charaforge-job-ids");
}

QList<QueueModel::Node> QueueModel::nodesFor(const QList<JobView>& jobs) const {
    QSet<QString> known;
    for (const GroupView& g : m_groups)
        known.insert(g.id);
    QList<Node> nodes;
    QHash<QString, qsizetype> nodeOfGroup;
    for (qsizetype i = 0; i < jobs.size(); ++i) {
        const QString& group = jobs[i].group;
        if (group.isEmpty() || !known.contains(group)) {
            nodes.append(Node{QString(), {static_cast<int>(i)}});
            continue;
        }
        auto it = nodeOfGroup.constFind(group);
        if (it == nodeOfGroup.constEnd()) {
            it = nodeOfGroup.insert(group, nodes.size());
            nodes.append(Node{group, {}});
        }
        nodes[*it].rows.append(static_cast<int>(i));
    }
    return nodes;
}

void QueueModel::setJobs(const QList<JobView>& jobs, const QList<GroupView>& groups) {
    bool sameOrder = jobs.size() == m_jobs.size();
    for (qsizetype i = 0; sameOrder && i < jobs.size(); ++i)
        sameOrder = jobs[i].id == m_jobs[i].id;
    const QList<GroupView> oldGroups = m_groups;
    m_groups = groups;
    const QList<Node> nodes = nodesFor(jobs);
    sameOrder = sameOrder && nodes == m_nodes;
    if (!sameOrder)
        m_groups = oldGroups; // until the reset begins

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
        if (!m_nodes.isEmpty())
            Q_EMIT dataChanged(index(0, 0), index(static_cast<int>(m_nodes.size()) - 1, ColumnCount - 1));
        for (qsizetype n = 0; n < m_nodes.size(); ++n) {
            if (m_nodes[n].group.isEmpty())
                continue;
            const QModelIndex parent = index(static_cast<int>(n), 0);
            Q_EMIT dataChanged(index(0, 0, parent),
                               index(static_cast<int>(m_nodes[n].rows.size()) - 1, ColumnCount - 1, parent));
        }
        return;
    }
    beginResetModel();
    m_jobs = jobs;
    m_groups = groups;
    m_nodes = nodes;
    m_live = live;
    endResetModel();
}

bool QueueModel::setJobProgress(qint64 id, int step, int total, const QString& eta, const QString& device) {
    const int row = rowOf(id);
    if (row < 0)
        return false;
    m_live.insert(id, Live{step, total, eta, device});
    const QModelIndex at = indexOf(id);
    Q_EMIT dataChanged(at, at.siblingAtColumn(ColumnCount - 1));
    if (at.parent().isValid()) // the group's running count
        Q_EMIT dataChanged(at.parent(), at.parent().siblingAtColumn(ColumnCount - 1));
    return true;
}

bool QueueModel::setThumbnail(qint64 id, const QImage& image) {
    const int row = rowOf(id);
    if (row < 0 || image.isNull())
        return false;
    m_thumbnails.insert(id, QPixmap::fromImage(image.scaled(kThumbnailSize, kThumbnailSize, Qt::KeepAspectRatio,
                                                            Qt::SmoothTransformation)));
    const QModelIndex at = indexOf(id, TitleColumn);
    Q_EMIT dataChanged(at, at, {Qt::DecorationRole});
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

QModelIndex QueueModel::indexOf(qint64 id, int column) const {
    const int row = rowOf(id);
    if (row < 0)
        return {};
    for (qsizetype n = 0; n < m_nodes.size(); ++n) {
        const qsizetype child = m_nodes[n].rows.indexOf(row);
        if (child < 0)
            continue;
        if (m_nodes[n].group.isEmpty())
            return index(static_cast<int>(n), column);
        return index(static_cast<int>(child), column, index(static_cast<int>(n), 0));
    }
    return {};
}

QModelIndex QueueModel::groupIndex(const QString& id, int column) const {
    for (qsizetype n = 0; n < m_nodes.size(); ++n)
        if (!id.isEmpty() && m_nodes[n].group == id)
            return index(static_cast<int>(n), column);
    return {};
}

bool QueueModel::isGroup(const QModelIndex& index) const {
    return index.isValid() && index.internalId() == 0 && index.row() < m_nodes.size() &&
           !m_nodes[index.row()].group.isEmpty();
}

QList<qint64> QueueModel::groupJobs(const QString& id) const {
    QList<qint64> ids;
    for (const Node& n : m_nodes)
        if (!id.isEmpty() && n.group == id)
            for (int row : n.rows)
                ids.append(m_jobs[row].id);
    return ids;
}

QueueModel::GroupCounts QueueModel::groupCounts(const QString& id) const {
    GroupCounts c;
    for (qint64 job : groupJobs(id)) {
        const QString& state = m_jobs[rowOf(job)].state;
        ++c.total;
        c.queued += state == kQueued;
        c.running += state == kRunning;
        c.done += state == kDone;
        c.failed += state == kFailed;
        c.cancelled += state == kCancelled;
    }
    return c;
}

std::optional<GroupView> QueueModel::group(const QString& id) const {
    for (const GroupView& g : m_groups)
        if (g.id == id)
            return g;
    return std::nullopt;
}

const JobView* QueueModel::jobOf(const QModelIndex& index) const {
    if (!index.isValid())
        return nullptr;
    if (index.internalId() == 0) {
        if (index.row() >= m_nodes.size() || !m_nodes[index.row()].group.isEmpty())
            return nullptr;
        return &m_jobs[m_nodes[index.row()].rows.front()];
    }
    const qsizetype n = static_cast<qsizetype>(index.internalId()) - 1;
    if (n >= m_nodes.size() || index.row() >= m_nodes[n].rows.size())
        return nullptr;
    return &m_jobs[m_nodes[n].rows[index.row()]];
}

// A top-level row has internal id 0; a group's child has its group's row + 1.
QModelIndex QueueModel::index(int row, int column, const QModelIndex& parent) const {
    if (row < 0 || column < 0 || column >= ColumnCount)
        return {};
    if (!parent.isValid())
        return row < m_nodes.size() ? createIndex(row, column, quintptr(0)) : QModelIndex();
    if (!isGroup(parent) || row >= m_nodes[parent.row()].rows.size())
        return {};
    return createIndex(row, column, quintptr(parent.row() + 1));
}

QModelIndex QueueModel::parent(const QModelIndex& child) const {
    if (!child.isValid() || child.internalId() == 0)
        return {};
    return createIndex(static_cast<int>(child.internalId() - 1), 0, quintptr(0));
}

int QueueModel::rowCount(const QModelIndex& parent) const {
    if (!parent.isValid())
        return static_cast<int>(m_nodes.size());
    return isGroup(parent) && parent.column() == 0 ? static_cast<int>(m_nodes[parent.row()].rows.size()) : 0;
}

int QueueModel::columnCount(const QModelIndex&) const {
    return ColumnCount;
}

QString QueueModel::progressText(const JobView& j) const {
    if (j.state == kRunning) {
        int step = j.stepsDone;
        int total = j.steps;
        QString eta, device;
        auto it = m_live.constFind(j.id);
        if (it != m_live.constEnd()) {
            step = it->step;
            total = it->total;
            eta = it->eta;
            device = it->device;
        }
        const int percent = total > 0 ? std::clamp(step * 100 / total, 0, 100) : 0;
        QString text = tr("%1/%2 · %3%").arg(step).arg(total).arg(percent);
        if (!eta.isEmpty())
            text += tr(" · ETA %1").arg(eta);
        return device.isEmpty() ? text : tr("%1 · %2").arg(device, text);
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
        } else if (state == kPaused) {
            p.drawLine(QPointF(6.5, 5), QPointF(6.5, 11));
            p.drawLine(QPointF(9.5, 5), QPointF(9.5, 11));
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
    if (isGroup(index))
        return groupData(m_nodes[index.row()], index.column(), role);
    const JobView* row = jobOf(index);
    if (!row)
        return {};
    const JobView j = job(rowOf(row->id));
    const bool inGroup = index.parent().isValid();
    switch (role) {
    case IdRole:
        return j.id;
    case GroupRole:
        return QString();
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
            // Under its group a job is told apart by its values on the group's axes.
            return inGroup && !j.axisValues.isEmpty() ? axisText(j, group(j.group)) : j.title;
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
        if (j.state == kQueued && !j.memoryFit.isEmpty())
            lines << tr("Memory: %1").arg(j.memoryFit);
        return lines.join(QLatin1Char('\n'));
    }
    default:
        return {};
    }
}

QVariant QueueModel::groupData(const Node& node, int column, int role) const {
    const GroupView g = group(node.group).value_or(GroupView{node.group, {}, {}, false});
    const GroupCounts c = groupCounts(node.group);
    const QString state = groupState(c, g.paused);
    const QString title = g.label.isEmpty() ? g.axisNames.join(QStringLiteral(" × ")) : g.label;
    switch (role) {
    case GroupRole:
        return g.id;
    case StateRole:
        return state;
    case ProgressRole:
        return c.total > 0 ? c.done * 100 / c.total : 0;
    case Qt::DisplayRole:
        switch (column) {
        case StateColumn:
            return stateWord(state);
        case TitleColumn:
            return c.total == 1 ? tr("%1 · 1 job").arg(title) : tr("%1 · %2 jobs").arg(title).arg(c.total);
        case ProgressColumn: {
            QString text = tr("%1/%2 done").arg(c.done).arg(c.total);
            if (c.running > 0)
                text += tr(" · %1 running").arg(c.running);
            if (c.failed > 0)
                text += tr(" · %1 failed").arg(c.failed);
            return text;
        }
        default:
            return {};
        }
    case Qt::DecorationRole:
        return column == StateColumn ? QVariant(stateIcon(state)) : QVariant();
    case Qt::FontRole: {
        if (column != TitleColumn)
            return {};
        QFont bold;
        bold.setBold(true);
        return bold;
    }
    case Qt::ToolTipRole: {
        QStringList lines{tr("Group %1: %2").arg(g.id, title)};
        if (!g.axisNames.isEmpty())
            lines << tr("Axes: %1").arg(g.axisNames.join(QStringLiteral(" × ")));
        lines << tr("%1 of %2 done, %3 running, %4 queued").arg(c.done).arg(c.total).arg(c.running).arg(c.queued);
        if (c.failed > 0 || c.cancelled > 0)
            lines << tr("%1 failed, %2 cancelled").arg(c.failed).arg(c.cancelled);
        if (g.paused)
            lines << tr("Paused: its queued jobs wait until the group resumes");
        return lines.join(QLatin1Char('\n'));
    }
    default:
        return {};
    }
}

QVariant QueueModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractItemModel::headerData(section, orientation, role);
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
    if (isGroup(index)) {
        Qt::ItemFlags f = Qt::ItemIsEnabled | Qt::ItemIsSelectable;
        if (groupCounts(m_nodes[index.row()].group).queued > 0)
            f |= Qt::ItemIsDragEnabled;
        return f;
    }
    const JobView* j = jobOf(index);
    Qt::ItemFlags f = Qt::ItemIsEnabled | Qt::ItemIsSelectable | Qt::ItemNeverHasChildren;
    if (j && j->state == kQueued)
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
    QList<int> rows; // positions in m_jobs; a group row drags its queued jobs
    auto take = [&](qint64 id) {
        const int row = rowOf(id);
        if (row >= 0 && m_jobs[row].state == kQueued && !rows.contains(row))
            rows.append(row);
    };
    for (const QModelIndex& index : indexes) {
        if (isGroup(index)) {
            for (qint64 id : groupJobs(m_nodes[index.row()].group))
                take(id);
        } else if (const JobView* j = jobOf(index)) {
            take(j->id);
        }
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
    // Before the first job not dragged of the top-level rows from `row` on.
    qint64 beforeId = -1;
    const QSet<qint64> movedSet(moved.begin(), moved.end());
    for (qsizetype r = row < 0 ? m_nodes.size() : row; r < m_nodes.size() && beforeId < 0; ++r) {
        for (int jobRow : m_nodes[r].rows) {
            if (!movedSet.contains(m_jobs[jobRow].id)) {
                beforeId = m_jobs[jobRow].id;
                break;
            }
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
