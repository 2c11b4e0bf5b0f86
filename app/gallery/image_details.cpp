#include "gallery/image_details.h"

#include <QObject>

namespace charaforge::gallery {

namespace {

QString groupName(const QString& id, const QString& label) {
    return label.isEmpty() ? id : QStringLiteral("%1 (%2)").arg(label, id);
}

} // namespace

QStringList imageDetailLines(const queue::GalleryStore& store, const queue::GalleryImage& image) {
    const auto& s = image.spec;
    QStringList lines{QObject::tr("Image %1 · job %2").arg(image.id).arg(image.jobId),
                      QObject::tr("%1×%2 · %3 steps · %4 · CFG %5 · seed %6")
                          .arg(s.width)
                          .arg(s.height)
                          .arg(s.steps)
                          .arg(s.sampler, QString::number(s.cfg, 'g', 4))
                          .arg(s.seed)};
    const queue::Lineage l = store.lineage(image.id);
    if (l.parentImage != 0)
        lines << (l.parentGroup.isEmpty()
                      ? QObject::tr("Branched from image %1").arg(l.parentImage)
                      : QObject::tr("Branched from image %1 of group %2").arg(l.parentImage).arg(l.parentGroup));
    if (!image.group.isEmpty())
        lines << QObject::tr("Group: %1").arg(groupName(image.group, l.group ? l.group->label : QString()));
    if (!l.winners.isEmpty()) {
        QStringList ids;
        for (qint64 w : l.winners)
            ids << QString::number(w);
        lines << (l.winners == QList<qint64>{image.id}
                      ? QObject::tr("The winner of its group")
                      : QObject::tr("Winner of the group: image %1").arg(ids.join(QStringLiteral(", "))));
    }
    for (const auto& b : l.branches)
        lines << QObject::tr("Branched into group %1").arg(groupName(b.id, b.label));
    return lines;
}

} // namespace charaforge::gallery
