#pragma once
// An image's details as the studio lists them (the compare view's side, the gallery's tooltip): its settings
// and its lineage: the image its group was branched from, its group, the group's winners and the groups
// branched from the image.
#include "queue/gallery_store.h"

#include <QStringList>

namespace charaforge::gallery {

// One item per line. Throws StoreError when the gallery cannot be read.
QStringList imageDetailLines(const queue::GalleryStore& store, const queue::GalleryImage& image);

} // namespace charaforge::gallery
