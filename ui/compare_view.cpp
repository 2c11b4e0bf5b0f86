#include "ui/compare_view.h"

#include "ui/image_viewer.h"
#include "ui/swipe_view.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QKeyEvent>
#include <QLabel>
#include <QPushButton>
#include <QSet>
#include <QSlider>
#include <QSplitter>
#include <QStyledItemDelegate>
#include <QTabWidget>
#include <QTableView>
#include <QVBoxLayout>

namespace charaforge::ui {

namespace {

// A grid cell: the thumbnail above its marks.
class CellDelegate : public QStyledItemDelegate {
public:
    using QStyledItemDelegate::QStyledItemDelegate;

protected:
    void initStyleOption(QStyleOptionViewItem* option, const QModelIndex& index) const override {
        QStyledItemDelegate::initStyleOption(option, index);
        option->decorationPosition = QStyleOptionViewItem::Top;
        option->decorationAlignment = Qt::AlignHCenter | Qt::AlignTop;
        option->displayAlignment = Qt::AlignHCenter | Qt::AlignVCenter;
        option->decorationSize = QSize(CompareGridModel::kThumbnailSize, CompareGridModel::kThumbnailSize);
    }
};

} // namespace

CompareView::CompareView(QWidget* parent) : QWidget(parent, Qt::Window) {
    setObjectName(QStringLiteral("compareView"));
    setWindowTitle(tr("Compare"));
    m_model = new CompareGridModel(this);

    m_title = new QLabel(this);
    m_title->setObjectName(QStringLiteral("compareTitle"));
    m_title->setWordWrap(true);

    m_grid = new QTableView(this);
    m_grid->setObjectName(QStringLiteral("compareGrid"));
    m_grid->setModel(m_model);
    m_grid->setItemDelegate(new CellDelegate(m_grid));
    m_grid->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_grid->setSelectionBehavior(QAbstractItemView::SelectItems);
    m_grid->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_grid->setIconSize(QSize(CompareGridModel::kThumbnailSize, CompareGridModel::kThumbnailSize));
    m_grid->horizontalHeader()->setDefaultSectionSize(CompareGridModel::kThumbnailSize + 16);
    m_grid->verticalHeader()->setDefaultSectionSize(CompareGridModel::kThumbnailSize + 28);
    m_grid->installEventFilter(this);

    auto* sideBySide = new QWidget(this);
    auto* sideLayout = new QHBoxLayout(sideBySide);
    sideLayout->setContentsMargins(0, 0, 0, 0);
    for (int i = 0; i < kMaxSideBySide; ++i) {
        auto* viewer = new ImageViewer(sideBySide);
        viewer->setObjectName(QStringLiteral("compareViewer%1").arg(i));
        viewer->installEventFilter(this);
        // Zooming or panning one zooms and pans the others to the same place.
        connect(viewer, &ImageViewer::viewChanged, this, [this, viewer] {
            if (m_syncing)
                return;
            m_syncing = true;
            for (ImageViewer* other : std::as_const(m_viewers))
                if (other != viewer)
                    other->setViewState(viewer->viewState());
            m_syncing = false;
        });
        connect(viewer, &ImageViewer::stepRequested, this, [this](int delta) { moveCurrent(0, delta); });
        sideLayout->addWidget(viewer);
        m_viewers.append(viewer);
    }

    auto* swipePage = new QWidget(this);
    auto* swipeLayout = new QVBoxLayout(swipePage);
    swipeLayout->setContentsMargins(0, 0, 0, 0);
    m_swipe = new SwipeView(swipePage);
    m_swipe->installEventFilter(this);
    m_swipeSlider = new QSlider(Qt::Horizontal, swipePage);
    m_swipeSlider->setObjectName(QStringLiteral("swipeSlider"));
    m_swipeSlider->setRange(0, 1000);
    m_swipeSlider->setValue(500);
    m_swipeSlider->setToolTip(tr("Where the line between the two images is"));
    connect(m_swipeSlider, &QSlider::valueChanged, this, [this](int v) { m_swipe->setSplit(v / 1000.0); });
    connect(m_swipe, &SwipeView::splitChanged, this, [this](double split) {
        const QSignalBlocker block(m_swipeSlider);
        m_swipeSlider->setValue(static_cast<int>(std::lround(split * 1000)));
    });
    auto* flip = new QPushButton(tr("Flip (F)"), swipePage);
    flip->setObjectName(QStringLiteral("flipButton"));
    flip->setToolTip(tr("Swap the two images' sides"));
    connect(flip, &QPushButton::clicked, m_swipe, &SwipeView::flip);
    auto* swipeBar = new QHBoxLayout;
    swipeBar->addWidget(m_swipeSlider, 1);
    swipeBar->addWidget(flip);
    swipeLayout->addWidget(m_swipe, 1);
    swipeLayout->addLayout(swipeBar);

    m_modes = new QTabWidget(this);
    m_modes->setObjectName(QStringLiteral("compareModes"));
    m_modes->addTab(m_grid, tr("Grid"));
    m_modes->addTab(sideBySide, tr("Side by side"));
    m_modes->addTab(swipePage, tr("A/B"));
    connect(m_modes, &QTabWidget::currentChanged, this, [this] { updateCompared(); });

    m_details = new QLabel(this);
    m_details->setObjectName(QStringLiteral("compareDetails"));
    m_details->setWordWrap(true);
    m_details->setAlignment(Qt::AlignLeft | Qt::AlignTop);
    m_details->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_details->setMinimumWidth(220);

    m_winnerButton = new QPushButton(tr("Pick winner (Space)"), this);
    m_winnerButton->setObjectName(QStringLiteral("pickWinnerButton"));
    m_winnerButton->setToolTip(tr("Mark the current image its group's winner"));
    connect(m_winnerButton, &QPushButton::clicked, this, &CompareView::toggleWinner);
    m_branchButton = new QPushButton(tr("Branch from here"), this);
    m_branchButton->setObjectName(QStringLiteral("branchButton"));
    m_branchButton->setToolTip(
        tr("Load the current image's settings into the editor; the next group you queue is its child"));
    connect(m_branchButton, &QPushButton::clicked, this, &CompareView::branchFromCurrent);
    auto* keys = new QLabel(tr("Arrows: move · 1–5: rate · 0: clear · Space: winner"), this);
    keys->setWordWrap(true);

    auto* side = new QWidget(this);
    auto* sideColumn = new QVBoxLayout(side);
    sideColumn->setContentsMargins(0, 0, 0, 0);
    sideColumn->addWidget(m_details, 1);
    sideColumn->addWidget(keys);
    sideColumn->addWidget(m_winnerButton);
    sideColumn->addWidget(m_branchButton);

    auto* splitter = new QSplitter(this);
    splitter->addWidget(m_modes);
    splitter->addWidget(side);
    splitter->setStretchFactor(0, 4);
    splitter->setStretchFactor(1, 1);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_title);
    layout->addWidget(splitter, 1);

    connect(m_grid->selectionModel(), &QItemSelectionModel::currentChanged, this, [this] {
        updateDetails();
        updateCompared();
    });
    connect(m_grid->selectionModel(), &QItemSelectionModel::selectionChanged, this, [this] { updateCompared(); });
    connect(m_model, &QAbstractItemModel::dataChanged, this, [this] { updateDetails(); });
    resize(1100, 720);
    updateDetails();
}

void CompareView::setCompareSet(const CompareSet& set) {
    const bool same = set.groupId == groupId() && !set.groupId.isEmpty();
    const qint64 current = currentImageId();
    QList<qint64> selected;
    for (const QModelIndex& index : m_grid->selectionModel()->selectedIndexes())
        if (const qint64 id = index.data(CompareGridModel::ImageIdRole).toLongLong(); id != 0)
            selected.append(id);
    m_model->setCompareSet(set);

    QStringList shape;
    if (set.axisValues.size() >= 2)
        shape << tr("rows: %1").arg(set.axisNames.value(0))
              << tr("columns: %1").arg(set.axisNames.mid(1).join(QStringLiteral(" · ")));
    else if (!set.axisNames.isEmpty())
        shape << tr("columns: %1").arg(set.axisNames.value(0));
    int done = 0;
    for (const auto& img : set.images)
        done += img.imageId != 0;
    m_title->setText(tr("<b>%1</b> · %2 · %3 of %4 images done")
                         .arg((set.label.isEmpty() ? set.groupId : set.label).toHtmlEscaped(),
                              shape.join(QStringLiteral(", ")).toHtmlEscaped())
                         .arg(done)
                         .arg(set.images.size()));
    setWindowTitle(tr("Compare %1").arg(set.label.isEmpty() ? set.groupId : set.label));

    if (same && !selected.isEmpty())
        selectImages(selected);
    if (same && current != 0) {
        setCurrentImage(current);
    } else if (!same || !m_grid->currentIndex().isValid()) {
        // The first cell with an image.
        QModelIndex first;
        for (int r = 0; r < m_model->rowCount() && !first.isValid(); ++r)
            for (int c = 0; c < m_model->columnCount() && !first.isValid(); ++c)
                if (m_model->index(r, c).data(CompareGridModel::ImageIdRole).toLongLong() != 0)
                    first = m_model->index(r, c);
        m_grid->setCurrentIndex(first.isValid() ? first : m_model->index(0, 0));
    }
    if (!same)
        m_modes->setCurrentIndex(GridMode);
    updateDetails();
    updateCompared();
}

qint64 CompareView::currentImageId() const {
    return m_grid->currentIndex().data(CompareGridModel::ImageIdRole).toLongLong();
}

void CompareView::setCurrentImage(qint64 imageId) {
    const QModelIndex index = m_model->indexOfImage(imageId);
    if (index.isValid())
        m_grid->selectionModel()->setCurrentIndex(index, QItemSelectionModel::NoUpdate);
}

void CompareView::selectImages(const QList<qint64>& imageIds) {
    QItemSelection selection;
    QModelIndex first;
    for (qint64 id : imageIds) {
        const QModelIndex index = m_model->indexOfImage(id);
        if (!index.isValid())
            continue;
        if (!first.isValid())
            first = index;
        selection.select(index, index);
    }
    if (first.isValid())
        m_grid->selectionModel()->setCurrentIndex(first, QItemSelectionModel::NoUpdate);
    m_grid->selectionModel()->select(selection, QItemSelectionModel::ClearAndSelect);
}

QList<qint64> CompareView::comparedImages() const {
    QModelIndexList selected = m_grid->selectionModel()->selectedIndexes();
    std::sort(selected.begin(), selected.end(), [](const QModelIndex& a, const QModelIndex& b) {
        return a.row() != b.row() ? a.row() < b.row() : a.column() < b.column();
    });
    QList<qint64> ids;
    for (const QModelIndex& index : std::as_const(selected))
        if (const qint64 id = index.data(CompareGridModel::ImageIdRole).toLongLong();
            id != 0 && ids.size() < kMaxSideBySide)
            ids.append(id);
    if (ids.size() >= 2)
        return ids;
    // The current image and the next ones of its row.
    ids.clear();
    const QModelIndex current = m_grid->currentIndex();
    for (int c = current.column(); current.isValid() && c < m_model->columnCount() && ids.size() < 2; ++c)
        if (const qint64 id = m_model->index(current.row(), c).data(CompareGridModel::ImageIdRole).toLongLong();
            id != 0)
            ids.append(id);
    return ids;
}

void CompareView::setMode(Mode mode) {
    m_modes->setCurrentIndex(mode);
}

CompareView::Mode CompareView::mode() const {
    return static_cast<Mode>(m_modes->currentIndex());
}

QString CompareView::detailsText() const {
    return m_details->text();
}

QImage CompareView::imageOf(qint64 imageId) const {
    const QModelIndex index = m_model->indexOfImage(imageId);
    return index.isValid() ? QImage(index.data(CompareGridModel::PathRole).toString()) : QImage();
}

QString CompareView::captionOf(qint64 imageId) const {
    const CompareImage* img = m_model->imageAt(m_model->indexOfImage(imageId));
    if (!img)
        return {};
    QString caption = img->axisValues.join(QStringLiteral(" · "));
    if (const QString marks = m_model->data(m_model->indexOfImage(imageId)).toString(); !marks.isEmpty())
        caption += QStringLiteral("  ") + marks;
    return caption;
}

void CompareView::updateCompared() {
    if (mode() == GridMode)
        return; // read the images only when a mode shows them
    const QList<qint64> ids = comparedImages();
    for (int i = 0; i < m_viewers.size(); ++i) {
        ImageViewer* viewer = m_viewers[i];
        viewer->setVisible(i < ids.size() || i == 0);
        if (i < ids.size())
            viewer->setImage(imageOf(ids[i]), captionOf(ids[i]));
        else
            viewer->clear();
    }
    if (ids.size() >= 2)
        m_swipe->setImages(imageOf(ids[0]), imageOf(ids[1]), captionOf(ids[0]), captionOf(ids[1]));
    else
        m_swipe->setImages({}, {});
}

void CompareView::updateDetails() {
    const CompareImage* img = m_model->imageAt(m_grid->currentIndex());
    const bool image = img && img->imageId != 0;
    m_winnerButton->setEnabled(image);
    m_branchButton->setEnabled(image);
    m_winnerButton->setText(image && img->winner ? tr("Not the winner (Space)") : tr("Pick winner (Space)"));
    if (!img) {
        m_details->setText(tr("No image here."));
        return;
    }
    QStringList lines;
    lines << img->axisValues.join(QStringLiteral(" · "));
    if (!image)
        lines << tr("Job %1 is %2: no image yet.").arg(img->jobId).arg(img->state);
    else
        lines << tr("Rating: %1").arg(img->rating > 0 ? CompareGridModel::stars(img->rating) : tr("none"))
              << (img->winner ? tr("The group's winner") : QString());
    lines << img->details;
    lines.removeAll(QString());
    m_details->setText(lines.join(QLatin1Char('\n')));
}

void CompareView::moveCurrent(int rows, int columns) {
    const QModelIndex current = m_grid->currentIndex();
    const int r = std::clamp(current.row() + rows, 0, std::max(0, m_model->rowCount() - 1));
    const int c = std::clamp(current.column() + columns, 0, std::max(0, m_model->columnCount() - 1));
    m_grid->setCurrentIndex(m_model->index(r, c));
}

void CompareView::rateCurrent(int rating) {
    const qint64 id = currentImageId();
    if (id == 0 || !m_model->setRating(id, rating))
        return;
    Q_EMIT ratingChanged(id, std::clamp(rating, 0, 5));
}

void CompareView::toggleWinner() {
    const qint64 id = currentImageId();
    if (id == 0)
        return;
    const bool winner = !m_grid->currentIndex().data(CompareGridModel::WinnerRole).toBool();
    m_model->setWinner(id, winner);
    Q_EMIT winnerChanged(id, winner);
}

void CompareView::branchFromCurrent() {
    if (const qint64 id = currentImageId(); id != 0)
        Q_EMIT branchRequested(id);
}

bool CompareView::handleKey(QKeyEvent* event) {
    const int key = event->key();
    if (event->modifiers() & (Qt::ControlModifier | Qt::AltModifier | Qt::MetaModifier))
        return false;
    if (key >= Qt::Key_0 && key <= Qt::Key_5) {
        rateCurrent(key - Qt::Key_0);
        return true;
    }
    if (key == Qt::Key_Space) {
        toggleWinner();
        return true;
    }
    if (key == Qt::Key_F && mode() == SwipeMode) {
        m_swipe->flip();
        return true;
    }
    if (mode() != GridMode) { // the grid moves by itself (and extends a selection with Shift)
        const int rows = key == Qt::Key_Up ? -1 : key == Qt::Key_Down ? 1 : 0;
        const int columns = key == Qt::Key_Left ? -1 : key == Qt::Key_Right ? 1 : 0;
        if (rows != 0 || columns != 0) {
            moveCurrent(rows, columns);
            return true;
        }
    }
    return false;
}

bool CompareView::eventFilter(QObject* watched, QEvent* event) {
    if (event->type() == QEvent::KeyPress && handleKey(static_cast<QKeyEvent*>(event)))
        return true;
    return QWidget::eventFilter(watched, event);
}

void CompareView::keyPressEvent(QKeyEvent* event) {
    if (!handleKey(event))
        QWidget::keyPressEvent(event);
}

} // namespace charaforge::ui
