// Gallery export: folder names from a pattern, the zip read back with libzip, the HTML sheet parsed (hostile
// prompts are text, every image it references decodes), the PDF read back with pdftotext, and cancel.
#include "charaforge/imaging/png_io.h"
#include "gallery/gallery_export.h"
#include "queue/job_record.h"

#include <QDir>
#include <QFile>
#include <QImage>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QXmlStreamReader>

#include <gtest/gtest.h>
#include <zip.h>

using namespace charaforge;
using namespace charaforge::gallery;

namespace {

const QString kHostile = QStringLiteral("<script>alert('x')</script> & \"quotes\"");

class ExportTest : public ::testing::Test {
protected:
    QTemporaryDir dir;
    QList<ExportItem> items;

    // n images; character i%2 ? rin : miku; image 1 has the hostile prompt.
    void make(int n) {
        QDir().mkpath(dir.filePath("src"));
        for (int i = 0; i < n; ++i) {
            queue::Job job;
            job.id = i + 1;
            job.spec.seed = 100 + i;
            job.spec.prompt = i == 1 ? kHostile : QStringLiteral("prompt number %1 teal hair").arg(i);
            const QString path = dir.filePath(QStringLiteral("src/%1.png").arg(i));
            imaging::RgbImage rgb{64, 48, std::vector<uint8_t>(64 * 48 * 3, static_cast<uint8_t>(20 * i))};
            imaging::write_png_atomic(path.toStdString(), rgb,
                                      queue::pngRecord(job, {}, QStringLiteral("test"), QStringLiteral("test-queue")));
            ExportItem item;
            item.image.id = i + 1;
            item.image.path = path;
            item.image.spec = job.spec;
            item.image.characters =
                QStringList{i % 2 ? QStringLiteral("kagamine_rin") : QStringLiteral("hatsune_miku")};
            item.image.group = QStringLiteral("g1");
            item.image.axisValues = QStringList{QStringLiteral("style %1").arg(i)};
            item.groupLabel = QStringLiteral("Group <b>one</b>");
            item.axisNames = QStringList{QStringLiteral("style")};
            items.push_back(item);
        }
    }
    ExportOptions opts(ExportFormat f, const QString& dest) {
        ExportOptions o;
        o.format = f;
        o.destination = dir.filePath(dest);
        return o;
    }
};

QByteArray readAll(const QString& path) {
    QFile f(path);
    f.open(QIODevice::ReadOnly);
    return f.readAll();
}

} // namespace

TEST(ExportNames, PatternFieldsAndUnsafeCharacters) {
    ExportItem item;
    item.image.characters = QStringList{QStringLiteral("../hatsune/miku")};
    item.image.spec.seed = 42;
    item.image.id = 7;
    EXPECT_EQ(exportFileName(item, QStringLiteral("{character}-{seed}"), 0), QStringLiteral("_hatsune_miku-42.png"));
    EXPECT_EQ(exportFileName(item, QStringLiteral("{index}_{id}"), 2), QStringLiteral("0003_7.png"));
    QStringList taken;
    EXPECT_EQ(uniqueName("a.png", taken), "a.png");
    EXPECT_EQ(uniqueName("a.png", taken), "a-2.png");
    EXPECT_EQ(uniqueName("A.png", taken), "A-3.png");
}

TEST_F(ExportTest, FolderCopiesFilesWithTheirRecordUnderThePattern) {
    make(3);
    items[2].image.path = dir.filePath("src/gone.png");
    items[2].image.missing = true;
    const auto r = exportImages(items, opts(ExportFormat::Folder, "out"));
    EXPECT_EQ(r.written, 2);
    ASSERT_EQ(r.skipped.size(), 1);
    EXPECT_TRUE(r.skipped[0].contains("gone.png"));
    EXPECT_EQ(QDir(dir.filePath("out")).entryList(QDir::Files),
              (QStringList{"hatsune_miku-100.png", "kagamine_rin-101.png"}));
    // Byte-identical: the metadata travels with the file.
    EXPECT_EQ(readAll(dir.filePath("out/kagamine_rin-101.png")), readAll(items[1].image.path));
    QString why;
    const auto spec = queue::specFromPng(dir.filePath("out/kagamine_rin-101.png"), &why);
    ASSERT_TRUE(spec) << why.toStdString();
    EXPECT_EQ(spec->prompt, kHostile);
}

TEST_F(ExportTest, ZipHoldsEveryImageByteForByte) {
    make(4);
    items[3].image.characters = items[0].image.characters; // same name pattern → made unique
    items[3].image.spec.seed = 100;
    const auto o = opts(ExportFormat::Zip, "sheet.zip");
    QList<int> seen;
    const auto r = exportImages(items, o, [&](int done, int total) {
        EXPECT_EQ(total, 4);
        seen << done;
        return true;
    });
    EXPECT_EQ(r.written, 4);
    ASSERT_FALSE(seen.isEmpty());
    EXPECT_EQ(seen.back(), 4);
    int err = 0;
    zip_t* z = zip_open(QFile::encodeName(o.destination).constData(), ZIP_RDONLY | ZIP_CHECKCONS, &err);
    ASSERT_NE(z, nullptr) << err;
    ASSERT_EQ(zip_get_num_entries(z, 0), 4);
    const QStringList expected{"hatsune_miku-100.png", "kagamine_rin-101.png", "hatsune_miku-102.png",
                               "hatsune_miku-100-2.png"};
    for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(QString::fromUtf8(zip_get_name(z, i, 0)), expected[i]);
        zip_stat_t st;
        ASSERT_EQ(zip_stat_index(z, i, 0, &st), 0);
        QByteArray bytes(static_cast<qsizetype>(st.size), '\0');
        zip_file_t* f = zip_fopen_index(z, i, 0);
        ASSERT_NE(f, nullptr);
        EXPECT_EQ(zip_fread(f, bytes.data(), st.size), static_cast<zip_int64_t>(st.size));
        zip_fclose(f);
        EXPECT_EQ(bytes, readAll(items[i].image.path)) << i;
    }
    zip_close(z);
    EXPECT_FALSE(QFile::exists(o.destination + ".part"));
}

TEST_F(ExportTest, CancelLeavesNoArchiveSheetOrPdf) {
    make(3);
    for (auto f : {ExportFormat::Zip, ExportFormat::Html, ExportFormat::Pdf}) {
        const auto o = opts(f, QStringLiteral("cancelled.%1").arg(static_cast<int>(f)));
        const auto r = exportImages(items, o, [](int, int) { return false; });
        EXPECT_TRUE(r.cancelled);
        EXPECT_FALSE(QFile::exists(o.destination)) << o.destination.toStdString();
        EXPECT_FALSE(QFile::exists(o.destination + ".part"));
    }
    int calls = 0;
    const auto r = exportImages(items, opts(ExportFormat::Folder, "partial"), [&](int, int) { return ++calls < 2; });
    EXPECT_TRUE(r.cancelled);
    EXPECT_EQ(r.written, 2);
}

TEST_F(ExportTest, HtmlSheetEscapesUserTextAndEmbedsEveryImage) {
    make(3);
    items[2].image.spec.negative = QStringLiteral("</p><img src=x onerror=alert(1)>");
    const auto o = opts(ExportFormat::Html, "sheet/index.html");
    const auto r = exportImages(items, o);
    EXPECT_EQ(r.written, 3);
    const QByteArray html = readAll(o.destination);
    ASSERT_FALSE(html.isEmpty());
    // Parsed as XML: a hostile prompt must not have produced an element.
    QXmlStreamReader xml(html);
    int images = 0;
    QString text;
    while (!xml.atEnd()) {
        xml.readNext();
        if (xml.isStartElement()) {
            EXPECT_NE(xml.name(), QStringLiteral("script"));
            EXPECT_NE(xml.name(), QStringLiteral("b"));
            if (xml.name() == QStringLiteral("img")) {
                const QString src = xml.attributes().value(QStringLiteral("src")).toString();
                EXPECT_FALSE(xml.attributes().hasAttribute(QStringLiteral("onerror")));
                ASSERT_TRUE(src.startsWith("data:image/png;base64,")) << src.left(40).toStdString();
                QImage img;
                EXPECT_TRUE(img.loadFromData(QByteArray::fromBase64(src.mid(22).toLatin1()), "PNG"));
                EXPECT_EQ(img.width(), 256); // scaled to the thumbnail size, aspect kept
                EXPECT_EQ(img.height(), 192);
                ++images;
            }
        }
        if (xml.isCharacters())
            text += xml.text();
    }
    EXPECT_FALSE(xml.hasError()) << xml.errorString().toStdString();
    EXPECT_EQ(images, 3);
    EXPECT_TRUE(text.contains(kHostile));
    EXPECT_TRUE(text.contains(items[2].image.spec.negative));
    EXPECT_TRUE(text.contains("Group <b>one</b>"));
    EXPECT_TRUE(text.contains("style: style 2"));
    EXPECT_TRUE(text.contains("seed 101"));
}

TEST_F(ExportTest, PdfSheetHasPageBreaksAndThePromptText) {
    const QString pdftotext = QStandardPaths::findExecutable("pdftotext");
    if (pdftotext.isEmpty())
        GTEST_SKIP() << "pdftotext (poppler-utils) is not installed";
    make(11); // 9 per page: two pages
    for (auto paper : {PaperSize::A4, PaperSize::Letter}) {
        auto o = opts(ExportFormat::Pdf, paper == PaperSize::A4 ? "a4.pdf" : "letter.pdf");
        o.paper = paper;
        o.title = QStringLiteral("Miku sheet");
        const auto r = exportImages(items, o);
        EXPECT_EQ(r.written, 11);
        QProcess proc;
        proc.start(pdftotext, {"-layout", o.destination, "-"});
        ASSERT_TRUE(proc.waitForFinished(60000));
        ASSERT_EQ(proc.exitCode(), 0) << proc.readAllStandardError().toStdString();
        const QString out = QString::fromUtf8(proc.readAllStandardOutput());
        EXPECT_EQ(out.count(QLatin1Char('\f')), 2) << "pages"; // one form feed after each page
        EXPECT_TRUE(out.contains("Miku sheet"));
        EXPECT_TRUE(out.contains("prompt number 10 teal hair"));
        EXPECT_TRUE(out.contains("<script>alert('x')</script>"));
        EXPECT_TRUE(out.simplified().contains("seed 104")) << out.toStdString();
        QProcess info;
        info.start(QStandardPaths::findExecutable("pdfinfo"), {o.destination});
        if (info.waitForFinished(60000) && info.exitCode() == 0) {
            const QString text = QString::fromUtf8(info.readAllStandardOutput());
            EXPECT_TRUE(text.contains(paper == PaperSize::A4 ? "(A4)" : "(letter)")) << text.toStdString();
        }
    }
}

TEST(ExportItems, GroupLabelsComeFromTheGalleryElseTheQueue) {
    QTemporaryDir dir;
    queue::GalleryStore gallery(dir.filePath("gallery.db"));
    queue::VariantAxis style;
    style.kind = queue::AxisKind::Style;
    style.values = QStringList{QStringLiteral("ink"), QStringLiteral("oil")};
    gallery.recordGroup({QStringLiteral("g1"), QStringLiteral("ink or oil"), {style}, 0, 1000});
    queue::GalleryImage a, b, c;
    a.group = QStringLiteral("g1");
    b.group = QStringLiteral("g-unknown");
    const auto items = exportItemsFor({a, b, c}, gallery, QString());
    ASSERT_EQ(items.size(), 3);
    EXPECT_EQ(items[0].groupLabel, QStringLiteral("ink or oil"));
    EXPECT_EQ(items[0].axisNames, QStringList{QStringLiteral("style")});
    EXPECT_TRUE(items[1].groupLabel.isEmpty()); // neither the gallery nor a queue knows it
    EXPECT_TRUE(items[1].axisNames.isEmpty());
    EXPECT_TRUE(items[2].groupLabel.isEmpty()); // no group
    // A queue path with no database is no error: no labels from it.
    EXPECT_EQ(exportItemsFor({b}, gallery, dir.filePath("no-queue.sqlite")).front().groupLabel, QString());
}
