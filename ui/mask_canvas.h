#pragma once
// The mask brush: an image with the mask painted over it as a translucent overlay. The left button paints the
// hole (or, in eraser mode, takes it away) with a round brush whose size is in image pixels; every stroke, clear
// and invert is one undo step. The mask is the image's size: 255 = hole (what LaMa fills), 0 = kept.
#include <QImage>
#include <QList>
#include <QPointF>
#include <QRectF>
#include <QWidget>

namespace charaforge::ui {

class MaskCanvas : public QWidget {
    Q_OBJECT
public:
    static constexpr int kMinBrush = 1;
    static constexpr int kMaxBrush = 512;
    static constexpr int kUndoLevels = 32; // a byte per pixel each: 32 MiB for a 1024 x 1024 image

    explicit MaskCanvas(QWidget* parent = nullptr);

    // A new image starts with an empty mask and no undo history.
    void setImage(const QImage& image);
    QImage image() const { return m_image; }
    // The mask as Format_Grayscale8 of the image's size, 255 where painted.
    QImage mask() const;
    // Pixels of the hole.
    qint64 holePixels() const;
    bool isEmpty() const { return holePixels() == 0; }

    void setBrushSize(int pixels); // clamped to [kMinBrush, kMaxBrush]
    int brushSize() const { return m_brush; }
    void setEraser(bool on);
    bool eraser() const { return m_eraser; }

    bool canUndo() const { return !m_undo.isEmpty(); }
    bool canRedo() const { return !m_redo.isEmpty(); }
    void undo();
    void redo();
    void clear();
    void invert();

    // Where the image is drawn (fitted, centred), and the image point under a widget position.
    QRectF imageRect() const;
    QPointF mapToImage(const QPointF& widgetPos) const;

    QSize sizeHint() const override { return {640, 480}; }

Q_SIGNALS:
    // The mask or the undo state changed.
    void maskChanged();
    void brushSizeChanged(int pixels);
    void eraserChanged(bool on);

protected:
    void paintEvent(QPaintEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;

private:
    void remember(); // the mask as it is, onto the undo stack (a new change drops the redo stack)
    void strokeTo(const QPointF& imagePos);

    QImage m_image;
    QImage m_mask;                // ARGB32 premultiplied: opaque red = hole, transparent = kept (drawn as the overlay)
    QList<QImage> m_undo, m_redo; // Format_Alpha8
    int m_brush = 32;
    bool m_eraser = false;
    bool m_painting = false;
    QPointF m_last; // image coordinates of the stroke's last point
};

} // namespace charaforge::ui
