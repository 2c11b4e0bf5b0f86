// The export dialog opened from the gallery panel: its sources count what they will export (hand-picked,
// the current image's group, the winners, the search result); a hand-picked selection exported to a zip
// holds exactly those PNGs under their pattern names, byte for byte (read back with libzip); a cancel
// mid-way leaves neither the archive nor its temporary file; an incomplete form is refused with a reason.
#include "gallery_panel_fixture.h"

#include "gallery/export_dialog.h"
#include "gallery/gallery_model.h"
#include "gallery/gallery_panel.h"

#include <QFile>
#include <QFileInfo>
#include <QItemSelectionModel>
#include <QListView>
#include <QProgressBar>
#include <QRadioButton>
#include <QSignalSpy>

#include <gtest/gtest.h>
#include <zip.h>

#include <map>

using namespace charaforge;
using namespace charaforge::gallery;
using charaforge::test::GalleryPanelFixture;

namespace {

class ExportDialogTest : public GalleryPanelFixture {};

// Entry name → bytes of every entry of a zip archive.
std::map<std::string, QByteArray> zipEntries(const QString& path) {
    std::map<std::string, QByteArray> out;
    int err = 0;
    zip_t* z = zip_open(QFile::encodeName(path).constData(), ZIP_RDONLY | ZIP_CHECKCONS, &err);
    EXPECT_NE(z, nullptr) << "cannot open " << path.toStdString() << " (" << err << ")";
    if (!z)
        return out;
    for (zip_int64_t i = 0; i < zip_get_num_entries(z, 0); ++i) {
        zip_stat_t st;
        zip_stat_index(z, static_cast<zip_uint64_t>(i), 0, &st);
        QByteArray bytes(static_cast<qsizetype>(st.size), Qt::Uninitialized);
        zip_file_t* f = zip_fopen_index(z, static_cast<zip_uint64_t>(i), 0);
        EXPECT_EQ(zip_fread(f, bytes.data(), st.size), static_cast<zip_int64_t>(st.size));
        zip_fclose(f);
        out[st.name] = bytes;
    }
    zip_close(z);
    return out;
}

QByteArray fileBytes(const QString& path) {
    QFile f(path);
    EXPECT_TRUE(f.open(QIODevice::ReadOnly)) << path.toStdString();
    return f.readAll();
}

} // namespace

TEST_F(ExportDialogTest, ExportDialogZipsAHandPickedSelection) {
    addStandardImages();
    GalleryPanel panel(queuePath(), thumbs());
    panel.show();
    settle(panel);
    // Hand-picked: seeds 5 and 2 (rows 1 and 4, newest first), and the current one is in group g-a.
    auto* sel = panel.view()->selectionModel();
    sel->setCurrentIndex(panel.model()->index(4), QItemSelectionModel::ClearAndSelect);
    sel->select(panel.model()->index(1), QItemSelectionModel::Select);
    ASSERT_EQ(panel.selectedIds().size(), 2);

    ExportDialog* dialog = panel.openExportDialog();
    ASSERT_NE(dialog, nullptr);
    const auto label = [&](int i) {
        return dialog->findChild<QRadioButton*>(QStringLiteral("exportSource%1").arg(i))->text();
    };
    EXPECT_TRUE(label(0).endsWith(QStringLiteral("(2)"))) << label(0).toStdString();
    EXPECT_TRUE(label(1).contains(QStringLiteral("g-a")) && label(1).endsWith(QStringLiteral("(2)")))
        << label(1).toStdString();
    EXPECT_TRUE(label(2).endsWith(QStringLiteral("(1)"))) << label(2).toStdString(); // one winner
    EXPECT_TRUE(label(3).endsWith(QStringLiteral("(6)"))) << label(3).toStdString();

    // Refused without a destination, with the reason.
    dialog->setSource(0);
    dialog->setFormat(ExportFormat::Zip);
    EXPECT_FALSE(dialog->startExport());
    EXPECT_FALSE(dialog->message().isEmpty());

    const QString out = dir.filePath(QStringLiteral("out/picked.zip"));
    dialog->setDestination(out);
    dialog->setNamePattern(QStringLiteral("{character}-{seed}"));
    QSignalSpy finished(dialog, &ExportDialog::exportFinished);
    ASSERT_TRUE(dialog->startExport());
    EXPECT_TRUE(dialog->isRunning());
    ASSERT_TRUE(finished.wait(20000));
    EXPECT_FALSE(dialog->isRunning());
    EXPECT_FALSE(dialog->lastResult().cancelled);
    EXPECT_EQ(dialog->lastResult().written, 2);
    auto* bar = dialog->findChild<QProgressBar*>(QStringLiteral("exportProgress"));
    EXPECT_EQ(bar->value(), bar->maximum());
    EXPECT_EQ(bar->maximum(), 2);

    const auto entries = zipEntries(out);
    ASSERT_EQ(entries.size(), 2u);
    ASSERT_TRUE(entries.count("kasane_teto-5.png"));
    ASSERT_TRUE(entries.count("hatsune_miku-2.png"));
    EXPECT_EQ(entries.at("kasane_teto-5.png"), fileBytes(dir.filePath(QStringLiteral("images/5.png"))));
    EXPECT_EQ(entries.at("hatsune_miku-2.png"), fileBytes(dir.filePath(QStringLiteral("images/2.png"))));
    EXPECT_FALSE(QFileInfo::exists(out + QStringLiteral(".part")));

    // The group source exports the current image's whole group.
    dialog->setSource(1);
    const QString group = dir.filePath(QStringLiteral("out/group.zip"));
    dialog->setDestination(group);
    ASSERT_TRUE(dialog->startExport());
    ASSERT_TRUE(finished.wait(20000));
    const auto groupEntries = zipEntries(group);
    EXPECT_EQ(groupEntries.size(), 2u);
    EXPECT_TRUE(groupEntries.count("hatsune_miku-1.png") && groupEntries.count("hatsune_miku-2.png"));
}

TEST_F(ExportDialogTest, CancellingAZipExportMidWayLeavesNoFile) {
    addStandardImages();
    // Bigger files, so that the archive is written in many progress steps.
    for (int i = 1; i <= 6; ++i) {
        imaging::RgbImage rgb{512, 512, std::vector<uint8_t>(512 * 512 * 3)};
        for (std::size_t p = 0; p < rgb.rgb.size(); ++p)
            rgb.rgb[p] = static_cast<uint8_t>((p * 2654435761u + static_cast<unsigned>(i)) >> 13); // incompressible-ish
        imaging::write_png_atomic(dir.filePath(QStringLiteral("images/%1.png").arg(i)).toStdString(), rgb);
    }
    GalleryPanel panel(queuePath(), thumbs());
    settle(panel);
    ExportDialog* dialog = panel.openExportDialog();
    dialog->setSource(3); // every image in the view
    dialog->setFormat(ExportFormat::Zip);
    const QString out = dir.filePath(QStringLiteral("cancelled.zip"));
    dialog->setDestination(out);
    int seen = 0;
    // The user presses Cancel once the first image is done (on the export thread, so it is mid-way for sure).
    dialog->setProgressHook([&](int done, int total) {
        ++seen;
        if (done >= 1 && done < total)
            dialog->cancelExport();
    });
    QSignalSpy finished(dialog, &ExportDialog::exportFinished);
    ASSERT_TRUE(dialog->startExport());
    ASSERT_TRUE(finished.wait(20000));
    EXPECT_GE(seen, 1);
    EXPECT_TRUE(dialog->lastResult().cancelled);
    EXPECT_EQ(dialog->lastResult().written, 0);
    EXPECT_FALSE(QFileInfo::exists(out));
    EXPECT_FALSE(QFileInfo::exists(out + QStringLiteral(".part")));
    EXPECT_TRUE(dialog->message().contains(QStringLiteral("Cancelled"))) << dialog->message().toStdString();
    EXPECT_FALSE(dialog->isRunning());
}

TEST_F(ExportDialogTest, TheFormMapsToTheExportOptionsAndWritesAPdfSheet) {
    addStandardImages();
    GalleryPanel panel(queuePath(), thumbs());
    settle(panel);
    ExportDialog* dialog = panel.openExportDialog();
    EXPECT_FALSE(dialog->findChild<QRadioButton*>(QStringLiteral("exportSource0"))->isEnabled()); // none picked
    dialog->setSource(3);
    dialog->setFormat(ExportFormat::Zip);
    dialog->setDestination(dir.filePath(QStringLiteral("sheet.zip")));
    dialog->setFormat(ExportFormat::Pdf); // the file name follows the format
    dialog->setPaper(PaperSize::Letter);
    const auto o = dialog->options();
    EXPECT_EQ(o.format, ExportFormat::Pdf);
    EXPECT_EQ(o.paper, PaperSize::Letter);
    EXPECT_EQ(o.destination, dir.filePath(QStringLiteral("sheet.pdf")));
    // A folder is no file name for a single-file export.
    dialog->setDestination(dir.path());
    EXPECT_FALSE(dialog->startExport());
    EXPECT_TRUE(dialog->message().contains(QStringLiteral("folder"))) << dialog->message().toStdString();
    dialog->setDestination(dir.filePath(QStringLiteral("sheet.pdf")));
    QSignalSpy finished(dialog, &ExportDialog::exportFinished);
    ASSERT_TRUE(dialog->startExport());
    ASSERT_TRUE(finished.wait(30000));
    EXPECT_EQ(dialog->lastResult().written, 6);
    QFile pdf(dir.filePath(QStringLiteral("sheet.pdf")));
    ASSERT_TRUE(pdf.open(QIODevice::ReadOnly));
    EXPECT_TRUE(pdf.read(5) == "%PDF-");
    // Letter is 612 × 792 points (A4 would be 595 × 842).
    pdf.seek(0);
    EXPECT_TRUE(pdf.readAll().contains("/MediaBox [0 0 612.000000 792.000000]")) << "no Letter-sized page box";
}
