#pragma once
// The compare view of a variant group (a window of its own): the grid (the axes' values as row and column
// labels, one image per cell with its rating and winner mark), side by side (2-4 selected images in step:
// zooming or panning one zooms and pans them all) and A/B (two images under a swipe line, flipped with F).
// Keys: arrows move between images, 1-5 rate the current one (0 clears), Space marks it its group's winner
// (again: clears it). A view: marks change here at once and are emitted for the app to persist; Branch from
// here asks the app to load the current image's settings into the editor.
#include "ui/compare_grid_model.h"
#include "ui/studio_types.h"

#include <QList>
#include <QWidget>

class QLabel;
class QPushButton;
class QSlider;
class QTabWidget;
class QTableView;

namespace charaforge::ui {

class ImageViewer;
class SwipeView;

class CompareView : public QWidget {
    Q_OBJECT
public:
    enum Mode { GridMode, SideBySideMode, SwipeMode };
    static constexpr int kMaxSideBySide = 4;

    explicit CompareView(QWidget* parent = nullptr);

    // Shows `set`; the same group shown again keeps the current image, the selection and the mode.
    void setCompareSet(const CompareSet& set);
    QString groupId() const { return m_model->compareSet().groupId; }
    CompareGridModel* model() const { return m_model; }
    QTableView* grid() const { return m_grid; }

    // The image of the current cell (0: an empty cell or one without an image yet).
    qint64 currentImageId() const;
    void setCurrentImage(qint64 imageId);
    // Selects these images (in the grid) for side by side and A/B; the first becomes current.
    void selectImages(const QList<qint64>& imageIds);
    // The images side by side and A/B show: the selected ones in grid order (at most 4), or with fewer than
    // two selected the current one and the next ones of its row.
    QList<qint64> comparedImages() const;

    void setMode(Mode mode);
    Mode mode() const;
    QList<ImageViewer*> sideBySideViewers() const { return m_viewers; }
    SwipeView* swipeView() const { return m_swipe; }
    // The current image's details (settings, lineage) as shown beside the grid.
    QString detailsText() const;

    // The keyboard's actions on the current image.
    void rateCurrent(int rating);
    void toggleWinner();
    void branchFromCurrent();

Q_SIGNALS:
    void ratingChanged(qint64 imageId, int rating);
    // `winner`: the image is its group's one winner now; false: it is no winner any more.
    void winnerChanged(qint64 imageId, bool winner);
    void branchRequested(qint64 imageId);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;

private:
    // Handles the compare keys; false for any other key.
    bool handleKey(QKeyEvent* event);
    void moveCurrent(int rows, int columns);
    void updateCompared();
    void updateDetails();
    QImage imageOf(qint64 imageId) const;
    QString captionOf(qint64 imageId) const;

    CompareGridModel* m_model = nullptr;
    QLabel* m_title = nullptr;
    QTabWidget* m_modes = nullptr;
    QTableView* m_grid = nullptr;
    QList<ImageViewer*> m_viewers;
    SwipeView* m_swipe = nullptr;
    QSlider* m_swipeSlider = nullptr;
    QLabel* m_details = nullptr;
    QPushButton* m_winnerButton = nullptr;
    QPushButton* m_branchButton = nullptr;
    bool m_syncing = false; // one viewer's zoom is being copied to the others
};

} // namespace charaforge::ui
