#include "ui/main_window.h"

#include "ui/gallery_view.h"
#include "ui/image_viewer.h"
#include "ui/prompt_editor.h"
#include "ui/queue_panel.h"
#include "ui/vram_monitor.h"

#include <QApplication>
#include <QComboBox>
#include <QDockWidget>
#include <QDoubleSpinBox>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileInfo>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenuBar>
#include <QMimeData>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QStatusBar>
#include <QUrl>
#include <QVBoxLayout>

#include <numeric>

namespace charaforge::ui {

namespace {
// The model's sizes are multiples of 16 (latent even).
constexpr int kSizeStep = 16;

const char* kExamplePrompt = "<character_1>\n"
                             "<n>$character_1$</n>\n"
                             "<gender>1girl</gender>\n"
                             "<appearance>long_hair, silver_hair, blue_eyes</appearance>\n"
                             "<clothing>school_uniform</clothing>\n"
                             "<expression>smile</expression>\n"
                             "</character_1>\n"
                             "<general_tags>\n"
                             "<count>1girl</count>\n"
                             "<style>anime_style</style>\n"
                             "<background>cherry_blossoms</background>\n"
                             "</general_tags>\n";

// The local PNG files of a drag, or nothing when it carries anything else.
QStringList droppedPngs(const QMimeData* mime) {
    QStringList paths;
    if (!mime || !mime->hasUrls())
        return paths;
    for (const auto& url : mime->urls()) {
        if (!url.isLocalFile() || !url.toLocalFile().endsWith(QStringLiteral(".png"), Qt::CaseInsensitive))
            return {};
        paths << url.toLocalFile();
    }
    return paths;
}

QString ratioLabel(const QSize& s) {
    const int g = std::gcd(s.width(), s.height());
    const int w = s.width() / g, h = s.height() / g;
    if (w <= 16 && h <= 16)
        return QStringLiteral("%1:%2").arg(w).arg(h);
    return QStringLiteral("%1").arg(static_cast<double>(s.width()) / s.height(), 0, 'f', 2);
}
} // namespace

QList<QSize> trainedResolutions() {
    // Lumina's generate_crop_size_list: walk the widths down from all patches in one row, growing the
    // height while the patch budget allows, keeping aspect ratios up to 4.
    constexpr int kPatches = 4096, kPatch = 16;
    constexpr double kMaxRatio = 4.0;
    QList<QSize> out;
    int wp = kPatches, hp = 1;
    while (wp > 0) {
        if (static_cast<double>(std::max(wp, hp)) / std::min(wp, hp) <= kMaxRatio) {
            const int w = wp * kPatch, h = hp * kPatch;
            if ((w / 32) % 2 == 0 && (h / 32) % 2 == 0)
                out.push_back(QSize(w, h));
        }
        if ((hp + 1) * wp <= kPatches)
            ++hp;
        else
            --wp;
    }
    return out;
}

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
    setWindowTitle(tr("CharaForge"));
    auto* central = new QWidget(this);
    auto* outer = new QVBoxLayout(central);

    m_notice = new QLabel(central);
    m_notice->setObjectName(QStringLiteral("modelNotice"));
    m_notice->setWordWrap(true);
    m_notice->setTextFormat(Qt::RichText);
    m_notice->setStyleSheet(QStringLiteral("QLabel { background: #fff4ce; color: #3b2f00; border: 1px solid #e0c060; "
                                           "padding: 8px; border-radius: 4px; }"));
    m_notice->hide();
    outer->addWidget(m_notice);

    auto* splitter = new QSplitter(Qt::Horizontal, central);
    auto* left = new QWidget(splitter);
    left->setMinimumWidth(480); // room for the prompt form's cards
    auto* leftLayout = new QVBoxLayout(left);

    m_modelLabel = new QLabel(left);
    m_modelLabel->setObjectName(QStringLiteral("modelLabel"));
    m_modelLabel->setWordWrap(true);
    auto* chooseModel = new QPushButton(tr("Model folder…"), left);
    connect(chooseModel, &QPushButton::clicked, this, &MainWindow::chooseModelRequested);
    auto* modelRow = new QHBoxLayout;
    modelRow->addWidget(m_modelLabel, 1);
    modelRow->addWidget(chooseModel);
    leftLayout->addLayout(modelRow);

    leftLayout->addWidget(new QLabel(tr("Prompt (NewBie XML, tags or natural language)"), left));
    m_prompt = new PromptEditor(left);
    m_prompt->setObjectName(QStringLiteral("prompt"));
    m_prompt->setXml(QString::fromUtf8(kExamplePrompt));
    leftLayout->addWidget(m_prompt, 5);
    leftLayout->addWidget(new QLabel(tr("Negative prompt"), left));
    m_negative = new QPlainTextEdit(left);
    m_negative->setObjectName(QStringLiteral("negative"));
    m_negative->setMaximumHeight(60);
    leftLayout->addWidget(m_negative);

    auto* box = new QGroupBox(tr("Settings"), left);
    auto* form = new QGridLayout(box);
    auto spin = [&](int lo, int hi, int step, int value, const char* name) {
        auto* s = new QSpinBox(box);
        s->setRange(lo, hi);
        s->setSingleStep(step);
        s->setValue(value);
        s->setObjectName(QString::fromLatin1(name));
        return s;
    };
    m_preset = new QComboBox(box);
    m_preset->setObjectName(QStringLiteral("resolutionPreset"));
    m_preset->addItem(tr("Custom"), QSize());
    for (const auto& size : trainedResolutions())
        m_preset->addItem(QStringLiteral("%1 × %2  (%3)").arg(size.width()).arg(size.height()).arg(ratioLabel(size)),
                          size);
    m_preset->setToolTip(tr("The model's trained resolutions (about one megapixel)"));
    m_width = spin(kSizeStep, 2048, kSizeStep, 1024, "width");
    m_height = spin(kSizeStep, 2048, kSizeStep, 1024, "height");
    m_steps = spin(1, 200, 1, 28, "steps");
    m_seed = spin(0, 2147483647, 1, 0, "seed");
    m_count = spin(1, 1000, 1, 1, "count");
    m_count->setToolTip(tr("How many jobs one click queues"));
    m_sampler = new QComboBox(box);
    m_sampler->setObjectName(QStringLiteral("sampler"));
    m_sampler->addItem(tr("Euler"), QStringLiteral("euler"));
    m_sampler->addItem(tr("Midpoint"), QStringLiteral("midpoint"));
    m_cfg = new QDoubleSpinBox(box);
    m_cfg->setObjectName(QStringLiteral("cfg"));
    m_cfg->setRange(1.0, 20.0);
    m_cfg->setSingleStep(0.5);
    m_cfg->setValue(5.0);
    m_seedMode = new QComboBox(box);
    m_seedMode->setObjectName(QStringLiteral("seedMode"));
    m_seedMode->addItem(tr("Random"), QStringLiteral("random"));
    m_seedMode->addItem(tr("Fixed"), QStringLiteral("fixed"));
    m_seedMode->addItem(tr("Increment"), QStringLiteral("increment"));
    m_seedMode->setToolTip(tr("Random: a new seed per job · Fixed: this seed for every job · Increment: seed, "
                              "seed + 1, …"));
    connect(m_seedMode, &QComboBox::currentIndexChanged, this,
            [this] { m_seed->setEnabled(m_seedMode->currentData().toString() != QStringLiteral("random")); });
    m_seed->setEnabled(false);
    connect(m_preset, &QComboBox::activated, this, &MainWindow::applyPreset);
    connect(m_width, &QSpinBox::valueChanged, this, &MainWindow::syncPreset);
    connect(m_height, &QSpinBox::valueChanged, this, &MainWindow::syncPreset);

    const std::pair<QString, QWidget*> fields[] = {
        {tr("Resolution"), m_preset},  {tr("Count"), m_count},        {tr("Width"), m_width},
        {tr("Height"), m_height},      {tr("Steps"), m_steps},        {tr("Sampler"), m_sampler},
        {tr("Guidance (CFG)"), m_cfg}, {tr("Seed mode"), m_seedMode}, {tr("Seed"), m_seed}};
    for (int i = 0; i < static_cast<int>(std::size(fields)); ++i) {
        auto* label = new QLabel(fields[i].first, box);
        label->setBuddy(fields[i].second);
        form->addWidget(label, i / 2, (i % 2) * 2);
        form->addWidget(fields[i].second, i / 2, (i % 2) * 2 + 1);
    }
    leftLayout->addWidget(box);

    auto* buttons = new QHBoxLayout;
    m_queueButton = new QPushButton(tr("Add to queue"), left);
    m_queueButton->setObjectName(QStringLiteral("queue"));
    m_queueButton->setDefault(true);
    m_queueButton->setToolTip(tr("Queue the jobs (Ctrl+Return). The queue survives crashes and restarts."));
    m_queueButton->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return));
    connect(m_queueButton, &QPushButton::clicked, this, [this] {
        if (m_editing)
            Q_EMIT updateJobRequested(m_editing, settings());
        else
            Q_EMIT queueRequested(settings());
    });
    m_cancelEdit = new QPushButton(tr("Stop editing"), left);
    m_cancelEdit->setObjectName(QStringLiteral("cancelEdit"));
    m_cancelEdit->hide();
    connect(m_cancelEdit, &QPushButton::clicked, this, [this] { setEditingJob(0); });
    buttons->addWidget(m_queueButton, 1);
    buttons->addWidget(m_cancelEdit);
    leftLayout->addLayout(buttons);
    m_progress = new QProgressBar(left);
    m_progress->setObjectName(QStringLiteral("progress"));
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    m_progress->setFormat(tr("idle"));
    leftLayout->addWidget(m_progress);

    auto* right = new QSplitter(Qt::Vertical, splitter);
    m_viewer = new ImageViewer(right);
    m_viewer->setObjectName(QStringLiteral("imageViewer"));
    m_viewer->setMinimumSize(400, 300);
    m_gallery = new GalleryView(right);
    m_gallery->setObjectName(QStringLiteral("gallery"));
    right->addWidget(m_viewer);
    right->addWidget(m_gallery);
    right->setStretchFactor(0, 3);
    right->setStretchFactor(1, 1);
    splitter->addWidget(left);
    splitter->addWidget(right);
    splitter->setStretchFactor(1, 1);
    outer->addWidget(splitter, 1);
    setCentralWidget(central);

    m_queue = new QueuePanel(this);
    m_queue->setObjectName(QStringLiteral("queuePanel"));
    auto* queueDock = new QDockWidget(tr("Queue"), this);
    queueDock->setObjectName(QStringLiteral("queueDock"));
    queueDock->setWidget(m_queue);
    addDockWidget(Qt::RightDockWidgetArea, queueDock);
    m_monitor = new VramMonitor(this);
    m_monitor->setObjectName(QStringLiteral("memoryMonitor"));
    auto* memoryDock = new QDockWidget(tr("Memory"), this);
    memoryDock->setObjectName(QStringLiteral("memoryDock"));
    memoryDock->setWidget(m_monitor);
    addDockWidget(Qt::RightDockWidgetArea, memoryDock);

    connect(m_gallery, &GalleryView::imageSelected, this, [this](const QString& path) {
        QImage img(path);
        if (!img.isNull())
            m_viewer->setImage(img, QFileInfo(path).fileName());
    });

    auto* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("Choose model folder…"), this, &MainWindow::chooseModelRequested);
    file->addSeparator();
    file->addAction(tr("&Quit"), this, &QWidget::close);
    auto* view = menuBar()->addMenu(tr("&View"));
    view->addAction(queueDock->toggleViewAction());
    view->addAction(memoryDock->toggleViewAction());
    statusBar()->showMessage(tr("Ready. Drop one of our PNGs on the window to restore its settings."));
    resize(1500, 950);
    syncPreset();
    // Drops are handled for the whole window, also over the editor's text fields.
    setAcceptDrops(true);
    qApp->installEventFilter(this);
}

MainWindow::~MainWindow() {
    qApp->removeEventFilter(this);
}

GenerationSettings MainWindow::settings() const {
    GenerationSettings s;
    s.prompt = m_prompt->xml();
    s.negative = m_negative->toPlainText();
    s.width = m_width->value();
    s.height = m_height->value();
    s.steps = m_steps->value();
    s.sampler = m_sampler->currentData().toString();
    s.cfg = m_cfg->value();
    s.seed = m_seed->value();
    s.count = m_count->value();
    s.seedMode = m_seedMode->currentData().toString();
    return s;
}

void MainWindow::setSettings(const GenerationSettings& s) {
    m_prompt->setXml(s.prompt);
    m_negative->setPlainText(s.negative);
    m_width->setValue(s.width);
    m_height->setValue(s.height);
    m_steps->setValue(s.steps);
    m_sampler->setCurrentIndex(std::max(0, m_sampler->findData(s.sampler)));
    m_cfg->setValue(s.cfg);
    m_seed->setValue(static_cast<int>(std::clamp<qint64>(s.seed, 0, 2147483647)));
    m_count->setValue(s.count);
    m_seedMode->setCurrentIndex(std::max(0, m_seedMode->findData(s.seedMode)));
    syncPreset();
}

void MainWindow::applyPreset(int index) {
    const QSize size = m_preset->itemData(index).toSize();
    if (size.isEmpty())
        return;
    m_width->setValue(size.width());
    m_height->setValue(size.height());
}

void MainWindow::syncPreset() {
    const int at = m_preset->findData(QSize(m_width->value(), m_height->value()));
    m_preset->setCurrentIndex(std::max(0, at));
}

void MainWindow::setModelNotice(const QString& html) {
    m_notice->setText(html);
    m_notice->setVisible(!html.isEmpty());
}

void MainWindow::setModelDescription(const QString& line, const QString& details) {
    m_modelLabel->setText(line);
    m_modelLabel->setToolTip(details);
}

QString MainWindow::statusText() const {
    return statusBar()->currentMessage();
}

QImage MainWindow::currentImage() const {
    return m_viewer->image();
}

void MainWindow::setEditingJob(qint64 id) {
    m_editing = id;
    m_queueButton->setText(id ? tr("Update job %1").arg(id) : tr("Add to queue"));
    m_cancelEdit->setVisible(id != 0);
    m_count->setEnabled(id == 0);
    if (id)
        statusBar()->showMessage(tr("Editing queued job %1: change the prompt or settings, then Update.").arg(id));
}

void MainWindow::showProgress(int step, int total, const QString& detail) {
    m_progress->setRange(0, std::max(1, total));
    m_progress->setValue(step);
    m_progress->setFormat(detail.isEmpty() ? tr("step %1 of %2").arg(step).arg(total)
                                           : tr("step %1 of %2 · %3").arg(step).arg(total).arg(detail));
    statusBar()->showMessage(tr("Sampling: step %1 of %2").arg(step).arg(total) +
                             (detail.isEmpty() ? QString() : QStringLiteral(" · ") + detail));
}

void MainWindow::showImage(const QImage& image, const QString& caption) {
    m_viewer->setImage(image, caption);
    statusBar()->showMessage(tr("Image ready (%1×%2) %3").arg(image.width()).arg(image.height()).arg(caption));
}

void MainWindow::showPreview(const QImage& preview, const QString& caption) {
    m_viewer->setPreview(preview, caption);
}

void MainWindow::showError(const QString& message) {
    statusBar()->showMessage(tr("Error: %1").arg(message));
}

void MainWindow::showMessage(const QString& message) {
    statusBar()->showMessage(message);
}

bool MainWindow::eventFilter(QObject* watched, QEvent* event) {
    const auto type = event->type();
    if (type != QEvent::DragEnter && type != QEvent::DragMove && type != QEvent::Drop)
        return QMainWindow::eventFilter(watched, event);
    auto* widget = qobject_cast<QWidget*>(watched);
    if (!widget || widget->window() != this)
        return QMainWindow::eventFilter(watched, event);
    auto* drop = static_cast<QDropEvent*>(event);
    const auto pngs = droppedPngs(drop->mimeData());
    if (pngs.isEmpty())
        return QMainWindow::eventFilter(watched, event);
    drop->setDropAction(Qt::CopyAction);
    drop->accept();
    if (type == QEvent::Drop)
        Q_EMIT imageDropped(pngs.front());
    return true;
}

} // namespace charaforge::ui
