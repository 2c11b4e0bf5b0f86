#pragma once
// The gallery that remembers: every finished image in SQLite next to the queue (gallery.db), one durable
// transaction per image written only after its PNG is on disk, with full-text search (FTS5) over prompt
// text, tags and character names, filters and sorting. Images deleted on disk are reported as missing.
// Schema 2 adds the variant groups' lineage (a `groups` table: label, axes, the image a group was branched
// from), so that "parent image -> group -> winner" survives the queue forgetting its jobs; a schema-1
// database is migrated in place on open (its groups filled from its images) and stays readable.
// A GalleryStore is one connection; use it only on the thread that opened it.
#include "queue/job.h"
#include "queue/job_store.h" // StoreError
#include "queue/variants.h"

#include <QList>
#include <QString>
#include <QStringList>

#include <optional>

namespace charaforge::queue {

struct GalleryImage {
    qint64 id = 0;
    QString path; // absolute path of the PNG
    qint64 jobId = 0;
    QString group;
    QStringList axisValues; // the job's values on its group's axes
    JobSpec spec;           // prompt, negative, seed and every setting
    QStringList tags;       // every tag of the prompt (flattened)
    QStringList characters; // character names (<n> tags)
    int rating = 0;         // 0 (unrated) .. 5
    bool favourite = false;
    bool winner = false;
    qint64 parentImage = 0; // the image this one's group was branched from (0: none)
    qint64 created = 0;     // ms since the epoch
    bool missing = false;   // the file is gone (computed when read)
};

// A variant group as the gallery remembers it.
struct GalleryGroup {
    QString id;
    QString label;
    QList<VariantAxis> axes;
    qint64 parentImage = 0; // the image the group was branched from (0: none)
    qint64 created = 0;     // ms since the epoch

    QStringList axisNames() const;
    bool operator==(const GalleryGroup&) const = default;
};

// Where an image comes from and what came of it: parent image -> its group -> the group's winners, and the
// groups branched from the image itself.
struct Lineage {
    std::optional<GalleryGroup> group; // the image's group (none: not in a group the gallery knows)
    qint64 parentImage = 0;            // the image its group was branched from (0: none)
    QString parentGroup;               // the group of that parent image ("" when unknown)
    QList<qint64> winners;             // the winners of the image's group, oldest first
    QList<GalleryGroup> branches;      // groups branched from this image, oldest first
};

enum class GallerySort { NewestFirst, OldestFirst, RatingThenNewest };

struct GalleryQuery {
    QString text{}; // words matched (as prefixes) in prompt, tags and character names; all must match
    int minRating = 0;
    bool favouritesOnly = false;
    bool winnersOnly = false;
    QString group{};     // "" = any
    QString character{}; // a character name tag, "" = any
    int width = 0;       // 0 = any
    int height = 0;
    qint64 createdFrom = 0; // ms since the epoch, inclusive; 0 = no bound
    qint64 createdTo = 0;   // exclusive; 0 = no bound
    GallerySort sort = GallerySort::NewestFirst;
    int limit = -1; // -1 = all
    int offset = 0;
};

class GalleryStore {
public:
    // Opens (creating if needed) the gallery database at `path`. Throws StoreError naming the file.
    explicit GalleryStore(const QString& path);
    ~GalleryStore();
    GalleryStore(const GalleryStore&) = delete;
    GalleryStore& operator=(const GalleryStore&) = delete;

    QString path() const { return m_path; }
    // gallery.db in the folder of the queue database `queuePath`.
    static QString pathNextTo(const QString& queuePath);

    // Records an image whose PNG is already on disk (throws StoreError otherwise) in one durable
    // transaction; tags and character names are taken from the prompt. Recording the same path again
    // updates its settings and keeps rating, favourite and winner. Returns the image id.
    qint64 record(GalleryImage image);

    // Records many images in one transaction (an import, a benchmark); same rules as record().
    void recordAll(const QList<GalleryImage>& images);

    std::optional<GalleryImage> image(qint64 id) const;
    std::optional<GalleryImage> imageForPath(const QString& path) const;
    // The records of `ids` in that order (ids with no record left out): one indexed read, whatever query
    // found the ids (a view pages through a search result with it).
    QList<GalleryImage> images(const QList<qint64>& ids) const;
    QList<GalleryImage> search(const GalleryQuery& query) const;
    int count(const GalleryQuery& query) const;
    // Ids only, in the query's order: what a view needs to page lazily.
    QList<qint64> searchIds(const GalleryQuery& query) const;

    void setRating(qint64 id, int rating); // 0..5, else StoreError
    void setFavourite(qint64 id, bool favourite);
    // Marks `id` its group's winner (clearing the group's other winners when `exclusive`).
    void setWinner(qint64 id, bool winner, bool exclusive = false);
    void remove(qint64 id); // the record only; the file stays

    // Remembers a group (an existing one keeps its creation time); StoreError for an empty id.
    void recordGroup(const GalleryGroup& group);
    std::optional<GalleryGroup> group(const QString& id) const;
    // The lineage of image `id`; StoreError when there is no such image.
    Lineage lineage(qint64 id) const;

    // Adds every PNG of `folder` (not recursive) that carries our record or A1111 `parameters`; files
    // already in the gallery are updated. Returns how many were added or updated; a file that cannot be
    // read is skipped with "FILE: why" appended to *errors.
    int importFolder(const QString& folder, QStringList* errors = nullptr);
    // The same for a list of PNG files (a drop): all recorded in one transaction, unreadable ones skipped
    // with "FILE: why" appended to *errors.
    int importFiles(const QStringList& files, QStringList* errors = nullptr);

    // Changes whenever any connection commits (cheap polling for views).
    qint64 dataVersion() const;

private:
    QString m_path;
    QString m_connection;
};

// The words of `text` as an FTS5 query: each word a quoted prefix term, all required. Quotes and FTS
// operators in the user's text are data, never syntax.
QString ftsQuery(const QString& text);

} // namespace charaforge::queue
