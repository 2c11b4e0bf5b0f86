#include "queue/gallery_store.h"

#include "charaforge/prompt/prompt.h"
#include "queue/job_record.h"
#include "queue/job_store.h"

#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QVariant>

#include <atomic>

namespace charaforge::queue {

namespace {

const char* kSchema[] = {
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS images("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, path TEXT NOT NULL UNIQUE, job_id INTEGER NOT NULL DEFAULT 0,"
    " grp TEXT NOT NULL DEFAULT '', axis_values TEXT NOT NULL DEFAULT '[]',"
    " prompt TEXT NOT NULL, negative TEXT NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL,"
    " steps INTEGER NOT NULL, sampler TEXT NOT NULL, cfg REAL NOT NULL, cfg_trunc REAL NOT NULL,"
    " renorm REAL NOT NULL, shift REAL NOT NULL, seed INTEGER NOT NULL, model TEXT NOT NULL,"
    " tags TEXT NOT NULL, characters TEXT NOT NULL,"
    " rating INTEGER NOT NULL DEFAULT 0 CHECK(rating BETWEEN 0 AND 5),"
    " favourite INTEGER NOT NULL DEFAULT 0, winner INTEGER NOT NULL DEFAULT 0,"
    " parent_image INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS images_created ON images(created)",
    "CREATE INDEX IF NOT EXISTS images_grp ON images(grp)",
    // External-content FTS over the images table, kept in step by triggers.
    "CREATE VIRTUAL TABLE IF NOT EXISTS images_fts USING fts5(prompt, tags, characters, content='images', "
    "content_rowid='id')",
    "CREATE TRIGGER IF NOT EXISTS images_ai AFTER INSERT ON images BEGIN"
    " INSERT INTO images_fts(rowid, prompt, tags, characters) VALUES (new.id, new.prompt, new.tags, new.characters);"
    " END",
    "CREATE TRIGGER IF NOT EXISTS images_ad AFTER DELETE ON images BEGIN"
    " INSERT INTO images_fts(images_fts, rowid, prompt, tags, characters)"
    " VALUES ('delete', old.id, old.prompt, old.tags, old.characters); END",
    "CREATE TRIGGER IF NOT EXISTS images_au AFTER UPDATE OF prompt, tags, characters ON images BEGIN"
    " INSERT INTO images_fts(images_fts, rowid, prompt, tags, characters)"
    " VALUES ('delete', old.id, old.prompt, old.tags, old.characters);"
    " INSERT INTO images_fts(rowid, prompt, tags, characters) VALUES (new.id, new.prompt, new.tags, new.characters);"
    " END",
};

// Schema 2: the groups' lineage. A schema-1 database gets the table and one row per group of its images
// (their parent image; no label or axes, which only the queue knew).
constexpr int kSchemaVersion = 2;
const char* kGroupSchema[] = {
    "CREATE TABLE IF NOT EXISTS variant_groups(id TEXT PRIMARY KEY, label TEXT NOT NULL DEFAULT '',"
    " axes TEXT NOT NULL DEFAULT '[]', parent_image INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL DEFAULT 0)",
    "CREATE INDEX IF NOT EXISTS variant_groups_parent ON variant_groups(parent_image)",
};
const char* kBackfillGroups = "INSERT OR IGNORE INTO variant_groups(id, parent_image, created)"
                              " SELECT grp, MAX(parent_image), MIN(created) FROM images WHERE grp <> '' GROUP BY grp";

const char* kColumns = "id, path, job_id, grp, axis_values, prompt, negative, width, height, steps, sampler, cfg, "
                       "cfg_trunc, renorm, shift, seed, model, tags, characters, rating, favourite, winner, "
                       "parent_image, created";

QVariant text(const QString& s) {
    return s.isNull() ? QVariant(QStringLiteral("")) : QVariant(s);
}

[[noreturn]] void fail(const QString& path, const QSqlQuery& q, const QString& what) {
    throw StoreError(QStringLiteral("gallery: %1: %2 failed: %3").arg(path, what, q.lastError().text()).toStdString());
}

QSqlQuery prepared(const QSqlDatabase& db, const QString& path, const QString& sql) {
    QSqlQuery q(db);
    if (!q.prepare(sql))
        fail(path, q, QStringLiteral("prepare '%1'").arg(sql));
    return q;
}

void execPrepared(QSqlQuery& q, const QString& path) {
    if (!q.exec())
        fail(path, q, q.lastQuery());
}

void exec(const QSqlDatabase& db, const QString& path, const QString& sql) {
    QSqlQuery q(db);
    if (!q.exec(sql))
        fail(path, q, sql);
}

QString listJson(const QStringList& values) {
    return QString::fromUtf8(QJsonDocument(QJsonArray::fromStringList(values)).toJson(QJsonDocument::Compact));
}

QStringList listFromJson(const QString& json) {
    QStringList out;
    for (const auto& v : QJsonDocument::fromJson(json.toUtf8()).array())
        out << v.toString();
    return out;
}

// Tags are stored one per line so that a character filter can match a whole tag.
QString lines(const QStringList& values) {
    return values.join(QLatin1Char('\n'));
}

// Tags and character names of a prompt.
void describePrompt(const QString& promptText, QStringList& tags, QStringList& characters) {
    const auto doc = prompt::parse(promptText).document;
    switch (doc.kind) {
    case prompt::Kind::TagList:
        tags = doc.tags;
        return;
    case prompt::Kind::NaturalLanguage:
        return;
    case prompt::Kind::Xml:
        break;
    }
    for (const auto& c : doc.characters) {
        for (const auto& f : prompt::character_fields)
            tags << c.*(f.member);
        for (const auto& n : c.n)
            if (!n.startsWith(QLatin1Char('$')))
                characters << n;
    }
    if (doc.general_tags)
        for (const auto& f : prompt::general_tags_fields)
            tags << (*doc.general_tags).*(f.member);
    tags.removeDuplicates();
    characters.removeDuplicates();
}

GalleryImage imageFrom(const QSqlQuery& q) {
    GalleryImage g;
    int c = 0;
    g.id = q.value(c++).toLongLong();
    g.path = q.value(c++).toString();
    g.jobId = q.value(c++).toLongLong();
    g.group = q.value(c++).toString();
    g.axisValues = listFromJson(q.value(c++).toString());
    g.spec.prompt = q.value(c++).toString();
    g.spec.negative = q.value(c++).toString();
    g.spec.width = q.value(c++).toInt();
    g.spec.height = q.value(c++).toInt();
    g.spec.steps = q.value(c++).toInt();
    g.spec.sampler = q.value(c++).toString();
    g.spec.cfg = q.value(c++).toDouble();
    g.spec.cfgTrunc = q.value(c++).toDouble();
    g.spec.renorm = q.value(c++).toDouble();
    g.spec.shift = q.value(c++).toDouble();
    g.spec.seed = q.value(c++).toLongLong();
    g.spec.model = q.value(c++).toString();
    g.spec.outputDir = QFileInfo(g.path).absolutePath();
    const QString tags = q.value(c++).toString(), chars = q.value(c++).toString();
    g.tags = tags.isEmpty() ? QStringList{} : tags.split(QLatin1Char('\n'));
    g.characters = chars.isEmpty() ? QStringList{} : chars.split(QLatin1Char('\n'));
    g.rating = q.value(c++).toInt();
    g.favourite = q.value(c++).toInt() != 0;
    g.winner = q.value(c++).toInt() != 0;
    g.parentImage = q.value(c++).toLongLong();
    g.created = q.value(c++).toLongLong();
    g.missing = !QFileInfo::exists(g.path);
    return g;
}

// WHERE clause and bound values of a query.
struct Filter {
    QString where;
    QVariantList values;
};

Filter filterFor(const GalleryQuery& query) {
    QStringList terms;
    Filter f;
    const QString fts = ftsQuery(query.text);
    if (!fts.isEmpty()) {
        terms << QStringLiteral("id IN (SELECT rowid FROM images_fts WHERE images_fts MATCH ?)");
        f.values << fts;
    }
    if (query.minRating > 0) {
        terms << QStringLiteral("rating >= ?");
        f.values << query.minRating;
    }
    if (query.favouritesOnly)
        terms << QStringLiteral("favourite = 1");
    if (query.winnersOnly)
        terms << QStringLiteral("winner = 1");
    if (!query.group.isEmpty()) {
        terms << QStringLiteral("grp = ?");
        f.values << query.group;
    }
    if (!query.character.isEmpty()) {
        // Whole-name match, any case, on the one-per-line list.
        terms << QStringLiteral("instr(char(10) || lower(characters) || char(10), ?) > 0");
        f.values << QStringLiteral("\n") + query.character.trimmed().toLower() + QStringLiteral("\n");
    }
    if (query.width > 0) {
        terms << QStringLiteral("width = ?");
        f.values << query.width;
    }
    if (query.height > 0) {
        terms << QStringLiteral("height = ?");
        f.values << query.height;
    }
    if (query.createdFrom > 0) {
        terms << QStringLiteral("created >= ?");
        f.values << query.createdFrom;
    }
    if (query.createdTo > 0) {
        terms << QStringLiteral("created < ?");
        f.values << query.createdTo;
    }
    if (!terms.isEmpty())
        f.where = QStringLiteral(" WHERE ") + terms.join(QStringLiteral(" AND "));
    return f;
}

QString orderFor(const GalleryQuery& query) {
    QString order;
    switch (query.sort) {
    case GallerySort::NewestFirst:
        order = QStringLiteral(" ORDER BY created DESC, id DESC");
        break;
    case GallerySort::OldestFirst:
        order = QStringLiteral(" ORDER BY created, id");
        break;
    case GallerySort::RatingThenNewest:
        order = QStringLiteral(" ORDER BY rating DESC, created DESC, id DESC");
        break;
    }
    if (query.limit >= 0 || query.offset > 0)
        order += QStringLiteral(" LIMIT %1 OFFSET %2").arg(query.limit).arg(std::max(0, query.offset));
    return order;
}

} // namespace

QString ftsQuery(const QString& text) {
    static const QRegularExpression word(QStringLiteral("[\\p{L}\\p{N}]+"));
    QStringList terms;
    for (auto m = word.globalMatch(text); m.hasNext();)
        terms << QStringLiteral("\"%1\"*").arg(m.next().captured(0)); // a token has no quote to escape
    return terms.join(QLatin1Char(' '));
}

GalleryStore::GalleryStore(const QString& path) : m_path(path) {
    static std::atomic<int> counter{0};
    m_connection = QStringLiteral("charaforge-gallery-%1").arg(counter++);
    if (!QDir().mkpath(QFileInfo(path).absolutePath()))
        throw StoreError("gallery: cannot create the folder of " + path.toStdString());
    auto db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), m_connection);
    if (!db.isValid())
        throw StoreError("gallery: the Qt SQLite driver is missing (install libqt6sql6-sqlite)");
    db.setDatabaseName(path);
    db.setConnectOptions(QStringLiteral("QSQLITE_BUSY_TIMEOUT=15000"));
    if (!db.open())
        throw StoreError("gallery: cannot open " + path.toStdString() + ": " + db.lastError().text().toStdString());
    for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL"})
        exec(db, m_path, QString::fromLatin1(pragma));
    exec(db, m_path, QStringLiteral("BEGIN IMMEDIATE"));
    try {
        for (const char* sql : kSchema) {
            QSqlQuery q(db);
            if (!q.exec(QString::fromLatin1(sql)))
                throw StoreError(QStringLiteral("gallery: %1: not a CharaForge gallery database (%2)")
                                     .arg(path, q.lastError().text())
                                     .toStdString());
        }
        for (const char* sql : kGroupSchema)
            exec(db, m_path, QString::fromLatin1(sql));
        // A new database starts at the current schema; an older one keeps its number until migrated.
        exec(db, m_path,
             QStringLiteral("INSERT OR IGNORE INTO meta(key, value) VALUES ('schema', '%1')").arg(kSchemaVersion));
        QSqlQuery version(db);
        if (!version.exec(QStringLiteral("SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'schema'")))
            fail(m_path, version, QStringLiteral("read the schema version"));
        if (version.next() && version.value(0).toInt() < kSchemaVersion) {
            exec(db, m_path, QString::fromLatin1(kBackfillGroups));
            exec(db, m_path, QStringLiteral("UPDATE meta SET value = '%1' WHERE key = 'schema'").arg(kSchemaVersion));
        }
        exec(db, m_path, QStringLiteral("COMMIT"));
    } catch (...) {
        QSqlQuery(db).exec(QStringLiteral("ROLLBACK"));
        db.close();
        throw;
    }
}

GalleryStore::~GalleryStore() {
    {
        auto db = QSqlDatabase::database(m_connection, false);
        db.close();
    }
    QSqlDatabase::removeDatabase(m_connection);
}

QString GalleryStore::pathNextTo(const QString& queuePath) {
    return QFileInfo(queuePath).absoluteDir().filePath(QStringLiteral("gallery.db"));
}

qint64 GalleryStore::record(GalleryImage image) {
    const QFileInfo info(image.path);
    if (!info.isFile())
        throw StoreError(QStringLiteral("gallery: %1: cannot record %2: the file is not on disk")
                             .arg(m_path, image.path)
                             .toStdString());
    image.path = info.absoluteFilePath();
    image.tags.clear();
    image.characters.clear();
    describePrompt(image.spec.prompt, image.tags, image.characters);
    if (image.created == 0)
        image.created = QDateTime::currentMSecsSinceEpoch();
    auto db = QSqlDatabase::database(m_connection);
    // One statement is one durable transaction (autocommit, synchronous=FULL); the upsert keeps the
    // user's rating, favourite and winner marks when a file is recorded again.
    auto q = prepared(
        db, m_path,
        QStringLiteral(
            "INSERT INTO images(path, job_id, grp, axis_values, prompt, negative, width, height, steps, sampler, "
            "cfg, cfg_trunc, renorm, shift, seed, model, tags, characters, parent_image, created) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(path) DO UPDATE SET job_id = excluded.job_id, grp = excluded.grp, "
            "axis_values = excluded.axis_values, prompt = excluded.prompt, negative = excluded.negative, "
            "width = excluded.width, height = excluded.height, steps = excluded.steps, sampler = excluded.sampler, "
            "cfg = excluded.cfg, cfg_trunc = excluded.cfg_trunc, renorm = excluded.renorm, shift = excluded.shift, "
            "seed = excluded.seed, model = excluded.model, tags = excluded.tags, characters = excluded.characters, "
            "parent_image = excluded.parent_image"));
    const auto& s = image.spec;
    for (const QVariant& v : QVariantList{image.path,
                                          image.jobId,
                                          text(image.group),
                                          listJson(image.axisValues),
                                          text(s.prompt),
                                          text(s.negative),
                                          s.width,
                                          s.height,
                                          s.steps,
                                          text(s.sampler),
                                          s.cfg,
                                          s.cfgTrunc,
                                          s.renorm,
                                          s.shift,
                                          s.seed,
                                          text(s.model),
                                          text(lines(image.tags)),
                                          text(lines(image.characters)),
                                          image.parentImage,
                                          image.created})
        q.addBindValue(v);
    execPrepared(q, m_path);
    auto id = prepared(db, m_path, QStringLiteral("SELECT id FROM images WHERE path = ?"));
    id.addBindValue(image.path);
    execPrepared(id, m_path);
    return id.next() ? id.value(0).toLongLong() : 0;
}

void GalleryStore::recordAll(const QList<GalleryImage>& images) {
    auto db = QSqlDatabase::database(m_connection);
    exec(db, m_path, QStringLiteral("BEGIN IMMEDIATE"));
    try {
        for (const auto& image : images)
            record(image);
        exec(db, m_path, QStringLiteral("COMMIT"));
    } catch (...) {
        QSqlQuery(db).exec(QStringLiteral("ROLLBACK"));
        throw;
    }
}

std::optional<GalleryImage> GalleryStore::image(qint64 id) const {
    auto q = prepared(QSqlDatabase::database(m_connection), m_path,
                      QStringLiteral("SELECT %1 FROM images WHERE id = ?").arg(QLatin1String(kColumns)));
    q.addBindValue(id);
    execPrepared(q, m_path);
    if (!q.next())
        return std::nullopt;
    return imageFrom(q);
}

std::optional<GalleryImage> GalleryStore::imageForPath(const QString& path) const {
    auto q = prepared(QSqlDatabase::database(m_connection), m_path,
                      QStringLiteral("SELECT %1 FROM images WHERE path = ?").arg(QLatin1String(kColumns)));
    q.addBindValue(QFileInfo(path).absoluteFilePath());
    execPrepared(q, m_path);
    if (!q.next())
        return std::nullopt;
    return imageFrom(q);
}

QList<GalleryImage> GalleryStore::images(const QList<qint64>& ids) const {
    QList<GalleryImage> out;
    if (ids.isEmpty())
        return out;
    QStringList marks;
    marks.reserve(ids.size());
    for (qsizetype i = 0; i < ids.size(); ++i)
        marks << QStringLiteral("?");
    auto q = prepared(QSqlDatabase::database(m_connection), m_path,
                      QStringLiteral("SELECT %1 FROM images WHERE id IN (%2)")
                          .arg(QLatin1String(kColumns), marks.join(QLatin1Char(','))));
    for (qint64 id : ids)
        q.addBindValue(id);
    execPrepared(q, m_path);
    QHash<qint64, GalleryImage> byId;
    while (q.next()) {
        auto g = imageFrom(q);
        byId.insert(g.id, std::move(g));
    }
    out.reserve(byId.size());
    for (qint64 id : ids)
        if (const auto it = byId.constFind(id); it != byId.constEnd())
            out.push_back(*it);
    return out;
}

QList<GalleryImage> GalleryStore::search(const GalleryQuery& query) const {
    const auto f = filterFor(query);
    auto q = prepared(QSqlDatabase::database(m_connection), m_path,
                      QStringLiteral("SELECT %1 FROM images").arg(QLatin1String(kColumns)) + f.where + orderFor(query));
    for (const auto& v : f.values)
        q.addBindValue(v);
    execPrepared(q, m_path);
    QList<GalleryImage> out;
    while (q.next())
        out.push_back(imageFrom(q));
    return out;
}

QList<qint64> GalleryStore::searchIds(const GalleryQuery& query) const {
    const auto f = filterFor(query);
    auto q = prepared(QSqlDatabase::database(m_connection), m_path,
                      QStringLiteral("SELECT id FROM images") + f.where + orderFor(query));
    for (const auto& v : f.values)
        q.addBindValue(v);
    execPrepared(q, m_path);
    QList<qint64> out;
    while (q.next())
        out.push_back(q.value(0).toLongLong());
    return out;
}

int GalleryStore::count(const GalleryQuery& query) const {
    const auto f = filterFor(query);
    auto q =
        prepared(QSqlDatabase::database(m_connection), m_path, QStringLiteral("SELECT COUNT(*) FROM images") + f.where);
    for (const auto& v : f.values)
        q.addBindValue(v);
    execPrepared(q, m_path);
    return q.next() ? q.value(0).toInt() : 0;
}

namespace {

void updateOne(const QString& connection, const QString& path, const QString& sql, const QVariant& value, qint64 id) {
    auto q = prepared(QSqlDatabase::database(connection), path, sql);
    q.addBindValue(value);
    q.addBindValue(id);
    execPrepared(q, path);
    if (q.numRowsAffected() != 1)
        throw StoreError(QStringLiteral("gallery: %1: no image %2").arg(path).arg(id).toStdString());
}

} // namespace

void GalleryStore::setRating(qint64 id, int rating) {
    if (rating < 0 || rating > 5)
        throw StoreError(QStringLiteral("gallery: %1: image %2: rating %3 is not 0..5")
                             .arg(m_path)
                             .arg(id)
                             .arg(rating)
                             .toStdString());
    updateOne(m_connection, m_path, QStringLiteral("UPDATE images SET rating = ? WHERE id = ?"), rating, id);
}

void GalleryStore::setFavourite(qint64 id, bool favourite) {
    updateOne(m_connection, m_path, QStringLiteral("UPDATE images SET favourite = ? WHERE id = ?"), favourite ? 1 : 0,
              id);
}

void GalleryStore::setWinner(qint64 id, bool winner, bool exclusive) {
    auto db = QSqlDatabase::database(m_connection);
    exec(db, m_path, QStringLiteral("BEGIN IMMEDIATE"));
    try {
        if (winner && exclusive) {
            auto q = prepared(db, m_path,
                              QStringLiteral("UPDATE images SET winner = 0 WHERE grp <> '' AND "
                                             "grp = (SELECT grp FROM images WHERE id = ?)"));
            q.addBindValue(id);
            execPrepared(q, m_path);
        }
        updateOne(m_connection, m_path, QStringLiteral("UPDATE images SET winner = ? WHERE id = ?"), winner ? 1 : 0,
                  id);
        exec(db, m_path, QStringLiteral("COMMIT"));
    } catch (...) {
        QSqlQuery(db).exec(QStringLiteral("ROLLBACK"));
        throw;
    }
}

void GalleryStore::remove(qint64 id) {
    auto q = prepared(QSqlDatabase::database(m_connection), m_path, QStringLiteral("DELETE FROM images WHERE id = ?"));
    q.addBindValue(id);
    execPrepared(q, m_path);
}

QStringList GalleryGroup::axisNames() const {
    QStringList names;
    for (const auto& a : axes)
        names << a.name();
    return names;
}

namespace {

const char* kGroupColumns = "id, label, axes, parent_image, created";

GalleryGroup groupFrom(const QSqlQuery& q) {
    GalleryGroup g;
    g.id = q.value(0).toString();
    g.label = q.value(1).toString();
    try {
        g.axes = axesFromJson(q.value(2).toString());
    } catch (const VariantError&) {
        g.axes.clear(); // a damaged row still reads; its images keep their own axis values
    }
    g.parentImage = q.value(3).toLongLong();
    g.created = q.value(4).toLongLong();
    return g;
}

} // namespace

void GalleryStore::recordGroup(const GalleryGroup& group) {
    if (group.id.isEmpty())
        throw StoreError(QStringLiteral("gallery: %1: a group needs an id").arg(m_path).toStdString());
    auto q = prepared(QSqlDatabase::database(m_connection), m_path,
                      QStringLiteral("INSERT INTO variant_groups(id, label, axes, parent_image, created) "
                                     "VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET label = excluded.label, "
                                     "axes = excluded.axes, parent_image = excluded.parent_image"));
    q.addBindValue(group.id);
    q.addBindValue(text(group.label));
    q.addBindValue(axesToJson(group.axes));
    q.addBindValue(group.parentImage);
    q.addBindValue(group.created > 0 ? group.created : QDateTime::currentMSecsSinceEpoch());
    execPrepared(q, m_path);
}

std::optional<GalleryGroup> GalleryStore::group(const QString& id) const {
    auto q = prepared(QSqlDatabase::database(m_connection), m_path,
                      QStringLiteral("SELECT %1 FROM variant_groups WHERE id = ?").arg(QLatin1String(kGroupColumns)));
    q.addBindValue(id);
    execPrepared(q, m_path);
    if (!q.next())
        return std::nullopt;
    return groupFrom(q);
}

Lineage GalleryStore::lineage(qint64 id) const {
    const auto img = image(id);
    if (!img)
        throw StoreError(QStringLiteral("gallery: %1: no image %2").arg(m_path).arg(id).toStdString());
    Lineage l;
    l.parentImage = img->parentImage;
    if (!img->group.isEmpty()) {
        l.group = group(img->group);
        if (l.group && l.group->parentImage != 0)
            l.parentImage = l.group->parentImage;
        l.winners = searchIds({.winnersOnly = true, .group = img->group, .sort = GallerySort::OldestFirst});
    }
    if (l.parentImage != 0)
        if (const auto parent = image(l.parentImage))
            l.parentGroup = parent->group;
    auto q = prepared(QSqlDatabase::database(m_connection), m_path,
                      QStringLiteral("SELECT %1 FROM variant_groups WHERE parent_image = ? ORDER BY created, id")
                          .arg(QLatin1String(kGroupColumns)));
    q.addBindValue(id);
    execPrepared(q, m_path);
    while (q.next())
        l.branches.push_back(groupFrom(q));
    return l;
}

int GalleryStore::importFolder(const QString& folder, QStringList* errors) {
    const QDir dir(folder);
    if (!dir.exists()) {
        if (errors)
            *errors << folder + QStringLiteral(": not a folder");
        return 0;
    }
    QStringList files;
    for (const auto& info :
         dir.entryInfoList({QStringLiteral("*.png"), QStringLiteral("*.PNG")}, QDir::Files, QDir::Name))
        files << info.absoluteFilePath();
    return importFiles(files, errors);
}

int GalleryStore::importFiles(const QStringList& files, QStringList* errors) {
    QList<GalleryImage> found;
    for (const auto& file : files) {
        const QFileInfo info(file);
        QString why;
        const auto spec = specFromPng(info.absoluteFilePath(), &why);
        if (!spec) {
            if (errors)
                *errors << why;
            continue;
        }
        GalleryImage g;
        g.path = info.absoluteFilePath();
        g.spec = *spec;
        g.created = info.lastModified().toMSecsSinceEpoch();
        found.push_back(g);
    }
    recordAll(found);
    return static_cast<int>(found.size());
}

qint64 GalleryStore::dataVersion() const {
    QSqlQuery q(QSqlDatabase::database(m_connection));
    q.exec(QStringLiteral("PRAGMA data_version"));
    return q.next() ? q.value(0).toLongLong() : 0;
}

} // namespace charaforge::queue
