#pragma once
// A queued job as the store keeps it (a generation, or an erase with LaMa): plain values, no Qt widgets, no
// engine types.
#include <QByteArray>
#include <QString>

#include <optional>

namespace charaforge::queue {

// What a job makes: an image sampled from a prompt, or an image erased with LaMa where a mask says.
enum class JobKind { Generate, Erase };

QString kindName(JobKind k); // "generate", "erase"
std::optional<JobKind> parseKind(const QString& name);

// Everything that decides a job's image, plus where it goes.
struct JobSpec {
    JobKind kind = JobKind::Generate;
    QString prompt; // NewBie XML, tags or natural language
    QString negative;
    int width = 1024;
    int height = 1024;
    int steps = 28;
    QString sampler = QStringLiteral("euler"); // "euler" | "midpoint" | "dpm" (engine::kSolverNames)
    double cfg = 5.0;
    double cfgTrunc = 1.0;
    double renorm = 0.0;
    double shift = 6.0;
    qint64 seed = 0;
    QString model;     // model folder the job is generated with; an erase job's LaMa file (big-lama.pt)
    QString outputDir; // folder its PNG is written to
    // An erase job: the PNG erased in (width and height are its size), its mask (a PNG of the same size, grey
    // at or above 127 = hole) and the strategy for large images ("original", "resize" or "crop", see
    // imaging::EraseStrategy). Empty for a generation.
    QString image;
    QString mask;
    QString strategy;

    bool operator==(const JobSpec&) const = default;
};

enum class JobState { Queued, Running, Done, Failed, Cancelled };

QString stateName(JobState s); // "queued", ...
std::optional<JobState> parseState(const QString& name);

struct Job {
    qint64 id = 0;
    JobSpec spec;
    JobState state = JobState::Queued;
    double position = 0;  // queue order (ascending)
    int stepsDone = 0;    // sampler step of the saved checkpoint (0: none)
    int attempts = 0;     // times the job was started
    QString owner;        // worker instance running it (see JobStore::newOwnerId)
    qint64 heartbeat = 0; // ms since the epoch: last sign of life of its worker
    int workerDeaths = 0; // times in a row its worker died running it without saving progress
    qint64 revision = 0;  // JobStore::revision() of its last change
    QString outputPath;   // file of a done job
    QString message;      // why it failed
    QString group;        // jobs submitted together
    qint64 created = 0;   // ms since the epoch
    qint64 finished = 0;
};

// The sampler state saved every few steps (the engine's SamplerState as bytes).
struct Checkpoint {
    int step = 0;
    qint64 channels = 0;
    qint64 height = 0;
    qint64 width = 0;
    QByteArray latent; // channels*height*width fp32, host byte order
};

} // namespace charaforge::queue
