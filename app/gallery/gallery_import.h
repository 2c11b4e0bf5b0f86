#pragma once
// What a drop on the gallery adds: folders (their PNGs, not recursive) and single PNG files, each with the
// settings its record carries (ours or A1111 `parameters`). Anything else is skipped with a line saying so;
// nothing dropped can fail the others. A plain function over a store: run it on the store's thread.
#include "queue/gallery_store.h"

#include <QString>
#include <QStringList>

namespace charaforge::gallery {

struct ImportReport {
    int added = 0;        // images added or updated
    QStringList problems; // "FILE: why" per file or folder skipped (not a PNG, unreadable, no record)
};

ImportReport importDropped(queue::GalleryStore& store, const QStringList& paths);

} // namespace charaforge::gallery
