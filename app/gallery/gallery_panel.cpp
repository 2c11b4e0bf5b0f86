#include "gallery/gallery_panel.h"

#include "gallery/export_dialog.h"
#include "gallery/gallery_model.h"
#include "gallery/gallery_searcher.h"
#include "gallery/thumbnail_cache.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QDateEdit>
#include <QDesktopServices>
#include <QDir>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QMenu>
#include <QMimeData>
#include <QRegularExpression>
#include <QScrollBar>
#include <QThread>
#include <QToolButton>
#include <QUrl>
#include <QVBoxLayout>

#include <algorithm>
#include <utility>

namespace charaforge::gallery {

namespace {

constexpr int kSearchDelayMs = 250;
constexpr int kPollMs = 1000;
constexpr int kThumbnail = 160;
const QDate kAnyDate(2000, 1, 1); // a date edit at its minimum means "no bound"

// The local folders and files of a drag, or nothing when it carries anything else.
QStringList droppedPaths(const QMimeData* mime) {
    QStringList paths;
    if (!mime || !mime->hasUrls())
        return paths;
    for (const auto& url : mime->urls()) {
        if (!url.isLocalFile())
            return {};
        paths << url.toLocalFile();
    }
    return paths;
}

QDateEdit* dateEdit(const QString& name, const QString& tip, QWidget* parent) {
    auto* d = new QDateEdit(parent);
    d->setObjectName(name);
    d->setToolTip(tip);
    d->setCalendarPopup(true);
    d->setMinimumDate(kAnyDate);
    d->setSpecialValueText(QObject::tr("any"));
    d->setDisplayFormat(QStringLiteral("yyyy-MM-dd"));
    d->setDate(kAnyDate);
    return d;
}

} // namespace

GalleryPanel::GalleryPanel(const QString& queuePath, const QString& thumbnailFolder, QWidget* parent)
    : QWidget(parent), m_queuePath(queuePath),
      m_store(std::make_unique<queue::GalleryStore>(queue::GalleryStore::pathNextTo(queuePath))),
      m_thumbnails(std::make_unique<ThumbnailCache>(thumbnailFolder, kThumbnail)),
      m_searcher(std::make_unique<GallerySearcher>(m_store->path())) {
    m_model = new GalleryModel(*m_store, *m_thumbnails, this);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    buildFilters();
    m_view = new QListView(this);
    m_view->setObjectName(QStringLiteral("galleryGrid"));
    m_view->setViewMode(QListView::IconMode);
    m_view->setMovement(QListView::Static);
    m_view->setResizeMode(QListView::Adjust);
    m_view->setUniformItemSizes(true); // no per-row size queries: a 20,000-row model stays lazy
    m_view->setIconSize(QSize(kThumbnail, kThumbnail));
    m_view->setGridSize(QSize(kThumbnail + 16, kThumbnail + 16 + fontMetrics().height()));
    m_view->setTextElideMode(Qt::ElideRight);
    m_view->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_view->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_view->setContextMenuPolicy(Qt::CustomContextMenu);
    m_view->setModel(m_model);
    layout->addWidget(m_view, 1);
    m_status = new QLabel(this);
    m_status->setObjectName(QStringLiteral("galleryStatus"));
    layout->addWidget(m_status);
    buildActions();
    setAcceptDrops(true);

    connect(m_view, &QListView::customContextMenuRequested, this, &GalleryPanel::showContextMenu);
    connect(m_view->selectionModel(), &QItemSelectionModel::currentChanged, this, [this](const QModelIndex& index) {
        if (index.isValid())
            Q_EMIT imageSelected(index.data(GalleryModel::PathRole).toString());
    });
    connect(m_view, &QListView::activated, this, [this](const QModelIndex& index) {
        const QString path = index.data(GalleryModel::PathRole).toString();
        if (index.data(GalleryModel::MissingRole).toBool())
            updateStatus(tr("%1 is missing (moved or deleted).").arg(QDir::toNativeSeparators(path)));
        Q_EMIT imageActivated(path);
    });
    m_searchDelay.setSingleShot(true);
    m_searchDelay.setInterval(kSearchDelayMs);
    connect(&m_searchDelay, &QTimer::timeout, this, &GalleryPanel::applyFilters);
    connect(m_searcher.get(), &GallerySearcher::found, this, &GalleryPanel::showResult);
    connect(m_searcher.get(), &GallerySearcher::failed, this, [this](int serial, const QString& message) {
        if (serial == m_pendingSearch) {
            m_pendingSearch = 0;
            updateStatus(message);
        }
    });
    m_poll.setInterval(kPollMs);
    connect(&m_poll, &QTimer::timeout, this, &GalleryPanel::pollStore);
    m_poll.start();
    m_version = m_store->dataVersion();
    applyFilters();
}

GalleryPanel::~GalleryPanel() {
    m_searcher.reset(); // its thread ends before the store it searches is closed
    if (m_importThread) {
        m_importThread->wait();
        delete m_importThread;
    }
    m_thumbnails->waitForDone();
}

void GalleryPanel::buildFilters() {
    auto* top = new QHBoxLayout;
    m_search = new QLineEdit(this);
    m_search->setObjectName(QStringLiteral("gallerySearch"));
    m_search->setPlaceholderText(tr("Search prompts, tags and names…"));
    m_search->setClearButtonEnabled(true);
    m_sort = new QComboBox(this);
    m_sort->setObjectName(QStringLiteral("gallerySort"));
    m_sort->addItem(tr("Newest first"), static_cast<int>(queue::GallerySort::NewestFirst));
    m_sort->addItem(tr("Oldest first"), static_cast<int>(queue::GallerySort::OldestFirst));
    m_sort->addItem(tr("Best rated"), static_cast<int>(queue::GallerySort::RatingThenNewest));
    auto* more = new QToolButton(this);
    more->setObjectName(QStringLiteral("galleryFiltersButton"));
    more->setText(tr("Filters"));
    more->setCheckable(true);
    top->addWidget(m_search, 1);
    top->addWidget(m_sort);
    top->addWidget(more);
    static_cast<QVBoxLayout*>(layout())->addLayout(top);

    auto* filters = new QWidget(this);
    filters->setObjectName(QStringLiteral("galleryFilters"));
    auto* row = new QHBoxLayout(filters);
    row->setContentsMargins(0, 0, 0, 0);
    m_minRating = new QComboBox(filters);
    m_minRating->setObjectName(QStringLiteral("galleryMinRating"));
    m_minRating->addItem(tr("Any rating"), 0);
    for (int r = 1; r <= 5; ++r)
        m_minRating->addItem(QString(r, QChar(0x2605)) + (r < 5 ? tr(" or more") : QString()), r);
    m_favourites = new QCheckBox(tr("Favourites"), filters);
    m_favourites->setObjectName(QStringLiteral("galleryFavourites"));
    m_winners = new QCheckBox(tr("Winners"), filters);
    m_winners->setObjectName(QStringLiteral("galleryWinners"));
    m_group = new QLineEdit(filters);
    m_group->setObjectName(QStringLiteral("galleryGroup"));
    m_group->setPlaceholderText(tr("group"));
    m_character = new QLineEdit(filters);
    m_character->setObjectName(QStringLiteral("galleryCharacter"));
    m_character->setPlaceholderText(tr("character"));
    m_size = new QLineEdit(filters);
    m_size->setObjectName(QStringLiteral("gallerySize"));
    m_size->setPlaceholderText(tr("W×H"));
    m_size->setToolTip(tr("Only images of this size, e.g. 832x1216"));
    m_from = dateEdit(QStringLiteral("galleryFrom"), tr("Made on or after this day"), filters);
    m_to = dateEdit(QStringLiteral("galleryTo"), tr("Made on or before this day"), filters);
    for (QWidget* w : std::initializer_list<QWidget*>{m_minRating, m_favourites, m_winners, m_group, m_character,
                                                      m_size, m_from, m_to})
        row->addWidget(w);
    static_cast<QVBoxLayout*>(layout())->addWidget(filters);
    filters->setVisible(false);
    connect(more, &QToolButton::toggled, filters, &QWidget::setVisible);

    connect(m_search, &QLineEdit::textChanged, this, [this] { m_searchDelay.start(); });
    for (QLineEdit* e : {m_group, m_character, m_size})
        connect(e, &QLineEdit::textChanged, this, [this] { m_searchDelay.start(); });
    for (QComboBox* c : {m_sort, m_minRating})
        connect(c, &QComboBox::currentIndexChanged, this, &GalleryPanel::applyFilters);
    for (QCheckBox* c : {m_favourites, m_winners})
        connect(c, &QCheckBox::toggled, this, &GalleryPanel::applyFilters);
    for (QDateEdit* d : {m_from, m_to})
        connect(d, &QDateEdit::dateChanged, this, &GalleryPanel::applyFilters);
}

void GalleryPanel::buildActions() {
    // Keys act on the grid only (typing a digit in the search box types it).
    auto add = [this](const QString& text, const QKeySequence& key, auto slot) {
        auto* a = new QAction(text, this);
        a->setShortcut(key);
        a->setShortcutContext(Qt::WidgetShortcut);
        connect(a, &QAction::triggered, this, slot);
        m_view->addAction(a);
        return a;
    };
    m_rateMenu = new QMenu(tr("Rate"), this);
    for (int r = 0; r <= 5; ++r) {
        QAction* a = add(r == 0 ? tr("No rating") : QString(r, QChar(0x2605)), QKeySequence(Qt::Key_0 + r),
                         [this, r] { rateSelection(r); });
        a->setObjectName(QStringLiteral("galleryRate%1").arg(r));
        m_rateMenu->addAction(a);
    }
    m_favouriteAction = add(tr("Favourite"), QKeySequence(Qt::Key_F), [this] { toggleFavourite(); });
    m_favouriteAction->setObjectName(QStringLiteral("galleryFavouriteAction"));
    m_favouriteAction->setCheckable(true);
    m_winnerAction = add(tr("Winner of its group"), QKeySequence(Qt::Key_W), [this] { toggleWinner(); });
    m_winnerAction->setObjectName(QStringLiteral("galleryWinnerAction"));
    m_winnerAction->setCheckable(true);
    m_compareAction = new QAction(tr("Compare this group"), this);
    m_compareAction->setObjectName(QStringLiteral("galleryCompareAction"));
    connect(m_compareAction, &QAction::triggered, this, [this] {
        const auto img = m_model->imageAt(m_view->currentIndex().row());
        if (img && !img->group.isEmpty())
            Q_EMIT compareGroupRequested(img->group);
    });
    m_restoreAction = new QAction(tr("Restore settings in the editor"), this);
    connect(m_restoreAction, &QAction::triggered, this, [this] {
        if (const auto img = m_model->imageAt(m_view->currentIndex().row()))
            Q_EMIT restoreRequested(img->path);
    });
    m_eraseAction = new QAction(tr("Erase with a mask…"), this);
    m_eraseAction->setObjectName(QStringLiteral("galleryEraseAction"));
    connect(m_eraseAction, &QAction::triggered, this, [this] {
        QStringList paths;
        for (int row : selectedRows())
            if (const auto img = m_model->imageAt(row); img && !img->missing)
                paths << img->path;
        if (!paths.isEmpty())
            Q_EMIT eraseRequested(paths);
    });
    m_exportAction = add(tr("Export…"), QKeySequence(Qt::CTRL | Qt::Key_E), [this] { openExportDialog(); });
    m_exportAction->setObjectName(QStringLiteral("galleryExportAction"));
}

queue::GalleryQuery GalleryPanel::query() const {
    queue::GalleryQuery q;
    q.text = m_search->text();
    q.sort = static_cast<queue::GallerySort>(m_sort->currentData().toInt());
    q.minRating = m_minRating->currentData().toInt();
    q.favouritesOnly = m_favourites->isChecked();
    q.winnersOnly = m_winners->isChecked();
    q.group = m_group->text().trimmed();
    q.character = m_character->text().trimmed();
    static const QRegularExpression size(QStringLiteral("^\\s*(\\d+)\\s*[x×*]\\s*(\\d+)\\s*$"));
    if (const auto m = size.match(m_size->text()); m.hasMatch()) {
        q.width = m.captured(1).toInt();
        q.height = m.captured(2).toInt();
    }
    if (m_from->date() != kAnyDate)
        q.createdFrom = m_from->date().startOfDay().toMSecsSinceEpoch();
    if (m_to->date() != kAnyDate)
        q.createdTo = m_to->date().addDays(1).startOfDay().toMSecsSinceEpoch(); // the day itself included
    return q;
}

void GalleryPanel::applyFilters() {
    m_searchDelay.stop();
    startSearch(false);
}

void GalleryPanel::reload() {
    startSearch(true);
}

void GalleryPanel::startSearch(bool keepView) {
    if (!m_pendingSearch) { // what to put back once the answer is shown (the first request's view)
        m_restore.current = currentId();
        m_restore.selected = keepView ? selectedIds() : QList<qint64>{};
        m_restore.scroll = keepView ? m_view->verticalScrollBar()->value() : -1;
    }
    m_pendingSearch = m_searcher->search(query());
    updateStatus();
}

void GalleryPanel::showResult(int serial, const queue::GalleryQuery& query, const QList<qint64>& ids) {
    if (serial != m_pendingSearch)
        return;
    m_pendingSearch = 0;
    m_model->setResult(query, ids);
    auto* sel = m_view->selectionModel();
    if (const int row = m_model->rowOf(m_restore.current); row >= 0)
        sel->setCurrentIndex(m_model->index(row), m_restore.scroll < 0 ? QItemSelectionModel::ClearAndSelect
                                                                       : QItemSelectionModel::NoUpdate);
    for (qint64 id : m_restore.selected)
        if (const int row = m_model->rowOf(id); row >= 0)
            sel->select(m_model->index(row), QItemSelectionModel::Select);
    if (m_restore.scroll >= 0)
        m_view->verticalScrollBar()->setValue(m_restore.scroll);
    else if (sel->currentIndex().isValid())
        m_view->scrollTo(sel->currentIndex());
    updateStatus();
}

void GalleryPanel::pollStore() {
    const qint64 version = m_store->dataVersion();
    if (version == m_version)
        return;
    m_version = version;
    reload();
}

QList<int> GalleryPanel::selectedRows() const {
    QList<int> rows;
    for (const auto& index : m_view->selectionModel()->selectedIndexes())
        rows << index.row();
    if (rows.isEmpty() && m_view->currentIndex().isValid())
        rows << m_view->currentIndex().row();
    std::sort(rows.begin(), rows.end());
    return rows;
}

QList<qint64> GalleryPanel::selectedIds() const {
    QList<qint64> ids;
    for (int row : selectedRows())
        ids << m_model->idAt(row);
    return ids;
}

qint64 GalleryPanel::currentId() const {
    const auto index = m_view->currentIndex();
    return index.isValid() ? m_model->idAt(index.row()) : 0;
}

bool GalleryPanel::selectId(qint64 id) {
    const int row = m_model->rowOf(id);
    if (row < 0)
        return false;
    const auto index = m_model->index(row);
    m_view->selectionModel()->setCurrentIndex(index, QItemSelectionModel::ClearAndSelect);
    m_view->scrollTo(index);
    return true;
}

void GalleryPanel::rateSelection(int rating) {
    const auto rows = selectedRows();
    try {
        for (int row : rows)
            m_model->setRating(row, rating);
    } catch (const std::exception& e) {
        return updateStatus(QString::fromStdString(e.what()));
    }
    if (!rows.isEmpty())
        updateStatus(rating ? tr("Rated %n image(s) %1.", nullptr, static_cast<int>(rows.size()))
                                  .arg(QString(rating, QChar(0x2605)))
                            : tr("Rating cleared on %n image(s).", nullptr, static_cast<int>(rows.size())));
}

void GalleryPanel::toggleFavourite() {
    const auto rows = selectedRows();
    if (rows.isEmpty())
        return;
    // One state for all: favourites unless every selected image already is one.
    bool all = true;
    for (int row : rows)
        all = all && m_model->index(row).data(GalleryModel::FavouriteRole).toBool();
    try {
        for (int row : rows)
            m_model->setFavourite(row, !all);
    } catch (const std::exception& e) {
        return updateStatus(QString::fromStdString(e.what()));
    }
    updateStatus(all ? tr("Removed %n favourite(s).", nullptr, static_cast<int>(rows.size()))
                     : tr("Marked %n favourite(s).", nullptr, static_cast<int>(rows.size())));
}

void GalleryPanel::toggleWinner() {
    const auto index = m_view->currentIndex();
    if (!index.isValid())
        return;
    const bool winner = !index.data(GalleryModel::WinnerRole).toBool();
    try {
        m_model->setWinner(index.row(), winner);
    } catch (const std::exception& e) {
        return updateStatus(QString::fromStdString(e.what()));
    }
    updateStatus(winner ? tr("Marked the winner of its group.") : tr("No longer a winner."));
}

void GalleryPanel::showContextMenu(const QPoint& pos) {
    const auto index = m_view->indexAt(pos);
    if (index.isValid() && !m_view->selectionModel()->isSelected(index))
        m_view->selectionModel()->setCurrentIndex(index, QItemSelectionModel::ClearAndSelect);
    const auto img = index.isValid() ? m_model->imageAt(index.row()) : std::nullopt;
    QMenu menu(this);
    if (img) {
        m_favouriteAction->setChecked(img->favourite);
        m_winnerAction->setChecked(img->winner);
        m_compareAction->setEnabled(!img->group.isEmpty());
        m_restoreAction->setEnabled(!img->missing);
        menu.addMenu(m_rateMenu);
        menu.addAction(m_favouriteAction);
        menu.addAction(m_winnerAction);
        menu.addSeparator();
        menu.addAction(m_compareAction);
        menu.addAction(m_restoreAction);
        menu.addAction(m_eraseAction);
        const QString path = img->path;
        menu.addAction(tr("Copy path"), this, [path] { QGuiApplication::clipboard()->setText(path); });
        menu.addAction(tr("Open containing folder"), this,
                       [path] { QDesktopServices::openUrl(QUrl::fromLocalFile(QFileInfo(path).absolutePath())); });
        menu.addSeparator();
    }
    menu.addAction(m_exportAction);
    menu.exec(m_view->viewport()->mapToGlobal(pos));
}

QString GalleryPanel::statusText() const {
    return m_status->text();
}

void GalleryPanel::updateStatus(const QString& message) {
    if (!message.isEmpty())
        m_lastMessage = message;
    QString text = tr("%n image(s)", nullptr, m_model->rowCount());
    if (isSearching())
        text += tr(" · searching…");
    if (isImporting())
        text += tr(" · importing…");
    if (!m_lastMessage.isEmpty())
        text += QStringLiteral(" · ") + m_lastMessage;
    m_status->setText(text);
}

void GalleryPanel::importPaths(const QStringList& paths) {
    if (paths.isEmpty())
        return;
    if (m_importThread) {
        m_importQueue << paths;
        return;
    }
    // The import opens its own connection on the worker thread (a store is used on one thread only).
    const QString db = m_store->path();
    m_importThread = QThread::create([this, db, paths] {
        ImportReport report;
        try {
            queue::GalleryStore store(db);
            report = importDropped(store, paths);
        } catch (const std::exception& e) {
            report.problems << QString::fromStdString(e.what());
        }
        QMetaObject::invokeMethod(
            this, [this, report] { importDone(report); }, Qt::QueuedConnection);
    });
    m_importThread->setObjectName(QStringLiteral("gallery import"));
    m_importThread->start();
    updateStatus(tr("Importing %n item(s)…", nullptr, static_cast<int>(paths.size())));
}

void GalleryPanel::importDone(const ImportReport& report) {
    m_importThread->wait();
    delete m_importThread;
    m_importThread = nullptr;
    m_version = m_store->dataVersion();
    reload();
    updateStatus(report.problems.isEmpty()
                     ? tr("Imported %n image(s).", nullptr, report.added)
                     : tr("Imported %n image(s); %1 skipped (see the tooltip).", nullptr, report.added)
                           .arg(report.problems.size()));
    m_status->setToolTip(report.problems.join(QLatin1Char('\n')));
    Q_EMIT importFinished(report.added, report.problems);
    if (!m_importQueue.isEmpty())
        importPaths(std::exchange(m_importQueue, {}));
}

void GalleryPanel::dragEnterEvent(QDragEnterEvent* event) {
    if (!droppedPaths(event->mimeData()).isEmpty())
        event->acceptProposedAction();
}

void GalleryPanel::dropEvent(QDropEvent* event) {
    const auto paths = droppedPaths(event->mimeData());
    if (paths.isEmpty())
        return;
    event->acceptProposedAction();
    importPaths(paths);
}

QList<ExportItem> GalleryPanel::exportItems(ExportScope scope) const {
    QList<queue::GalleryImage> images;
    switch (scope) {
    case ExportScope::Selected:
        for (int row : selectedRows())
            if (const auto img = m_model->imageAt(row))
                images << *img;
        break;
    case ExportScope::Group: {
        const auto img = m_model->imageAt(m_view->currentIndex().row());
        if (img && !img->group.isEmpty()) {
            queue::GalleryQuery q;
            q.group = img->group;
            q.sort = queue::GallerySort::OldestFirst;
            images = m_store->search(q);
        }
        break;
    }
    case ExportScope::Winners: {
        auto q = m_model->query();
        q.winnersOnly = true;
        images = m_store->search(q);
        break;
    }
    case ExportScope::Search:
        images = m_store->search(m_model->query());
        break;
    }
    return exportItemsFor(images, *m_store, m_queuePath);
}

ExportDialog* GalleryPanel::openExportDialog() {
    QList<ExportSource> sources;
    auto items = [this](ExportScope s) { return [this, s] { return exportItems(s); }; };
    sources << ExportSource{tr("Selected images"), static_cast<int>(selectedRows().size()),
                            items(ExportScope::Selected)};
    const auto current = m_model->imageAt(m_view->currentIndex().row());
    int groupCount = 0;
    if (current && !current->group.isEmpty()) {
        queue::GalleryQuery q;
        q.group = current->group;
        groupCount = m_store->count(q);
    }
    sources << ExportSource{current && !current->group.isEmpty() ? tr("Group %1").arg(current->group)
                                                                 : tr("The current image's group"),
                            groupCount, items(ExportScope::Group)};
    auto winners = m_model->query();
    winners.winnersOnly = true;
    sources << ExportSource{tr("Winners in the current view"), m_store->count(winners), items(ExportScope::Winners)};
    sources << ExportSource{tr("Every image in the current view"), m_model->rowCount(), items(ExportScope::Search)};
    auto* dialog = new ExportDialog(sources, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->show();
    return dialog;
}

} // namespace charaforge::gallery
