// Folder export: each PNG copied byte for byte (its metadata chunks travel with it) under a pattern name.
#include "gallery/gallery_export.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>

#include <stdexcept>

namespace charaforge::gallery {

ExportResult exportFolder(const QList<ExportItem>& items, const ExportOptions& options,
                          const ExportProgress& progress) {
    ExportResult result;
    QDir dir(options.destination);
    if (!QDir().mkpath(options.destination))
        throw std::runtime_error("export: cannot create the folder " + options.destination.toStdString());
    QStringList taken = dir.entryList(QDir::Files);
    for (int i = 0; i < items.size(); ++i) {
        const auto& img = items[i].image;
        if (!QFileInfo(img.path).isFile()) {
            result.skipped << img.path + QStringLiteral(": the file is missing");
        } else {
            const QString target = dir.filePath(uniqueName(exportFileName(items[i], options.namePattern, i), taken));
            if (QFile::copy(img.path, target)) {
                result.files << target;
                ++result.written;
            } else {
                result.skipped << img.path + QStringLiteral(": cannot copy to ") + target;
            }
        }
        if (progress && !progress(i + 1, items.size())) {
            result.cancelled = true;
            break;
        }
    }
    return result;
}

} // namespace charaforge::gallery
