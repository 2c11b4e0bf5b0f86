#pragma once
// The gallery: thumbnails of the generated images, newest first. A view: it holds scaled-down copies
// and the paths, and emits what the user picked; the app decides what to load or restore.
#include <QImage>
#include <QString>
#include <QStringList>
#include <QWidget>

class QAction;
class QListWidget;
class QListWidgetItem;
class QPoint;

namespace charaforge::ui {

class GalleryView : public QWidget {
    Q_OBJECT
public:
    // Longest side of a thumbnail, in pixels.
    static constexpr int kThumbnailSize = 160;

    explicit GalleryView(QWidget* parent = nullptr);

    // Adds a thumbnail of `image` at the front. An image already shown under the same path is replaced.
    void addImage(qint64 jobId, const QImage& image, const QString& path, const QString& tooltip);
    // Adds a thumbnail right after the one of `originalPath` (an erased image beside its original); at the front
    // when the original is not shown.
    void addImageBeside(const QString& originalPath, qint64 jobId, const QImage& image, const QString& path,
                        const QString& tooltip);
    void clear();
    int count() const;

    // Row 0 is the newest image.
    QString pathAt(int row) const;
    qint64 jobIdAt(int row) const;
    // Path of the current image, "" when none.
    QString currentPath() const;
    // Paths of the selected images (Ctrl/Shift-click selects several), in gallery order.
    QStringList selectedPaths() const;
    // Makes the image at `path` current (emits imageSelected); false when it is not shown.
    bool selectPath(const QString& path);
    // Makes the image `delta` rows after the current one current (emits imageSelected); with none current,
    // the newest. False at either end or when the gallery is empty.
    bool selectRelative(int delta);

    QListWidget* list() const { return m_list; }

Q_SIGNALS:
    // The current image changed (click or keyboard).
    void imageSelected(const QString& path);
    // Double-click or Enter on an image.
    void imageActivated(const QString& path);
    // Context menu "Restore settings in the editor".
    void restoreRequested(const QString& path);
    // Context menu "Compare its group…": the compare view of the image's variant group.
    void compareRequested(const QString& path);
    // Context menu "Erase with a mask…": the selected images.
    void eraseRequested(const QStringList& paths);

private:
    void showContextMenu(const QPoint& pos);
    void updateActions();
    void copyPath();
    void openFolder();

    QListWidget* m_list = nullptr;
    QAction* m_restoreAction = nullptr;
    QAction* m_compareAction = nullptr;
    QAction* m_eraseAction = nullptr;
    QAction* m_openFolderAction = nullptr;
    QAction* m_copyPathAction = nullptr;
};

} // namespace charaforge::ui
