#include "ui/mask_dialog.h"

#include "ui/mask_canvas.h"

#include <QAction>
#include <QComboBox>
#include <QDir>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QImageReader>
#include <QLabel>
#include <QMimeData>
#include <QPushButton>
#include <QSpinBox>
#include <QToolButton>
#include <QUrl>
#include <QVBoxLayout>

namespace charaforge::ui {

namespace {

QToolButton* toolButton(QAction* action, QWidget* parent) {
    auto* b = new QToolButton(parent);
    b->setDefaultAction(action);
    return b;
}

QString firstImageFile(const QMimeData* mime) {
    if (!mime || !mime->hasUrls())
        return {};
    for (const QUrl& url : mime->urls())
        if (url.isLocalFile() && !QImageReader::imageFormat(url.toLocalFile()).isEmpty())
            return url.toLocalFile();
    return {};
}

} // namespace

MaskDialog::MaskDialog(QWidget* parent) : QDialog(parent) {
    setObjectName(QStringLiteral("maskDialog"));
    setWindowTitle(tr("Erase with a mask"));
    setAcceptDrops(true);
    m_canvas = new MaskCanvas(this);
    m_title = new QLabel(this);
    m_title->setObjectName(QStringLiteral("maskTitle"));
    m_title->setWordWrap(true);

    m_brush = new QSpinBox(this);
    m_brush->setObjectName(QStringLiteral("brushSize"));
    m_brush->setRange(MaskCanvas::kMinBrush, MaskCanvas::kMaxBrush);
    m_brush->setSuffix(tr(" px"));
    m_brush->setToolTip(tr("Brush size in image pixels ([ and ], or the mouse wheel over the image)"));
    m_brush->setValue(m_canvas->brushSize());
    connect(m_brush, &QSpinBox::valueChanged, m_canvas, &MaskCanvas::setBrushSize);
    connect(m_canvas, &MaskCanvas::brushSizeChanged, m_brush, &QSpinBox::setValue);
    auto* smaller = new QAction(tr("Smaller brush"), this);
    smaller->setShortcut(QKeySequence(Qt::Key_BracketLeft));
    connect(smaller, &QAction::triggered, this, [this] { m_canvas->setBrushSize(m_canvas->brushSize() * 4 / 5); });
    auto* larger = new QAction(tr("Larger brush"), this);
    larger->setShortcut(QKeySequence(Qt::Key_BracketRight));
    connect(larger, &QAction::triggered, this, [this] { m_canvas->setBrushSize(m_canvas->brushSize() * 5 / 4 + 1); });
    addActions({smaller, larger});

    auto* eraser = new QAction(tr("Eraser"), this);
    eraser->setObjectName(QStringLiteral("eraserAction"));
    eraser->setCheckable(true);
    eraser->setShortcut(QKeySequence(Qt::Key_E));
    eraser->setToolTip(tr("Take painted parts out of the mask (E)"));
    connect(eraser, &QAction::toggled, m_canvas, &MaskCanvas::setEraser);
    connect(m_canvas, &MaskCanvas::eraserChanged, eraser, &QAction::setChecked);
    m_eraser = toolButton(eraser, this);
    m_undo = new QAction(tr("Undo"), this);
    m_undo->setObjectName(QStringLiteral("maskUndoAction"));
    m_undo->setShortcut(QKeySequence::Undo);
    connect(m_undo, &QAction::triggered, m_canvas, &MaskCanvas::undo);
    m_redo = new QAction(tr("Redo"), this);
    m_redo->setObjectName(QStringLiteral("maskRedoAction"));
    m_redo->setShortcut(QKeySequence::Redo);
    connect(m_redo, &QAction::triggered, m_canvas, &MaskCanvas::redo);
    auto* clear = new QAction(tr("Clear"), this);
    clear->setObjectName(QStringLiteral("maskClearAction"));
    connect(clear, &QAction::triggered, m_canvas, &MaskCanvas::clear);
    auto* invert = new QAction(tr("Invert"), this);
    invert->setObjectName(QStringLiteral("maskInvertAction"));
    invert->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_I));
    connect(invert, &QAction::triggered, m_canvas, &MaskCanvas::invert);

    m_strategy = new QComboBox(this);
    m_strategy->setObjectName(QStringLiteral("eraseStrategy"));
    m_strategy->addItem(tr("Crop around the mask (large images)"), QStringLiteral("crop"));
    m_strategy->addItem(tr("Resize to 1280 px"), QStringLiteral("resize"));
    m_strategy->addItem(tr("Original size"), QStringLiteral("original"));
    m_strategy->setToolTip(tr("How an image above 800 px (crop) or 1280 px (resize) is erased"));

    auto* tools = new QHBoxLayout;
    tools->addWidget(new QLabel(tr("Brush"), this));
    tools->addWidget(m_brush);
    tools->addWidget(m_eraser);
    tools->addWidget(toolButton(m_undo, this));
    tools->addWidget(toolButton(m_redo, this));
    tools->addWidget(toolButton(clear, this));
    tools->addWidget(toolButton(invert, this));
    tools->addStretch(1);
    tools->addWidget(m_strategy);

    m_lamaLabel = new QLabel(this);
    m_lamaLabel->setObjectName(QStringLiteral("lamaModelLabel"));
    m_lamaLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* chooseLama = new QPushButton(tr("LaMa model…"), this);
    chooseLama->setObjectName(QStringLiteral("chooseLamaButton"));
    chooseLama->setToolTip(tr("big-lama.pt (or its .safetensors copy), used by every erase"));
    connect(chooseLama, &QPushButton::clicked, this, &MaskDialog::lamaModelRequested);
    m_problem = new QLabel(this);
    m_problem->setObjectName(QStringLiteral("maskProblem"));
    m_problem->setWordWrap(true);
    m_problem->setStyleSheet(QStringLiteral("color: #c0392b"));
    m_erase = new QPushButton(tr("Erase"), this);
    m_erase->setObjectName(QStringLiteral("eraseButton"));
    m_erase->setDefault(true);
    connect(m_erase, &QPushButton::clicked, this, [this] {
        if (problem().isEmpty())
            Q_EMIT eraseRequested(m_paths, m_canvas->mask(), strategy());
    });
    auto* close = new QPushButton(tr("Close"), this);
    connect(close, &QPushButton::clicked, this, &QDialog::reject);
    auto* bottom = new QHBoxLayout;
    bottom->addWidget(m_lamaLabel, 1);
    bottom->addWidget(chooseLama);
    bottom->addWidget(m_erase);
    bottom->addWidget(close);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_title);
    layout->addLayout(tools);
    layout->addWidget(m_canvas, 1);
    layout->addWidget(m_problem);
    layout->addLayout(bottom);
    connect(m_canvas, &MaskCanvas::maskChanged, this, &MaskDialog::updateState);
    setLamaModel({});
    resize(900, 720);
}

bool MaskDialog::setImages(const QStringList& paths) {
    if (paths.isEmpty())
        return false;
    const QImage first(paths.front());
    if (first.isNull())
        return false;
    m_paths = paths;
    m_canvas->setImage(first);
    const QString name = QFileInfo(paths.front()).fileName();
    m_title->setText(
        paths.size() == 1
            ? tr("Paint over what to erase in %1 (%2×%3).").arg(name).arg(first.width()).arg(first.height())
            : tr("Paint over what to erase in %1; the same mask, scaled to each image's size, erases "
                 "all %2 images.")
                  .arg(name)
                  .arg(paths.size()));
    updateState();
    return true;
}

void MaskDialog::setLamaModel(const QString& path) {
    m_lama = path;
    m_lamaLabel->setText(path.isEmpty() ? tr("LaMa model: not set")
                                        : tr("LaMa model: %1").arg(QDir::toNativeSeparators(path)));
    updateState();
}

QString MaskDialog::strategy() const {
    return m_strategy->currentData().toString();
}

QString MaskDialog::problem() const {
    if (m_lama.isEmpty())
        return tr("No LaMa model is set: choose big-lama.pt with “LaMa model…” (it is remembered), or start "
                  "CharaForge with CHARAFORGE_LAMA_MODEL set to its path.");
    if (m_paths.isEmpty())
        return tr("No image: drop one here.");
    if (m_canvas->isEmpty())
        return tr("Paint over what to erase first.");
    return {};
}

void MaskDialog::updateState() {
    const QString why = problem();
    m_problem->setText(why);
    m_problem->setVisible(!why.isEmpty());
    m_erase->setEnabled(why.isEmpty());
    m_erase->setToolTip(why);
    m_undo->setEnabled(m_canvas->canUndo());
    m_redo->setEnabled(m_canvas->canRedo());
}

void MaskDialog::dragEnterEvent(QDragEnterEvent* event) {
    if (!firstImageFile(event->mimeData()).isEmpty())
        event->acceptProposedAction();
}

void MaskDialog::dropEvent(QDropEvent* event) {
    const QString path = firstImageFile(event->mimeData());
    if (!path.isEmpty() && setImages({path}))
        event->acceptProposedAction();
}

} // namespace charaforge::ui
