#pragma once
// Shows one image with a caption under it: a finished image (setImage) or a live sampling preview
// (setPreview: a small image scaled up smoothly, always fitted). A finished image is fitted to the view
// (aspect ratio kept, centred) until the user zooms (wheel around the cursor, the zoom actions, 1:1);
// an image larger than the view is panned by dragging. F11 shows the viewer alone on the screen (Esc
// leaves). Drops are the main window's business, not the viewer's; so is which image comes next:
// Left/Right emit stepRequested.
#include <QImage>
#include <QPixmap>
#include <QPointF>
#include <QPointer>
#include <QString>
#include <QWidget>

class QAction;
class QSplitter;

namespace charaforge::ui {

class ImageViewer : public QWidget {
    Q_OBJECT
public:
    // Zoom limits and the factor of one zoom step (one wheel notch).
    static constexpr double kMinScale = 0.05;
    static constexpr double kMaxScale = 32.0;
    static constexpr double kZoomStep = 1.25;

    explicit ImageViewer(QWidget* parent = nullptr);
    ~ImageViewer() override;

    // A finished image. An image of the same size as the one shown keeps the zoom and the position
    // (comparing variants); another one is fitted.
    void setImage(const QImage& image, const QString& caption);
    // A before/after pair (an erased image and its original): the image shown stays, and the compare action
    // (B) flips between the two at the same zoom and position. Any other image ends the comparison. `before`
    // must have the shown image's size (a pair of other sizes is not compared).
    void setComparison(const QImage& before, const QString& beforeCaption);
    bool hasComparison() const { return !m_other.isNull(); }
    bool showingBefore() const { return m_showingBefore; }
    // Flips to the other image of the pair; false without one.
    bool flipComparison();
    // A live preview while sampling, e.g. caption "preview · step 12/28".
    void setPreview(const QImage& smallPreview, const QString& caption);
    // Shows the placeholder text.
    void clear();

    QImage image() const { return m_image; }
    QString caption() const { return m_caption; }
    bool isPreview() const { return m_preview; }
    bool hasImage() const { return !m_image.isNull(); }
    // Where the image is drawn (widget coordinates) at the current size and zoom; empty without an image.
    QRect imageRect() const;
    QRectF imageRectF() const;

    // Screen pixels per image pixel (the fitted scale while fitting).
    double scale() const;
    bool isFitting() const { return m_fit || m_preview; }
    // True when the image is larger than the view: dragging pans it.
    bool canPan() const;
    // The image pixel under a widget position (may lie outside the image).
    QPointF mapToImage(const QPointF& widgetPos) const;

    void zoomIn();
    void zoomOut();
    // Multiplies the scale by `factor` (clamped to the limits) keeping the image point under `anchor`
    // (widget coordinates) where it is, as far as the view's edges allow.
    void zoomAt(double factor, const QPointF& anchor);
    void setScale(double scale); // around the view's centre
    void actualSize();           // 1:1
    void fitToWindow();
    // Moves the image by `delta` screen pixels (only while it is larger than the view).
    void panBy(const QPointF& delta);

    // The zoom and position, for views kept in step (compare side by side): fitting, or the scale and the
    // point at the view's centre as a fraction of the image's size (images of other sizes line up).
    struct ViewState {
        bool fit = true;
        double scale = 1.0;
        QPointF centre{0.5, 0.5};
        bool operator==(const ViewState&) const = default;
    };
    ViewState viewState() const;
    // Takes `state` (clamped to this image and view) without emitting viewChanged.
    void setViewState(const ViewState& state);

    // The viewer alone, full screen; off puts it back where it was in its splitter.
    void setFullScreenView(bool on);
    bool isFullScreenView() const { return m_fullScreen; }
    // The image shown on the clipboard; false when there is none.
    bool copyToClipboard() const;

    // The viewer's actions (zoom, 1:1, fit, full screen, copy, next, previous), with their shortcuts,
    // for the menus; they act while the viewer (or a widget the caller adds them to) has the focus.
    QAction* zoomInAction() const { return m_zoomIn; }
    QAction* zoomOutAction() const { return m_zoomOut; }
    QAction* actualSizeAction() const { return m_actualSize; }
    QAction* fitAction() const { return m_fitAction; }
    QAction* fullScreenAction() const { return m_fullScreenAction; }
    QAction* leaveFullScreenAction() const { return m_leaveFullScreen; }
    QAction* copyAction() const { return m_copy; }
    QAction* nextAction() const { return m_next; }
    QAction* previousAction() const { return m_previous; }
    QAction* beforeAfterAction() const { return m_compare; }
    QList<QAction*> viewerActions() const;

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

Q_SIGNALS:
    // Left (-1) / Right (+1): show the previous / next image.
    void stepRequested(int delta);
    void fullScreenChanged(bool on);
    // The zoom or the position changed (wheel, drag, the zoom actions, fit).
    void viewChanged();

protected:
    void paintEvent(QPaintEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    void mouseDoubleClickEvent(QMouseEvent* event) override;
    void closeEvent(QCloseEvent* event) override;

private:
    int captionHeight() const;
    QRect area() const;
    double fitScale() const;
    // Keeps m_centre inside the image so that no background shows beside an image larger than the view.
    void clampCentre();
    void updateActions();
    QAction* addViewerAction(const QString& text, const QList<QKeySequence>& keys, const char* name);

    QImage m_image;
    QString m_caption;
    bool m_preview = false;
    QPixmap m_scaled; // the fitted image at imageRect().size(), rebuilt when the size or the image changes
    QPixmap m_pixmap; // m_image as a pixmap for zoomed drawing
    bool m_fit = true;
    double m_scale = 1.0;
    QPointF m_centre; // the image point at the centre of the view (image pixels), while not fitting
    bool m_dragging = false;
    QPointF m_dragFrom;

    bool m_fullScreen = false;
    QPointer<QSplitter> m_home; // where the viewer goes back to after full screen
    int m_homeIndex = 0;
    QList<int> m_homeSizes;

    QAction* m_zoomIn = nullptr;
    QAction* m_zoomOut = nullptr;
    QAction* m_actualSize = nullptr;
    QAction* m_fitAction = nullptr;
    QAction* m_fullScreenAction = nullptr;
    QAction* m_leaveFullScreen = nullptr;
    QAction* m_copy = nullptr;
    QAction* m_next = nullptr;
    QAction* m_previous = nullptr;
    QAction* m_compare = nullptr;
    QImage m_other; // the other image of a before/after pair (null: none)
    QString m_otherCaption;
    bool m_showingBefore = false;
};

} // namespace charaforge::ui
