#include "ui/gallery_view.h"

#include <QAction>
#include <QClipboard>
#include <QDesktopServices>
#include <QDir>
#include <QFileInfo>
#include <QGuiApplication>
#include <QListWidget>
#include <QMenu>
#include <QPainter>
#include <QPixmap>
#include <QSignalBlocker>
#include <QUrl>
#include <QVBoxLayout>

namespace charaforge::ui {

namespace {

constexpr int kPathRole = Qt::UserRole;
constexpr int kJobIdRole = Qt::UserRole + 1;

// The thumbnail of `image`: scaled down to at most kThumbnailSize on its longest side (never up) and
// centred on a transparent kThumbnailSize square, so every cell of the grid lines up; a grey square
// when the image is missing.
QPixmap thumbnail(const QImage& image) {
    const int size = GalleryView::kThumbnailSize;
    QPixmap canvas(size, size);
    if (image.isNull()) {
        canvas.fill(QColor(90, 90, 90));
        return canvas;
    }
    canvas.fill(Qt::transparent);
    const QImage scaled = image.width() <= size && image.height() <= size
                              ? image
                              : image.scaled(size, size, Qt::KeepAspectRatio, Qt::SmoothTransformation);
    QPainter p(&canvas);
    p.drawImage((size - scaled.width()) / 2, (size - scaled.height()) / 2, scaled);
    return canvas;
}

} // namespace

GalleryView::GalleryView(QWidget* parent) : QWidget(parent) {
    m_list = new QListWidget(this);
    m_list->setObjectName(QStringLiteral("galleryList"));
    m_list->setViewMode(QListView::IconMode);
    m_list->setMovement(QListView::Static);
    m_list->setResizeMode(QListView::Adjust);
    m_list->setIconSize(QSize(kThumbnailSize, kThumbnailSize));
    m_list->setGridSize(QSize(kThumbnailSize + 16, kThumbnailSize + 16 + fontMetrics().height()));
    // Room for one whole row of thumbnails: the splitter gave the strip 70 px on a 1280 x 800 screen.
    m_list->setMinimumHeight(m_list->gridSize().height() + 2 * m_list->frameWidth());
    m_list->setUniformItemSizes(true);
    m_list->setWordWrap(false);
    m_list->setTextElideMode(Qt::ElideMiddle);
    m_list->setSelectionMode(QAbstractItemView::ExtendedSelection); // several images: erase many
    m_list->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_list->setDragEnabled(false);
    m_list->setContextMenuPolicy(Qt::CustomContextMenu);

    m_restoreAction = new QAction(tr("Restore settings in the editor"), this);
    m_restoreAction->setObjectName(QStringLiteral("restoreAction"));
    connect(m_restoreAction, &QAction::triggered, this, [this] {
        const QString path = currentPath();
        if (!path.isEmpty())
            Q_EMIT restoreRequested(path);
    });
    m_compareAction = new QAction(tr("Compare its group…"), this);
    m_compareAction->setObjectName(QStringLiteral("compareAction"));
    connect(m_compareAction, &QAction::triggered, this, [this] {
        const QString path = currentPath();
        if (!path.isEmpty())
            Q_EMIT compareRequested(path);
    });
    m_eraseAction = new QAction(tr("Erase with a mask…"), this);
    m_eraseAction->setObjectName(QStringLiteral("galleryEraseAction"));
    connect(m_eraseAction, &QAction::triggered, this, [this] {
        const QStringList paths = selectedPaths();
        if (!paths.isEmpty())
            Q_EMIT eraseRequested(paths);
    });
    m_openFolderAction = new QAction(tr("Open containing folder"), this);
    m_openFolderAction->setObjectName(QStringLiteral("openFolderAction"));
    connect(m_openFolderAction, &QAction::triggered, this, &GalleryView::openFolder);
    m_copyPathAction = new QAction(tr("Copy path"), this);
    m_copyPathAction->setObjectName(QStringLiteral("copyPathAction"));
    connect(m_copyPathAction, &QAction::triggered, this, &GalleryView::copyPath);

    connect(m_list, &QListWidget::currentItemChanged, this, [this](QListWidgetItem* current) {
        updateActions();
        if (current)
            Q_EMIT imageSelected(current->data(kPathRole).toString());
    });
    connect(m_list, &QListWidget::itemActivated, this,
            [this](QListWidgetItem* item) { Q_EMIT imageActivated(item->data(kPathRole).toString()); });
    connect(m_list, &QWidget::customContextMenuRequested, this, &GalleryView::showContextMenu);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_list);
    updateActions();
}

void GalleryView::addImage(qint64 jobId, const QImage& image, const QString& path, const QString& tooltip) {
    // A file written again replaces its old thumbnail; taking it out must not select a neighbour.
    bool wasCurrent = false;
    for (int row = 0; row < m_list->count(); ++row) {
        if (!path.isEmpty() && m_list->item(row)->data(kPathRole).toString() == path) {
            wasCurrent = m_list->currentRow() == row;
            const QSignalBlocker blocker(m_list);
            delete m_list->takeItem(row);
            break;
        }
    }
    auto* item = new QListWidgetItem(QIcon(thumbnail(image)), QFileInfo(path).fileName());
    item->setData(kPathRole, path);
    item->setData(kJobIdRole, jobId);
    item->setToolTip(tooltip.isEmpty() ? QDir::toNativeSeparators(path) : tooltip);
    m_list->insertItem(0, item);
    if (wasCurrent)
        m_list->setCurrentItem(item);
    updateActions();
}

void GalleryView::addImageBeside(const QString& originalPath, qint64 jobId, const QImage& image, const QString& path,
                                 const QString& tooltip) {
    addImage(jobId, image, path, tooltip); // at the front
    for (int row = 1; row < m_list->count(); ++row) {
        if (m_list->item(row)->data(kPathRole).toString() != originalPath)
            continue;
        const bool wasCurrent = m_list->currentRow() == 0;
        QListWidgetItem* item = nullptr;
        {
            const QSignalBlocker blocker(m_list);
            item = m_list->takeItem(0);
            m_list->insertItem(row, item); // the original moved up to row - 1: right after it
        }
        if (wasCurrent)
            m_list->setCurrentItem(item);
        break;
    }
}

QStringList GalleryView::selectedPaths() const {
    QStringList paths;
    for (int row = 0; row < m_list->count(); ++row)
        if (m_list->item(row)->isSelected())
            paths << m_list->item(row)->data(kPathRole).toString();
    return paths;
}

void GalleryView::clear() {
    m_list->clear();
    updateActions();
}

int GalleryView::count() const {
    return m_list->count();
}

QString GalleryView::pathAt(int row) const {
    const QListWidgetItem* item = m_list->item(row);
    return item ? item->data(kPathRole).toString() : QString();
}

qint64 GalleryView::jobIdAt(int row) const {
    const QListWidgetItem* item = m_list->item(row);
    return item ? item->data(kJobIdRole).toLongLong() : -1;
}

QString GalleryView::currentPath() const {
    const QListWidgetItem* item = m_list->currentItem();
    return item ? item->data(kPathRole).toString() : QString();
}

bool GalleryView::selectPath(const QString& path) {
    for (int row = 0; row < m_list->count(); ++row) {
        if (m_list->item(row)->data(kPathRole).toString() == path) {
            m_list->setCurrentRow(row);
            m_list->scrollToItem(m_list->item(row));
            return true;
        }
    }
    return false;
}

bool GalleryView::selectRelative(int delta) {
    const int current = m_list->currentRow();
    const int row = current < 0 ? 0 : current + delta;
    if (row < 0 || row >= m_list->count() || row == current)
        return false;
    m_list->setCurrentRow(row);
    m_list->scrollToItem(m_list->item(row));
    return true;
}

void GalleryView::updateActions() {
    const bool hasCurrent = !currentPath().isEmpty();
    m_restoreAction->setEnabled(hasCurrent);
    m_compareAction->setEnabled(hasCurrent);
    m_eraseAction->setEnabled(hasCurrent);
    m_openFolderAction->setEnabled(hasCurrent);
    m_copyPathAction->setEnabled(hasCurrent);
}

void GalleryView::showContextMenu(const QPoint& pos) {
    QListWidgetItem* item = m_list->itemAt(pos);
    if (!item)
        return;
    if (!item->isSelected())
        m_list->setCurrentItem(item); // a click outside the selection selects that one; inside, it stays
    QMenu menu(this);
    menu.addAction(m_restoreAction);
    menu.addAction(m_compareAction);
    menu.addAction(m_eraseAction);
    menu.addSeparator();
    menu.addAction(m_openFolderAction);
    menu.addAction(m_copyPathAction);
    menu.exec(m_list->viewport()->mapToGlobal(pos));
}

void GalleryView::copyPath() {
    const QString path = currentPath();
    if (!path.isEmpty())
        QGuiApplication::clipboard()->setText(QDir::toNativeSeparators(path));
}

void GalleryView::openFolder() {
    const QString path = currentPath();
    if (!path.isEmpty())
        QDesktopServices::openUrl(QUrl::fromLocalFile(QFileInfo(path).absolutePath()));
}

} // namespace charaforge::ui
