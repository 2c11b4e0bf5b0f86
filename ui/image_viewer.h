#pragma once
// Shows one image scaled to fit (aspect ratio kept, centred) with a caption under it: a finished image
// (setImage) or a live sampling preview (setPreview: a small image scaled up smoothly). Drops are the
// main window's business, not the viewer's.
#include <QImage>
#include <QPixmap>
#include <QString>
#include <QWidget>

namespace charaforge::ui {

class ImageViewer : public QWidget {
    Q_OBJECT
public:
    explicit ImageViewer(QWidget* parent = nullptr);

    void setImage(const QImage& image, const QString& caption);
    // A live preview while sampling, e.g. caption "preview · step 12/28".
    void setPreview(const QImage& smallPreview, const QString& caption);
    // Shows the placeholder text.
    void clear();

    QImage image() const { return m_image; }
    QString caption() const { return m_caption; }
    bool isPreview() const { return m_preview; }
    bool hasImage() const { return !m_image.isNull(); }
    // Where the image is drawn (widget coordinates) at the current size; empty without an image.
    QRect imageRect() const;

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

protected:
    void paintEvent(QPaintEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;

private:
    int captionHeight() const;

    QImage m_image;
    QString m_caption;
    bool m_preview = false;
    QPixmap m_scaled; // m_image at imageRect().size(), rebuilt when the size or the image changes
};

} // namespace charaforge::ui
