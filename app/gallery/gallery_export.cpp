#include "gallery/gallery_export.h"

#include "queue/group_store.h"
#include "queue/job_store.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QHash>
#include <QRegularExpression>

#include <stdexcept>

namespace charaforge::gallery {

QString exportFileName(const ExportItem& item, const QString& pattern, int index) {
    const auto& img = item.image;
    QString name = pattern;
    const QString character =
        img.characters.isEmpty() ? QStringLiteral("image") : img.characters.join(QLatin1Char('+'));
    const QList<QPair<QString, QString>> fields{
        {QStringLiteral("{character}"), character},
        {QStringLiteral("{seed}"), QString::number(img.spec.seed)},
        {QStringLiteral("{id}"), QString::number(img.id)},
        {QStringLiteral("{job}"), QString::number(img.jobId)},
        {QStringLiteral("{group}"), img.group.isEmpty() ? QStringLiteral("nogroup") : img.group},
        {QStringLiteral("{rating}"), QString::number(img.rating)},
        {QStringLiteral("{width}"), QString::number(img.spec.width)},
        {QStringLiteral("{height}"), QString::number(img.spec.height)},
        {QStringLiteral("{index}"), QStringLiteral("%1").arg(index + 1, 4, 10, QLatin1Char('0'))},
    };
    for (const auto& [key, value] : fields)
        name.replace(key, value);
    static const QRegularExpression unsafe(QStringLiteral("[^\\p{L}\\p{N}._ ()+-]"));
    name.replace(unsafe, QStringLiteral("_"));
    name = name.trimmed();
    while (name.startsWith(QLatin1Char('.')))
        name.remove(0, 1);
    if (name.isEmpty())
        name = QStringLiteral("image");
    return name.left(180) + QStringLiteral(".png");
}

QString uniqueName(const QString& name, QStringList& taken) {
    QString candidate = name;
    const QFileInfo info(name);
    for (int n = 2; taken.contains(candidate, Qt::CaseInsensitive); ++n)
        candidate = QStringLiteral("%1-%2.%3").arg(info.completeBaseName()).arg(n).arg(info.suffix());
    taken << candidate;
    return candidate;
}

QString settingsLine(const queue::GalleryImage& image, bool withSeed) {
    const auto& s = image.spec;
    QString line = QStringLiteral("%1×%2 · %3 steps · %4 · CFG %5")
                       .arg(s.width)
                       .arg(s.height)
                       .arg(s.steps)
                       .arg(s.sampler)
                       .arg(s.cfg);
    if (withSeed)
        line += QStringLiteral(" · seed %1").arg(s.seed);
    return line;
}

QList<ExportItem> exportItemsFor(const QList<queue::GalleryImage>& images, const queue::GalleryStore& gallery,
                                 const QString& queuePath) {
    struct Labels {
        QString label;
        QStringList axisNames;
    };
    QHash<QString, Labels> labels; // by group id
    for (const auto& im : images) {
        if (im.group.isEmpty() || labels.contains(im.group))
            continue;
        if (const auto g = gallery.group(im.group); g && (!g->label.isEmpty() || !g->axes.isEmpty()))
            labels.insert(im.group, {g->label, g->axisNames()});
    }
    if (!queuePath.isEmpty() && QFileInfo(queuePath).isFile()) {
        queue::JobStore jobs(queuePath);
        queue::GroupStore groupStore(jobs);
        for (const auto& g : groupStore.groups())
            if (!labels.contains(g.id))
                labels.insert(g.id, {g.label, g.axisNames()});
    }
    QList<ExportItem> items;
    items.reserve(images.size());
    for (const auto& im : images) {
        ExportItem item{im, {}, {}};
        if (const auto it = labels.constFind(im.group); it != labels.constEnd()) {
            item.groupLabel = it->label;
            item.axisNames = it->axisNames;
        }
        items.push_back(item);
    }
    return items;
}

ExportResult exportImages(const QList<ExportItem>& items, const ExportOptions& options,
                          const ExportProgress& progress) {
    switch (options.format) {
    case ExportFormat::Folder:
        return exportFolder(items, options, progress);
    case ExportFormat::Zip:
        return exportZip(items, options, progress);
    case ExportFormat::Html:
        return exportHtml(items, options, progress);
    case ExportFormat::Pdf:
        return exportPdf(items, options, progress);
    }
    return {};
}

QString singleFileTarget(const ExportOptions& options) {
    const QString target = QFileInfo(options.destination).absoluteFilePath();
    if (!QDir().mkpath(QFileInfo(target).absolutePath()))
        throw std::runtime_error("export: cannot create the folder of " + target.toStdString());
    return target;
}

void replaceWithFinished(const QString& temp, const QString& target) {
    QFile::remove(target);
    if (!QFile::rename(temp, target))
        throw std::runtime_error("export: cannot rename " + temp.toStdString() + " to " + target.toStdString());
}

} // namespace charaforge::gallery
