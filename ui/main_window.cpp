#include "ui/main_window.h"

#include "ui/decimal_spin_box.h"
#include "ui/gallery_view.h"
#include "ui/image_viewer.h"
#include "ui/job_states.h"
#include "ui/model_notice.h"
#include "ui/prompt_editor.h"
#include "ui/queue_model.h"
#include "ui/queue_panel.h"
#include "ui/variants_dialog.h"
#include "ui/vram_monitor.h"

#include <QAbstractButton>
#include <QApplication>
#include <QCloseEvent>
#include <QComboBox>
#include <QDir>
#include <QDockWidget>
#include <QDoubleSpinBox>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QScreen>
#include <QSettings>
#include <QSpinBox>
#include <QSplitter>
#include <QStandardPaths>
#include <QStatusBar>
#include <QUrl>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

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

// The local folders of a drag, or nothing when it carries anything else.
QStringList droppedFolders(const QMimeData* mime) {
    QStringList paths;
    if (!mime || !mime->hasUrls())
        return paths;
    for (const auto& url : mime->urls()) {
        if (!url.isLocalFile() || !QFileInfo(url.toLocalFile()).isDir())
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

    m_notice = new ModelNotice(central);
    connect(m_notice, &ModelNotice::chooseModelRequested, this, &MainWindow::chooseModelRequested);
    outer->addWidget(m_notice);

    auto* splitter = new QSplitter(Qt::Horizontal, central);
    splitter->setObjectName(QStringLiteral("mainSplitter"));
    m_splitter = splitter;
    auto* left = new QWidget(splitter);
    left->setMinimumWidth(400); // room for the prompt form's cards
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
    m_width = spin(kSizeStep, kMaxImageSide, kSizeStep, 1024, "width");
    m_height = spin(kSizeStep, kMaxImageSide, kSizeStep, 1024, "height");
    for (QSpinBox* size : {m_width, m_height})
        size->setToolTip(tr("A multiple of %1: the VAE works at 1/8 scale and the transformer on 2×2 latent "
                            "patches")
                             .arg(kSizeStep));
    connect(m_width, &QSpinBox::editingFinished, this, [this] { snapSize(m_width, tr("Width")); });
    connect(m_height, &QSpinBox::editingFinished, this, [this] { snapSize(m_height, tr("Height")); });
    m_steps = spin(1, kMaxSteps, 1, 28, "steps");
    // Seeds are 0 .. 2^32-1, beyond QSpinBox's int: a spin box of doubles with no decimals holds them exactly.
    m_seed = new QDoubleSpinBox(box);
    m_seed->setObjectName(QStringLiteral("seed"));
    m_seed->setDecimals(0);
    m_seed->setRange(0, static_cast<double>(kMaxSeed));
    m_seed->setSingleStep(1);
    m_seed->setGroupSeparatorShown(false);
    m_count = spin(1, 1000, 1, 1, "count");
    m_count->setToolTip(tr("How many jobs one click queues"));
    m_sampler = new QComboBox(box);
    m_sampler->setObjectName(QStringLiteral("sampler"));
    m_sampler->addItem(tr("Euler"), QStringLiteral("euler"));
    m_sampler->addItem(tr("Midpoint"), QStringLiteral("midpoint"));
    m_sampler->addItem(tr("DPM-Solver++ 2M"), QStringLiteral("dpm"));
    m_sampler->setItemData(m_sampler->count() - 1, tr("The official DPM-Solver multistep: good images in fewer steps"),
                           Qt::ToolTipRole);
    // The engine's ranges and enough decimals that a job queued on the command line is edited without a change.
    auto decimal = [&](double lo, double hi, double step, double value, const char* name, const QString& tip) {
        auto* d = new DecimalSpinBox(box);
        d->setObjectName(QString::fromLatin1(name));
        d->setRange(lo, hi);
        d->setSingleStep(step);
        d->setValue(value);
        d->setToolTip(tip);
        return d;
    };
    m_cfg = decimal(0.0, kMaxGuidance, 0.5, 5.0, "cfg", tr("Classifier-free guidance scale (1: no negative branch)"));
    m_cfgTrunc = decimal(0.0, 1.0, 0.05, 1.0, "cfgTrunc", tr("Guidance applies while t < this (1: every step)"));
    m_renorm = decimal(0.0, kMaxGuidance, 0.5, 0.0, "renorm",
                       tr("Above 0: caps the guided velocity at this times the conditional one's norm"));
    m_shift = decimal(std::pow(10.0, -DecimalSpinBox::kDecimals), kMaxShift, 0.5, 6.0, "shift",
                      tr("Time shift of the sampling schedule"));
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

    const std::pair<QString, QWidget*> fields[] = {{tr("Resolution"), m_preset}, {tr("Count"), m_count},
                                                   {tr("Width"), m_width},       {tr("Height"), m_height},
                                                   {tr("Steps"), m_steps},       {tr("Sampler"), m_sampler},
                                                   {tr("CFG"), m_cfg},           {tr("Seed mode"), m_seedMode},
                                                   {tr("Seed"), m_seed},         {tr("CFG trunc."), m_cfgTrunc},
                                                   {tr("Renorm"), m_renorm},     {tr("Shift"), m_shift}};
    // Short labels keep the grid within the left pane at 1280 x 800 ("Guidance (CFG)" and "CFG truncation" were
    // cut there); the full names are the labels' tooltips.
    const std::pair<QWidget*, QString> longNames[] = {{m_cfg, tr("Guidance scale (classifier-free guidance, CFG)")},
                                                      {m_cfgTrunc, tr("CFG truncation")},
                                                      {m_renorm, tr("CFG renorm")}};
    for (int i = 0; i < static_cast<int>(std::size(fields)); ++i) {
        auto* label = new QLabel(fields[i].first, box);
        label->setObjectName(QStringLiteral("settingLabel%1").arg(i));
        for (const auto& [field, name] : longNames)
            if (field == fields[i].second)
                label->setToolTip(name);
        label->setBuddy(fields[i].second);
        form->addWidget(label, i / 2, (i % 2) * 2);
        form->addWidget(fields[i].second, i / 2, (i % 2) * 2 + 1);
    }
    leftLayout->addWidget(box);
    // The folders of an edited or restored job that are not the window's: shown, and one click from the window's.
    auto* targetRow = new QHBoxLayout;
    m_jobTarget = new QLabel(left);
    m_jobTarget->setObjectName(QStringLiteral("jobTarget"));
    m_jobTarget->setWordWrap(true);
    m_useWindowTarget = new QPushButton(tr("Use the window's"), left);
    m_useWindowTarget->setObjectName(QStringLiteral("useWindowTarget"));
    m_useWindowTarget->setToolTip(tr("Generate with the window's model folder and output folder instead"));
    connect(m_useWindowTarget, &QPushButton::clicked, this, [this] { setJobTarget({}, {}); });
    targetRow->addWidget(m_jobTarget, 1);
    targetRow->addWidget(m_useWindowTarget);
    leftLayout->addLayout(targetRow);
    setJobTarget({}, {});
    m_restoreNotice = new QLabel(left);
    m_restoreNotice->setObjectName(QStringLiteral("restoreNotice"));
    m_restoreNotice->setWordWrap(true);
    m_restoreNotice->setTextFormat(Qt::RichText);
    m_restoreNotice->setFrameShape(QFrame::StyledPanel);
    m_restoreNotice->hide();
    connect(m_restoreNotice, &QLabel::linkActivated, this, [this] { setRestoreNotice({}); });
    leftLayout->addWidget(m_restoreNotice);

    auto* buttons = new QHBoxLayout;
    m_queueButton = new QPushButton(tr("Add to queue"), left);
    m_queueButton->setObjectName(QStringLiteral("queue"));
    m_queueButton->setDefault(true);
    m_queueButton->setToolTip(tr("Queue the jobs (Ctrl+Return). The queue survives crashes and restarts."));
    m_queueButton->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return));
    connect(m_queueButton, &QPushButton::clicked, this, [this] {
        GenerationSettings s;
        if (!queueableSettings(s))
            return;
        if (m_editing)
            Q_EMIT updateJobRequested(m_editing, s);
        else
            Q_EMIT queueRequested(s);
    });
    m_variantsButton = new QPushButton(tr("Variants…"), left);
    m_variantsButton->setObjectName(QStringLiteral("variants"));
    m_variantsButton->setToolTip(tr("Queue a group of variants of this prompt (styles, seeds, CFG, steps, sampler, "
                                    "resolution, a character's tags) to compare side by side"));
    connect(m_variantsButton, &QPushButton::clicked, this, [this] { openVariants(); });
    m_cancelEdit = new QPushButton(tr("Stop editing"), left);
    m_cancelEdit->setObjectName(QStringLiteral("cancelEdit"));
    m_cancelEdit->hide();
    connect(m_cancelEdit, &QPushButton::clicked, this, [this] { setEditingJob(0); });
    // A prompt with errors is never queued (the command line refuses it too): the buttons wait for a fix.
    auto setPromptValid = [this](bool hasErrors) {
        m_promptHasErrors = hasErrors;
        updateQueueButtons();
    };
    connect(m_prompt, &PromptEditor::validityChanged, this, setPromptValid);
    setPromptValid(!m_prompt->firstError().isEmpty());
    buttons->addWidget(m_queueButton, 1);
    buttons->addWidget(m_variantsButton);
    buttons->addWidget(m_cancelEdit);
    leftLayout->addLayout(buttons);
    m_progress = new QProgressBar(left);
    m_progress->setObjectName(QStringLiteral("progress"));
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    m_progress->setFormat(tr("idle"));
    leftLayout->addWidget(m_progress);

    auto* right = new QSplitter(Qt::Vertical, splitter);
    right->setObjectName(QStringLiteral("imageSplitter"));
    m_rightSplitter = right;
    m_viewer = new ImageViewer(right);
    m_viewer->setObjectName(QStringLiteral("imageViewer"));
    m_viewer->setMinimumSize(280, 220);
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
    m_queueDock = queueDock;
    m_monitor = new VramMonitor(this);
    m_monitor->setObjectName(QStringLiteral("memoryMonitor"));
    auto* memoryDock = new QDockWidget(tr("Memory"), this);
    memoryDock->setObjectName(QStringLiteral("memoryDock"));
    memoryDock->setWidget(m_monitor);
    addDockWidget(Qt::RightDockWidgetArea, memoryDock);

    connect(m_gallery, &GalleryView::imageSelected, this, &MainWindow::showImageFile);
    // Double-click (or Enter) on a thumbnail: the image at full size, its pixels 1:1, keys to the viewer.
    connect(m_gallery, &GalleryView::imageActivated, this, [this](const QString& path) {
        const QImage img(path);
        if (img.isNull()) {
            showError(tr("%1: cannot be read (moved or deleted?)").arg(QDir::toNativeSeparators(path)));
            return;
        }
        m_viewer->setImage(img, QFileInfo(path).fileName());
        m_viewer->actualSize();
        m_viewer->setFocus(Qt::OtherFocusReason);
    });
    connect(m_viewer, &ImageViewer::stepRequested, this, [this](int delta) {
        if (!m_gallery->selectRelative(delta))
            statusBar()->showMessage(delta > 0 ? tr("That was the oldest image in the gallery.")
                                               : tr("That was the newest image in the gallery."));
    });
    // The viewer's keys also work while the gallery has the focus.
    m_gallery->addActions(m_viewer->viewerActions());

    connect(m_queue->model(), &QAbstractItemModel::modelReset, this, &MainWindow::updateProgressFromQueue);
    connect(m_queue->model(), &QAbstractItemModel::dataChanged, this, &MainWindow::updateProgressFromQueue);

    auto* file = menuBar()->addMenu(tr("&File"));
    QAction* openAction = file->addAction(tr("&Open image…"), this, &MainWindow::openImage);
    openAction->setObjectName(QStringLiteral("openImageAction"));
    openAction->setShortcut(QKeySequence::Open);
    QAction* eraseAction =
        file->addAction(tr("&Erase with a mask…"), this, [this] { Q_EMIT eraseRequested(eraseTargets()); });
    eraseAction->setObjectName(QStringLiteral("eraseAction"));
    eraseAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E)); // Ctrl+E: the gallery panel's Export…
    eraseAction->setToolTip(tr("Paint over part of the image shown (or of the gallery's selected images) and erase "
                               "it with LaMa"));
    file->addAction(tr("Choose model folder…"), this, &MainWindow::chooseModelRequested);
    QAction* builtIn = file->addAction(tr("Use the built-in model"), this, &MainWindow::builtInModelRequested);
    builtIn->setObjectName(QStringLiteral("builtInModelAction"));
    builtIn->setToolTip(tr("The tiny test model CharaForge makes itself (its images are noise)"));
    file->addSeparator();
    QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setObjectName(QStringLiteral("quitAction"));
    quit->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Q));
    quit->setShortcutContext(Qt::ApplicationShortcut);
    auto* view = menuBar()->addMenu(tr("&View"));
    view->setObjectName(QStringLiteral("viewMenu"));
    m_viewMenu = view;
    for (QAction* a : m_viewer->viewerActions()) {
        view->addAction(a);
        if (a == m_viewer->fitAction() || a == m_viewer->leaveFullScreenAction() || a == m_viewer->copyAction())
            view->addSeparator();
    }
    view->addSeparator();
    view->addAction(queueDock->toggleViewAction());
    view->addAction(memoryDock->toggleViewAction());
    auto* help = menuBar()->addMenu(tr("&Help"));
    QAction* keys = help->addAction(tr("&Keyboard shortcuts"), this, &MainWindow::showShortcuts);
    keys->setObjectName(QStringLiteral("shortcutsAction"));
    keys->setShortcut(QKeySequence::HelpContents);
    QAction* about = help->addAction(tr("&About CharaForge"), this, &MainWindow::showAbout);
    about->setObjectName(QStringLiteral("aboutAction"));
    about->setMenuRole(QAction::AboutRole);
    statusBar()->showMessage(tr("Ready. Drop one of our PNGs on the window to restore its settings."));
    // Sized from the screen it opens on (a laptop's 1280 × 800 included), never larger than it.
    const QRect avail = screen() ? screen()->availableGeometry() : QRect(0, 0, 1280, 800);
    resize(QSize(1500, 950).boundedTo(QSize(avail.width() * 95 / 100, avail.height() * 95 / 100)));
    syncPreset();
    // Drops are handled for the whole window, also over the editor's text fields.
    setAcceptDrops(true);
    qApp->installEventFilter(this);
}

MainWindow::~MainWindow() {
    qApp->removeEventFilter(this);
    if (m_viewer->isWindow()) // full screen: not our child any more
        delete m_viewer;
}

bool MainWindow::queueableSettings(GenerationSettings& out) {
    if (!m_modelProblem.isEmpty()) {
        showError(tr("No model is open; nothing was queued. Choose a model folder or use the built-in model (File "
                     "menu): %1")
                      .arg(m_modelProblem.section(QLatin1Char('\n'), 0, 0)));
        return false;
    }
    m_prompt->flushXml();
    if (const QString error = m_prompt->firstError(); !error.isEmpty()) {
        showError(tr("The prompt has errors; nothing was queued. Fix them in the XML tab first: %1").arg(error));
        return false;
    }
    out = settings();
    out.prompt = m_prompt->canonicalXml();
    return true;
}

void MainWindow::openVariants(const std::function<void(VariantsDialog&)>& prepare) {
    GenerationSettings s;
    if (!queueableSettings(s))
        return;
    VariantsDialog dialog(this);
    dialog.setFormCount(m_count->value());
    if (prepare)
        prepare(dialog);
    else
        dialog.addAxis(QStringLiteral("style"), {});
    if (dialog.exec() == QDialog::Accepted)
        Q_EMIT variantsRequested(s, dialog.varyTexts(), dialog.label());
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
    s.cfgTrunc = m_cfgTrunc->value();
    s.renorm = m_renorm->value();
    s.shift = m_shift->value();
    s.seed = static_cast<qint64>(std::llround(m_seed->value()));
    s.count = m_count->value();
    s.seedMode = m_seedMode->currentData().toString();
    s.model = m_jobModel;
    s.outputDir = m_jobOutputDir;
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
    m_cfgTrunc->setValue(s.cfgTrunc);
    m_renorm->setValue(s.renorm);
    m_shift->setValue(s.shift);
    m_seed->setValue(static_cast<double>(std::clamp<qint64>(s.seed, 0, kMaxSeed)));
    m_count->setValue(s.count);
    m_seedMode->setCurrentIndex(std::max(0, m_seedMode->findData(s.seedMode)));
    setJobTarget(s.model, s.outputDir);
    syncPreset();
}

void MainWindow::setRestoreNotice(const QStringList& lines) {
    m_restoreNoticeLines = lines;
    QString html;
    for (const QString& line : lines)
        html += QStringLiteral("<li>%1</li>").arg(line.toHtmlEscaped());
    m_restoreNotice->setText(lines.isEmpty() ? QString()
                                             : tr("<b>Restored with changes</b> (no equivalent here):<ul "
                                                  "style='margin: 0'>%1</ul><a href='dismiss'>Dismiss</a>")
                                                   .arg(html));
    m_restoreNotice->setVisible(!lines.isEmpty());
}

void MainWindow::setJobTarget(const QString& model, const QString& outputDir) {
    m_jobModel = model;
    m_jobOutputDir = outputDir;
    QStringList parts;
    if (!model.isEmpty())
        parts << tr("model folder %1").arg(QDir::toNativeSeparators(model));
    if (!outputDir.isEmpty())
        parts << tr("output folder %1").arg(QDir::toNativeSeparators(outputDir));
    m_jobTarget->setText(parts.isEmpty() ? QString() : tr("This job uses its own %1.").arg(parts.join(tr(" and "))));
    m_jobTarget->setVisible(!parts.isEmpty());
    m_useWindowTarget->setVisible(!parts.isEmpty());
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

void MainWindow::setModelNotice(const QString& html, bool offerChooser) {
    m_notice->setNotice(html, offerChooser);
}

void MainWindow::setModelDescription(const QString& line, const QString& details) {
    m_modelLabel->setText(line);
    m_modelLabel->setToolTip(details);
}

void MainWindow::setModelProblem(const QString& problem) {
    m_modelProblem = problem;
    updateQueueButtons();
}

void MainWindow::updateQueueButtons() {
    const bool blocked = m_promptHasErrors || !m_modelProblem.isEmpty();
    m_queueButton->setEnabled(!blocked);
    m_variantsButton->setEnabled(!blocked && !m_editing); // variants are new jobs, not an edit of one
    m_queueButton->setToolTip(
        !m_modelProblem.isEmpty()
            ? tr("No model is open: choose a model folder or use the built-in model (File menu). %1")
                  .arg(m_modelProblem)
        : m_promptHasErrors ? tr("The prompt has errors (see the XML tab): %1").arg(m_prompt->firstError())
                            : tr("Queue the jobs (Ctrl+Return). The queue survives crashes and restarts."));
}

QString MainWindow::statusText() const {
    return statusBar()->currentMessage();
}

QImage MainWindow::currentImage() const {
    return m_viewer->image();
}

void MainWindow::setEditingJob(qint64 id) {
    // Editing is a detour: the form as it was (prompt, seed mode, count, ...) comes back when it ends.
    if (id && !m_editing)
        m_beforeEditing = settings();
    const bool ended = !id && m_editing;
    m_editing = id;
    if (ended)
        setSettings(m_beforeEditing);
    m_queueButton->setText(id ? tr("Update job %1").arg(id) : tr("Add to queue"));
    updateQueueButtons();
    m_cancelEdit->setVisible(id != 0);
    m_count->setEnabled(id == 0);
    if (id)
        statusBar()->showMessage(tr("Editing queued job %1: change the prompt or settings, then Update.").arg(id));
}

void MainWindow::showProgress(int step, int total, const QString& detail, const QList<qint64>& jobs) {
    m_progressJobs = jobs;
    m_samplerProgress = true;
    m_progress->setRange(0, std::max(1, total));
    m_progress->setValue(step);
    m_progress->setFormat(detail.isEmpty() ? tr("step %1 of %2").arg(step).arg(total)
                                           : tr("step %1 of %2 · %3").arg(step).arg(total).arg(detail));
    m_samplingMessage = tr("Sampling: step %1 of %2").arg(step).arg(total) +
                        (detail.isEmpty() ? QString() : QStringLiteral(" · ") + detail);
    statusBar()->showMessage(m_samplingMessage);
}

void MainWindow::clearProgress() {
    m_progressJobs.clear();
    m_samplerProgress = false;
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    m_progress->setFormat(tr("idle"));
    // The last step's message must not outlive its job either (nothing else wrote there since).
    if (!m_samplingMessage.isEmpty() && statusBar()->currentMessage() == m_samplingMessage)
        statusBar()->showMessage(tr("Idle: no job is running."));
    m_samplingMessage.clear();
}

QString MainWindow::progressText() const {
    return m_progress->format();
}

void MainWindow::updateProgressFromQueue() {
    // The queue's state decides: the sampler's last report ("step 60 of 60 · ETA 0:00") stays only while
    // its batch runs, and a job that runs before its first step (loading, encoding, another process's
    // worker) is not "idle".
    QList<JobView> running;
    for (const JobView& j : m_queue->jobs())
        if (j.state == job_state::kRunning)
            running.push_back(j);
    if (running.isEmpty()) {
        clearProgress();
        return;
    }
    const bool shown = m_samplerProgress &&
                       (m_progressJobs.isEmpty() || std::any_of(running.begin(), running.end(), [&](const JobView& j) {
                            return m_progressJobs.contains(j.id);
                        }));
    if (shown)
        return;
    const JobView& j = running.front();
    m_progressJobs = {j.id};
    m_samplerProgress = false;
    m_progress->setRange(0, std::max(1, j.steps));
    m_progress->setValue(std::clamp(j.stepsDone, 0, std::max(1, j.steps)));
    m_progress->setFormat(running.size() == 1
                              ? tr("job %1 running · step %2 of %3").arg(j.id).arg(j.stepsDone).arg(j.steps)
                              : tr("%1 jobs running · job %2 at step %3 of %4")
                                    .arg(running.size())
                                    .arg(j.id)
                                    .arg(j.stepsDone)
                                    .arg(j.steps));
}

void MainWindow::snapSize(QSpinBox* box, const QString& what) {
    const int value = box->value();
    const int snapped = std::clamp(qRound(value / double(kSizeStep)) * kSizeStep, box->minimum(), box->maximum());
    if (snapped == value)
        return;
    box->setValue(snapped);
    statusBar()->showMessage(tr("%1 rounded from %2 to %3: the model's sizes are multiples of %4 (the VAE works at "
                                "1/8 scale, the transformer on 2×2 latent patches).")
                                 .arg(what)
                                 .arg(value)
                                 .arg(snapped)
                                 .arg(kSizeStep));
}

void MainWindow::saveSession(QSettings& settings) const {
    settings.setValue(QStringLiteral("window/geometry"), saveGeometry());
    settings.setValue(QStringLiteral("window/state"), saveState());
    settings.setValue(QStringLiteral("window/splitter"), m_splitter->saveState());
    settings.setValue(QStringLiteral("window/imageSplitter"), m_rightSplitter->saveState());
    const GenerationSettings s = this->settings();
    settings.setValue(QStringLiteral("editor/prompt"), s.prompt);
    settings.setValue(QStringLiteral("editor/negative"), s.negative);
    settings.setValue(QStringLiteral("editor/width"), s.width);
    settings.setValue(QStringLiteral("editor/height"), s.height);
    settings.setValue(QStringLiteral("editor/steps"), s.steps);
    settings.setValue(QStringLiteral("editor/sampler"), s.sampler);
    settings.setValue(QStringLiteral("editor/cfg"), s.cfg);
    settings.setValue(QStringLiteral("editor/cfgTrunc"), s.cfgTrunc);
    settings.setValue(QStringLiteral("editor/renorm"), s.renorm);
    settings.setValue(QStringLiteral("editor/shift"), s.shift);
    settings.setValue(QStringLiteral("editor/seed"), s.seed);
    settings.setValue(QStringLiteral("editor/count"), s.count);
    settings.setValue(QStringLiteral("editor/seedMode"), s.seedMode);
}

void MainWindow::restoreSession(const QSettings& settings) {
    if (settings.contains(QStringLiteral("window/geometry")))
        restoreGeometry(settings.value(QStringLiteral("window/geometry")).toByteArray());
    if (settings.contains(QStringLiteral("window/state")))
        restoreState(settings.value(QStringLiteral("window/state")).toByteArray());
    if (settings.contains(QStringLiteral("window/splitter")) &&
        m_splitter->restoreState(settings.value(QStringLiteral("window/splitter")).toByteArray()))
        m_placeSplitter = false;
    if (settings.contains(QStringLiteral("window/imageSplitter")))
        m_rightSplitter->restoreState(settings.value(QStringLiteral("window/imageSplitter")).toByteArray());
    if (!settings.contains(QStringLiteral("editor/prompt")))
        return;
    GenerationSettings s = this->settings();
    auto value = [&](const char* key) { return settings.value(QStringLiteral("editor/") + QLatin1String(key)); };
    s.prompt = value("prompt").toString();
    s.negative = value("negative").toString();
    s.width = value("width").toInt() > 0 ? value("width").toInt() : s.width;
    s.height = value("height").toInt() > 0 ? value("height").toInt() : s.height;
    s.steps = value("steps").toInt() > 0 ? value("steps").toInt() : s.steps;
    s.sampler = value("sampler").toString().isEmpty() ? s.sampler : value("sampler").toString();
    auto number = [&](const char* key, double fallback) {
        bool ok = false;
        const double v = value(key).toDouble(&ok);
        return ok && std::isfinite(v) ? v : fallback;
    };
    s.cfg = number("cfg", s.cfg); // 0 is a guidance scale too
    s.cfgTrunc = number("cfgTrunc", s.cfgTrunc);
    s.renorm = number("renorm", s.renorm);
    s.shift = number("shift", s.shift);
    s.seed = value("seed").toLongLong();
    s.count = value("count").toInt() > 0 ? value("count").toInt() : s.count;
    s.seedMode = value("seedMode").toString().isEmpty() ? s.seedMode : value("seedMode").toString();
    setSettings(s);
}

void MainWindow::setAboutDetails(const QString& html) {
    m_aboutDetails = html;
}

void MainWindow::setLibTorchVersion(const QString& version) {
    m_torchVersion = version;
}

QString MainWindow::aboutText() const {
    return tr("<h3>CharaForge %1</h3>"
              "<p>A desktop studio for the NewBie-image anime text-to-image model.</p>"
              "<p><b>Model licence:</b> NewBie-image-Exp0.1 carries a <b>non-commercial licence</b>. CharaForge "
              "does not ship its weights: you download them yourself and their licence applies to them and to "
              "the images made with them.</p>"
              "<p>%2</p>"
              "<p>Qt %3 (built with %4) · LibTorch %5</p>"
              "<p>CharaForge uses Qt (LGPL v3) and LibTorch (BSD-3-Clause).</p>")
        .arg(QApplication::applicationVersion().toHtmlEscaped(),
             m_aboutDetails.isEmpty() ? tr("Model: none open yet") : m_aboutDetails, QString::fromLatin1(qVersion()),
             QStringLiteral(QT_VERSION_STR),
             m_torchVersion.isEmpty() ? tr("(not reported)") : m_torchVersion.toHtmlEscaped());
}

QList<QPair<QString, QString>> MainWindow::shortcutRows() const {
    QList<QPair<QString, QString>> rows;
    auto keysOf = [](const QList<QKeySequence>& keys) {
        QStringList names;
        for (const QKeySequence& k : keys)
            if (!k.isEmpty())
                names << k.toString(QKeySequence::NativeText);
        return names.join(tr(" or "));
    };
    auto label = [](QString text) { return text.remove(QLatin1Char('&')).remove(QChar(0x2026)).trimmed(); };
    // The viewer's first: it is not a child of the window while it is full screen.
    QList<QAction*> actions = m_viewer->viewerActions();
    for (QAction* a : findChildren<QAction*>())
        if (!actions.contains(a))
            actions << a;
    for (QAction* a : actions)
        if (!a->shortcuts().isEmpty() && !a->text().isEmpty())
            rows.push_back({keysOf(a->shortcuts()), label(a->text())});
    for (QAbstractButton* b : findChildren<QAbstractButton*>())
        if (!b->shortcut().isEmpty() && !b->text().isEmpty())
            rows.push_back({keysOf({b->shortcut()}), label(b->text())});
    rows.push_back({tr("Enter / comma"), tr("Turn the typed tag into a chip")});
    rows.push_back({tr("Backspace"), tr("In an empty tag input: remove the last chip")});
    rows.push_back({tr("Mouse wheel / drag"), tr("Viewer: zoom around the cursor / pan a zoomed image")});
    return rows;
}

QString MainWindow::shortcutsText() const {
    QString html = QStringLiteral("<table cellpadding='3'>");
    for (const auto& [keys, what] : shortcutRows())
        html +=
            QStringLiteral("<tr><td><b>%1</b></td><td>%2</td></tr>").arg(keys.toHtmlEscaped(), what.toHtmlEscaped());
    return html + QStringLiteral("</table>");
}

void MainWindow::showAbout() {
    QMessageBox::about(this, tr("About CharaForge"), aboutText());
}

void MainWindow::showShortcuts() {
    QMessageBox box(QMessageBox::NoIcon, tr("Keyboard shortcuts"), shortcutsText(), QMessageBox::Close, this);
    box.setTextFormat(Qt::RichText);
    box.exec();
}

void MainWindow::openImage() {
    const QString path = QFileDialog::getOpenFileName(
        this, tr("Open image"), QStandardPaths::writableLocation(QStandardPaths::PicturesLocation),
        tr("Images (*.png *.jpg *.jpeg *.webp)"));
    if (!path.isEmpty())
        openImageFile(path);
}

bool MainWindow::openImageFile(const QString& path) {
    const QImage img(path);
    if (img.isNull()) {
        showError(tr("%1: not an image this build can read").arg(QDir::toNativeSeparators(path)));
        return false;
    }
    m_viewer->setImage(img, QFileInfo(path).fileName());
    m_viewer->setFocus(Qt::OtherFocusReason);
    m_shownFile = path;
    // One of our PNGs offers its settings the way a dropped one does.
    if (path.endsWith(QStringLiteral(".png"), Qt::CaseInsensitive) &&
        img.textKeys().contains(QStringLiteral("charaforge")))
        Q_EMIT imageDropped(path);
    else
        showMessage(tr("%1 (%2×%3): no CharaForge settings in it")
                        .arg(QFileInfo(path).fileName())
                        .arg(img.width())
                        .arg(img.height()));
    return true;
}

void MainWindow::showEvent(QShowEvent* event) {
    QMainWindow::showEvent(event);
    // The image is what users look at: it gets 3/5 of the width beside the form (which fits the left pane's
    // minimum), unless the session restored the user's own split.
    if (std::exchange(m_placeSplitter, false)) {
        const int total = m_splitter->width() - m_splitter->handleWidth();
        m_splitter->setSizes({total * 2 / 5, total - total * 2 / 5});
    }
}

bool MainWindow::showImageFile(const QString& path) {
    const QImage img(path);
    if (img.isNull())
        return false;
    m_viewer->setImage(img, QFileInfo(path).fileName());
    m_shownFile = path;
    return true;
}

QStringList MainWindow::eraseTargets() const {
    const QStringList selected = m_gallery->selectedPaths();
    if (selected.size() > 1)
        return selected;
    return m_shownFile.isEmpty() ? QStringList() : QStringList{m_shownFile};
}

void MainWindow::closeEvent(QCloseEvent* event) {
    // A full-screen viewer is a window of its own: back into this one before it closes.
    m_viewer->setFullScreenView(false);
    QMainWindow::closeEvent(event);
}

void MainWindow::showImage(const QImage& image, const QString& caption) {
    m_viewer->setImage(image, caption);
    m_shownFile.clear();
    statusBar()->showMessage(tr("Image ready (%1×%2) %3").arg(image.width()).arg(image.height()).arg(caption));
}

void MainWindow::showPreview(const QImage& preview, const QString& caption) {
    m_viewer->setPreview(preview, caption);
    m_shownFile.clear();
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
    const auto folders = pngs.isEmpty() ? droppedFolders(drop->mimeData()) : QStringList();
    if (pngs.isEmpty() && folders.isEmpty())
        return QMainWindow::eventFilter(watched, event);
    drop->setDropAction(Qt::CopyAction);
    drop->accept();
    if (type == QEvent::Drop && !pngs.isEmpty())
        Q_EMIT imageDropped(pngs.front());
    else if (type == QEvent::Drop)
        Q_EMIT foldersDropped(folders);
    return true;
}

QDockWidget* MainWindow::addPanelDock(QWidget* panel, const QString& title) {
    auto* dock = new QDockWidget(title, this);
    dock->setObjectName(panel->objectName() + QStringLiteral("Dock"));
    dock->setWidget(panel);
    addDockWidget(Qt::RightDockWidgetArea, dock);
    tabifyDockWidget(m_queueDock, dock);
    m_queueDock->raise(); // the queue stays in front until the user picks the tab
    m_viewMenu->addAction(dock->toggleViewAction());
    return dock;
}

} // namespace charaforge::ui
