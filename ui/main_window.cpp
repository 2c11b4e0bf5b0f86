#include "ui/main_window.h"
#include "ui/prompt_editor.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenuBar>
#include <QPixmap>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QStatusBar>
#include <QVBoxLayout>

namespace charaforge::ui {

namespace {
// The model's trained 1024-class buckets are multiples of 16; the editor keeps sizes on that grid.
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
} // namespace

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
    // Two columns keep the settings short so the prompt form gets the height.
    auto* form = new QGridLayout(box);
    auto spin = [&](int lo, int hi, int step, int value, const char* name) {
        auto* s = new QSpinBox(box);
        s->setRange(lo, hi);
        s->setSingleStep(step);
        s->setValue(value);
        s->setObjectName(QString::fromLatin1(name));
        return s;
    };
    m_width = spin(kSizeStep, 2048, kSizeStep, 1024, "width");
    m_height = spin(kSizeStep, 2048, kSizeStep, 1024, "height");
    m_steps = spin(1, 200, 1, 28, "steps");
    m_seed = spin(0, 2147483647, 1, 0, "seed");
    m_sampler = new QComboBox(box);
    m_sampler->setObjectName(QStringLiteral("sampler"));
    m_sampler->addItem(tr("Euler"), QStringLiteral("euler"));
    m_sampler->addItem(tr("Midpoint"), QStringLiteral("midpoint"));
    m_cfg = new QDoubleSpinBox(box);
    m_cfg->setObjectName(QStringLiteral("cfg"));
    m_cfg->setRange(1.0, 20.0);
    m_cfg->setSingleStep(0.5);
    m_cfg->setValue(5.0);
    const std::pair<QString, QWidget*> fields[] = {{tr("Width"), m_width},        {tr("Height"), m_height},
                                                   {tr("Steps"), m_steps},        {tr("Sampler"), m_sampler},
                                                   {tr("Guidance (CFG)"), m_cfg}, {tr("Seed"), m_seed}};
    for (int i = 0; i < 6; ++i) {
        auto* label = new QLabel(fields[i].first, box);
        label->setBuddy(fields[i].second);
        form->addWidget(label, i / 2, (i % 2) * 2);
        form->addWidget(fields[i].second, i / 2, (i % 2) * 2 + 1);
    }
    leftLayout->addWidget(box);

    m_generate = new QPushButton(tr("Generate"), left);
    m_generate->setObjectName(QStringLiteral("generate"));
    connect(m_generate, &QPushButton::clicked, this, [this] { Q_EMIT generateRequested(settings()); });
    leftLayout->addWidget(m_generate);
    m_progress = new QProgressBar(left);
    m_progress->setObjectName(QStringLiteral("progress"));
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    m_progress->setFormat(QStringLiteral("%v / %m"));
    leftLayout->addWidget(m_progress);

    m_imageView = new QLabel(tr("Generated images appear here."), splitter);
    m_imageView->setObjectName(QStringLiteral("imageView"));
    m_imageView->setAlignment(Qt::AlignCenter);
    m_imageView->setMinimumSize(512, 512);
    m_imageView->setStyleSheet(QStringLiteral("QLabel { background: #202020; color: #c0c0c0; }"));
    splitter->addWidget(left);
    splitter->addWidget(m_imageView);
    splitter->setStretchFactor(1, 1);
    outer->addWidget(splitter, 1);
    setCentralWidget(central);

    auto* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("Choose model folder…"), this, &MainWindow::chooseModelRequested);
    file->addSeparator();
    file->addAction(tr("&Quit"), this, &QWidget::close);
    statusBar()->showMessage(tr("Ready"));
    resize(1200, 800);
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
    m_seed->setValue(static_cast<int>(s.seed));
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

void MainWindow::showProgress(int step, int total) {
    m_progress->setRange(0, total);
    m_progress->setValue(step);
    statusBar()->showMessage(tr("Sampling: step %1 of %2").arg(step).arg(total));
}

void MainWindow::showImage(const QImage& image) {
    m_image = image;
    m_imageView->setPixmap(
        QPixmap::fromImage(image).scaled(m_imageView->size(), Qt::KeepAspectRatio, Qt::SmoothTransformation));
    statusBar()->showMessage(tr("Image ready (%1×%2)").arg(image.width()).arg(image.height()));
}

void MainWindow::showError(const QString& message) {
    statusBar()->showMessage(tr("Error: %1").arg(message));
}

void MainWindow::setBusy(bool busy) {
    m_generate->setEnabled(!busy);
}

} // namespace charaforge::ui
