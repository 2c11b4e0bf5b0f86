#pragma once
// Thumbnails for the gallery browser: a memory cache in front of a disk cache (PNG files keyed by the
// image's path, size and modification time), filled off the GUI thread. The GUI thread only looks up
// ready thumbnails and queues requests; decoding, scaling and writing happen on a thread pool, and the
// result comes back through a queued signal carrying a QImage.
#include <QCache>
#include <QImage>
#include <QObject>
#include <QSet>
#include <QString>
#include <QThreadPool>

namespace charaforge::gallery {

class ThumbnailCache : public QObject {
    Q_OBJECT
public:
    // `folder`: where the thumbnail files live (created on demand); `size`: their longest side.
    explicit ThumbnailCache(const QString& folder, int size = 160, QObject* parent = nullptr);
    ~ThumbnailCache() override;

    // The thumbnail when it is in memory; otherwise a null image and, once per path, a background job
    // that emits ready() (or failed() for a missing or unreadable file).
    QImage thumbnail(const QString& path);
    // Waits for the background jobs (tests, shutdown).
    void waitForDone();
    int size() const { return m_size; }
    // The thumbnail file for `path` (exists or not).
    QString cacheFile(const QString& path) const;

Q_SIGNALS:
    void ready(const QString& path, const QImage& thumbnail);
    void failed(const QString& path);

private:
    void deliver(const QString& path, const QImage& image);

    QString m_folder;
    int m_size;
    QCache<QString, QImage> m_memory;
    QSet<QString> m_pending;
    QSet<QString> m_failed;
    QThreadPool m_pool;
};

} // namespace charaforge::gallery
