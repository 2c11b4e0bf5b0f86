#pragma once
// The "job finished" step of the gallery: after a job's PNG is on disk and the job is done, its image is
// recorded in the gallery next to the queue with its group, axis values and the group's parent image, and
// the group itself (label, axes, parent) in the gallery's lineage. An erase job's image is recorded with its
// original's settings and the original as its parent image.
// Shared by every worker (GUI thread and `charaforge-cli worker`) through QueueRunner. Use on one thread.
#include "queue/job.h"

#include <QSet>
#include <QString>

#include <memory>

namespace charaforge::queue {

class JobStore;
class GalleryStore;
class GroupStore;

class GalleryRecorder {
public:
    explicit GalleryRecorder(JobStore& jobs);
    ~GalleryRecorder();

    // Records `job`'s image at `path` (opening the gallery on first use). Returns the image id; throws
    // StoreError naming the database or the file.
    qint64 record(const Job& job, const QString& path);

private:
    JobStore& m_jobs;
    std::unique_ptr<GalleryStore> m_gallery;
    std::unique_ptr<GroupStore> m_groups;
    QSet<QString> m_knownGroups; // groups already in the gallery's lineage table
};

} // namespace charaforge::queue
