// Offscreen widget tests of the queue panel (QT_QPA_PLATFORM=offscreen): rows and counts, selection and
// scroll kept across reloads, buttons following the selection, intents emitted (never applied), drops
// and move actions, pause, live progress, and painting.
#include "ui/queue_panel.h"

#include <QAction>
#include <QApplication>
#include <QHeaderView>
#include <QImage>
#include <QLabel>
#include <QMimeData>
#include <QPixmap>
#include <QPushButton>
#include <QScrollBar>
#include <QSignalSpy>
#include <QTest>
#include <QTreeView>

#include <gtest/gtest.h>

#include <memory>

using charaforge::ui::JobView;
using charaforge::ui::QueueModel;
using charaforge::ui::QueuePanel;

namespace {

JobView makeJob(qint64 id, const QString& state) {
    JobView j;
    j.id = id;
    j.state = state;
    j.title = QStringLiteral("alice %1").arg(id);
    j.width = 1024;
    j.height = 768;
    j.steps = 28;
    j.sampler = QStringLiteral("euler");
    j.cfg = 4.5;
    j.seed = 1000 + id;
    return j;
}

QList<JobView> makeJobs(const QList<QPair<qint64, QString>>& idsAndStates) {
    QList<JobView> jobs;
    for (const auto& [id, state] : idsAndStates)
        jobs.append(makeJob(id, state));
    return jobs;
}

QList<qint64> ids(const QList<JobView>& jobs) {
    QList<qint64> result;
    for (const JobView& j : jobs)
        result.append(j.id);
    return result;
}

class QueuePanelTest : public ::testing::Test {
protected:
    void SetUp() override {
        m_panel = std::make_unique<QueuePanel>();
        m_panel->resize(1000, 500);
        m_panel->show();
    }

    QueueModel* model() const { return m_panel->model(); }
    QTreeView* view() const { return m_panel->view(); }
    QPushButton* button(const char* name) const {
        auto* b = m_panel->findChild<QPushButton*>(QString::fromLatin1(name));
        EXPECT_NE(b, nullptr) << name;
        return b;
    }
    QString cell(int row, int column) const { return model()->index(row, column).data().toString(); }
    QList<qint64> rowIds() const {
        QList<qint64> result;
        for (int row = 0; row < model()->rowCount(); ++row)
            result.append(model()->index(row, 0).data(QueueModel::IdRole).toLongLong());
        return result;
    }
    // The enabled state of the selection-bound buttons, in a fixed order: cancel retry duplicate edit remove.
    std::vector<bool> enabledButtons() const {
        std::vector<bool> result;
        for (const char* name : {"cancelButton", "retryButton", "duplicateButton", "editButton", "removeButton"})
            result.push_back(button(name)->isEnabled());
        return result;
    }
    QAction* action(const QString& text) const {
        for (QAction* a : view()->actions()) {
            if (a->text() == text)
                return a;
        }
        ADD_FAILURE() << "no action " << text.toStdString();
        return nullptr;
    }

    std::unique_ptr<QueuePanel> m_panel;
};

TEST_F(QueuePanelTest, ShowsRowsInQueueOrderWithCounts) {
    QList<JobView> jobs;
    qint64 id = 100;
    for (int i = 0; i < 5; ++i)
        jobs.append(makeJob(id++, QStringLiteral("done")));
    jobs.append(makeJob(id++, QStringLiteral("failed")));
    jobs.append(makeJob(id++, QStringLiteral("running")));
    for (int i = 0; i < 12; ++i)
        jobs.append(makeJob(id++, QStringLiteral("queued")));
    std::swap(jobs[2], jobs[9]); // a queued job among the done ones: the given order is the order shown
    m_panel->setJobs(jobs);

    ASSERT_EQ(model()->rowCount(), 19);
    EXPECT_EQ(rowIds(), ids(jobs));
    const int row = 2; // job 109, queued
    EXPECT_EQ(cell(row, QueueModel::StateColumn), QStringLiteral("queued"));
    EXPECT_EQ(cell(row, QueueModel::TitleColumn), QStringLiteral("alice 109"));
    EXPECT_EQ(cell(row, QueueModel::SizeColumn), QStringLiteral("1024×768"));
    EXPECT_EQ(cell(row, QueueModel::StepsColumn), QStringLiteral("28"));
    EXPECT_EQ(cell(row, QueueModel::SamplerColumn), QStringLiteral("euler"));
    EXPECT_EQ(cell(row, QueueModel::CfgColumn), QStringLiteral("4.5"));
    EXPECT_EQ(cell(row, QueueModel::SeedColumn), QStringLiteral("1109"));
    EXPECT_FALSE(model()->index(row, QueueModel::StateColumn).data(Qt::DecorationRole).value<QIcon>().isNull());
    EXPECT_EQ(cell(5, QueueModel::StateColumn), QStringLiteral("failed"));
    EXPECT_EQ(cell(6, QueueModel::StateColumn), QStringLiteral("running"));

    const QString counts = QStringLiteral("12 queued · 1 running · 5 done · 1 failed");
    EXPECT_EQ(m_panel->countsText(), counts);
    auto* label = m_panel->findChild<QLabel*>(QStringLiteral("countsLabel"));
    ASSERT_NE(label, nullptr);
    EXPECT_EQ(label->text(), counts);

    jobs.append(makeJob(id++, QStringLiteral("cancelled")));
    m_panel->setJobs(jobs);
    EXPECT_EQ(label->text(), QStringLiteral("12 queued · 1 running · 5 done · 1 failed · 1 cancelled"));
}

// The issue asked for a job id column and a thumbnail for finished jobs; the settings moved into the tooltip
// (their columns hidden, shown from the header's menu) so the dock needs no horizontal scrolling.
TEST_F(QueuePanelTest, RowsShowTheJobIdAndDoneJobsTheirThumbnail) {
    QList<JobView> jobs = makeJobs({{41, QStringLiteral("done")}, {42, QStringLiteral("queued")}});
    m_panel->setJobs(jobs);
    EXPECT_EQ(cell(0, QueueModel::IdColumn), QStringLiteral("41"));
    EXPECT_EQ(model()->headerData(QueueModel::IdColumn, Qt::Horizontal).toString(), QStringLiteral("Job"));
    EXPECT_TRUE(model()->index(0, QueueModel::TitleColumn).data(Qt::DecorationRole).isNull());

    QImage image(256, 128, QImage::Format_RGB888);
    image.fill(Qt::darkCyan);
    m_panel->setJobThumbnail(41, image);
    m_panel->setJobThumbnail(42, image); // queued: no image to show
    m_panel->setJobs(jobs);              // a reload keeps it
    const auto thumb = model()->index(0, QueueModel::TitleColumn).data(Qt::DecorationRole).value<QPixmap>();
    ASSERT_FALSE(thumb.isNull());
    EXPECT_EQ(thumb.size(), QSize(QueueModel::kThumbnailSize, QueueModel::kThumbnailSize / 2));
    EXPECT_EQ(thumb.toImage().pixelColor(4, 4), QColor(Qt::darkCyan));
    EXPECT_TRUE(model()->index(1, QueueModel::TitleColumn).data(Qt::DecorationRole).value<QPixmap>().isNull());
    jobs.removeFirst();
    m_panel->setJobs(jobs);
    jobs.prepend(makeJob(41, QStringLiteral("done")));
    m_panel->setJobs(jobs);
    EXPECT_TRUE(model()->index(0, QueueModel::TitleColumn).data(Qt::DecorationRole).value<QPixmap>().isNull())
        << "a removed job's thumbnail is dropped with it";

    EXPECT_TRUE(view()->isColumnHidden(QueueModel::SeedColumn));
    EXPECT_TRUE(model()
                    ->index(1, QueueModel::TitleColumn)
                    .data(Qt::ToolTipRole)
                    .toString()
                    .contains(QStringLiteral("seed 1042")));
    const auto menu = view()->header()->actions();
    ASSERT_EQ(menu.size(), 5);
    menu.last()->setChecked(true);
    EXPECT_FALSE(view()->isColumnHidden(QueueModel::SeedColumn));
}

TEST_F(QueuePanelTest, FailedJobShowsItsMessage) {
    QList<JobView> jobs = makeJobs({{1, QStringLiteral("failed")}});
    jobs[0].message = QStringLiteral("cuda: out of memory\nwhile decoding");
    m_panel->setJobs(jobs);
    EXPECT_EQ(cell(0, QueueModel::ProgressColumn), QStringLiteral("cuda: out of memory"));
    const QString tip = model()->index(0, QueueModel::TitleColumn).data(Qt::ToolTipRole).toString();
    EXPECT_TRUE(tip.contains(QStringLiteral("Failed: cuda: out of memory\nwhile decoding"))) << tip.toStdString();
}

TEST_F(QueuePanelTest, AQueuedJobShowsTheMemoryVerdict) {
    QList<JobView> jobs = makeJobs({{1, QStringLiteral("queued")}, {2, QStringLiteral("done")}});
    jobs[0].memoryFit = QStringLiteral("too large for this GPU: try mode low");
    jobs[1].memoryFit = QStringLiteral("fits"); // not shown: the job is not waiting any more
    m_panel->setJobs(jobs);
    const QString tip = model()->index(0, QueueModel::TitleColumn).data(Qt::ToolTipRole).toString();
    EXPECT_TRUE(tip.contains(QStringLiteral("Memory: too large for this GPU: try mode low"))) << tip.toStdString();
    EXPECT_FALSE(model()
                     ->index(1, QueueModel::TitleColumn)
                     .data(Qt::ToolTipRole)
                     .toString()
                     .contains(QStringLiteral("Memory:")));
}

TEST_F(QueuePanelTest, SelectionAndCurrentSurviveSetJobs) {
    QList<JobView> jobs = makeJobs({{1, QStringLiteral("running")},
                                    {2, QStringLiteral("queued")},
                                    {3, QStringLiteral("queued")},
                                    {4, QStringLiteral("queued")},
                                    {5, QStringLiteral("queued")}});
    m_panel->setJobs(jobs);
    m_panel->selectJobs({3, 5});
    EXPECT_EQ(m_panel->selectedJobIds(), (QList<qint64>{3, 5}));

    // New order plus a new job: a reset, after which the same jobs are selected wherever they are now.
    QList<JobView> reordered{jobs[4], jobs[0], makeJob(6, QStringLiteral("queued")), jobs[3], jobs[1], jobs[2]};
    m_panel->setJobs(reordered);
    EXPECT_EQ(rowIds(), (QList<qint64>{5, 1, 6, 4, 2, 3}));
    EXPECT_EQ(m_panel->selectedJobIds(), (QList<qint64>{5, 3}));
    EXPECT_EQ(view()->currentIndex().data(QueueModel::IdRole).toLongLong(), 3);

    // Same order, new states: updated in place.
    QSignalSpy reset(model(), &QAbstractItemModel::modelReset);
    reordered[5].state = QStringLiteral("running");
    m_panel->setJobs(reordered);
    EXPECT_EQ(reset.count(), 0);
    EXPECT_EQ(cell(5, QueueModel::StateColumn), QStringLiteral("running"));
    EXPECT_EQ(m_panel->selectedJobIds(), (QList<qint64>{5, 3}));

    // A selected job that is gone leaves the others selected.
    reordered.removeFirst();
    m_panel->setJobs(reordered);
    EXPECT_EQ(m_panel->selectedJobIds(), (QList<qint64>{3}));
}

TEST_F(QueuePanelTest, ScrollPositionFollowsTheTopJob) {
    QList<JobView> jobs;
    for (qint64 id = 1; id <= 300; ++id)
        jobs.append(makeJob(id, QStringLiteral("queued")));
    m_panel->setJobs(jobs);
    QApplication::processEvents();
    view()->scrollTo(model()->index(150, 0), QAbstractItemView::PositionAtTop);
    QApplication::processEvents();
    const qint64 top = view()->indexAt(QPoint(1, 1)).data(QueueModel::IdRole).toLongLong();
    ASSERT_GT(top, 100);

    // Ten jobs inserted above (a reset): the same job stays at the top of the view.
    QList<JobView> more;
    for (qint64 id = 1001; id <= 1010; ++id)
        more.append(makeJob(id, QStringLiteral("done")));
    m_panel->setJobs(more + jobs);
    QApplication::processEvents();
    EXPECT_EQ(view()->indexAt(QPoint(1, 1)).data(QueueModel::IdRole).toLongLong(), top);
}

TEST_F(QueuePanelTest, ButtonsFollowTheSelectedStates) {
    m_panel->setJobs(makeJobs({{1, QStringLiteral("running")},
                               {2, QStringLiteral("queued")},
                               {3, QStringLiteral("queued")},
                               {4, QStringLiteral("done")},
                               {5, QStringLiteral("failed")},
                               {6, QStringLiteral("cancelled")}}));
    using B = std::vector<bool>; // cancel retry duplicate edit remove
    m_panel->selectJobs({});
    EXPECT_EQ(enabledButtons(), (B{false, false, false, false, false}));
    m_panel->selectJobs({2});
    EXPECT_EQ(enabledButtons(), (B{true, false, true, true, false}));
    m_panel->selectJobs({2, 3});
    EXPECT_EQ(enabledButtons(), (B{true, false, true, false, false}));
    m_panel->selectJobs({1});
    EXPECT_EQ(enabledButtons(), (B{true, false, true, false, false}));
    m_panel->selectJobs({4});
    EXPECT_EQ(enabledButtons(), (B{false, false, true, false, true}));
    m_panel->selectJobs({5});
    EXPECT_EQ(enabledButtons(), (B{false, true, true, false, true}));
    m_panel->selectJobs({6});
    EXPECT_EQ(enabledButtons(), (B{false, true, true, false, true}));
    m_panel->selectJobs({2, 5});
    EXPECT_EQ(enabledButtons(), (B{true, true, true, false, true}));
    EXPECT_TRUE(button("clearFinishedButton")->isEnabled());

    // Clicking a row selects it and updates the buttons like any selection change.
    const QRect rect = view()->visualRect(model()->index(3, QueueModel::TitleColumn));
    QTest::mouseClick(view()->viewport(), Qt::LeftButton, Qt::NoModifier, rect.center());
    EXPECT_EQ(m_panel->selectedJobIds(), (QList<qint64>{4}));
    EXPECT_EQ(enabledButtons(), (B{false, false, true, false, true}));

    // A state change under the selection (same order: no reset) updates the buttons too.
    QList<JobView> jobs = m_panel->jobs();
    m_panel->selectJobs({2});
    jobs[1].state = QStringLiteral("running");
    m_panel->setJobs(jobs);
    EXPECT_EQ(enabledButtons(), (B{true, false, true, false, false}));

    m_panel->setJobs(makeJobs({{1, QStringLiteral("running")}, {2, QStringLiteral("queued")}}));
    EXPECT_FALSE(button("clearFinishedButton")->isEnabled());
}

TEST_F(QueuePanelTest, CancelEmitsTheSelectedCancellableJobs) {
    m_panel->setJobs(makeJobs({{1, QStringLiteral("running")},
                               {2, QStringLiteral("queued")},
                               {3, QStringLiteral("done")},
                               {4, QStringLiteral("queued")}}));
    QSignalSpy cancel(m_panel.get(), &QueuePanel::cancelRequested);
    m_panel->selectJobs({1, 4});
    QTest::mouseClick(button("cancelButton"), Qt::LeftButton);
    ASSERT_EQ(cancel.count(), 1);
    EXPECT_EQ(cancel.at(0).at(0).value<QList<qint64>>(), (QList<qint64>{1, 4}));

    // A finished job in the selection is left out of the cancel request.
    m_panel->selectJobs({2, 3});
    QTest::mouseClick(button("cancelButton"), Qt::LeftButton);
    ASSERT_EQ(cancel.count(), 2);
    EXPECT_EQ(cancel.at(1).at(0).value<QList<qint64>>(), (QList<qint64>{2}));
    EXPECT_EQ(rowIds(), (QList<qint64>{1, 2, 3, 4})); // the panel changed nothing itself
}

TEST_F(QueuePanelTest, OtherButtonsEmitTheirIntents) {
    m_panel->setJobs(makeJobs({{1, QStringLiteral("queued")},
                               {2, QStringLiteral("failed")},
                               {3, QStringLiteral("cancelled")},
                               {4, QStringLiteral("done")}}));
    QSignalSpy retry(m_panel.get(), &QueuePanel::retryRequested);
    QSignalSpy duplicate(m_panel.get(), &QueuePanel::duplicateRequested);
    QSignalSpy edit(m_panel.get(), &QueuePanel::editRequested);
    QSignalSpy remove(m_panel.get(), &QueuePanel::removeRequested);
    QSignalSpy clear(m_panel.get(), &QueuePanel::clearFinishedRequested);

    m_panel->selectJobs({2, 3, 4});
    QTest::mouseClick(button("retryButton"), Qt::LeftButton);
    QTest::mouseClick(button("removeButton"), Qt::LeftButton);
    QTest::mouseClick(button("duplicateButton"), Qt::LeftButton);
    ASSERT_EQ(retry.count(), 1);
    EXPECT_EQ(retry.at(0).at(0).value<QList<qint64>>(), (QList<qint64>{2, 3}));
    ASSERT_EQ(remove.count(), 1);
    EXPECT_EQ(remove.at(0).at(0).value<QList<qint64>>(), (QList<qint64>{2, 3, 4}));
    ASSERT_EQ(duplicate.count(), 1);
    EXPECT_EQ(duplicate.at(0).at(0).value<QList<qint64>>(), (QList<qint64>{2, 3, 4}));

    m_panel->selectJobs({1});
    QTest::mouseClick(button("editButton"), Qt::LeftButton);
    ASSERT_EQ(edit.count(), 1);
    EXPECT_EQ(edit.at(0).at(0).toLongLong(), 1);
    // Double-clicking a queued job edits it too.
    const QRect rect = view()->visualRect(model()->index(0, QueueModel::TitleColumn));
    // (QTest's double click is only the second press: the first click comes before it, as with a mouse.)
    QTest::mouseClick(view()->viewport(), Qt::LeftButton, Qt::NoModifier, rect.center());
    QTest::mouseDClick(view()->viewport(), Qt::LeftButton, Qt::NoModifier, rect.center());
    EXPECT_EQ(edit.count(), 2);

    QTest::mouseClick(button("clearFinishedButton"), Qt::LeftButton);
    EXPECT_EQ(clear.count(), 1);
    EXPECT_EQ(model()->rowCount(), 4);
}

TEST_F(QueuePanelTest, DeleteKeyCancelsOrRemoves) {
    m_panel->setJobs(makeJobs({{1, QStringLiteral("running")},
                               {2, QStringLiteral("queued")},
                               {3, QStringLiteral("done")},
                               {4, QStringLiteral("failed")}}));
    m_panel->activateWindow();
    ASSERT_TRUE(QTest::qWaitForWindowActive(m_panel.get()));
    view()->setFocus();
    QSignalSpy cancel(m_panel.get(), &QueuePanel::cancelRequested);
    QSignalSpy remove(m_panel.get(), &QueuePanel::removeRequested);

    m_panel->selectJobs({2, 3, 4});
    QTest::keyClick(view(), Qt::Key_Delete);
    ASSERT_EQ(cancel.count(), 1);
    EXPECT_EQ(cancel.at(0).at(0).value<QList<qint64>>(), (QList<qint64>{2}));
    ASSERT_EQ(remove.count(), 1);
    EXPECT_EQ(remove.at(0).at(0).value<QList<qint64>>(), (QList<qint64>{3, 4}));
}

TEST_F(QueuePanelTest, DropEmitsMoveRequestAndKeepsTheOrder) {
    m_panel->setJobs(makeJobs({{1, QStringLiteral("running")},
                               {2, QStringLiteral("queued")},
                               {3, QStringLiteral("queued")},
                               {4, QStringLiteral("queued")},
                               {5, QStringLiteral("queued")}}));
    QSignalSpy move(m_panel.get(), &QueuePanel::moveRequested);
    auto drag = [this](const QList<int>& rows) {
        QModelIndexList indexes;
        for (int row : rows)
            indexes << model()->index(row, 0);
        return std::unique_ptr<QMimeData>(model()->mimeData(indexes));
    };
    auto drop = [this](const QMimeData* mime, int row) {
        return model()->dropMimeData(mime, Qt::MoveAction, row, 0, QModelIndex());
    };

    // Job 5 dropped above job 3 (row 2).
    auto mime = drag({4});
    ASSERT_NE(mime, nullptr);
    EXPECT_TRUE(model()->canDropMimeData(mime.get(), Qt::MoveAction, 2, 0, QModelIndex()));
    EXPECT_TRUE(drop(mime.get(), 2));
    ASSERT_EQ(move.count(), 1);
    EXPECT_EQ(move.at(0).at(0).toLongLong(), 5);
    EXPECT_EQ(move.at(0).at(1).toLongLong(), 3);
    EXPECT_EQ(rowIds(), (QList<qint64>{1, 2, 3, 4, 5})); // the app reorders, not the panel
    // What a finished move drag does next (removing the dragged rows) must not happen either.
    EXPECT_FALSE(model()->removeRows(4, 1));
    EXPECT_EQ(model()->rowCount(), 5);

    // Job 2 dropped below the last row (the viewport: row -1, or row == count): to the end.
    mime = drag({1});
    EXPECT_TRUE(drop(mime.get(), -1));
    EXPECT_TRUE(drop(mime.get(), 5));
    ASSERT_EQ(move.count(), 3);
    EXPECT_EQ(move.at(1).at(0).toLongLong(), 2);
    EXPECT_EQ(move.at(1).at(1).toLongLong(), -1);
    EXPECT_EQ(move.at(2).at(1).toLongLong(), -1);

    // Jobs 3 and 5 dropped above job 2: two requests in queue order, both before job 2.
    mime = drag({4, 2});
    EXPECT_TRUE(drop(mime.get(), 1));
    ASSERT_EQ(move.count(), 5);
    EXPECT_EQ(move.at(3).at(0).toLongLong(), 3);
    EXPECT_EQ(move.at(3).at(1).toLongLong(), 2);
    EXPECT_EQ(move.at(4).at(0).toLongLong(), 5);
    EXPECT_EQ(move.at(4).at(1).toLongLong(), 2);

    // Dropped onto its own place (above itself or just below itself): nothing to ask.
    mime = drag({2});
    EXPECT_FALSE(drop(mime.get(), 2));
    EXPECT_FALSE(drop(mime.get(), 3));
    EXPECT_EQ(move.count(), 5);

    // Only queued jobs can be dragged.
    EXPECT_FALSE(model()->flags(model()->index(0, 0)).testFlag(Qt::ItemIsDragEnabled));
    EXPECT_TRUE(model()->flags(model()->index(1, 0)).testFlag(Qt::ItemIsDragEnabled));
    EXPECT_EQ(drag({0}), nullptr);
    // Drops land between rows, never on one.
    EXPECT_FALSE(model()->flags(model()->index(1, 0)).testFlag(Qt::ItemIsDropEnabled));
    EXPECT_TRUE(model()->flags(QModelIndex()).testFlag(Qt::ItemIsDropEnabled));
    EXPECT_EQ(view()->dragDropMode(), QAbstractItemView::InternalMove);
}

TEST_F(QueuePanelTest, MoveActionsEmitMoveRequests) {
    m_panel->setJobs(makeJobs({{1, QStringLiteral("done")},
                               {2, QStringLiteral("running")},
                               {3, QStringLiteral("queued")},
                               {4, QStringLiteral("queued")},
                               {5, QStringLiteral("queued")}}));
    QSignalSpy move(m_panel.get(), &QueuePanel::moveRequested);
    QAction* top = action(QStringLiteral("Move to top"));
    QAction* up = action(QStringLiteral("Move up"));
    QAction* down = action(QStringLiteral("Move down"));
    ASSERT_TRUE(top && up && down);
    auto last = [&move] { return std::pair(move.last().at(0).toLongLong(), move.last().at(1).toLongLong()); };

    m_panel->selectJobs({4});
    EXPECT_TRUE(top->isEnabled() && up->isEnabled() && down->isEnabled());
    up->trigger();
    EXPECT_EQ(last(), std::pair(qint64(4), qint64(3)));
    down->trigger();
    EXPECT_EQ(last(), std::pair(qint64(4), qint64(-1))); // below job 5, the last row
    top->trigger();
    EXPECT_EQ(last(), std::pair(qint64(4), qint64(3)));

    m_panel->selectJobs({3});
    EXPECT_FALSE(top->isEnabled());
    EXPECT_FALSE(up->isEnabled());
    down->trigger();
    EXPECT_EQ(last(), std::pair(qint64(3), qint64(5))); // just below job 4

    m_panel->selectJobs({3, 5});
    top->trigger(); // gathers the selection at the top: 5 goes above 4
    ASSERT_EQ(move.count(), 6);
    EXPECT_EQ(move.at(4).at(0).toLongLong(), 3);
    EXPECT_EQ(move.at(4).at(1).toLongLong(), 4);
    EXPECT_EQ(last(), std::pair(qint64(5), qint64(4)));

    // Non-queued jobs do not move.
    m_panel->selectJobs({2});
    EXPECT_FALSE(top->isEnabled() || up->isEnabled() || down->isEnabled());
    m_panel->moveSelectedUp();
    EXPECT_EQ(move.count(), 6);
    EXPECT_EQ(rowIds(), (QList<qint64>{1, 2, 3, 4, 5}));

    // The keyboard shortcut of Move up.
    m_panel->activateWindow();
    ASSERT_TRUE(QTest::qWaitForWindowActive(m_panel.get()));
    view()->setFocus();
    m_panel->selectJobs({5});
    QTest::keyClick(view(), Qt::Key_Up, Qt::AltModifier);
    ASSERT_EQ(move.count(), 7);
    EXPECT_EQ(last(), std::pair(qint64(5), qint64(4)));
}

TEST_F(QueuePanelTest, PauseButtonEmitsAndThePanelShowsThePausedState) {
    auto* pause = button("pauseButton");
    auto* banner = m_panel->findChild<QLabel*>(QStringLiteral("pausedBanner"));
    ASSERT_TRUE(pause && banner);
    QSignalSpy toggled(m_panel.get(), &QueuePanel::pauseToggled);
    EXPECT_FALSE(banner->isVisible());
    EXPECT_EQ(pause->text(), QStringLiteral("Pause"));

    QTest::mouseClick(pause, Qt::LeftButton);
    ASSERT_EQ(toggled.count(), 1);
    EXPECT_TRUE(toggled.at(0).at(0).toBool());
    EXPECT_FALSE(m_panel->isPaused()); // the app decides, then calls setPaused

    m_panel->setPaused(true);
    EXPECT_TRUE(m_panel->isPaused());
    EXPECT_TRUE(banner->isVisible());
    EXPECT_TRUE(banner->text().contains(QStringLiteral("paused")));
    EXPECT_EQ(pause->text(), QStringLiteral("Resume"));
    QTest::mouseClick(pause, Qt::LeftButton);
    ASSERT_EQ(toggled.count(), 2);
    EXPECT_FALSE(toggled.at(1).at(0).toBool());

    m_panel->setPaused(false);
    EXPECT_FALSE(banner->isVisible());
    EXPECT_EQ(toggled.count(), 2); // setPaused does not emit
}

TEST_F(QueuePanelTest, ARunningRowNamesTheGpuRunningItsBatch) {
    m_panel->setJobs(makeJobs({{1, QStringLiteral("running")}, {2, QStringLiteral("running")}}));
    m_panel->setJobProgress(1, 3, 28, QStringLiteral("0:40"), QStringLiteral("cuda:1"));
    m_panel->setJobProgress(2, 5, 28, QStringLiteral("0:30"), QStringLiteral("cuda:0"));
    EXPECT_EQ(cell(0, QueueModel::ProgressColumn), QStringLiteral("cuda:1 · 3/28 · 10% · ETA 0:40"));
    EXPECT_EQ(cell(1, QueueModel::ProgressColumn), QStringLiteral("cuda:0 · 5/28 · 17% · ETA 0:30"));
    m_panel->setJobProgress(1, 4, 28, QStringLiteral("0:38"));
    EXPECT_EQ(cell(0, QueueModel::ProgressColumn), QStringLiteral("4/28 · 14% · ETA 0:38")) << "one worker: no device";
}

TEST_F(QueuePanelTest, ProgressUpdatesTheRunningRowInPlace) {
    QList<JobView> jobs = makeJobs({{1, QStringLiteral("running")}, {2, QStringLiteral("queued")}});
    jobs[1].stepsDone = 7; // checkpointed earlier, will resume
    m_panel->setJobs(jobs);
    EXPECT_EQ(cell(0, QueueModel::ProgressColumn), QStringLiteral("0/28 · 0%"));
    EXPECT_EQ(cell(1, QueueModel::ProgressColumn), QStringLiteral("resumes at step 7/28"));
    EXPECT_EQ(model()->index(1, 0).data(QueueModel::ProgressRole).toInt(), -1);

    QSignalSpy changed(model(), &QAbstractItemModel::dataChanged);
    QSignalSpy reset(model(), &QAbstractItemModel::modelReset);
    m_panel->setJobProgress(1, 12, 28, QStringLiteral("0:32"));
    EXPECT_EQ(cell(0, QueueModel::ProgressColumn), QStringLiteral("12/28 · 42% · ETA 0:32"));
    EXPECT_EQ(model()->index(0, 0).data(QueueModel::ProgressRole).toInt(), 42);
    ASSERT_EQ(changed.count(), 1);
    EXPECT_EQ(changed.at(0).at(0).value<QModelIndex>().row(), 0);
    EXPECT_EQ(changed.at(0).at(1).value<QModelIndex>().row(), 0);
    EXPECT_EQ(reset.count(), 0);

    // A reload carrying the store's older checkpoint step does not move the bar back.
    jobs[0].stepsDone = 10;
    m_panel->setJobs(jobs);
    EXPECT_EQ(cell(0, QueueModel::ProgressColumn), QStringLiteral("12/28 · 42% · ETA 0:32"));

    // Once done, the row shows its file.
    jobs[0].state = QStringLiteral("done");
    jobs[0].outputPath = QStringLiteral("/tmp/out/alice_0001.png");
    m_panel->setJobs(jobs);
    EXPECT_EQ(cell(0, QueueModel::ProgressColumn), QStringLiteral("alice_0001.png"));
    EXPECT_EQ(model()->index(0, 0).data(QueueModel::ProgressRole).toInt(), -1);
}

TEST_F(QueuePanelTest, PaintsEveryState) {
    QList<JobView> jobs = makeJobs({{1, QStringLiteral("running")},
                                    {2, QStringLiteral("queued")},
                                    {3, QStringLiteral("done")},
                                    {4, QStringLiteral("failed")},
                                    {5, QStringLiteral("cancelled")}});
    jobs[3].message = QStringLiteral("decoder failed");
    m_panel->setJobs(jobs);
    m_panel->setJobProgress(1, 5, 28, QStringLiteral("1:10"));
    m_panel->setPaused(true);
    m_panel->selectJobs({1, 4});
    const QImage image = m_panel->grab().toImage();
    EXPECT_EQ(image.size(), m_panel->size() * image.devicePixelRatio());
    EXPECT_FALSE(image.isNull());
}

} // namespace

namespace {

// Loose job 1, group g (jobs 2..5: done, done, running, queued), loose job 6 and job 7 of a group the panel
// is not given.
QList<JobView> groupedJobs() {
    QList<JobView> jobs = makeJobs({{1, QStringLiteral("queued")},
                                    {2, QStringLiteral("done")},
                                    {3, QStringLiteral("done")},
                                    {4, QStringLiteral("running")},
                                    {5, QStringLiteral("queued")},
                                    {6, QStringLiteral("queued")},
                                    {7, QStringLiteral("queued")}});
    const QStringList styles{"watercolor", "watercolor", "ink", "ink"};
    for (int i = 1; i <= 4; ++i) {
        jobs[i].group = QStringLiteral("g");
        jobs[i].axisValues = QStringList{styles[i - 1], QString::number(i % 2 + 1)};
    }
    jobs[6].group = QStringLiteral("gui-123");
    return jobs;
}

charaforge::ui::GroupView groupG(bool paused = false) {
    return {QStringLiteral("g"), QStringLiteral("miku styles"), {"style", "seed"}, paused};
}

} // namespace

TEST_F(QueuePanelTest, GroupJobsAreCollapsedUnderOneRowWithTheGroupsProgress) {
    m_panel->setJobs(groupedJobs(), {groupG()});
    ASSERT_EQ(model()->rowCount(), 4); // 1, g, 6, 7
    const QModelIndex g = model()->index(1, 0);
    EXPECT_TRUE(model()->isGroup(g));
    EXPECT_EQ(g.data(QueueModel::GroupRole).toString(), "g");
    EXPECT_EQ(model()->groupIndex(QStringLiteral("g")), g);
    EXPECT_EQ(cell(1, QueueModel::TitleColumn), "miku styles · 4 jobs");
    EXPECT_EQ(cell(1, QueueModel::ProgressColumn), "2/4 done · 1 running");
    EXPECT_EQ(cell(1, QueueModel::StateColumn), "running");
    EXPECT_EQ(model()->index(1, QueueModel::ProgressColumn).data(QueueModel::ProgressRole).toInt(), 50);
    EXPECT_FALSE(view()->isExpanded(g)); // collapsed
    EXPECT_TRUE(view()->rootIsDecorated());
    ASSERT_EQ(model()->rowCount(g), 4);
    const QModelIndex third = model()->index(2, QueueModel::TitleColumn, g);
    EXPECT_EQ(third.data(QueueModel::IdRole).toLongLong(), 4);
    EXPECT_EQ(third.data().toString(), "style ink · seed 2");
    EXPECT_EQ(third.parent(), g);
    EXPECT_EQ(model()->indexOf(4, QueueModel::TitleColumn), third);
    // A job of a group the panel was not given stays a row of its own.
    EXPECT_EQ(model()->index(3, 0).data(QueueModel::IdRole).toLongLong(), 7);
    EXPECT_EQ(cell(3, QueueModel::TitleColumn), "alice 7");

    // Live progress of the running job reaches its row under the group.
    m_panel->setJobProgress(4, 7, 28, QString());
    EXPECT_EQ(model()->index(2, 0, g).data(QueueModel::ProgressRole).toInt(), 25);

    // One more done: the group row follows.
    auto jobs = groupedJobs();
    jobs[4].state = QStringLiteral("done");
    m_panel->setJobs(jobs, {groupG(true)});
    EXPECT_EQ(cell(1, QueueModel::ProgressColumn), "3/4 done · 1 running");
    jobs[3].state = QStringLiteral("queued");
    m_panel->setJobs(jobs, {groupG(true)});
    EXPECT_EQ(cell(1, QueueModel::StateColumn), "paused");
    jobs[3].state = jobs[4].state = QStringLiteral("done");
    m_panel->setJobs(jobs, {groupG()});
    EXPECT_EQ(cell(1, QueueModel::StateColumn), "done");
    EXPECT_EQ(model()->index(1, 0).data(QueueModel::ProgressRole).toInt(), 100);
}

TEST_F(QueuePanelTest, OpenGroupsAndSelectedGroupsSurviveAReload) {
    m_panel->setJobs(groupedJobs(), {groupG()});
    view()->expand(model()->groupIndex(QStringLiteral("g")));
    m_panel->selectGroup(QStringLiteral("g"));
    EXPECT_EQ(m_panel->selectedGroupIds(), QStringList{"g"});
    EXPECT_TRUE(m_panel->selectedJobIds().isEmpty());
    QSignalSpy reset(model(), &QAbstractItemModel::modelReset);
    auto jobs = groupedJobs();
    std::swap(jobs[0], jobs[5]); // 6 first: a new order
    m_panel->setJobs(jobs, {groupG()});
    EXPECT_EQ(reset.count(), 1);
    const QModelIndex g = model()->groupIndex(QStringLiteral("g"));
    EXPECT_EQ(g.row(), 1);
    EXPECT_TRUE(view()->isExpanded(g));
    EXPECT_EQ(m_panel->selectedGroupIds(), QStringList{"g"});
    // Selecting a job of the group opens it.
    view()->collapse(g);
    m_panel->selectJobs({5});
    EXPECT_TRUE(view()->isExpanded(g));
    EXPECT_EQ(m_panel->selectedJobIds(), QList<qint64>{5});
}

TEST_F(QueuePanelTest, PauseCancelAndCompareActOnTheWholeGroup) {
    m_panel->setJobs(groupedJobs(), {groupG()});
    QSignalSpy cancel(m_panel.get(), &QueuePanel::cancelRequested);
    QSignalSpy groupCancel(m_panel.get(), &QueuePanel::groupCancelRequested);
    QSignalSpy groupPause(m_panel.get(), &QueuePanel::groupPauseRequested);
    QSignalSpy compare(m_panel.get(), &QueuePanel::compareRequested);
    EXPECT_FALSE(button("groupPauseButton")->isEnabled());
    EXPECT_FALSE(button("compareButton")->isEnabled());

    m_panel->selectGroup(QStringLiteral("g"));
    EXPECT_TRUE(button("cancelButton")->isEnabled());
    EXPECT_EQ(button("groupPauseButton")->text(), "Pause group");
    QTest::mouseClick(button("cancelButton"), Qt::LeftButton);
    ASSERT_EQ(groupCancel.count(), 1);
    EXPECT_EQ(groupCancel.at(0).at(0).toString(), "g");
    EXPECT_EQ(cancel.count(), 0); // not job by job
    QTest::mouseClick(button("groupPauseButton"), Qt::LeftButton);
    ASSERT_EQ(groupPause.count(), 1);
    EXPECT_EQ(groupPause.at(0).at(0).toString(), "g");
    EXPECT_TRUE(groupPause.at(0).at(1).toBool());
    QTest::mouseClick(button("compareButton"), Qt::LeftButton);
    ASSERT_EQ(compare.count(), 1);
    EXPECT_EQ(compare.at(0).at(0).toString(), "g");

    // The store answers with the group paused: the button resumes it.
    m_panel->setJobs(groupedJobs(), {groupG(true)});
    EXPECT_EQ(button("groupPauseButton")->text(), "Resume group");
    QTest::mouseClick(button("groupPauseButton"), Qt::LeftButton);
    ASSERT_EQ(groupPause.count(), 2);
    EXPECT_FALSE(groupPause.at(1).at(1).toBool());

    // Delete on the group row cancels the group; a job of the group compares its group too.
    m_panel->deleteSelected();
    EXPECT_EQ(groupCancel.count(), 2);
    m_panel->selectJobs({5});
    EXPECT_FALSE(button("groupPauseButton")->isEnabled());
    m_panel->compareSelected();
    ASSERT_EQ(compare.count(), 2);
    EXPECT_EQ(compare.at(1).at(0).toString(), "g");
    m_panel->cancelSelected();
    ASSERT_EQ(cancel.count(), 1);
    EXPECT_EQ(cancel.at(0).at(0).value<QList<qint64>>(), QList<qint64>{5});
    m_panel->selectJobs({1});
    EXPECT_FALSE(button("compareButton")->isEnabled());
}

TEST_F(QueuePanelTest, GroupMovesGoPastTheNeighbouringRow) {
    // 1 · g(2, 3) · 4 · h(5, 6) · 7, all queued.
    QList<JobView> jobs = makeJobs({{1, QStringLiteral("queued")},
                                    {2, QStringLiteral("queued")},
                                    {3, QStringLiteral("queued")},
                                    {4, QStringLiteral("queued")},
                                    {5, QStringLiteral("queued")},
                                    {6, QStringLiteral("queued")},
                                    {7, QStringLiteral("queued")}});
    jobs[1].group = jobs[2].group = QStringLiteral("g");
    jobs[4].group = jobs[5].group = QStringLiteral("h");
    const QList<charaforge::ui::GroupView> groups{{QStringLiteral("g"), QStringLiteral("g"), {}, false},
                                                  {QStringLiteral("h"), QStringLiteral("h"), {}, false}};
    m_panel->setJobs(jobs, groups);
    ASSERT_EQ(model()->rowCount(), 5);
    QSignalSpy move(m_panel.get(), &QueuePanel::groupMoveRequested);
    QSignalSpy jobMove(m_panel.get(), &QueuePanel::moveRequested);
    QAction* top = action(QStringLiteral("Move to top"));
    QAction* up = action(QStringLiteral("Move up"));
    QAction* down = action(QStringLiteral("Move down"));
    ASSERT_TRUE(top && up && down);
    auto last = [&move] { return std::pair(move.last().at(0).toString(), move.last().at(1).toLongLong()); };

    m_panel->selectGroup(QStringLiteral("h"));
    EXPECT_TRUE(top->isEnabled() && up->isEnabled() && down->isEnabled());
    up->trigger();
    EXPECT_EQ(last(), std::pair(QStringLiteral("h"), qint64(4))); // above job 4
    top->trigger();
    EXPECT_EQ(last(), std::pair(QStringLiteral("h"), qint64(1)));
    down->trigger();
    EXPECT_EQ(last(), std::pair(QStringLiteral("h"), qint64(-1))); // below 7, the last row

    m_panel->selectGroup(QStringLiteral("g"));
    EXPECT_TRUE(up->isEnabled());
    up->trigger();
    EXPECT_EQ(last(), std::pair(QStringLiteral("g"), qint64(1)));
    down->trigger();
    EXPECT_EQ(last(), std::pair(QStringLiteral("g"), qint64(5))); // below 4: above group h

    // h just before g: moving h down goes past the whole of g.
    auto inOrder = [&jobs](const QList<qint64>& ids) {
        QList<JobView> order;
        for (qint64 id : ids)
            for (const JobView& j : jobs)
                if (j.id == id)
                    order.append(j);
        return order;
    };
    QList<JobView> order = inOrder({1, 5, 6, 2, 3, 4, 7});
    m_panel->setJobs(order, groups);
    m_panel->selectGroup(QStringLiteral("h"));
    down->trigger();
    EXPECT_EQ(last(), std::pair(QStringLiteral("h"), qint64(4))); // below g: above job 4
    EXPECT_FALSE(jobMove.count() > 0);                            // group moves are not job moves

    // The first group row cannot go up or to the top.
    m_panel->setJobs(inOrder({5, 6, 2, 3, 4, 7, 1}), groups);
    m_panel->selectGroup(QStringLiteral("h"));
    EXPECT_FALSE(top->isEnabled());
    EXPECT_FALSE(up->isEnabled());
    EXPECT_TRUE(down->isEnabled());
}
