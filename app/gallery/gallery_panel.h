#pragma once
// The studio's gallery browser over the gallery database (every image ever recorded, not only this
// session's): a search box (full-text over prompt, tags and names), filters (rating, favourite, winner,
// group, character, size, dates), sorting, a grid of lazily loaded cached thumbnails (GalleryModel),
// rating 0-5 / favourite / winner from keys and the context menu (written to the store), folder and PNG
// drops imported off the GUI thread, and the export dialog for a selection. Images deleted on disk show as
// missing. A view over its own store connection: it owns no generation work.
//
// Public API for the rest of the studio (keep it small): the signals below, and query()/selectedIds().
#include "gallery/gallery_export.h"
#include "gallery/gallery_import.h"
#include "queue/gallery_store.h"

#include <QList>
#include <QString>
#include <QStringList>
#include <QTimer>
#include <QWidget>

#include <memory>

class QCheckBox;
class QComboBox;
class QDateEdit;
class QLabel;
class QLineEdit;
class QListView;
class QMenu;
class QThread;

namespace charaforge::gallery {

class ExportDialog;
class GalleryModel;
class GallerySearcher;
class ThumbnailCache;

// What an export takes from the panel.
enum class ExportScope {
    Selected, // the hand-picked rows
    Group,    // every image of the current image's group
    Winners,  // the winners among the current search result
    Search,   // the whole current search result
};

class GalleryPanel : public QWidget {
    Q_OBJECT
public:
    // The gallery beside the queue database `queuePath` (GalleryStore::pathNextTo; created when missing),
    // its thumbnails cached in `thumbnailFolder`. Throws queue::StoreError when the database cannot be opened.
    GalleryPanel(const QString& queuePath, const QString& thumbnailFolder, QWidget* parent = nullptr);
    ~GalleryPanel() override;

    // The query the filter widgets describe (what the grid shows once the search thread answers).
    queue::GalleryQuery query() const;
    // Starts the filters' search now (typing in the search box waits a moment first). The query runs on the
    // search thread; the grid changes when it answers (isSearching() is true until then).
    void applyFilters();
    // Searches again (new images from the worker, another process' marks), keeping the current image, the
    // selection and the scroll position.
    void reload();
    bool isSearching() const { return m_pendingSearch != 0; }

    QList<qint64> selectedIds() const;
    qint64 currentId() const;
    // Makes the image `id` current and selected; false when the grid does not show it.
    bool selectId(qint64 id);

    // Marks on the selected images (or the current one), written to the store at once.
    void rateSelection(int rating); // 0 clears
    void toggleFavourite();
    void toggleWinner(); // the group's only winner

    // Adds folders and PNG files to the gallery on a worker thread; importFinished() reports. A second
    // import while one runs waits for it.
    void importPaths(const QStringList& paths);
    bool isImporting() const { return m_importThread != nullptr; }

    // The images of `scope` as export items (with group labels from the queue's groups).
    QList<ExportItem> exportItems(ExportScope scope) const;
    // Opens the export dialog (non-modal) on the selection; returns it (tests drive it).
    ExportDialog* openExportDialog();

    GalleryModel* model() const { return m_model; }
    QListView* view() const { return m_view; }
    queue::GalleryStore& store() { return *m_store; }
    // The line under the grid: counts and the last action's outcome.
    QString statusText() const;

Q_SIGNALS:
    // The current image changed / was activated (double-click, Enter); also for missing files (the receiver
    // decides: the panel has already said it is missing).
    void imageSelected(const QString& path);
    void imageActivated(const QString& path);
    // Context menu "Restore settings in the editor".
    void restoreRequested(const QString& path);
    // Context menu "Erase with a mask…": the selected images that are on disk (erase many with one mask).
    void eraseRequested(const QStringList& paths);
    // Context menu "Compare this group": the compare view should open on `group` (a variant group id).
    void compareGroupRequested(const QString& group);
    // An import finished: images added or updated, and one line per file skipped.
    void importFinished(int added, const QStringList& problems);

protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    void buildFilters();
    void buildActions();
    void showContextMenu(const QPoint& pos);
    void updateStatus(const QString& message = QString());
    void pollStore();
    void startSearch(bool keepView);
    void showResult(int serial, const queue::GalleryQuery& query, const QList<qint64>& ids);
    void importDone(const ImportReport& report);
    QList<int> selectedRows() const;

    QString m_queuePath;
    std::unique_ptr<queue::GalleryStore> m_store;
    std::unique_ptr<ThumbnailCache> m_thumbnails;
    std::unique_ptr<GallerySearcher> m_searcher;
    int m_pendingSearch = 0; // the serial the grid waits for (0: none)
    struct ViewState {
        qint64 current = 0;
        QList<qint64> selected;
        int scroll = -1; // -1: not kept
    } m_restore;
    GalleryModel* m_model = nullptr;
    QListView* m_view = nullptr;
    QLineEdit* m_search = nullptr;
    QComboBox* m_sort = nullptr;
    QComboBox* m_minRating = nullptr;
    QCheckBox* m_favourites = nullptr;
    QCheckBox* m_winners = nullptr;
    QLineEdit* m_group = nullptr;
    QLineEdit* m_character = nullptr;
    QLineEdit* m_size = nullptr;
    QDateEdit* m_from = nullptr;
    QDateEdit* m_to = nullptr;
    QLabel* m_status = nullptr;
    QString m_lastMessage;
    QTimer m_searchDelay;
    QTimer m_poll;
    qint64 m_version = 0;
    QMenu* m_rateMenu = nullptr;
    QAction* m_favouriteAction = nullptr;
    QAction* m_winnerAction = nullptr;
    QAction* m_compareAction = nullptr;
    QAction* m_restoreAction = nullptr;
    QAction* m_eraseAction = nullptr;
    QAction* m_exportAction = nullptr;
    QThread* m_importThread = nullptr;
    QStringList m_importQueue; // paths dropped while an import runs
};

} // namespace charaforge::gallery
