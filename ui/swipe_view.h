#pragma once
// A/B comparison of two images: both fitted into the same rectangle, image A left of a vertical split line
// and image B right of it. Dragging moves the line (so does setSplit, for a slider); flip() swaps the sides,
// so that one place of the picture can be flipped between A and B.
#include <QImage>
#include <QString>
#include <QWidget>

namespace charaforge::ui {

class SwipeView : public QWidget {
    Q_OBJECT
public:
    explicit SwipeView(QWidget* parent = nullptr);

    void setImages(const QImage& a, const QImage& b, const QString& labelA = QString(),
                   const QString& labelB = QString());
    QImage imageA() const { return m_a; }
    QImage imageB() const { return m_b; }

    // Where the line is: 0 (all right-hand image) .. 1 (all left-hand image).
    double split() const { return m_split; }
    void setSplit(double split);
    // Swaps the sides: A is drawn on the right, B on the left.
    void flip();
    bool flipped() const { return m_flipped; }
    // The rectangle both images are fitted into.
    QRect imageRect() const;

    QSize sizeHint() const override;

Q_SIGNALS:
    void splitChanged(double split);

protected:
    void paintEvent(QPaintEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;

private:
    void splitAt(double x);

    QImage m_a;
    QImage m_b;
    QString m_labelA;
    QString m_labelB;
    double m_split = 0.5;
    bool m_flipped = false;
};

} // namespace charaforge::ui
