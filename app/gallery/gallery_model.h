#pragma once
// The gallery as a Qt list model over the gallery database, for 20,000 images and more: a query keeps only
// the matching ids; records are read a page at a time when a view first asks for a row, thumbnails come
// from a ThumbnailCache (a placeholder until they are ready). Use on the GUI thread.
#include "queue/gallery_store.h"

#include <QAbstractListModel>
#include <QHash>
#include <QImage>
#include <QList>

namespace charaforge::gallery {

class ThumbnailCache;

class GalleryModel : public QAbstractListModel {
    Q_OBJECT
public:
    enum Role {
        IdRole = Qt::UserRole + 1,
        PathRole,
        SeedRole,
        RatingRole,
        FavouriteRole,
        WinnerRole,
        MissingRole,
        GroupRole,
        PromptRole,
    };

    GalleryModel(queue::GalleryStore& store, ThumbnailCache& thumbnails, QObject* parent = nullptr);

    // Runs the query (ids only) and resets the model.
    void setQuery(const queue::GalleryQuery& query);
    // Shows `ids`, the result of `query` found elsewhere (GallerySearcher, off the GUI thread).
    void setResult(const queue::GalleryQuery& query, const QList<qint64>& ids);
    const queue::GalleryQuery& query() const { return m_query; }
    // Re-reads the rows (after the store changed).
    void refresh();
    // The row showing image `id`, -1 when none.
    int rowOf(qint64 id) const { return static_cast<int>(m_ids.indexOf(id)); }

    int rowCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

    qint64 idAt(int row) const;
    // The full record of a row (reads its page when needed).
    std::optional<queue::GalleryImage> imageAt(int row) const;

    // Marks, written to the store and shown at once.
    void setRating(int row, int rating);
    void setFavourite(int row, bool favourite);
    void setWinner(int row, bool winner);

    static constexpr int kPageSize = 200;

private:
    const queue::GalleryImage* record(int row) const;
    void thumbnailReady(const QString& path);
    void invalidate(int row);

    queue::GalleryStore& m_store;
    ThumbnailCache& m_thumbnails;
    queue::GalleryQuery m_query;
    QList<qint64> m_ids;
    mutable QHash<int, QList<queue::GalleryImage>> m_pages; // page number → its records
    QHash<QString, int> m_rowOfPath;                        // rows whose thumbnail was requested
    QImage m_placeholder;
    QImage m_missing;
};

} // namespace charaforge::gallery
