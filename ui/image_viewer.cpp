#include "ui/image_viewer.h"

#include <QAction>
#include <QClipboard>
#include <QCloseEvent>
#include <QGuiApplication>
#include <QMouseEvent>
#include <QPaintEvent>
#include <QPainter>
#include <QResizeEvent>
#include <QScreen>
#include <QSplitter>
#include <QWheelEvent>

#include <algorithm>
#include <cmath>

namespace charaforge::ui {

namespace {

constexpr int kMargin = 4;
constexpr double kWheelNotch = 120.0; // QWheelEvent::angleDelta of one notch
const QColor kBackground(43, 43, 43);
const QColor kCaptionColor(220, 220, 220);
const QColor kPlaceholderColor(150, 150, 150);

} // namespace

ImageViewer::ImageViewer(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("imageViewer"));
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
    setAttribute(Qt::WA_OpaquePaintEvent);
    setFocusPolicy(Qt::StrongFocus);

    m_zoomIn =
        addViewerAction(tr("Zoom &in"), {QKeySequence::ZoomIn, QKeySequence(Qt::CTRL | Qt::Key_Equal)}, "zoomInAction");
    connect(m_zoomIn, &QAction::triggered, this, &ImageViewer::zoomIn);
    m_zoomOut = addViewerAction(tr("Zoom &out"), {QKeySequence::ZoomOut}, "zoomOutAction");
    connect(m_zoomOut, &QAction::triggered, this, &ImageViewer::zoomOut);
    m_actualSize = addViewerAction(tr("&Actual size (1:1)"),
                                   {QKeySequence(Qt::CTRL | Qt::Key_1), QKeySequence(Qt::Key_1)}, "actualSizeAction");
    connect(m_actualSize, &QAction::triggered, this, &ImageViewer::actualSize);
    m_fitAction = addViewerAction(tr("&Fit to window"), {QKeySequence(Qt::CTRL | Qt::Key_0), QKeySequence(Qt::Key_F)},
                                  "fitAction");
    connect(m_fitAction, &QAction::triggered, this, &ImageViewer::fitToWindow);
    m_fullScreenAction = addViewerAction(tr("F&ull screen"), {QKeySequence(Qt::Key_F11)}, "fullScreenAction");
    m_fullScreenAction->setCheckable(true);
    connect(m_fullScreenAction, &QAction::triggered, this, [this](bool on) { setFullScreenView(on); });
    m_leaveFullScreen =
        addViewerAction(tr("Leave full screen"), {QKeySequence(Qt::Key_Escape)}, "leaveFullScreenAction");
    connect(m_leaveFullScreen, &QAction::triggered, this, [this] { setFullScreenView(false); });
    m_copy = addViewerAction(tr("&Copy image"), {QKeySequence::Copy}, "copyImageAction");
    connect(m_copy, &QAction::triggered, this, &ImageViewer::copyToClipboard);
    m_next = addViewerAction(tr("&Next image"), {QKeySequence(Qt::Key_Right)}, "nextImageAction");
    connect(m_next, &QAction::triggered, this, [this] { Q_EMIT stepRequested(1); });
    m_previous = addViewerAction(tr("&Previous image"), {QKeySequence(Qt::Key_Left)}, "previousImageAction");
    connect(m_previous, &QAction::triggered, this, [this] { Q_EMIT stepRequested(-1); });
    m_compare = addViewerAction(tr("&Before / after"), {QKeySequence(Qt::Key_B)}, "beforeAfterAction");
    m_compare->setToolTip(tr("Flip between an erased image and its original"));
    connect(m_compare, &QAction::triggered, this, &ImageViewer::flipComparison);
    updateActions();
}

ImageViewer::~ImageViewer() = default;

QAction* ImageViewer::addViewerAction(const QString& text, const QList<QKeySequence>& keys, const char* name) {
    auto* action = new QAction(text, this);
    action->setObjectName(QString::fromLatin1(name));
    action->setShortcuts(keys);
    // Only while the viewer (or a widget the window adds the action to) has the focus: Ctrl+C, the
    // arrows and plain letters belong to the text fields elsewhere.
    action->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    addAction(action);
    return action;
}

QList<QAction*> ImageViewer::viewerActions() const {
    return {m_zoomIn,          m_zoomOut, m_actualSize, m_fitAction, m_fullScreenAction,
            m_leaveFullScreen, m_copy,    m_next,       m_previous,  m_compare};
}

void ImageViewer::updateActions() {
    const bool zoomable = hasImage() && !m_preview;
    for (QAction* a : {m_zoomIn, m_zoomOut, m_actualSize, m_fitAction})
        a->setEnabled(zoomable);
    m_copy->setEnabled(hasImage());
    m_compare->setEnabled(hasComparison());
    m_leaveFullScreen->setEnabled(m_fullScreen);
    m_fullScreenAction->setChecked(m_fullScreen);
    unsetCursor();
    if (canPan())
        setCursor(m_dragging ? Qt::ClosedHandCursor : Qt::OpenHandCursor);
}

void ImageViewer::setComparison(const QImage& before, const QString& beforeCaption) {
    if (before.isNull() || m_preview || before.size() != m_image.size())
        return;
    m_other = before;
    m_otherCaption = beforeCaption;
    m_showingBefore = false;
    updateActions();
}

bool ImageViewer::flipComparison() {
    if (m_other.isNull())
        return false;
    std::swap(m_image, m_other);
    std::swap(m_caption, m_otherCaption);
    m_showingBefore = !m_showingBefore;
    m_scaled = QPixmap();
    m_pixmap = QPixmap();
    update(); // same size: zoom and position stay
    return true;
}

void ImageViewer::setImage(const QImage& image, const QString& caption) {
    m_other = QImage();
    m_showingBefore = false;
    const bool keepZoom = !m_fit && !m_preview && !m_image.isNull() && image.size() == m_image.size();
    m_image = image;
    m_caption = caption;
    m_preview = false;
    m_scaled = QPixmap();
    m_pixmap = QPixmap();
    if (!keepZoom)
        m_fit = true;
    clampCentre();
    updateActions();
    update();
}

void ImageViewer::setPreview(const QImage& smallPreview, const QString& caption) {
    m_other = QImage();
    m_showingBefore = false;
    m_image = smallPreview;
    m_caption = caption;
    m_preview = true;
    m_scaled = QPixmap();
    m_pixmap = QPixmap();
    updateActions();
    update();
}

void ImageViewer::clear() {
    m_other = QImage();
    m_showingBefore = false;
    m_image = QImage();
    m_caption.clear();
    m_preview = false;
    m_scaled = QPixmap();
    m_pixmap = QPixmap();
    m_fit = true;
    updateActions();
    update();
}

int ImageViewer::captionHeight() const {
    return m_caption.isEmpty() ? 0 : fontMetrics().height() + 2 * kMargin;
}

QRect ImageViewer::area() const {
    return rect().adjusted(kMargin, kMargin, -kMargin, -kMargin - captionHeight());
}

double ImageViewer::fitScale() const {
    const QRect a = area();
    if (m_image.isNull() || a.width() <= 0 || a.height() <= 0)
        return 1.0;
    const QSize size = m_image.size().scaled(a.size(), Qt::KeepAspectRatio);
    return static_cast<double>(size.width()) / m_image.width();
}

double ImageViewer::scale() const {
    return isFitting() ? fitScale() : m_scale;
}

QRectF ImageViewer::imageRectF() const {
    if (m_image.isNull())
        return {};
    const QRect a = area();
    if (a.width() <= 0 || a.height() <= 0)
        return {};
    if (isFitting())
        return QRectF(imageRect());
    const QSizeF size(m_image.width() * m_scale, m_image.height() * m_scale);
    const QPointF topLeft = QRectF(a).center() - m_centre * m_scale;
    return QRectF(topLeft, size);
}

QRect ImageViewer::imageRect() const {
    if (m_image.isNull())
        return {};
    const QRect a = area();
    if (a.width() <= 0 || a.height() <= 0)
        return {};
    if (!isFitting()) {
        const QRectF r = imageRectF();
        return QRect(qRound(r.x()), qRound(r.y()), qRound(r.width()), qRound(r.height()));
    }
    const QSize size = m_image.size().scaled(a.size(), Qt::KeepAspectRatio);
    return QRect(a.x() + (a.width() - size.width()) / 2, a.y() + (a.height() - size.height()) / 2, size.width(),
                 size.height());
}

QPointF ImageViewer::mapToImage(const QPointF& widgetPos) const {
    const QRectF r = imageRectF();
    return r.isEmpty() ? QPointF() : (widgetPos - r.topLeft()) / scale();
}

bool ImageViewer::canPan() const {
    if (m_image.isNull() || isFitting())
        return false;
    const QRect a = area();
    return m_image.width() * m_scale > a.width() + 0.5 || m_image.height() * m_scale > a.height() + 0.5;
}

void ImageViewer::clampCentre() {
    if (m_image.isNull() || m_fit)
        return;
    const QRect a = area();
    auto clampAxis = [&](double centre, int imageSide, int viewSide) {
        const double half = viewSide / (2.0 * m_scale);
        if (imageSide * m_scale <= viewSide)
            return imageSide / 2.0; // smaller than the view: centred
        return std::clamp(centre, half, imageSide - half);
    };
    m_centre = QPointF(clampAxis(m_centre.x(), m_image.width(), a.width()),
                       clampAxis(m_centre.y(), m_image.height(), a.height()));
}

void ImageViewer::zoomAt(double factor, const QPointF& anchor) {
    if (m_image.isNull() || m_preview || area().isEmpty())
        return;
    const double from = scale();
    const QPointF point = mapToImage(anchor);
    m_scale = std::clamp(from * factor, kMinScale, kMaxScale);
    m_fit = false;
    // The image point under the anchor stays under it: centre = point + (area centre - anchor) / scale.
    m_centre = point + (QRectF(area()).center() - anchor) / m_scale;
    clampCentre();
    updateActions();
    update();
    Q_EMIT viewChanged();
}

void ImageViewer::setScale(double s) {
    zoomAt(s / scale(), QRectF(area()).center());
}

void ImageViewer::zoomIn() {
    zoomAt(kZoomStep, QRectF(area()).center());
}

void ImageViewer::zoomOut() {
    zoomAt(1.0 / kZoomStep, QRectF(area()).center());
}

void ImageViewer::actualSize() {
    setScale(1.0);
}

void ImageViewer::fitToWindow() {
    m_fit = true;
    updateActions();
    update();
    Q_EMIT viewChanged();
}

void ImageViewer::panBy(const QPointF& delta) {
    if (!canPan())
        return;
    m_centre -= delta / m_scale;
    clampCentre();
    update();
    Q_EMIT viewChanged();
}

ImageViewer::ViewState ImageViewer::viewState() const {
    if (isFitting() || m_image.isNull())
        return {};
    return {false, m_scale, QPointF(m_centre.x() / m_image.width(), m_centre.y() / m_image.height())};
}

void ImageViewer::setViewState(const ViewState& state) {
    if (m_image.isNull() || m_preview)
        return;
    m_fit = state.fit;
    if (!m_fit) {
        m_scale = std::clamp(state.scale, kMinScale, kMaxScale);
        m_centre = QPointF(state.centre.x() * m_image.width(), state.centre.y() * m_image.height());
        clampCentre();
    }
    updateActions();
    update();
}

bool ImageViewer::copyToClipboard() const {
    if (m_image.isNull())
        return false;
    QGuiApplication::clipboard()->setImage(m_image);
    return true;
}

void ImageViewer::setFullScreenView(bool on) {
    if (on == m_fullScreen)
        return;
    if (on) {
        // Out of its splitter into a window of its own; the splitter keeps the other panes' sizes.
        QScreen* screen = window()->screen();
        m_home = qobject_cast<QSplitter*>(parentWidget());
        if (m_home) {
            m_homeIndex = m_home->indexOf(this);
            m_homeSizes = m_home->sizes();
        }
        setParent(nullptr, Qt::Window);
        m_fullScreen = true;
        // The whole screen the window is on, also where no window manager applies the full-screen state.
        if (screen)
            setGeometry(screen->geometry());
        showFullScreen();
        activateWindow();
        setFocus(Qt::OtherFocusReason);
    } else {
        m_fullScreen = false;
        hide();
        if (m_home) {
            m_home->insertWidget(m_homeIndex, this);
            m_home->setSizes(m_homeSizes);
            show();
            window()->activateWindow();
        } else {
            setWindowState(windowState() & ~Qt::WindowFullScreen);
            show();
        }
        setFocus(Qt::OtherFocusReason);
    }
    m_scaled = QPixmap();
    updateActions();
    Q_EMIT fullScreenChanged(on);
}

QSize ImageViewer::sizeHint() const {
    return {512, 512};
}

QSize ImageViewer::minimumSizeHint() const {
    return {128, 128};
}

void ImageViewer::resizeEvent(QResizeEvent* event) {
    m_scaled = QPixmap();
    clampCentre();
    updateActions();
    QWidget::resizeEvent(event);
}

void ImageViewer::wheelEvent(QWheelEvent* event) {
    const double notches = event->angleDelta().y() / kWheelNotch;
    if (notches == 0 || !hasImage() || m_preview) {
        event->ignore();
        return;
    }
    zoomAt(std::pow(kZoomStep, notches), event->position());
    event->accept();
}

void ImageViewer::mousePressEvent(QMouseEvent* event) {
    setFocus(Qt::MouseFocusReason);
    if (event->button() == Qt::LeftButton && canPan()) {
        m_dragging = true;
        m_dragFrom = event->position();
        updateActions();
        event->accept();
        return;
    }
    QWidget::mousePressEvent(event);
}

void ImageViewer::mouseMoveEvent(QMouseEvent* event) {
    if (!m_dragging)
        return QWidget::mouseMoveEvent(event);
    panBy(event->position() - m_dragFrom);
    m_dragFrom = event->position();
}

void ImageViewer::mouseReleaseEvent(QMouseEvent* event) {
    if (m_dragging && event->button() == Qt::LeftButton) {
        m_dragging = false;
        updateActions();
        return;
    }
    QWidget::mouseReleaseEvent(event);
}

void ImageViewer::mouseDoubleClickEvent(QMouseEvent* event) {
    // Fitted: 1:1 at the point clicked; zoomed: fitted again.
    if (!hasImage() || m_preview)
        return QWidget::mouseDoubleClickEvent(event);
    if (isFitting())
        zoomAt(1.0 / scale(), event->position());
    else
        fitToWindow();
}

void ImageViewer::closeEvent(QCloseEvent* event) {
    // Closing the full-screen window (Alt+F4) puts the viewer back instead of losing it.
    if (m_fullScreen) {
        setFullScreenView(false);
        event->ignore();
        return;
    }
    QWidget::closeEvent(event);
}

void ImageViewer::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.fillRect(rect(), kBackground);
    const QRect target = imageRect();
    if (target.isEmpty()) {
        p.setPen(kPlaceholderColor);
        p.drawText(rect(), Qt::AlignCenter | Qt::TextWordWrap,
                   m_image.isNull() ? tr("No image yet: generate one or pick one in the gallery") : QString());
    } else if (isFitting()) {
        // Smooth scaling once per size: a preview is a few dozen pixels wide and must not look blocky.
        if (m_scaled.size() != target.size())
            m_scaled =
                QPixmap::fromImage(m_image.scaled(target.size(), Qt::IgnoreAspectRatio, Qt::SmoothTransformation));
        p.drawPixmap(target.topLeft(), m_scaled);
    } else {
        // Zoomed: only the visible part, smooth below 2x, sharp pixels above (to inspect details).
        if (m_pixmap.isNull())
            m_pixmap = QPixmap::fromImage(m_image);
        const QRectF drawn = imageRectF();
        const QRectF visible = drawn.intersected(QRectF(area()));
        const QRectF source((visible.topLeft() - drawn.topLeft()) / m_scale, visible.size() / m_scale);
        p.setClipRect(area());
        p.setRenderHint(QPainter::SmoothPixmapTransform, m_scale < 2.0);
        p.drawPixmap(visible, m_pixmap, source);
        p.setClipping(false);
    }
    if (!m_caption.isEmpty()) {
        const QRect captionRect(kMargin, height() - captionHeight(), width() - 2 * kMargin, captionHeight());
        p.setPen(kCaptionColor);
        QFont font = p.font();
        font.setItalic(m_preview);
        p.setFont(font);
        QString caption = m_caption;
        if (!isFitting())
            caption += QStringLiteral(" · %1%").arg(qRound(m_scale * 100));
        p.drawText(captionRect, Qt::AlignCenter,
                   fontMetrics().elidedText(caption, Qt::ElideMiddle, captionRect.width()));
    }
}

} // namespace charaforge::ui
