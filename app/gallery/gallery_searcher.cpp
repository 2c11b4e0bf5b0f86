#include "gallery/gallery_searcher.h"

#include <QMetaObject>

namespace charaforge::gallery {

GallerySearcher::GallerySearcher(const QString& path, QObject* parent) : QObject(parent), m_path(path) {
    m_worker = new QObject;
    m_worker->moveToThread(&m_thread);
    m_thread.setObjectName(QStringLiteral("gallery search"));
    m_thread.start();
}

GallerySearcher::~GallerySearcher() {
    // Queued after every request already sent: once it has run, no request touches the store any more.
    QMetaObject::invokeMethod(
        m_worker, [this] { m_store.reset(); }, Qt::BlockingQueuedConnection);
    m_thread.quit();
    m_thread.wait();
    delete m_worker;
}

int GallerySearcher::search(const queue::GalleryQuery& query) {
    const int serial = ++m_serial;
    QMetaObject::invokeMethod(
        m_worker,
        [this, serial, query] {
            if (serial != m_serial.load()) // superseded while it waited
                return;
            QList<qint64> ids;
            QString error;
            try {
                if (!m_store)
                    m_store = std::make_unique<queue::GalleryStore>(m_path);
                ids = m_store->searchIds(query);
            } catch (const std::exception& e) {
                error = QString::fromStdString(e.what());
            }
            QMetaObject::invokeMethod(
                this,
                [this, serial, query, ids, error] {
                    if (serial != m_serial.load())
                        return;
                    if (error.isEmpty())
                        Q_EMIT found(serial, query, ids);
                    else
                        Q_EMIT failed(serial, error);
                },
                Qt::QueuedConnection);
        },
        Qt::QueuedConnection);
    return serial;
}

} // namespace charaforge::gallery
