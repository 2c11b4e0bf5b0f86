#pragma once
// Export of a gallery selection: a folder of PNGs named from a pattern, a zip archive (libzip), a
// self-contained HTML contact sheet, a PDF character sheet (QPdfWriter). Plain functions over values,
// callable off the GUI thread; progress is reported per image and a false return from it cancels.
#include "queue/gallery_store.h"

#include <QList>
#include <QString>
#include <QStringList>

#include <functional>

namespace charaforge::gallery {

// One image of the selection with what its group says about it.
struct ExportItem {
    queue::GalleryImage image;
    QString groupLabel;
    QStringList axisNames; // the group's axes, matching image.axisValues
};

enum class ExportFormat { Folder, Zip, Html, Pdf };
enum class PaperSize { A4, Letter };

struct ExportOptions {
    ExportFormat format = ExportFormat::Folder;
    QString destination;                                        // the folder (Folder) or the file (Zip, Html, Pdf)
    QString namePattern = QStringLiteral("{character}-{seed}"); // Folder, Zip: file names
    QString title = QStringLiteral("CharaForge sheet");         // Html, Pdf
    PaperSize paper = PaperSize::A4;
    int thumbnailSize = 256; // Html: longest side of the embedded thumbnails
};

struct ExportResult {
    int written = 0; // images exported
    bool cancelled = false;
    QStringList skipped; // "FILE: why" for images that could not be exported (e.g. missing)
    QStringList files;   // what was written (Folder: the files; others: the one file)
};

// Called after each image with (done, total); return false to cancel. A cancelled export leaves no
// partial archive, sheet or PDF behind (a folder keeps the files already copied).
using ExportProgress = std::function<bool(int done, int total)>;

// `images` as export items, each with its group's label and axis names: the gallery's own record of the group
// (it outlives the queue's jobs), else the group of the queue database `queuePath` (its GroupStore; an empty
// path or one with no database: none).
QList<ExportItem> exportItemsFor(const QList<queue::GalleryImage>& images, const queue::GalleryStore& gallery,
                                 const QString& queuePath);

// Runs the export. Throws std::runtime_error naming the destination when it cannot be written.
ExportResult exportImages(const QList<ExportItem>& items, const ExportOptions& options,
                          const ExportProgress& progress = {});

// The file name (with .png) of an item under a pattern with {character} {seed} {id} {job} {group}
// {rating} {width} {height} {index}; characters unsafe in file names become '_'.
QString exportFileName(const ExportItem& item, const QString& pattern, int index);

// `name` made unique against `taken` by a -2, -3, ... suffix before the extension; adds it to taken.
QString uniqueName(const QString& name, QStringList& taken);

ExportResult exportFolder(const QList<ExportItem>& items, const ExportOptions& options, const ExportProgress& progress);
ExportResult exportZip(const QList<ExportItem>& items, const ExportOptions& options, const ExportProgress& progress);
ExportResult exportHtml(const QList<ExportItem>& items, const ExportOptions& options, const ExportProgress& progress);
ExportResult exportPdf(const QList<ExportItem>& items, const ExportOptions& options, const ExportProgress& progress);

// "832×1216 · 28 steps · euler · CFG 5 · seed 42": the settings line of a tile (without the seed part
// when `withSeed` is false).
QString settingsLine(const queue::GalleryImage& image, bool withSeed = true);

// The absolute path of a single-file export (zip, HTML, PDF), its folder created; throws when it cannot be.
QString singleFileTarget(const ExportOptions& options);
// Moves a finished `temp` file over `target` (replacing an older export); throws when the rename fails.
void replaceWithFinished(const QString& temp, const QString& target);

} // namespace charaforge::gallery
