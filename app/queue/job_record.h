#pragma once
// The generation record written into every PNG (a `charaforge` JSON chunk plus an A1111-style
// `parameters` chunk for other tools), read back to restore a job's settings from a dropped image.
#include "queue/job.h"

#include <QList>
#include <QPair>
#include <QString>
#include <QStringList>
#include <functional>

#include <map>
#include <optional>
#include <string>

namespace charaforge::queue {

// A model file as recorded: its role ("transformer", "vae", ...), path and SHA-256.
struct ModelFileRecord {
    QString role;
    QString path;
    QString sha256;
};

// The file a job's image is written to: OUTPUT_DIR/charaforge-<id>-<seed>.png; an erase job's
// OUTPUT_DIR/<image name>-erased-<id>.png.
QString outputPathFor(const Job& job);

// Why images cannot go to `folder`: "exists and is not a folder", "P is not a folder" or "cannot write in P" (P
// the nearest of its parents that exists, when it does not exist yet); "" when it is, or can be made as, a
// folder this process writes in. Creates nothing: `queue add` checks --out with it, the runner each job's folder.
QString outputFolderProblem(const QString& folder);

// Where an image came from: a queue's job (its id, JobStore::queueId() and group), or nothing for an image
// of `charaforge-cli generate` (jobId 0: the record has no job_id, queue_id or group).
struct RecordOrigin {
    qint64 jobId = 0;
    QString queueId;
    QString group;
};

// The one writer of the PNG record, for the queue and `charaforge-cli generate`: text chunks (keyword →
// UTF-8 text) of an image made with `spec` (its outputDir is not recorded) from `model`'s files.
std::map<std::string, std::string> pngRecord(const JobSpec& spec, const QList<ModelFileRecord>& model,
                                             const QString& appVersion, const RecordOrigin& origin = {});
// A finished job's record; `queueId` is its queue's JobStore::queueId().
std::map<std::string, std::string> pngRecord(const Job& job, const QList<ModelFileRecord>& model,
                                             const QString& appVersion, const QString& queueId);

// Remembered SHA-256 hashes of model files, by hashKey() (the queue keeps them in its store, the command
// line in a settings file). `recall` returns an empty string for a file not hashed yet.
struct HashMemory {
    std::function<QString(const QString& key)> recall;
    std::function<void(const QString& key, const QString& hex)> remember;
};
// The key of a file's hash: its absolute path, size and modification time (a changed file is hashed again).
QString hashKey(const QString& path);
// The records of `files` (role, path): hashes come from `memory`, the others are computed and remembered,
// with one `notice` naming them all first. Throws engine::Cancelled as soon as `stop` says true (nothing
// is remembered for the file being hashed).
QList<ModelFileRecord> modelFileRecords(const QList<QPair<QString, QString>>& files, const HashMemory& memory,
                                        const std::function<void(const QString&)>& notice,
                                        const std::function<bool()>& stop);

// The settings stored in a PNG's text chunks: our JSON record, else A1111 `parameters` (prompt, negative,
// steps, sampler, CFG, seed, size). Sets *error (naming what is missing) and returns nullopt otherwise.
// A recorded setting with no equivalent here (an A1111 sampler such as "DPM++ 2M Karras", "Clip skip", a
// Stable Diffusion model) is not silently dropped: *notes gets one line per such setting saying what is used
// instead ("sampler \"DPM++ 2M Karras\" has no equivalent; using Euler").
std::optional<JobSpec> specFromPngText(const std::map<std::string, std::string>& text, QString* error = nullptr,
                                       QStringList* notes = nullptr);
// Reads `path` and calls specFromPngText; errors name the file.
std::optional<JobSpec> specFromPng(const QString& path, QString* error = nullptr, QStringList* notes = nullptr);
// The job id recorded in a PNG (0 when none).
qint64 jobIdFromPngText(const std::map<std::string, std::string>& text);
// True when a PNG's record says it is this job's result: the same queue, job id, prompt, negative prompt,
// seed, size, steps and sampler. An image of another queue (or of a deleted one) that happens to carry the
// same job id and seed is not.
bool pngRecordIsJob(const std::map<std::string, std::string>& text, const Job& job, const QString& queueId);

// The record of an erase job's image: the source image's own chunks (its prompt and settings, so that the result
// restores them) plus a `charaforge_erase` JSON chunk naming the job, its queue, the image, mask, strategy and
// LaMa file.
std::map<std::string, std::string> eraseRecord(const Job& job, const QString& queueId,
                                               const std::map<std::string, std::string>& sourceText);
// True when a PNG's `charaforge_erase` chunk says it is this erase job's result (same queue, job id, image, mask).
bool eraseRecordIsJob(const std::map<std::string, std::string>& text, const Job& job, const QString& queueId);

// SHA-256 of a file, hex (empty when it cannot be read).
QString sha256OfFile(const QString& path);

// The outcome of a hash that can be stopped: a 17 GB model file takes tens of seconds, and SIGINT or a
// worker's stop request must not wait for it. A cancelled hash has no value and must not be remembered.
struct FileHash {
    enum class Outcome { Done, Cancelled, Unreadable };
    Outcome outcome = Outcome::Unreadable;
    QString hex;
};
// Reads `path` in chunks of 4 MiB and asks `stop` before each; returns Cancelled as soon as it says true.
FileHash sha256OfFile(const QString& path, const std::function<bool()>& stop);

} // namespace charaforge::queue
