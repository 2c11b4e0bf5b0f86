#include "gallery/thumbnail_cache.h"

#include <QCryptographicHash>
#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QMetaObject>
#include <QSaveFile>

namespace charaforge::gallery {

namespace {

constexpr int kMemoryThumbnails = 2000;

// Runs on the pool: the disk cache when it is current, else decode, scale and store.
QImage makeThumbnail(const QString& source, const QString& cached, int size) {
    QImage thumb(cached);
    if (!thumb.isNull())
        return thumb;
    QImage full(source);
    if (full.isNull())
        return {};
    thumb = full.scaled(size, size, Qt::KeepAspectRatio, Qt::SmoothTransformation);
    QSaveFile out(cached);
    if (out.open(QIODevice::WriteOnly) && thumb.save(&out, "PNG"))
        out.commit(); // a failed write only costs a regeneration next time
    return thumb;
}

} // namespace

ThumbnailCache::ThumbnailCache(const QString& folder, int size, QObject* parent)
    : QObject(parent), m_folder(folder), m_size(size), m_memory(kMemoryThumbnails) {
    QDir().mkpath(folder);
    m_pool.setMaxThreadCount(std::max(1, QThread::idealThreadCount() - 1));
}

ThumbnailCache::~ThumbnailCache() {
    m_pool.clear();
    m_pool.waitForDone();
}

QString ThumbnailCache::cacheFile(const QString& path) const {
    const QFileInfo info(path);
    const QByteArray key = QStringLiteral("%1|%2|%3|%4")
                               .arg(info.absoluteFilePath())
                               .arg(info.size())
                               .arg(info.lastModified().toMSecsSinceEpoch())
                               .arg(m_size)
                               .toUtf8();
    return QDir(m_folder).filePath(
        QString::fromLatin1(QCryptographicHash::hash(key, QCryptographicHash::Sha1).toHex()) + QStringLiteral(".png"));
}

QImage ThumbnailCache::thumbnail(const QString& path) {
    if (const QImage* hit = m_memory.object(path))
        return *hit;
    if (m_pending.contains(path) || m_failed.contains(path))
        return {};
    m_pending.insert(path);
    // The pool is a member: it is drained before this object dies, so `this` outlives every task.
    m_pool.start([this, path] {
        const QImage thumb = makeThumbnail(path, cacheFile(path), m_size);
        QMetaObject::invokeMethod(
            this, [this, path, thumb] { deliver(path, thumb); }, Qt::QueuedConnection);
    });
    return {};
}

void ThumbnailCache::deliver(const QString& path, const QImage& image) {
    m_pending.remove(path);
    if (image.isNull()) {
        m_failed.insert(path);
        Q_EMIT failed(path);
        return;
    }
    m_memory.insert(path, new QImage(image));
    Q_EMIT ready(path, image);
}

void ThumbnailCache::waitForDone() {
    m_pool.waitForDone();
}

} // namespace charaforge::gallery
