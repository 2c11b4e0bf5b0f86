#include "gallery/gallery_import.h"

#include <QDir>
#include <QFileInfo>

namespace charaforge::gallery {

namespace {

bool isPngName(const QFileInfo& info) {
    return info.suffix().compare(QStringLiteral("png"), Qt::CaseInsensitive) == 0;
}

} // namespace

ImportReport importDropped(queue::GalleryStore& store, const QStringList& paths) {
    ImportReport report;
    QStringList pngs;
    auto take = [&](const QFileInfo& info) {
        if (isPngName(info))
            pngs << info.absoluteFilePath();
        else
            report.problems << QDir::toNativeSeparators(info.absoluteFilePath()) +
                                   QStringLiteral(": not a PNG, skipped");
    };
    for (const auto& path : paths) {
        const QFileInfo info(path);
        if (info.isDir()) {
            for (const auto& entry : QDir(info.absoluteFilePath()).entryInfoList(QDir::Files, QDir::Name))
                take(entry);
        } else if (info.isFile()) {
            take(info);
        } else {
            report.problems << QDir::toNativeSeparators(path) + QStringLiteral(": no such file or folder");
        }
    }
    try {
        report.added = store.importFiles(pngs, &report.problems);
    } catch (const std::exception& e) { // the database itself failed: nothing of this drop was added
        report.added = 0;
        report.problems << QString::fromStdString(e.what());
    }
    return report;
}

} // namespace charaforge::gallery
