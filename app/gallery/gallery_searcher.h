#pragma once
// Runs gallery queries off the GUI thread: a full-text search or a filter over 20,000 images takes longer
// than a frame, so the panel asks here and shows the ids when they come back. One thread with its own store
// connection (a GalleryStore is used on one thread only); answers to superseded requests are dropped.
#include "queue/gallery_store.h"

#include <QList>
#include <QObject>
#include <QString>
#include <QThread>

#include <atomic>
#include <memory>

namespace charaforge::gallery {

class GallerySearcher : public QObject {
    Q_OBJECT
public:
    // Opens its connection to the gallery database `path` on its own thread.
    explicit GallerySearcher(const QString& path, QObject* parent = nullptr);
    ~GallerySearcher() override; // stops the thread (a running query finishes first)

    // Starts `query`; found() (or failed()) answers with the returned serial. An older request still
    // waiting is skipped.
    int search(const queue::GalleryQuery& query);
    // The serial of the latest request (found() only ever answers the latest).
    int latest() const { return m_serial.load(); }

Q_SIGNALS:
    void found(int serial, const charaforge::queue::GalleryQuery& query, const QList<qint64>& ids);
    void failed(int serial, const QString& message);

private:
    QString m_path;
    QThread m_thread;
    QObject* m_worker = nullptr;                  // lives on m_thread: the context of the requests
    std::unique_ptr<queue::GalleryStore> m_store; // used on m_thread only
    std::atomic<int> m_serial{0};
};

} // namespace charaforge::gallery
