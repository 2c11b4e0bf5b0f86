#pragma once
// The export dialog: which images (the sources the caller offers: hand-picked, a group, winners, a search
// result), the format (folder with a name pattern, zip, HTML sheet, PDF sheet on A4 or Letter) and where.
// The export runs on a worker thread over copied values (exportImages); progress comes back through queued
// calls, Cancel stops it at the next image, and a cancelled zip, HTML or PDF leaves no file behind.
#include "gallery/gallery_export.h"

#include <QDialog>
#include <QList>
#include <QString>

#include <atomic>
#include <functional>

class QButtonGroup;
class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QThread;

namespace charaforge::gallery {

// One choice of images: its label, how many there are (0 disables it) and how to get them (called when
// the export starts, on the GUI thread).
struct ExportSource {
    QString label;
    int count = 0;
    std::function<QList<ExportItem>()> items;
};

class ExportDialog : public QDialog {
    Q_OBJECT
public:
    explicit ExportDialog(const QList<ExportSource>& sources, QWidget* parent = nullptr);
    ~ExportDialog() override; // cancels a running export and waits for it

    // The form, for callers and tests (the widgets show the same).
    void setSource(int index);
    void setFormat(ExportFormat format);
    void setDestination(const QString& path);
    void setNamePattern(const QString& pattern);
    void setPaper(PaperSize paper);
    ExportOptions options() const;

    // Export (the button): false, with the reason shown, when the form is incomplete or nothing is chosen.
    bool startExport();
    // Cancel while running (the button; safe from any thread).
    void cancelExport();
    bool isRunning() const { return m_thread != nullptr; }
    const ExportResult& lastResult() const { return m_result; }
    QString message() const;

    // Tests: called on the export thread after each image, before the cancel flag is read.
    void setProgressHook(std::function<void(int done, int total)> hook) { m_hook = std::move(hook); }

Q_SIGNALS:
    void progressed(int done, int total);
    // The export ended (finished, cancelled or failed): lastResult() and message() say how.
    void exportFinished();

protected:
    void reject() override;

private:
    void browse();
    void updateForm();
    void finish(const ExportResult& result, const QString& error);

    QList<ExportSource> m_sources;
    QButtonGroup* m_sourceButtons = nullptr;
    QComboBox* m_format = nullptr;
    QLineEdit* m_destination = nullptr;
    QLineEdit* m_pattern = nullptr;
    QLineEdit* m_title = nullptr;
    QComboBox* m_paper = nullptr;
    QProgressBar* m_progress = nullptr;
    QLabel* m_message = nullptr;
    QPushButton* m_exportButton = nullptr;
    QPushButton* m_closeButton = nullptr;
    QThread* m_thread = nullptr;
    std::atomic<bool> m_cancel{false};
    std::function<void(int, int)> m_hook;
    ExportResult m_result;
};

} // namespace charaforge::gallery
