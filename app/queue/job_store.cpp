#include "queue/job_store.h"

#include "queue/batcher.h"
#include "queue/group_store.h"
#include "queue/job_request.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QStandardPaths>
#include <QSysInfo>
#include <QUuid>
#include <QVariant>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <unistd.h>

namespace charaforge::queue {

namespace {

// 3: erase jobs (kind, source_image, mask, strategy). An older CharaForge refuses the file rather than run an
// erase job as a generation with an empty prompt.
constexpr int kSchemaVersion = 3;

// A job whose worker died this many times in a row while running it, without saving progress, is failed
// instead of queued again: a job that crashes every worker that takes it must not block the queue forever.
constexpr int kMaxWorkerDeaths = 3;

const char* kSchema[] = {
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS jobs("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " position REAL NOT NULL,"
    " state TEXT NOT NULL CHECK(state IN ('queued','running','done','failed','cancelled')),"
    " prompt TEXT NOT NULL, negative TEXT NOT NULL,"
    " width INTEGER NOT NULL, height INTEGER NOT NULL, steps INTEGER NOT NULL, sampler TEXT NOT NULL,"
    " cfg REAL NOT NULL, cfg_trunc REAL NOT NULL, renorm REAL NOT NULL, shift REAL NOT NULL,"
    " seed INTEGER NOT NULL, model TEXT NOT NULL, output_dir TEXT NOT NULL,"
    " grp TEXT NOT NULL DEFAULT '', attempts INTEGER NOT NULL DEFAULT 0,"
    " owner TEXT NOT NULL DEFAULT '', heartbeat INTEGER NOT NULL DEFAULT 0,"
    " steps_done INTEGER NOT NULL DEFAULT 0, output_path TEXT NOT NULL DEFAULT '',"
    " message TEXT NOT NULL DEFAULT '', created INTEGER NOT NULL, finished INTEGER NOT NULL DEFAULT 0,"
    " worker_deaths INTEGER NOT NULL DEFAULT 0, claim_steps INTEGER NOT NULL DEFAULT 0,"
    " revision INTEGER NOT NULL DEFAULT 0, kind TEXT NOT NULL DEFAULT 'generate',"
    " source_image TEXT NOT NULL DEFAULT '', mask TEXT NOT NULL DEFAULT '', strategy TEXT NOT NULL DEFAULT '')",
    "CREATE INDEX IF NOT EXISTS jobs_state_position ON jobs(state, position)",
    "CREATE TABLE IF NOT EXISTS checkpoints("
    " job_id INTEGER PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,"
    " step INTEGER NOT NULL, channels INTEGER NOT NULL, height INTEGER NOT NULL, width INTEGER NOT NULL,"
    " latent BLOB NOT NULL)",
};

// Every change of a job but its heartbeat bumps the queue's revision and stamps the row with it: views
// re-read only the rows that changed, and nothing at all for heartbeats.
const char* kTriggers[] = {
    "INSERT OR IGNORE INTO meta(key, value) VALUES ('revision', '0')",
    "CREATE TRIGGER IF NOT EXISTS jobs_revision_insert AFTER INSERT ON jobs BEGIN"
    " UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'revision';"
    " UPDATE jobs SET revision = (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'revision') WHERE id = NEW.id;"
    " END",
    "CREATE TRIGGER IF NOT EXISTS jobs_revision_update AFTER UPDATE OF position, state, prompt, negative, width,"
    " height, steps, sampler, cfg, cfg_trunc, renorm, shift, seed, model, output_dir, grp, attempts, owner,"
    " steps_done, output_path, message, finished, worker_deaths ON jobs BEGIN"
    " UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'revision';"
    " UPDATE jobs SET revision = (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'revision') WHERE id = NEW.id;"
    " END",
    "CREATE TRIGGER IF NOT EXISTS jobs_revision_delete AFTER DELETE ON jobs BEGIN"
    " UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'revision';"
    " END",
};

const char* kJobColumns = "id, position, state, prompt, negative, width, height, steps, sampler, cfg, cfg_trunc, "
                          "renorm, shift, seed, model, output_dir, grp, attempts, owner, steps_done, output_path, "
                          "message, created, finished, heartbeat, worker_deaths, revision, kind, source_image, mask, "
                          "strategy";

// SQLite binds a null QString as NULL; our text columns are NOT NULL and empty text is a value.
QVariant text(const QString& s) {
    return s.isNull() ? QVariant(QStringLiteral("")) : QVariant(s);
}

qint64 nowMs() {
    return QDateTime::currentMSecsSinceEpoch();
}

QString idList(const QList<qint64>& ids) {
    QStringList parts;
    for (auto id : ids)
        parts << QString::number(id);
    return parts.join(QLatin1Char(','));
}

Job jobFrom(const QSqlQuery& q) {
    Job j;
    int c = 0;
    j.id = q.value(c++).toLongLong();
    j.position = q.value(c++).toDouble();
    j.state = parseState(q.value(c++).toString()).value_or(JobState::Failed);
    j.spec.prompt = q.value(c++).toString();
    j.spec.negative = q.value(c++).toString();
    j.spec.width = q.value(c++).toInt();
    j.spec.height = q.value(c++).toInt();
    j.spec.steps = q.value(c++).toInt();
    j.spec.sampler = q.value(c++).toString();
    j.spec.cfg = q.value(c++).toDouble();
    j.spec.cfgTrunc = q.value(c++).toDouble();
    j.spec.renorm = q.value(c++).toDouble();
    j.spec.shift = q.value(c++).toDouble();
    j.spec.seed = q.value(c++).toLongLong();
    j.spec.model = q.value(c++).toString();
    j.spec.outputDir = q.value(c++).toString();
    j.group = q.value(c++).toString();
    j.attempts = q.value(c++).toInt();
    j.owner = q.value(c++).toString();
    j.stepsDone = q.value(c++).toInt();
    j.outputPath = q.value(c++).toString();
    j.message = q.value(c++).toString();
    j.created = q.value(c++).toLongLong();
    j.finished = q.value(c++).toLongLong();
    j.heartbeat = q.value(c++).toLongLong();
    j.workerDeaths = q.value(c++).toInt();
    j.revision = q.value(c++).toLongLong();
    j.spec.kind = parseKind(q.value(c++).toString()).value_or(JobKind::Generate);
    j.spec.image = q.value(c++).toString();
    j.spec.mask = q.value(c++).toString();
    j.spec.strategy = q.value(c++).toString();
    return j;
}

} // namespace

QString stateName(JobState s) {
    switch (s) {
    case JobState::Queued:
        return QStringLiteral("queued");
    case JobState::Running:
        return QStringLiteral("running");
    case JobState::Done:
        return QStringLiteral("done");
    case JobState::Failed:
        return QStringLiteral("failed");
    case JobState::Cancelled:
        return QStringLiteral("cancelled");
    }
    return QStringLiteral("failed");
}

QString kindName(JobKind k) {
    return k == JobKind::Erase ? QStringLiteral("erase") : QStringLiteral("generate");
}

std::optional<JobKind> parseKind(const QString& name) {
    for (auto k : {JobKind::Generate, JobKind::Erase})
        if (kindName(k) == name)
            return k;
    return std::nullopt;
}

std::optional<JobState> parseState(const QString& name) {
    for (auto s : {JobState::Queued, JobState::Running, JobState::Done, JobState::Failed, JobState::Cancelled})
        if (stateName(s) == name)
            return s;
    return std::nullopt;
}

// "queue: PATH: cannot WHAT: REASON", with SQLite's own reason but never our SQL text.
static StoreError storeError(const QString& path, const char* what, const QSqlError& e) {
    bool ok = false;
    const int code = e.nativeErrorCode().toInt(&ok) & 0xff; // primary result code of an extended one
    // SQLITE_BUSY, SQLITE_LOCKED, SQLITE_NOMEM, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_PROTOCOL:
    // another process holds the lock, the disk is full or flaky. Waiting may help; the data is intact.
    const bool transient =
        ok && (code == 5 || code == 6 || code == 7 || code == 10 || code == 13 || code == 14 || code == 15);
    QString reason = e.databaseText().isEmpty() ? e.text() : e.databaseText();
    if (ok && (code == 5 || code == 6))
        reason = QStringLiteral("the database is locked by another process (%1)").arg(reason);
    else if (ok && code == 13)
        reason = QStringLiteral("the disk is full (%1)").arg(reason);
    return StoreError("queue: " + path.toStdString() + ": cannot " + what + ": " + reason.toStdString(), transient);
}

// One write transaction. BEGIN IMMEDIATE takes the write lock up front, so two processes never both read
// a queued job and then both claim it, and the busy timeout applies instead of an upgrade deadlock.
class Transaction {
public:
    Transaction(const QSqlDatabase& db, const QString& path, const char* what) : m_db(db), m_path(path), m_what(what) {
        exec("BEGIN IMMEDIATE");
    }
    ~Transaction() {
        if (!m_done) {
            QSqlQuery q(m_db);
            q.exec(QStringLiteral("ROLLBACK"));
        }
    }
    void commit() {
        exec("COMMIT");
        m_done = true;
    }

private:
    void exec(const char* sql) {
        QSqlQuery q(m_db);
        if (!q.exec(QString::fromLatin1(sql)))
            throw storeError(m_path, m_what, q.lastError());
    }
    QSqlDatabase m_db;
    QString m_path;
    const char* m_what;
    bool m_done = false;
};

namespace {

QSqlQuery prepare(const QSqlDatabase& db, const QString& path, const char* what, const QString& sql) {
    QSqlQuery q(db);
    if (!q.prepare(sql))
        throw storeError(path, what, q.lastError());
    return q;
}

void run(QSqlQuery& q, const QString& path, const char* what) {
    if (!q.exec())
        throw storeError(path, what, q.lastError());
}

void run(QSqlQuery& q, const QString& path, const char* what, const QString& sql) {
    if (!q.exec(sql))
        throw storeError(path, what, q.lastError());
}

} // namespace

JobStore::JobStore(const QString& path, int busyTimeoutMs) : m_path(path) {
    // SQLite reads these names as a private in-memory or URI database: a job queued there vanishes when the
    // process ends, and no worker or window sees it.
    if (path.isEmpty() || path == QStringLiteral(":memory:") || path.startsWith(QStringLiteral("file:")))
        throw StoreError("queue: '" + path.toStdString() +
                         "' is not a queue file (an in-memory or URI database would lose its jobs when the command "
                         "ends); give the path of a file");
    static std::atomic<int> counter{0};
    m_connection = QStringLiteral("charaforge-queue-%1").arg(counter++);
    const QFileInfo info(path);
    if (info.exists() && !info.isFile())
        throw StoreError("queue: " + path.toStdString() + " is not a regular file");
    m_created = !info.exists();
    if (!QDir().mkpath(info.absolutePath()))
        throw StoreError("queue: cannot create the folder of " + path.toStdString());
    auto db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), m_connection);
    if (!db.isValid())
        throw StoreError("queue: the Qt SQLite driver is missing (install libqt6sql6-sqlite)");
    db.setDatabaseName(path);
    db.setConnectOptions(QStringLiteral("QSQLITE_BUSY_TIMEOUT=%1").arg(std::max(0, busyTimeoutMs)));
    if (!db.open())
        throw StoreError("queue: cannot open " + path.toStdString() + ": " + db.lastError().text().toStdString());
    QSqlQuery q(db);
    // WAL lets the GUI read while a worker writes; FULL sync makes every committed state change survive a
    // crash or power loss.
    for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"})
        if (!q.exec(QString::fromLatin1(pragma)))
            throw storeError(path, "open the queue", q.lastError());
    Transaction tx(db, m_path, "open the queue");
    for (const char* sql : kSchema)
        if (!q.exec(QString::fromLatin1(sql)))
            throw StoreError("queue: " + path.toStdString() + ": not a CharaForge queue database (" +
                             q.lastError().text().toStdString() + ")");
    q.exec(QStringLiteral("SELECT value FROM meta WHERE key = 'schema'"));
    const int schema = q.next() ? q.value(0).toInt() : 0;
    if (schema > kSchemaVersion)
        throw StoreError("queue: " + path.toStdString() + " was written by a newer CharaForge (schema " +
                         std::to_string(schema) + ")");
    if (schema == 1) {
        // Schema 2 counts the worker deaths of a job (and the step it was claimed at, to tell progress).
        for (const char* sql : {"ALTER TABLE jobs ADD COLUMN worker_deaths INTEGER NOT NULL DEFAULT 0",
                                "ALTER TABLE jobs ADD COLUMN claim_steps INTEGER NOT NULL DEFAULT 0",
                                "ALTER TABLE jobs ADD COLUMN revision INTEGER NOT NULL DEFAULT 0"})
            if (!q.exec(QString::fromLatin1(sql)))
                throw storeError(path, "upgrade the queue", q.lastError());
    }
    if (schema >= 1 && schema < 3) {
        // Schema 3 holds erase jobs; the jobs already there are generations.
        for (const char* sql : {"ALTER TABLE jobs ADD COLUMN kind TEXT NOT NULL DEFAULT 'generate'",
                                "ALTER TABLE jobs ADD COLUMN source_image TEXT NOT NULL DEFAULT ''",
                                "ALTER TABLE jobs ADD COLUMN mask TEXT NOT NULL DEFAULT ''",
                                "ALTER TABLE jobs ADD COLUMN strategy TEXT NOT NULL DEFAULT ''"})
            if (!q.exec(QString::fromLatin1(sql)))
                throw storeError(path, "upgrade the queue", q.lastError());
    }
    for (const char* sql : kTriggers)
        if (!q.exec(QString::fromLatin1(sql)))
            throw storeError(path, "open the queue", q.lastError());
    if (schema < kSchemaVersion)
        q.exec(QStringLiteral("INSERT OR REPLACE INTO meta(key, value) VALUES ('schema', '%1')").arg(kSchemaVersion));
    // The queue's identity, written into every image record: an image left by another queue (or one that
    // was deleted) with the same job id is not taken for this queue's result.
    q.exec(QStringLiteral("SELECT value FROM meta WHERE key = 'queue_id'"));
    if (q.next()) {
        m_queueId = q.value(0).toString();
    } else {
        m_queueId = QUuid::createUuid().toString(QUuid::WithoutBraces);
        auto ins = prepare(db, m_path, "open the queue",
                           QStringLiteral("INSERT INTO meta(key, value) VALUES ('queue_id', ?)"));
        ins.addBindValue(m_queueId);
        run(ins, m_path, "open the queue");
    }
    ensureGroupSchema(db, m_path); // variant groups: added columns, so old queues stay readable
    tx.commit();
}

JobStore::~JobStore() {
    {
        auto db = QSqlDatabase::database(m_connection, false);
        db.close();
    }
    QSqlDatabase::removeDatabase(m_connection);
}

// A job the engine could not sample (invalid UTF-8 text, a non-finite number, a size, step count or seed out of
// range) never enters the queue: StoreError naming the field, and nothing is written.
static void checkSpec(const QString& path, const JobSpec& spec, const std::string& what) {
    const QStringList problems = specProblems(spec);
    if (!problems.isEmpty())
        throw StoreError("queue: " + path.toStdString() + ": " + what + ": " +
                         problems.join(QStringLiteral("; ")).toStdString());
}

QList<qint64> JobStore::add(const QList<JobSpec>& specs, const QString& group) {
    for (qsizetype i = 0; i < specs.size(); ++i)
        checkSpec(m_path, specs[i],
                  specs.size() == 1 ? std::string("job not queued")
                                    : "job " + std::to_string(i + 1) + " of " + std::to_string(specs.size()) +
                                          " not queued (nor the others)");
    auto db = QSqlDatabase::database(m_connection);
    Transaction tx(db, m_path, "add jobs");
    QSqlQuery last(db);
    run(last, m_path, "add jobs", QStringLiteral("SELECT COALESCE(MAX(position), 0) FROM jobs"));
    double position = last.next() ? last.value(0).toDouble() : 0.0;
    auto q =
        prepare(db, m_path, "add jobs",
                QStringLiteral("INSERT INTO jobs(position, state, prompt, negative, width, height, steps, sampler, "
                               "cfg, cfg_trunc, renorm, shift, seed, model, output_dir, grp, created, kind, "
                               "source_image, mask, strategy) "
                               "VALUES (?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    QList<qint64> ids;
    const qint64 now = nowMs();
    for (const auto& s : specs) {
        position += 1.0;
        q.addBindValue(position);
        q.addBindValue(text(s.prompt));
        q.addBindValue(text(s.negative));
        q.addBindValue(s.width);
        q.addBindValue(s.height);
        q.addBindValue(s.steps);
        q.addBindValue(text(s.sampler));
        q.addBindValue(s.cfg);
        q.addBindValue(s.cfgTrunc);
        q.addBindValue(s.renorm);
        q.addBindValue(s.shift);
        q.addBindValue(s.seed);
        q.addBindValue(text(s.model));
        q.addBindValue(text(s.outputDir));
        q.addBindValue(text(group));
        q.addBindValue(now);
        q.addBindValue(kindName(s.kind));
        q.addBindValue(text(s.image));
        q.addBindValue(text(s.mask));
        q.addBindValue(text(s.strategy));
        run(q, m_path, "add jobs");
        ids.push_back(q.lastInsertId().toLongLong());
    }
    tx.commit();
    return ids;
}

QList<Job> JobStore::jobs() const {
    auto db = QSqlDatabase::database(m_connection);
    auto q = prepare(db, m_path, "read the jobs",
                     QStringLiteral("SELECT %1 FROM jobs ORDER BY position").arg(QLatin1String(kJobColumns)));
    run(q, m_path, "read the jobs");
    QList<Job> out;
    while (q.next())
        out.push_back(jobFrom(q));
    return out;
}

std::optional<Job> JobStore::job(qint64 id) const {
    auto db = QSqlDatabase::database(m_connection);
    auto q = prepare(db, m_path, "read a job",
                     QStringLiteral("SELECT %1 FROM jobs WHERE id = ?").arg(QLatin1String(kJobColumns)));
    q.addBindValue(id);
    run(q, m_path, "read a job");
    if (!q.next())
        return std::nullopt;
    return jobFrom(q);
}

bool JobStore::paused() const {
    auto db = QSqlDatabase::database(m_connection);
    QSqlQuery q(db);
    run(q, m_path, "read the pause state", QStringLiteral("SELECT value FROM meta WHERE key = 'paused'"));
    return q.next() && q.value(0).toString() == QStringLiteral("1");
}

void JobStore::setPaused(bool paused) {
    auto db = QSqlDatabase::database(m_connection);
    Transaction tx(db, m_path, "pause or resume the queue");
    auto q = prepare(db, m_path, "pause or resume the queue",
                     QStringLiteral("INSERT OR REPLACE INTO meta(key, value) VALUES ('paused', ?)"));
    q.addBindValue(paused ? QStringLiteral("1") : QStringLiteral("0"));
    run(q, m_path, "pause or resume the queue");
    tx.commit();
}

QList<Job> JobStore::claimBatch(const QString& owner, const std::function<int(const Job&)>& limit) {
    auto db = QSqlDatabase::database(m_connection);
    Transaction tx(db, m_path, "claim jobs");
    QList<Job> queued;
    {
        QSqlQuery p(db);
        run(p, m_path, "claim jobs", QStringLiteral("SELECT value FROM meta WHERE key = 'paused'"));
        if (p.next() && p.value(0).toString() == QStringLiteral("1"))
            return {};
        auto q = prepare(db, m_path, "claim jobs",
                         QStringLiteral("SELECT %1 FROM jobs WHERE state = 'queued' AND held = 0 ORDER BY position")
                             .arg(QLatin1String(kJobColumns)));
        run(q, m_path, "claim jobs");
        while (q.next())
            queued.push_back(jobFrom(q));
    }
    if (queued.isEmpty())
        return {};
    const auto picked = selectBatch(queued, limit ? limit(queued.front()) : 1);
    auto q = prepare(db, m_path, "claim jobs",
                     QStringLiteral("UPDATE jobs SET state = 'running', owner = ?, heartbeat = ?, "
                                    "attempts = attempts + 1, claim_steps = steps_done, message = '' "
                                    "WHERE id = ? AND state = 'queued'"));
    QList<Job> claimed;
    for (int i : picked) {
        q.addBindValue(text(owner));
        q.addBindValue(nowMs());
        q.addBindValue(queued[i].id);
        run(q, m_path, "claim jobs");
        Job j = queued[i];
        j.state = JobState::Running;
        j.owner = owner;
        j.attempts += 1;
        claimed.push_back(j);
    }
    tx.commit();
    return claimed;
}

void JobStore::heartbeat(const QString& owner) {
    auto db = QSqlDatabase::database(m_connection);
    Transaction tx(db, m_path, "record the worker's heartbeat");
    auto q = prepare(db, m_path, "record the worker's heartbeat",
                     QStringLiteral("UPDATE jobs SET heartbeat = ? WHERE state = 'running' AND owner = ?"));
    q.addBindValue(nowMs());
    q.addBindValue(text(owner));
    run(q, m_path, "record the worker's heartbeat");
    tx.commit();
}

QList<qint64> JobStore::lostJobs(const QString& owner, const QList<qint64>& ids) const {
    if (ids.isEmpty())
        return {};
    auto db = QSqlDatabase::database(m_connection);
    auto q = prepare(
        db, m_path, "check the running jobs",
        QStringLiteral("SELECT id FROM jobs WHERE id IN (%1) AND state = 'running' AND owner = ?").arg(idList(ids)));
    q.addBindValue(text(owner));
    run(q, m_path, "check the running jobs");
    QList<qint64> still;
    while (q.next())
        still.push_back(q.value(0).toLongLong());
    QList<qint64> lost;
    for (auto id : ids)
        if (!still.contains(id))
            lost.push_back(id);
    return lost;
}

void JobStore::saveCheckpoint(qint64 id, const Checkpoint& c) {
    auto db = QSqlDatabase::database(m_connection);
    Transaction tx(db, m_path, "save a checkpoint");
    auto q = prepare(db, m_path, "save a checkpoint",
                     QStringLiteral("INSERT OR REPLACE INTO checkpoints(job_id, step, channels, height, width, latent) "
                                    "VALUES (?, ?, ?, ?, ?, ?)"));
    q.addBindValue(id);
    q.addBindValue(c.step);
    q.addBindValue(c.channels);
    q.addBindValue(c.height);
    q.addBindValue(c.width);
    q.addBindValue(c.latent);
    run(q, m_path, "save a checkpoint");
    auto u = prepare(db, m_path, "save a checkpoint",
                     QStringLiteral("UPDATE jobs SET steps_done = ?, heartbeat = ? WHERE id = ?"));
    u.addBindValue(c.step);
    u.addBindValue(nowMs());
    u.addBindValue(id);
    run(u, m_path, "save a checkpoint");
    tx.commit();
}

std::optional<Checkpoint> JobStore::checkpoint(qint64 id) const {
    auto db = QSqlDatabase::database(m_connection);
    auto q = prepare(db, m_path, "read a checkpoint",
                     QStringLiteral("SELECT step, channels, height, width, latent FROM checkpoints WHERE job_id = ?"));
    q.addBindValue(id);
    run(q, m_path, "read a checkpoint");
    if (!q.next())
        return std::nullopt;
    Checkpoint c;
    c.step = q.value(0).toInt();
    c.channels = q.value(1).toLongLong();
    c.height = q.value(2).toLongLong();
    c.width = q.value(3).toLongLong();
    c.latent = q.value(4).toByteArray();
    return c;
}

bool JobStore::markDone(qint64 id, const QString& owner, const QString& outputPath) {
    auto db = QSqlDatabase::database(m_connection);
    Transaction tx(db, m_path, "mark a job done");
    auto q = prepare(db, m_path, "mark a job done",
                     QStringLiteral("UPDATE jobs SET state = 'done', output_path = ?, finished = ?, owner = '', "
                                    "steps_done = steps WHERE id = ? AND state = 'running' AND owner = ?"));
    q.addBindValue(text(outputPath));
    q.addBindValue(nowMs());
    q.addBindValue(id);
    q.addBindValue(text(owner));
    run(q, m_path, "mark a job done");
    const bool changed = q.numRowsAffected() == 1;
    if (changed) {
        auto d = prepare(db, m_path, "mark a job done", QStringLiteral("DELETE FROM checkpoints WHERE job_id = ?"));
        d.addBindValue(id);
        run(d, m_path, "mark a job done");
    }
    tx.commit();
    return changed;
}

bool JobStore::markFailed(qint64 id, const QString& owner, const QString& message) {
    auto db = QSqlDatabase::database(m_connection);
    Transaction tx(db, m_path, "mark a job failed");
    auto q = prepare(db, m_path, "mark a job failed",
                     QStringLiteral("UPDATE jobs SET state = 'failed', message = ?, finished = ?, owner = '' "
                                    "WHERE id = ? AND state = 'running' AND owner = ?"));
    q.addBindValue(text(message));
    q.addBindValue(nowMs());
    q.addBindValue(id);
    q.addBindValue(text(owner));
    run(q, m_path, "mark a job failed");
    const bool changed = q.numRowsAffected() == 1;
    tx.commit();
    return changed;
}

void JobStore::releaseOwner(const QString& owner) {
    auto db = QSqlDatabase::database(m_connection);
    Transaction tx(db, m_path, "put jobs back in the queue");
    auto q =
        prepare(db, m_path, "put jobs back in the queue",
                QStringLiteral("UPDATE jobs SET state = 'queued', owner = '' WHERE state = 'running' AND owner = ?"));
    q.addBindValue(text(owner));
    run(q, m_path, "put jobs back in the queue");
    tx.commit();
}

void JobStore::release(const QString& owner, const QList<qint64>& ids) {
    if (ids.isEmpty())
        return;
    auto db = QSqlDatabase::database(m_connection);
    Transaction tx(db, m_path, "put jobs back in the queue");
    auto q = prepare(db, m_path, "put jobs back in the queue",
                     QStringLiteral("UPDATE jobs SET state = 'queued', owner = '' "
                                    "WHERE id IN (%1) AND state = 'running' AND owner = ?")
                         .arg(idList(ids)));
    q.addBindValue(text(owner));
    run(q, m_path, "put jobs back in the queue");
    tx.commit();
}

namespace {

// Where a pid means something: this kernel boot and pid namespace. Two containers with the same host name
// (or one host name on two machines) have different spaces, and their pids say nothing about each other.
QString pidSpace() {
    QString boot;
    QFile b(QStringLiteral("/proc/sys/kernel/random/boot_id"));
    if (b.open(QIODevice::ReadOnly))
        boot = QString::fromLatin1(b.readAll()).trimmed().remove(QLatin1Char('-')).left(16);
    const QString ns = QFileInfo(QStringLiteral("/proc/self/ns/pid")).symLinkTarget(); // "pid:[4026531836]"
    const QString inode = QString(ns).remove(QRegularExpression(QStringLiteral("[^0-9]")));
    if (boot.isEmpty() || inode.isEmpty())
        return {}; // unknown: liveness by heartbeat only
    return boot + QLatin1Char('-') + inode;
}

QString randomToken() {
    return QString::number(QRandomGenerator::system()->generate64(), 16).rightJustified(16, QLatin1Char('0'));
}

// "host:space:pid:token": the token tells a previous process that had the same pid from this one.
const QString& processIdentity() {
    static const QString id = QStringLiteral("%1:%2:%3:%4")
                                  .arg(QSysInfo::machineHostName().replace(QLatin1Char(':'), QLatin1Char('_')))
                                  .arg(pidSpace())
                                  .arg(::getpid())
                                  .arg(randomToken());
    return id;
}

// A worker is gone when its heartbeat is older than `staleMs`, or, as a shortcut after a crash, when it ran
// in this pid space and its process no longer exists. A pid from another pid space (another container or
// machine, even with our host name) proves nothing: only the heartbeat tells.
bool ownerGone(const QString& owner, qint64 heartbeat, qint64 staleMs) {
    if (nowMs() - heartbeat > staleMs)
        return true;
    const auto parts = owner.split(QLatin1Char(':'));
    const auto self = processIdentity().split(QLatin1Char(':'));
    if (parts.size() != 5 || parts[1].isEmpty() || parts[1] != self[1])
        return false;
    bool ok = false;
    const qint64 pid = parts[2].toLongLong(&ok);
    if (!ok || pid <= 0)
        return false;
    if (pid == ::getpid())
        return parts[3] != self[3]; // our pid, another token: a previous process of ours that died
    return ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

} // namespace

QString JobStore::processOwner() {
    static const QString id = newOwnerId();
    return id;
}

QString JobStore::newOwnerId() {
    return processIdentity() + QLatin1Char(':') + randomToken();
}

QList<qint64> JobStore::recoverAbandoned(qint64 staleMs) {
    auto db = QSqlDatabase::database(m_connection);
    Transaction tx(db, m_path, "recover abandoned jobs");
    auto q = prepare(db, m_path, "recover abandoned jobs",
                     QStringLiteral("SELECT id, owner, heartbeat, worker_deaths, steps_done > claim_steps FROM jobs "
                                    "WHERE state = 'running'"));
    run(q, m_path, "recover abandoned jobs");
    QList<qint64> gone, progressed, stuck, dead;
    while (q.next()) {
        if (!ownerGone(q.value(1).toString(), q.value(2).toLongLong(), staleMs))
            continue;
        const qint64 id = q.value(0).toLongLong();
        gone.push_back(id);
        // A worker that saved progress before it died was killed mid-work, not crashed by the job.
        if (q.value(4).toBool())
            progressed.push_back(id);
        else if (q.value(3).toInt() + 1 >= kMaxWorkerDeaths)
            dead.push_back(id);
        else
            stuck.push_back(id);
    }
    for (const auto& [list, deaths] :
         {std::pair{progressed, QStringLiteral("0")}, std::pair{stuck, QStringLiteral("worker_deaths + 1")},
          std::pair{dead, QStringLiteral("worker_deaths + 1")}}) {
        if (list.isEmpty())
            continue;
        auto u = prepare(db, m_path, "recover abandoned jobs",
                         QStringLiteral("UPDATE jobs SET state = 'queued', owner = '', worker_deaths = %1 "
                                        "WHERE id IN (%2)")
                             .arg(deaths, idList(list)));
        run(u, m_path, "recover abandoned jobs");
    }
    if (!dead.isEmpty()) {
        auto f = prepare(db, m_path, "recover abandoned jobs",
                         QStringLiteral("UPDATE jobs SET state = 'failed', finished = ?, message = ? WHERE id IN (%1)")
                             .arg(idList(dead)));
        f.addBindValue(nowMs());
        f.addBindValue(
            QStringLiteral("the worker running this job stopped %1 times without finishing it (it crashed or "
                           "was killed); it is not tried again, so that the queue goes on. Check the "
                           "model folder and the settings, then retry it.")
                .arg(kMaxWorkerDeaths));
        run(f, m_path, "recover abandoned jobs");
    }
    tx.commit();
    for (auto id : dead)
        gone.removeAll(id);
    return gone;
}

void JobStore::cancel(const QList<qint64>& ids) {
    auto db = QSqlDatabase::database(m_connection);
    Transaction tx(db, m_path, "cancel jobs");
    for (auto id : ids) {
        auto q = prepare(db, m_path, "cancel jobs",
                         QStringLiteral("UPDATE jobs SET state = 'cancelled', finished = ?, owner = '' "
                                        "WHERE id = ? AND state IN ('queued', 'running')"));
        q.addBindValue(nowMs());
        q.addBindValue(id);
        run(q, m_path, "cancel jobs");
        // A finished job stays as it is; an id that is no job is the caller's mistake (a typo), not a no-op.
        if (q.numRowsAffected() == 0) {
            auto exists = prepare(db, m_path, "cancel jobs", QStringLiteral("SELECT 1 FROM jobs WHERE id = ?"));
            exists.addBindValue(id);
            run(exists, m_path, "cancel jobs");
            if (!exists.next())
                throw StoreError("queue: no job " + std::to_string(id) + " to cancel");
        }
    }
    tx.commit();
}

void JobStore::retry(const QList<qint64>& ids, const QString& model) {
    auto db = QSqlDatabase::database(m_connection);
    Transaction tx(db, m_path, "retry jobs");
    QSqlQuery last(db);
    run(last, m_path, "retry jobs", QStringLiteral("SELECT COALESCE(MAX(position), 0) FROM jobs"));
    double position = last.next() ? last.value(0).toDouble() : 0.0;
    for (auto id : ids) {
        auto q = prepare(db, m_path, "retry jobs",
                         QStringLiteral("UPDATE jobs SET state = 'queued', position = ?, message = '', finished = 0 "
                                        "WHERE id = ? AND state IN ('failed', 'cancelled')"));
        q.addBindValue(position += 1.0);
        q.addBindValue(id);
        run(q, m_path, "retry jobs");
        if (q.numRowsAffected() != 1)
            throw StoreError("queue: job " + std::to_string(id) + " cannot be retried: it is not failed or cancelled");
        if (model.isEmpty())
            continue;
        auto other = prepare(db, m_path, "retry jobs",
                             // An erase job keeps its LaMa file: the window's model is a generation model.
                             QStringLiteral("UPDATE jobs SET model = ?, steps_done = 0 WHERE id = ? AND model <> ? "
                                            "AND kind = 'generate'"));
        other.addBindValue(text(model));
        other.addBindValue(id);
        other.addBindValue(text(model));
        run(other, m_path, "retry jobs");
        if (other.numRowsAffected() == 1) {
            auto d = prepare(db, m_path, "retry jobs", QStringLiteral("DELETE FROM checkpoints WHERE job_id = ?"));
            d.addBindValue(id);
            run(d, m_path, "retry jobs");
        }
    }
    tx.commit();
}

QList<qint64> JobStore::duplicate(const QList<qint64>& ids) {
    QList<JobSpec> specs;
    QString group;
    for (auto id : ids) {
        auto j = job(id);
        if (!j)
            throw StoreError("queue: no job " + std::to_string(id));
        specs.push_back(j->spec);
        group = j->group;
    }
    return add(specs, group);
}

void JobStore::edit(qint64 id, const JobSpec& spec) {
    checkSpec(m_path, spec, "job " + std::to_string(id) + " not changed");
    auto db = QSqlDatabase::database(m_connection);
    Transaction tx(db, m_path, "edit a job");
    auto current = prepare(db, m_path, "edit a job",
                           QStringLiteral("SELECT %1 FROM jobs WHERE id = ?").arg(QLatin1String(kJobColumns)));
    current.addBindValue(id);
    run(current, m_path, "edit a job");
    if (!current.next())
        throw StoreError("queue: no job " + std::to_string(id));
    const Job old = jobFrom(current);
    if (old.state != JobState::Queued)
        throw StoreError("queue: job " + std::to_string(id) + " is " + stateName(old.state).toStdString() +
                         "; only queued jobs can be edited");
    auto q = prepare(db, m_path, "edit a job",
                     QStringLiteral("UPDATE jobs SET prompt = ?, negative = ?, width = ?, height = ?, steps = ?, "
                                    "sampler = ?, cfg = ?, cfg_trunc = ?, renorm = ?, shift = ?, seed = ?, model = ?, "
                                    "output_dir = ?, kind = ?, source_image = ?, mask = ?, strategy = ? "
                                    "WHERE id = ? AND state = 'queued'"));
    for (const QVariant& v :
         {text(spec.prompt), text(spec.negative), QVariant(spec.width), QVariant(spec.height), QVariant(spec.steps),
          text(spec.sampler), QVariant(spec.cfg), QVariant(spec.cfgTrunc), QVariant(spec.renorm), QVariant(spec.shift),
          QVariant(spec.seed), text(spec.model), text(spec.outputDir), QVariant(kindName(spec.kind)), text(spec.image),
          text(spec.mask), text(spec.strategy), QVariant(id)})
        q.addBindValue(v);
    run(q, m_path, "edit a job");
    if (!(old.spec == spec)) {
        // The saved latent belongs to the old settings.
        auto d = prepare(db, m_path, "edit a job", QStringLiteral("DELETE FROM checkpoints WHERE job_id = ?"));
        d.addBindValue(id);
        run(d, m_path, "edit a job");
        auto s = prepare(db, m_path, "edit a job", QStringLiteral("UPDATE jobs SET steps_done = 0 WHERE id = ?"));
        s.addBindValue(id);
        run(s, m_path, "edit a job");
    }
    tx.commit();
}

void JobStore::move(qint64 id, qint64 beforeId) {
    auto db = QSqlDatabase::database(m_connection);
    Transaction tx(db, m_path, "move a job");
    QSqlQuery q(db);
    run(q, m_path, "move a job", QStringLiteral("SELECT id, state FROM jobs ORDER BY position"));
    QList<qint64> order;
    bool queued = false, found = false;
    while (q.next()) {
        const qint64 j = q.value(0).toLongLong();
        if (j == id) {
            found = true;
            queued = q.value(1).toString() == QStringLiteral("queued");
            continue;
        }
        order.push_back(j);
    }
    if (!found)
        throw StoreError("queue: no job " + std::to_string(id));
    if (!queued)
        throw StoreError("queue: job " + std::to_string(id) + " is not queued; only queued jobs can be moved");
    const auto at = beforeId < 0 ? order.size() : order.indexOf(beforeId);
    order.insert(at < 0 ? order.size() : at, id);
    // Renumbering keeps positions small and exact; queues are thousands of rows at most.
    auto u = prepare(db, m_path, "move a job", QStringLiteral("UPDATE jobs SET position = ? WHERE id = ?"));
    for (int i = 0; i < order.size(); ++i) {
        u.addBindValue(static_cast<double>(i + 1));
        u.addBindValue(order[i]);
        run(u, m_path, "move a job");
    }
    tx.commit();
}

void JobStore::remove(const QList<qint64>& ids) {
    if (ids.isEmpty())
        return;
    auto db = QSqlDatabase::database(m_connection);
    Transaction tx(db, m_path, "remove jobs");
    auto q = prepare(db, m_path, "remove jobs",
                     QStringLiteral("DELETE FROM jobs WHERE id IN (%1) AND state IN ('done', 'failed', 'cancelled')")
                         .arg(idList(ids)));
    run(q, m_path, "remove jobs");
    tx.commit();
}

int JobStore::removeFinished() {
    auto db = QSqlDatabase::database(m_connection);
    Transaction tx(db, m_path, "remove finished jobs");
    QSqlQuery q(db);
    run(q, m_path, "remove finished jobs",
        QStringLiteral("DELETE FROM jobs WHERE state IN ('done', 'failed', 'cancelled')"));
    const int n = q.numRowsAffected();
    tx.commit();
    return n;
}

std::optional<QString> JobStore::metaValue(const QString& key) const {
    auto db = QSqlDatabase::database(m_connection);
    auto q = prepare(db, m_path, "read a setting", QStringLiteral("SELECT value FROM meta WHERE key = ?"));
    q.addBindValue(text(key));
    run(q, m_path, "read a setting");
    if (!q.next())
        return std::nullopt;
    return q.value(0).toString();
}

void JobStore::setMetaValue(const QString& key, const QString& value) {
    auto db = QSqlDatabase::database(m_connection);
    Transaction tx(db, m_path, "save a setting");
    auto q =
        prepare(db, m_path, "save a setting", QStringLiteral("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)"));
    q.addBindValue(text(key));
    q.addBindValue(text(value));
    run(q, m_path, "save a setting");
    tx.commit();
}

qint64 JobStore::revision() const {
    auto db = QSqlDatabase::database(m_connection);
    QSqlQuery q(db);
    run(q, m_path, "read the queue's revision",
        QStringLiteral("SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'revision'"));
    return q.next() ? q.value(0).toLongLong() : 0;
}

QList<Job> JobStore::jobsChangedSince(qint64 revision, int* total) const {
    auto db = QSqlDatabase::database(m_connection);
    // One read transaction: the rows and the count belong to the same state.
    QSqlQuery begin(db);
    run(begin, m_path, "read the jobs", QStringLiteral("BEGIN"));
    auto q = prepare(
        db, m_path, "read the jobs",
        QStringLiteral("SELECT %1 FROM jobs WHERE revision > ? ORDER BY position").arg(QLatin1String(kJobColumns)));
    q.addBindValue(revision);
    QList<Job> out;
    try {
        run(q, m_path, "read the jobs");
        while (q.next())
            out.push_back(jobFrom(q));
        if (total) {
            QSqlQuery c(db);
            run(c, m_path, "read the jobs", QStringLiteral("SELECT COUNT(*) FROM jobs"));
            *total = c.next() ? c.value(0).toInt() : 0;
        }
    } catch (...) {
        QSqlQuery(db).exec(QStringLiteral("ROLLBACK"));
        throw;
    }
    QSqlQuery(db).exec(QStringLiteral("COMMIT"));
    return out;
}

qint64 JobStore::dataVersion() const {
    auto db = QSqlDatabase::database(m_connection);
    QSqlQuery q(db);
    q.exec(QStringLiteral("PRAGMA data_version"));
    return q.next() ? q.value(0).toLongLong() : 0;
}

QString JobStore::defaultPath() {
    const QString env = qEnvironmentVariable("CHARAFORGE_QUEUE");
    if (!env.isEmpty())
        return env;
    return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + QStringLiteral("/queue.sqlite");
}

} // namespace charaforge::queue
