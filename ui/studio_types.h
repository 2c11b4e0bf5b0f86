#pragma once
// Plain values the studio's views display. The app layer fills them from the queue store and the engine;
// the views never see the store, the engine or a tensor.
#include <QImage>
#include <QList>
#include <QMetaType>
#include <QPair>
#include <QString>

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
    int stepsDone = 0;  // last saved sampler step (resume point) or the live step while running
    QString message;    // error text of a failed job
    QString outputPath; // file of a done job
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
Q_DECLARE_METATYPE(charaforge::ui::MemorySample)
