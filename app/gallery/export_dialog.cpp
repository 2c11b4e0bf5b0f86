#include "gallery/export_dialog.h"

#include <QButtonGroup>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QRadioButton>
#include <QThread>
#include <QVBoxLayout>

namespace charaforge::gallery {

namespace {

const char* const kSuffixes[] = {"", ".zip", ".html", ".pdf"}; // by ExportFormat

} // namespace

ExportDialog::ExportDialog(const QList<ExportSource>& sources, QWidget* parent) : QDialog(parent), m_sources(sources) {
    setWindowTitle(tr("Export images"));
    auto* layout = new QVBoxLayout(this);
    auto* which = new QVBoxLayout;
    m_sourceButtons = new QButtonGroup(this);
    int first = -1;
    for (int i = 0; i < m_sources.size(); ++i) {
        auto* b = new QRadioButton(QStringLiteral("%1 (%2)").arg(m_sources[i].label).arg(m_sources[i].count), this);
        b->setObjectName(QStringLiteral("exportSource%1").arg(i));
        b->setEnabled(m_sources[i].count > 0);
        if (first < 0 && m_sources[i].count > 0)
            first = i;
        m_sourceButtons->addButton(b, i);
        which->addWidget(b);
    }
    if (first >= 0)
        m_sourceButtons->button(first)->setChecked(true);
    layout->addLayout(which);

    auto* form = new QFormLayout;
    m_format = new QComboBox(this);
    m_format->setObjectName(QStringLiteral("exportFormat"));
    m_format->addItem(tr("Folder of PNGs"), static_cast<int>(ExportFormat::Folder));
    m_format->addItem(tr("Zip archive"), static_cast<int>(ExportFormat::Zip));
    m_format->addItem(tr("HTML contact sheet"), static_cast<int>(ExportFormat::Html));
    m_format->addItem(tr("PDF sheet"), static_cast<int>(ExportFormat::Pdf));
    form->addRow(tr("Format"), m_format);
    auto* where = new QHBoxLayout;
    m_destination = new QLineEdit(this);
    m_destination->setObjectName(QStringLiteral("exportDestination"));
    auto* browseButton = new QPushButton(tr("Browse…"), this);
    where->addWidget(m_destination, 1);
    where->addWidget(browseButton);
    form->addRow(tr("To"), where);
    m_pattern = new QLineEdit(QStringLiteral("{character}-{seed}"), this);
    m_pattern->setObjectName(QStringLiteral("exportPattern"));
    m_pattern->setToolTip(tr("File names: {character} {seed} {id} {job} {group} {rating} {width} {height} {index}"));
    form->addRow(tr("File names"), m_pattern);
    m_title = new QLineEdit(tr("CharaForge sheet"), this);
    m_title->setObjectName(QStringLiteral("exportTitle"));
    form->addRow(tr("Title"), m_title);
    m_paper = new QComboBox(this);
    m_paper->setObjectName(QStringLiteral("exportPaper"));
    m_paper->addItem(tr("A4"), static_cast<int>(PaperSize::A4));
    m_paper->addItem(tr("Letter"), static_cast<int>(PaperSize::Letter));
    form->addRow(tr("Paper"), m_paper);
    layout->addLayout(form);

    m_progress = new QProgressBar(this);
    m_progress->setObjectName(QStringLiteral("exportProgress"));
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    layout->addWidget(m_progress);
    m_message = new QLabel(this);
    m_message->setObjectName(QStringLiteral("exportMessage"));
    m_message->setWordWrap(true);
    m_message->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_message);

    auto* buttons = new QDialogButtonBox(this);
    m_exportButton = buttons->addButton(tr("Export"), QDialogButtonBox::AcceptRole);
    m_exportButton->setObjectName(QStringLiteral("exportButton"));
    m_closeButton = buttons->addButton(QDialogButtonBox::Close);
    m_closeButton->setObjectName(QStringLiteral("exportCloseButton"));
    layout->addWidget(buttons);

    connect(browseButton, &QPushButton::clicked, this, &ExportDialog::browse);
    connect(m_exportButton, &QPushButton::clicked, this, [this] { startExport(); });
    connect(m_closeButton, &QPushButton::clicked, this, [this] {
        if (isRunning())
            cancelExport();
        else
            reject();
    });
    connect(m_format, &QComboBox::currentIndexChanged, this, [this] {
        // A file name keeps its stem when the format changes: out.zip → out.pdf.
        const QString dest = m_destination->text().trimmed();
        if (!dest.isEmpty()) {
            QString stem = dest;
            for (const char* s : kSuffixes)
                if (*s && dest.endsWith(QLatin1String(s), Qt::CaseInsensitive))
                    stem.chop(static_cast<int>(qstrlen(s)));
            m_destination->setText(stem + QLatin1String(kSuffixes[m_format->currentData().toInt()]));
        }
        updateForm();
    });
    updateForm();
}

ExportDialog::~ExportDialog() {
    if (m_thread) {
        m_cancel = true;
        m_thread->wait();
        delete m_thread;
    }
}

void ExportDialog::setSource(int index) {
    if (auto* b = m_sourceButtons->button(index))
        b->setChecked(true);
}

void ExportDialog::setFormat(ExportFormat format) {
    m_format->setCurrentIndex(m_format->findData(static_cast<int>(format)));
}

void ExportDialog::setDestination(const QString& path) {
    m_destination->setText(path);
}

void ExportDialog::setNamePattern(const QString& pattern) {
    m_pattern->setText(pattern);
}

void ExportDialog::setPaper(PaperSize paper) {
    m_paper->setCurrentIndex(m_paper->findData(static_cast<int>(paper)));
}

ExportOptions ExportDialog::options() const {
    ExportOptions o;
    o.format = static_cast<ExportFormat>(m_format->currentData().toInt());
    o.destination = m_destination->text().trimmed().isEmpty()
                        ? QString()
                        : QFileInfo(m_destination->text().trimmed()).absoluteFilePath();
    o.namePattern = m_pattern->text();
    o.title = m_title->text();
    o.paper = static_cast<PaperSize>(m_paper->currentData().toInt());
    return o;
}

QString ExportDialog::message() const {
    return m_message->text();
}

void ExportDialog::updateForm() {
    const auto format = static_cast<ExportFormat>(m_format->currentData().toInt());
    const bool running = isRunning();
    m_pattern->setEnabled(!running && (format == ExportFormat::Folder || format == ExportFormat::Zip));
    m_title->setEnabled(!running && (format == ExportFormat::Html || format == ExportFormat::Pdf));
    m_paper->setEnabled(!running && format == ExportFormat::Pdf);
    m_format->setEnabled(!running);
    m_destination->setEnabled(!running);
    for (auto* b : m_sourceButtons->buttons())
        b->setEnabled(!running && m_sources[m_sourceButtons->id(b)].count > 0);
    m_exportButton->setEnabled(!running && m_sourceButtons->checkedId() >= 0);
    m_closeButton->setText(running ? (m_cancel ? tr("Cancelling…") : tr("Cancel")) : tr("Close"));
}

void ExportDialog::browse() {
    const auto format = static_cast<ExportFormat>(m_format->currentData().toInt());
    const QString start = m_destination->text().isEmpty() ? QDir::homePath() : m_destination->text();
    QString path;
    if (format == ExportFormat::Folder) {
        path = QFileDialog::getExistingDirectory(this, tr("Export into folder"), start);
    } else {
        const QString filter = format == ExportFormat::Zip    ? tr("Zip archives (*.zip)")
                               : format == ExportFormat::Html ? tr("HTML pages (*.html)")
                                                              : tr("PDF documents (*.pdf)");
        path = QFileDialog::getSaveFileName(this, tr("Export to"), start, filter);
        const QLatin1String suffix(kSuffixes[static_cast<int>(format)]);
        if (!path.isEmpty() && !path.endsWith(suffix, Qt::CaseInsensitive))
            path += suffix;
    }
    if (!path.isEmpty())
        m_destination->setText(path);
}

bool ExportDialog::startExport() {
    if (isRunning())
        return false;
    const int source = m_sourceButtons->checkedId();
    const ExportOptions o = options();
    QString problem;
    if (source < 0 || source >= m_sources.size() || m_sources[source].count == 0)
        problem = tr("Nothing to export: choose which images.");
    else if (o.destination.isEmpty())
        problem = tr("Choose where to export to.");
    else if (o.format == ExportFormat::Folder && QFileInfo(o.destination).exists() && !QFileInfo(o.destination).isDir())
        problem = tr("%1 exists and is not a folder.").arg(QDir::toNativeSeparators(o.destination));
    else if (o.format != ExportFormat::Folder && QFileInfo(o.destination).isDir())
        problem = tr("%1 is a folder: give a file name.").arg(QDir::toNativeSeparators(o.destination));
    else if ((o.format == ExportFormat::Folder || o.format == ExportFormat::Zip) && o.namePattern.trimmed().isEmpty())
        problem = tr("The file name pattern is empty.");
    if (!problem.isEmpty()) {
        m_message->setText(problem);
        return false;
    }
    const QList<ExportItem> items = m_sources[source].items();
    if (items.isEmpty()) {
        m_message->setText(tr("Nothing to export: no image matches any more."));
        return false;
    }
    m_cancel = false;
    m_result = {};
    m_progress->setRange(0, static_cast<int>(items.size()));
    m_progress->setValue(0);
    m_message->setText(tr("Exporting %n image(s)…", nullptr, static_cast<int>(items.size())));
    // The thread works on copies; it reports through queued calls to this dialog, which waits for it
    // before it is destroyed.
    m_thread = QThread::create([this, items, o, hook = m_hook] {
        ExportResult result;
        QString error;
        try {
            result = exportImages(items, o, [this, &hook](int done, int total) {
                QMetaObject::invokeMethod(
                    this,
                    [this, done, total] {
                        m_progress->setValue(done);
                        Q_EMIT progressed(done, total);
                    },
                    Qt::QueuedConnection);
                if (hook)
                    hook(done, total);
                return !m_cancel.load();
            });
        } catch (const std::exception& e) {
            error = QString::fromStdString(e.what());
        }
        QMetaObject::invokeMethod(
            this, [this, result, error] { finish(result, error); }, Qt::QueuedConnection);
    });
    m_thread->setObjectName(QStringLiteral("gallery export"));
    m_thread->start();
    updateForm();
    return true;
}

void ExportDialog::cancelExport() {
    m_cancel = true;
    QMetaObject::invokeMethod(this, &ExportDialog::updateForm, Qt::QueuedConnection);
}

void ExportDialog::finish(const ExportResult& result, const QString& error) {
    if (m_thread) {
        m_thread->wait();
        delete m_thread;
        m_thread = nullptr;
    }
    m_result = result;
    QString text;
    const QString dest = QDir::toNativeSeparators(options().destination);
    if (!error.isEmpty())
        text = tr("Export failed: %1").arg(error);
    else if (result.cancelled)
        text = result.files.isEmpty() ? tr("Cancelled: nothing was written.")
                                      : tr("Cancelled after %n image(s) (already in the folder).", nullptr,
                                           static_cast<int>(result.files.size()));
    else
        text = tr("Exported %n image(s) to %1.", nullptr, result.written).arg(dest);
    if (!result.skipped.isEmpty())
        text += QStringLiteral("\n") + tr("Skipped:") + QStringLiteral("\n") + result.skipped.join(QLatin1Char('\n'));
    m_message->setText(text);
    if (!result.cancelled && error.isEmpty())
        m_progress->setValue(m_progress->maximum());
    m_cancel = false;
    updateForm();
    Q_EMIT exportFinished();
}

void ExportDialog::reject() {
    if (isRunning()) { // Escape or the window's close button while exporting: cancel first
        cancelExport();
        return;
    }
    QDialog::reject();
}

} // namespace charaforge::gallery
