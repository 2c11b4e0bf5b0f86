#include "queue/gallery_recorder.h"

#include "queue/gallery_store.h"
#include "queue/group_store.h"

namespace charaforge::queue {

GalleryRecorder::GalleryRecorder(JobStore& jobs) : m_jobs(jobs) {}

GalleryRecorder::~GalleryRecorder() = default;

qint64 GalleryRecorder::record(const Job& job, const QString& path) {
    if (!m_gallery) {
        m_gallery = std::make_unique<GalleryStore>(GalleryStore::pathNextTo(m_jobs.path()));
        m_groups = std::make_unique<GroupStore>(m_jobs);
    }
    GalleryImage image;
    image.path = path;
    image.jobId = job.id;
    image.group = job.group;
    image.spec = job.spec;
    if (job.spec.kind == JobKind::Erase) {
        // An erased image sits beside its original: its prompt and settings, its group, and the original as its
        // parent image (nothing of that when the original is not in the gallery).
        if (const auto original = m_gallery->imageForPath(job.spec.image)) {
            image.spec = original->spec;
            image.group = original->group;
            image.axisValues = original->axisValues;
            image.parentImage = original->id;
        }
        return m_gallery->record(image);
    }
    if (!job.group.isEmpty()) {
        image.axisValues = m_groups->axisValues(job.id);
        if (const auto g = m_groups->group(job.group)) {
            image.parentImage = g->parentImage;
            // The lineage outlives the queue's rows: the gallery keeps the group's label, axes and parent
            // (once per group and worker: a write is an fsync).
            if (!m_knownGroups.contains(g->id)) {
                m_gallery->recordGroup({g->id, g->label, g->axes, g->parentImage, g->created});
                m_knownGroups.insert(g->id);
            }
        }
    }
    return m_gallery->record(image);
}

} // namespace charaforge::queue
