// HTML contact sheet: one self-contained XHTML file, thumbnails embedded as PNG data URIs, one section per
// group with its axis labels, prompt, seed and settings under every tile. All user text is escaped.
#include "gallery/gallery_export.h"

#include <QBuffer>
#include <QDir>
#include <QFileInfo>
#include <QImage>
#include <QSaveFile>

#include <stdexcept>

namespace charaforge::gallery {

namespace {

QString esc(const QString& text) {
    QString out = text.toHtmlEscaped(); // & < > "
    out.replace(QLatin1Char('\''), QStringLiteral("&#39;"));
    return out;
}

QString thumbnailUri(const QString& path, int size) {
    QImage img(path);
    if (img.isNull())
        return {};
    img = img.scaled(size, size, Qt::KeepAspectRatio, Qt::SmoothTransformation);
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    img.save(&buffer, "PNG");
    return QStringLiteral("data:image/png;base64,") + QString::fromLatin1(bytes.toBase64());
}

const char* kStyle = "body{font-family:sans-serif;margin:2em;background:#fafafa;color:#222}"
                     ".grid{display:flex;flex-wrap:wrap;gap:1em}"
                     ".tile{width:280px;background:#fff;border:1px solid #ddd;padding:.5em}"
                     ".tile img{max-width:100%}.prompt{white-space:pre-wrap;font-size:.8em}"
                     ".settings,.axes{font-size:.75em;color:#555}.winner{border-color:#d4a017}";

} // namespace

ExportResult exportHtml(const QList<ExportItem>& items, const ExportOptions& options, const ExportProgress& progress) {
    ExportResult result;
    const QString target = singleFileTarget(options);
    QString html = QStringLiteral("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\">\n<head>\n"
                                  "<meta charset=\"utf-8\"/>\n<title>%1</title>\n<style>%2</style>\n</head>\n<body>\n"
                                  "<h1>%1</h1>\n")
                       .arg(esc(options.title), QLatin1String(kStyle));
    QString currentGroup;
    bool open = false;
    for (int i = 0; i < items.size(); ++i) {
        const auto& item = items[i];
        const auto& img = item.image;
        if (!open || img.group != currentGroup) {
            if (open)
                html += QStringLiteral("</div>\n</section>\n");
            currentGroup = img.group;
            open = true;
            html += QStringLiteral("<section class=\"group\">\n<h2>%1</h2>\n")
                        .arg(esc(img.group.isEmpty() ? QStringLiteral("Ungrouped")
                                                     : (item.groupLabel.isEmpty() ? img.group : item.groupLabel)));
            if (!item.axisNames.isEmpty())
                html += QStringLiteral("<p class=\"axes\">Axes: %1</p>\n")
                            .arg(esc(item.axisNames.join(QStringLiteral(" × "))));
            html += QStringLiteral("<div class=\"grid\">\n");
        }
        const QString uri = img.missing ? QString() : thumbnailUri(img.path, options.thumbnailSize);
        html += QStringLiteral("<div class=\"tile%1\">\n").arg(img.winner ? QStringLiteral(" winner") : QString());
        if (uri.isEmpty()) {
            result.skipped << img.path + QStringLiteral(": the file is missing or unreadable");
            html += QStringLiteral("<p class=\"missing\">missing: %1</p>\n").arg(esc(QFileInfo(img.path).fileName()));
        } else {
            html += QStringLiteral("<img src=\"%1\" alt=\"%2\"/>\n").arg(uri, esc(QFileInfo(img.path).fileName()));
            ++result.written;
        }
        QStringList axes;
        for (int a = 0; a < img.axisValues.size(); ++a)
            axes << (a < item.axisNames.size() ? item.axisNames[a] + QStringLiteral(": ") : QString()) +
                        img.axisValues[a];
        if (!axes.isEmpty())
            html += QStringLiteral("<p class=\"axes\">%1</p>\n").arg(esc(axes.join(QStringLiteral(" · "))));
        html += QStringLiteral("<p class=\"settings\">%1%2</p>\n")
                    .arg(esc(settingsLine(img)),
                         img.rating > 0 ? esc(QStringLiteral(" · ") + QString(img.rating, QChar(0x2605))) : QString());
        html += QStringLiteral("<p class=\"prompt\">%1</p>\n").arg(esc(img.spec.prompt));
        if (!img.spec.negative.isEmpty())
            html += QStringLiteral("<p class=\"prompt negative\">Negative: %1</p>\n").arg(esc(img.spec.negative));
        html += QStringLiteral("</div>\n");
        if (progress && !progress(i + 1, items.size())) {
            result.cancelled = true;
            result.written = 0;
            return result; // nothing written
        }
    }
    if (open)
        html += QStringLiteral("</div>\n</section>\n");
    html += QStringLiteral("</body>\n</html>\n");
    QSaveFile file(target);
    if (!file.open(QIODevice::WriteOnly) || file.write(html.toUtf8()) < 0 || !file.commit())
        throw std::runtime_error("export: cannot write " + target.toStdString() + ": " +
                                 file.errorString().toStdString());
    result.files << target;
    return result;
}

} // namespace charaforge::gallery
