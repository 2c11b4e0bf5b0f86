// PDF character sheet through QPdfWriter: a title, then a grid of images (3 × 3 per page) with prompt,
// seed and settings under each, a new page whenever the grid is full. A4 or Letter.
#include "gallery/gallery_export.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QPageSize>
#include <QPainter>
#include <QPdfWriter>
#include <QTextOption>

#include <stdexcept>

namespace charaforge::gallery {

namespace {

constexpr int kColumns = 3;
constexpr int kRows = 3;
constexpr int kDpi = 150;

} // namespace

ExportResult exportPdf(const QList<ExportItem>& items, const ExportOptions& options, const ExportProgress& progress) {
    ExportResult result;
    const QString target = singleFileTarget(options);
    const QString temp = target + QStringLiteral(".part");
    bool cancelled = false;
    {
        QPdfWriter pdf(temp);
        pdf.setResolution(kDpi);
        pdf.setTitle(options.title);
        pdf.setCreator(QStringLiteral("CharaForge"));
        pdf.setPageSize(QPageSize(options.paper == PaperSize::Letter ? QPageSize::Letter : QPageSize::A4));
        pdf.setPageMargins(QMarginsF(12, 12, 12, 12), QPageLayout::Millimeter);
        QPainter p;
        if (!p.begin(&pdf))
            throw std::runtime_error("export: cannot write " + target.toStdString());
        const QRect page = p.viewport();
        QFont titleFont = p.font();
        titleFont.setPointSizeF(16);
        titleFont.setBold(true);
        QFont textFont = p.font();
        textFont.setPointSizeF(7);
        const int titleHeight = QFontMetrics(titleFont, &pdf).height() * 2;
        const int cellW = page.width() / kColumns;
        const int textLines = 6;
        const int textH = QFontMetrics(textFont, &pdf).lineSpacing() * textLines;
        auto drawTitle = [&](int pageNo) {
            p.setFont(titleFont);
            p.drawText(QRect(0, 0, page.width(), titleHeight), Qt::AlignLeft | Qt::AlignVCenter,
                       pageNo == 1 ? options.title : options.title + QStringLiteral(" (%1)").arg(pageNo));
        };
        const int cellH = (page.height() - titleHeight) / kRows;
        int pageNo = 1;
        drawTitle(pageNo);
        for (int i = 0; i < items.size(); ++i) {
            const int slot = i % (kColumns * kRows);
            if (i > 0 && slot == 0) {
                pdf.newPage();
                drawTitle(++pageNo);
            }
            const auto& img = items[i].image;
            const QRect cell(slot % kColumns * cellW, titleHeight + slot / kColumns * cellH, cellW, cellH);
            const QRect imageRect = cell.adjusted(8, 8, -8, -textH - 12);
            const QImage image = img.missing ? QImage() : QImage(img.path);
            if (image.isNull()) {
                result.skipped << img.path + QStringLiteral(": the file is missing or unreadable");
                p.drawRect(imageRect);
                p.setFont(textFont);
                p.drawText(imageRect, Qt::AlignCenter, QStringLiteral("missing"));
            } else {
                const QSize fitted = image.size().scaled(imageRect.size(), Qt::KeepAspectRatio);
                const QRect at(imageRect.x() + (imageRect.width() - fitted.width()) / 2, imageRect.y(), fitted.width(),
                               fitted.height());
                p.drawImage(at, image);
                if (img.winner) {
                    p.setPen(QPen(QColor(0xd4, 0xa0, 0x17), 4));
                    p.drawRect(at);
                    p.setPen(QPen(Qt::black));
                }
                ++result.written;
            }
            QStringList lines;
            if (!img.axisValues.isEmpty())
                lines << img.axisValues.join(QStringLiteral(" · "));
            lines << QStringLiteral("seed %1").arg(img.spec.seed); // its own line: never wrapped apart
            lines << settingsLine(img, false);
            lines << img.spec.prompt.simplified();
            p.setFont(textFont);
            QTextOption wrap(Qt::AlignLeft | Qt::AlignTop);
            wrap.setWrapMode(QTextOption::WrapAtWordBoundaryOrAnywhere);
            p.drawText(QRectF(cell.x() + 8, imageRect.bottom() + 6, cell.width() - 16, textH), lines.join('\n'), wrap);
            if (progress && !progress(i + 1, items.size())) {
                cancelled = true;
                break;
            }
        }
        p.end();
    }
    if (cancelled) {
        QFile::remove(temp);
        result.cancelled = true;
        result.written = 0;
        return result;
    }
    replaceWithFinished(temp, target);
    result.files << target;
    return result;
}

} // namespace charaforge::gallery
