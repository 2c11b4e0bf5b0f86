#include "gallery/gallery_model.h"

#include "gallery/image_details.h"
#include "gallery/thumbnail_cache.h"

#include <QFileInfo>
#include <QPainter>

namespace charaforge::gallery {

namespace {

constexpr int kMaxPages = 20; // ~4000 records in memory

QImage tile(int size, const QColor& fill, const QString& text) {
    QImage img(size, size, QImage::Format_RGB32);
    img.fill(fill);
    if (!text.isEmpty()) {
        QPainter p(&img);
        p.setPen(Qt::white);
        p.drawText(img.rect(), Qt::AlignCenter, text);
    }
    return img;
}

} // namespace

GalleryModel::GalleryModel(queue::GalleryStore& store, ThumbnailCache& thumbnails, QObject* parent)
    : QAbstractListModel(parent), m_store(store), m_thumbnails(thumbnails),
      m_placeholder(tile(thumbnails.size(), QColor(0x44, 0x44, 0x48), QString())),
      m_missing(tile(thumbnails.size(), QColor(0x70, 0x30, 0x30), tr("missing"))) {
    connect(&thumbnails, &ThumbnailCache::ready, this,
            [this](const QString& path, const QImage&) { thumbnailReady(path); });
    connect(&thumbnails, &ThumbnailCache::failed, this, [this](const QString& path) { thumbnailReady(path); });
}

void GalleryModel::setQuery(const queue::GalleryQuery& query) {
    auto q = query;
    q.limit = -1;
    q.offset = 0;
    setResult(q, m_store.searchIds(q));
}

void GalleryModel::setResult(const queue::GalleryQuery& query, const QList<qint64>& ids) {
    beginResetModel();
    m_query = query;
    m_query.limit = -1;
    m_query.offset = 0;
    m_ids = ids;
    m_pages.clear();
    m_rowOfPath.clear();
    endResetModel();
}

void GalleryModel::refresh() {
    setQuery(m_query);
}

int GalleryModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(m_ids.size());
}

const queue::GalleryImage* GalleryModel::record(int row) const {
    if (row < 0 || row >= m_ids.size())
        return nullptr;
    const int page = row / kPageSize;
    auto it = m_pages.find(page);
    if (it == m_pages.end()) {
        if (m_pages.size() >= kMaxPages)
            m_pages.erase(m_pages.begin());
        // By id, not by re-running the query: a deep page of a full-text search costs what the first does.
        const auto pageIds = m_ids.mid(static_cast<qsizetype>(page) * kPageSize, kPageSize);
        const auto found = m_store.images(pageIds);
        QList<queue::GalleryImage> rows(pageIds.size()); // id 0: deleted since the ids were read
        for (qsizetype i = 0, j = 0; i < pageIds.size() && j < found.size(); ++i)
            if (found[j].id == pageIds[i])
                rows[i] = found[j++];
        it = m_pages.insert(page, rows);
    }
    const int at = row % kPageSize;
    if (at >= it->size() || it->at(at).id == 0)
        return nullptr;
    return &it->at(at);
}

QVariant GalleryModel::data(const QModelIndex& index, int role) const {
    const auto* img = record(index.row());
    if (!img)
        return {};
    switch (role) {
    case Qt::DisplayRole: {
        const QString name = img->characters.isEmpty()
                                 ? QStringLiteral("seed %1").arg(img->spec.seed)
                                 : QStringLiteral("%1 · %2").arg(img->characters.front()).arg(img->spec.seed);
        // The marks first, so that a grid of tiles shows them at a glance.
        QString marks = QString(img->rating, QChar(0x2605)); // ★ per rating point
        if (img->favourite)
            marks += QChar(0x2665); // ♥
        if (img->winner)
            marks += QStringLiteral("W");
        const QString line = marks.isEmpty() ? name : marks + QStringLiteral(" ") + name;
        return img->missing ? tr("missing · %1").arg(line) : line;
    }
    case Qt::ToolTipRole: {
        // The settings and the lineage (read when asked: one tooltip at a time), then the prompt.
        QStringList lines;
        if (img->missing)
            lines << tr("%1 is missing (moved or deleted)").arg(img->path);
        try {
            lines << imageDetailLines(m_store, *img);
        } catch (const queue::StoreError&) {
            // the lineage cannot be read now: the prompt still shows
        }
        lines << img->spec.prompt.left(500);
        return lines.join(QLatin1Char('\n'));
    }
    case Qt::DecorationRole: {
        if (img->missing)
            return m_missing;
        const QImage t = m_thumbnails.thumbnail(img->path);
        if (t.isNull()) {
            const_cast<GalleryModel*>(this)->m_rowOfPath.insert(img->path, index.row());
            return m_placeholder;
        }
        return t;
    }
    case IdRole:
        return img->id;
    case PathRole:
        return img->path;
    case SeedRole:
        return img->spec.seed;
    case RatingRole:
        return img->rating;
    case FavouriteRole:
        return img->favourite;
    case WinnerRole:
        return img->winner;
    case MissingRole:
        return img->missing;
    case GroupRole:
        return img->group;
    case PromptRole:
        return img->spec.prompt;
    default:
        return {};
    }
}

QHash<int, QByteArray> GalleryModel::roleNames() const {
    auto names = QAbstractListModel::roleNames();
    names.insert({{IdRole, "id"},
                  {PathRole, "path"},
                  {SeedRole, "seed"},
                  {RatingRole, "rating"},
                  {FavouriteRole, "favourite"},
                  {WinnerRole, "winner"},
                  {MissingRole, "missing"},
                  {GroupRole, "group"},
                  {PromptRole, "prompt"}});
    return names;
}

qint64 GalleryModel::idAt(int row) const {
    return row >= 0 && row < m_ids.size() ? m_ids[row] : 0;
}

std::optional<queue::GalleryImage> GalleryModel::imageAt(int row) const {
    const auto* img = record(row);
    return img ? std::optional<queue::GalleryImage>(*img) : std::nullopt;
}

void GalleryModel::invalidate(int row) {
    m_pages.remove(row / kPageSize);
    Q_EMIT dataChanged(index(row), index(row));
}

void GalleryModel::setRating(int row, int rating) {
    m_store.setRating(idAt(row), rating);
    invalidate(row);
}

void GalleryModel::setFavourite(int row, bool favourite) {
    m_store.setFavourite(idAt(row), favourite);
    invalidate(row);
}

void GalleryModel::setWinner(int row, bool winner) {
    m_store.setWinner(idAt(row), winner, true);
    // Other rows of the group may have lost the mark.
    m_pages.clear();
    if (!m_ids.isEmpty())
        Q_EMIT dataChanged(index(0), index(static_cast<int>(m_ids.size()) - 1));
}

void GalleryModel::thumbnailReady(const QString& path) {
    const auto it = m_rowOfPath.find(path);
    if (it == m_rowOfPath.end())
        return;
    const int row = it.value();
    m_rowOfPath.erase(it);
    if (row < m_ids.size())
        Q_EMIT dataChanged(index(row), index(row), {Qt::DecorationRole});
}

} // namespace charaforge::gallery
