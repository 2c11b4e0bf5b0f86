#include "queue/group_store.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRandomGenerator>
#include <QSqlError>
#include <QSqlQuery>
#include <QVariant>

#include <atomic>

namespace charaforge::queue {

namespace {

[[noreturn]] void storeFail(const QString& path, const QSqlQuery& q, const QString& what) {
    throw StoreError(QStringLiteral("queue: %1: %2 failed: %3").arg(path, what, q.lastError().text()).toStdString());
}

void exec(QSqlQuery& q, const QString& path, const QString& sql) {
    if (!q.exec(sql))
        storeFail(path, q, sql);
}

void execPrepared(QSqlQuery& q, const QString& path) {
    if (!q.exec())
        storeFail(path, q, q.lastQuery());
}

QSqlQuery prepared(const QSqlDatabase& db, const QString& path, const QString& sql) {
    QSqlQuery q(db);
    if (!q.prepare(sql))
        storeFail(path, q, QStringLiteral("prepare '%1'").arg(sql));
    return q;
}

bool hasColumn(const QSqlDatabase& db, const QString& table, const QString& column) {
    QSqlQuery q(db);
    q.exec(QStringLiteral("PRAGMA table_info(%1)").arg(table));
    while (q.next())
        if (q.value(1).toString() == column)
            return true;
    return false;
}

QString valuesJson(const QStringList& values) {
    return QString::fromUtf8(QJsonDocument(QJsonArray::fromStringList(values)).toJson(QJsonDocument::Compact));
}

QStringList valuesFromJson(const QString& json) {
    QStringList out;
    for (const auto& v : QJsonDocument::fromJson(json.toUtf8()).array())
        out << v.toString();
    return out;
}

// BEGIN IMMEDIATE ... COMMIT on our connection (rolls back when left by an exception).
class WriteTx {
public:
    WriteTx(const QSqlDatabase& db, const QString& path) : m_db(db), m_path(path) {
        QSqlQuery q(m_db);
        exec(q, m_path, QStringLiteral("BEGIN IMMEDIATE"));
    }
    ~WriteTx() {
        if (!m_done) {
            QSqlQuery q(m_db);
            q.exec(QStringLiteral("ROLLBACK"));
        }
    }
    void commit() {
        QSqlQuery q(m_db);
        exec(q, m_path, QStringLiteral("COMMIT"));
        m_done = true;
    }

private:
    QSqlDatabase m_db;
    QString m_path;
    bool m_done = false;
};

} // namespace

void ensureGroupSchema(const QSqlDatabase& db, const QString& path) {
    QSqlQuery q(db);
    exec(q, path,
         QStringLiteral("CREATE TABLE IF NOT EXISTS groups(id TEXT PRIMARY KEY, label TEXT NOT NULL, "
                        "axes TEXT NOT NULL, parent_image INTEGER NOT NULL DEFAULT 0, "
                        "paused INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL)"));
    if (!hasColumn(db, QStringLiteral("jobs"), QStringLiteral("axis_values")))
        exec(q, path, QStringLiteral("ALTER TABLE jobs ADD COLUMN axis_values TEXT NOT NULL DEFAULT ''"));
    if (!hasColumn(db, QStringLiteral("jobs"), QStringLiteral("held")))
        exec(q, path, QStringLiteral("ALTER TABLE jobs ADD COLUMN held INTEGER NOT NULL DEFAULT 0"));
    exec(q, path, QStringLiteral("CREATE INDEX IF NOT EXISTS jobs_grp ON jobs(grp)"));
}

QStringList GroupInfo::axisNames() const {
    QStringList names;
    for (const auto& a : axes)
        names << a.name();
    return names;
}

GroupStore::GroupStore(JobStore& jobs) : m_jobs(jobs), m_path(jobs.path()) {
    static std::atomic<int> counter{0};
    m_connection = QStringLiteral("charaforge-groups-%1").arg(counter++);
    auto d = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), m_connection);
    d.setDatabaseName(m_path);
    d.setConnectOptions(QStringLiteral("QSQLITE_BUSY_TIMEOUT=15000"));
    if (!d.open())
        throw StoreError("queue: cannot open " + m_path.toStdString() + ": " + d.lastError().text().toStdString());
    QSqlQuery q(d);
    exec(q, m_path, QStringLiteral("PRAGMA synchronous=FULL"));
    WriteTx tx(d, m_path);
    ensureGroupSchema(d, m_path);
    tx.commit();
}

GroupStore::~GroupStore() {
    {
        auto d = QSqlDatabase::database(m_connection, false);
        d.close();
    }
    QSqlDatabase::removeDatabase(m_connection);
}

QSqlDatabase GroupStore::db() const {
    return QSqlDatabase::database(m_connection);
}

QString GroupStore::create(const Expansion& expansion, const QList<VariantAxis>& axes, const QString& label,
                           qint64 parentImage) {
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    const QString id = QStringLiteral("g-%1-%2").arg(now).arg(QRandomGenerator::global()->generate() % 100000, 5, 10,
                                                              QLatin1Char('0'));
    {
        WriteTx tx(db(), m_path);
        auto q = prepared(db(), m_path,
                          QStringLiteral("INSERT INTO groups(id, label, axes, parent_image, created) "
                                         "VALUES (?, ?, ?, ?, ?)"));
        q.addBindValue(id);
        q.addBindValue(label.isNull() ? QStringLiteral("") : label);
        q.addBindValue(axesToJson(axes));
        q.addBindValue(parentImage);
        q.addBindValue(now);
        execPrepared(q, m_path);
        tx.commit();
    }
    QList<JobSpec> specs;
    for (const auto& v : expansion.variants)
        specs.push_back(v.spec);
    const auto ids = m_jobs.add(specs, id);
    WriteTx tx(db(), m_path);
    auto q = prepared(db(), m_path, QStringLiteral("UPDATE jobs SET axis_values = ? WHERE id = ?"));
    for (int i = 0; i < ids.size(); ++i) {
        q.addBindValue(valuesJson(expansion.variants[i].axisValues));
        q.addBindValue(ids[i]);
        execPrepared(q, m_path);
    }
    tx.commit();
    return id;
}

namespace {

GroupInfo groupFrom(const QSqlQuery& q) {
    GroupInfo g;
    g.id = q.value(0).toString();
    g.label = q.value(1).toString();
    try {
        g.axes = axesFromJson(q.value(2).toString());
    } catch (const VariantError&) {
        g.axes.clear(); // a damaged row still lists; its jobs keep their own values
    }
    g.parentImage = q.value(3).toLongLong();
    g.paused = q.value(4).toInt() != 0;
    g.created = q.value(5).toLongLong();
    return g;
}

const char* kGroupColumns = "id, label, axes, parent_image, paused, created";

} // namespace

QList<GroupInfo> GroupStore::groups() const {
    auto q = prepared(db(), m_path,
                      QStringLiteral("SELECT %1 FROM groups ORDER BY created, id").arg(QLatin1String(kGroupColumns)));
    execPrepared(q, m_path);
    QList<GroupInfo> out;
    while (q.next())
        out.push_back(groupFrom(q));
    return out;
}

std::optional<GroupInfo> GroupStore::group(const QString& id) const {
    auto q =
        prepared(db(), m_path, QStringLiteral("SELECT %1 FROM groups WHERE id = ?").arg(QLatin1String(kGroupColumns)));
    q.addBindValue(id);
    execPrepared(q, m_path);
    if (!q.next())
        return std::nullopt;
    return groupFrom(q);
}

void GroupStore::requireGroup(const QString& id) const {
    if (!group(id))
        throw StoreError(QStringLiteral("queue: %1: no group %2").arg(m_path, id).toStdString());
}

QList<GroupMember> GroupStore::members(const QString& id) const {
    auto q = prepared(db(), m_path, QStringLiteral("SELECT id, axis_values FROM jobs WHERE grp = ? ORDER BY position"));
    q.addBindValue(id);
    execPrepared(q, m_path);
    QList<GroupMember> out;
    while (q.next())
        out.push_back({q.value(0).toLongLong(), valuesFromJson(q.value(1).toString())});
    return out;
}

QStringList GroupStore::axisValues(qint64 jobId) const {
    auto q = prepared(db(), m_path, QStringLiteral("SELECT axis_values FROM jobs WHERE id = ?"));
    q.addBindValue(jobId);
    execPrepared(q, m_path);
    return q.next() ? valuesFromJson(q.value(0).toString()) : QStringList{};
}

GroupProgress GroupStore::progress(const QString& id) const {
    auto q = prepared(db(), m_path, QStringLiteral("SELECT state, COUNT(*) FROM jobs WHERE grp = ? GROUP BY state"));
    q.addBindValue(id);
    execPrepared(q, m_path);
    GroupProgress p;
    while (q.next()) {
        const int n = q.value(1).toInt();
        p.total += n;
        switch (parseState(q.value(0).toString()).value_or(JobState::Failed)) {
        case JobState::Queued:
            p.queued += n;
            break;
        case JobState::Running:
            p.running += n;
            break;
        case JobState::Done:
            p.done += n;
            break;
        case JobState::Failed:
            p.failed += n;
            break;
        case JobState::Cancelled:
            p.cancelled += n;
            break;
        }
    }
    return p;
}

void GroupStore::setPaused(const QString& id, bool paused) {
    requireGroup(id);
    WriteTx tx(db(), m_path);
    auto g = prepared(db(), m_path, QStringLiteral("UPDATE groups SET paused = ? WHERE id = ?"));
    g.addBindValue(paused ? 1 : 0);
    g.addBindValue(id);
    execPrepared(g, m_path);
    auto j = prepared(db(), m_path, QStringLiteral("UPDATE jobs SET held = ? WHERE grp = ?"));
    j.addBindValue(paused ? 1 : 0);
    j.addBindValue(id);
    execPrepared(j, m_path);
    tx.commit();
}

void GroupStore::cancel(const QString& id) {
    requireGroup(id);
    QList<qint64> ids;
    for (const auto& job : m_jobs.jobs())
        if (job.group == id && (job.state == JobState::Queued || job.state == JobState::Running))
            ids.push_back(job.id);
    if (!ids.isEmpty())
        m_jobs.cancel(ids);
}

void GroupStore::move(const QString& id, qint64 beforeId) {
    requireGroup(id);
    QList<qint64> queued;
    for (const auto& job : m_jobs.jobs())
        if (job.group == id && job.state == JobState::Queued)
            queued.push_back(job.id);
    if (queued.contains(beforeId))
        throw StoreError(QStringLiteral("queue: %1: group %2 cannot move before its own job %3")
                             .arg(m_path, id)
                             .arg(beforeId)
                             .toStdString());
    // Each job goes before `beforeId` in turn, so the group keeps its order and ends contiguous.
    for (auto job : queued)
        m_jobs.move(job, beforeId);
}

} // namespace charaforge::queue
