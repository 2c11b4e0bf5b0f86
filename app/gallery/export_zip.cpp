// Zip export through libzip: every PNG stored (PNGs do not compress further) under its pattern name.
// The archive is written to a temporary name and renamed, so a cancel or failure leaves nothing behind.
#include "gallery/gallery_export.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>

#include <zip.h>

#include <cmath>
#include <stdexcept>

namespace charaforge::gallery {

namespace {

struct ZipState {
    const ExportProgress* progress = nullptr;
    int total = 0;
    int reported = 0;
    bool cancel = false;
};

std::runtime_error zipError(const QString& path, const char* what, zip_t* archive) {
    return std::runtime_error("export: " + path.toStdString() + ": " + what + ": " +
                              (archive ? zip_strerror(archive) : "libzip error"));
}

} // namespace

ExportResult exportZip(const QList<ExportItem>& items, const ExportOptions& options, const ExportProgress& progress) {
    ExportResult result;
    const QString target = singleFileTarget(options);
    const QString temp = target + QStringLiteral(".part");
    QFile::remove(temp);
    int err = 0;
    zip_t* archive = zip_open(QFile::encodeName(temp).constData(), ZIP_CREATE | ZIP_TRUNCATE, &err);
    if (!archive) {
        zip_error_t e;
        zip_error_init_with_code(&e, err);
        const std::string why = zip_error_strerror(&e);
        zip_error_fini(&e);
        throw std::runtime_error("export: cannot create " + target.toStdString() + ": " + why);
    }
    QStringList taken;
    for (int i = 0; i < items.size(); ++i) {
        const auto& img = items[i].image;
        if (!QFileInfo(img.path).isFile()) {
            result.skipped << img.path + QStringLiteral(": the file is missing");
            continue;
        }
        const QByteArray name = uniqueName(exportFileName(items[i], options.namePattern, i), taken).toUtf8();
        zip_source_t* src = zip_source_file(archive, QFile::encodeName(img.path).constData(), 0, 0); // 0: to the end
        if (!src) {
            result.skipped << img.path + QStringLiteral(": ") + QString::fromUtf8(zip_strerror(archive));
            continue;
        }
        const zip_int64_t index = zip_file_add(archive, name.constData(), src, ZIP_FL_ENC_UTF_8);
        if (index < 0) {
            zip_source_free(src);
            const auto e = zipError(target, "cannot add an entry", archive);
            zip_discard(archive);
            throw e;
        }
        zip_set_file_compression(archive, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0);
        ++result.written;
    }
    if (result.written == 0) { // libzip writes no file for an empty archive
        zip_discard(archive);
        return result;
    }
    // The data is read and written in zip_close; its callbacks carry progress and cancel.
    ZipState state{&progress, static_cast<int>(items.size()), 0, false};
    zip_register_progress_callback_with_state(
        archive, 0.01,
        [](zip_t*, double fraction, void* ud) {
            auto* s = static_cast<ZipState*>(ud);
            const int done = static_cast<int>(std::floor(fraction * s->total));
            if (*s->progress && done > s->reported) {
                s->reported = done;
                if (!(*s->progress)(done, s->total))
                    s->cancel = true;
            }
        },
        nullptr, &state);
    zip_register_cancel_callback_with_state(
        archive, [](zip_t*, void* ud) { return static_cast<ZipState*>(ud)->cancel ? 1 : 0; }, nullptr, &state);
    if (zip_close(archive) != 0) {
        const bool cancelled = state.cancel;
        const auto e = zipError(target, "cannot write the archive", archive);
        zip_discard(archive);
        QFile::remove(temp);
        if (cancelled) {
            result.cancelled = true;
            result.written = 0;
            return result;
        }
        throw e;
    }
    if (state.cancel) { // asked after the last byte was written: still honoured
        QFile::remove(temp);
        result.cancelled = true;
        result.written = 0;
        return result;
    }
    if (progress && state.reported < state.total)
        progress(state.total, state.total);
    replaceWithFinished(temp, target);
    result.files << target;
    return result;
}

} // namespace charaforge::gallery
