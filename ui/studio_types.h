#pragma once
// Plain values the studio's views display. The app layer fills them from the queue store and the engine;
// the views never see the store, the engine or a tensor.
#include <QImage>
#include <QList>
#include <QMetaType>
#include <QPair>
#include <QString>
#include <QStringList>

namespace charaforge::ui {

// One job of the queue as the queue panel shows it.
struct JobView {
    qint64 id = 0;
    QString state; // "queued", "running", "done", "failed", "cancelled"
    QString title; // short summary of the prompt (first character's name and tags)
    int width = 0;
    int height = 0;
    int steps = 0;
    QString sampler;
    double cfg = 0.0;
    qint64 seed = 0;
    int stepsDone = 0;      // last saved sampler step (resume point) or the live step while running
    QString message;        // error text of a failed job
    QString outputPath;     // file of a done job
    QString group;          // the variant group it belongs to ("" or a group the panel was not given: none)
    QStringList axisValues; // its values on the group's axes
    QString memoryFit;      // queued: the memory prediction's verdict ("fits", "will be split", "too large ..."), or ""
};

// A variant group of the queue as the queue panel shows it: one row over its jobs.
struct GroupView {
    QString id;
    QString label;
    QStringList axisNames;
    bool paused = false; // its queued jobs are held
};

// One image of a variant group as the compare view shows it.
struct CompareImage {
    qint64 imageId = 0; // gallery image; 0 while the job has no image yet
    qint64 jobId = 0;
    QString path;
    QStringList axisValues; // in the group's axis order
    QString state;          // the job's state ("done" once it has an image; "queued", "failed", ...)
    int rating = 0;         // 0 (unrated) .. 5
    bool winner = false;
    QString details; // settings and lineage, one item per line
};

// A variant group for the compare view: its axes with every value (the grid's labels) and its images.
struct CompareSet {
    QString groupId;
    QString label;
    QStringList axisNames;
    QList<QStringList> axisValues; // per axis, its values in order
    QList<CompareImage> images;
};

// One reading of the memory monitor.
struct MemorySample {
    bool gpu = false;
    QString device;       // "cuda:0 NVIDIA H200 bf16", "cpu"
    qint64 allocated = 0; // bytes; CUDA allocator: tensors alive
    qint64 reserved = 0;  // CUDA allocator: held by the cache
    qint64 freeBytes = 0; // driver: free on the device / CPU: available physical memory
    qint64 total = 0;     // driver: device memory / CPU: physical memory
    qint64 processResident = 0;
    QList<QPair<QString, qint64>> components; // weights per model component, bytes
};

} // namespace charaforge::ui

Q_DECLARE_METATYPE(charaforge::ui::JobView)
Q_DECLARE_METATYPE(charaforge::ui::GroupView)
Q_DECLARE_METATYPE(charaforge::ui::MemorySample)
