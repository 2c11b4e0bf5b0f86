#pragma once
// charaforge-cli queue ... and worker: the studio's job queue without a window.
#include "cli_options.h"
#include "queue/job.h"

#include <QByteArray>
#include <QString>

#include <string>

namespace charaforge::cli {

// The settings of `options` as a job's (no prompt, seed, model or output folder yet): what `queue add`
// queues and what `generate` records in its PNGs.
queue::JobSpec jobSpecFor(const SamplingOptions& options);

// The canonical form of a prompt (`data`, UTF-8), as `queue add` queues it and `generate` samples and records
// it: one prompt gives one image for a seed, whichever path it takes. Diagnostics go to stderr as
// "SOURCE:LINE:COL: severity: message"; a prompt with errors throws std::runtime_error
// "SOURCE: the prompt has errors; nothing was DONE".
QString canonicalPrompt(const QByteArray& data, const std::string& source, const std::string& done);

// Registers `queue add|list|pause|resume|cancel|retry|duplicate|move` on `app`.
void add_queue_commands(CLI::App& app, Action& chosen);
// Registers `worker` on `app`.
void add_worker_command(CLI::App& app, Action& chosen);

} // namespace charaforge::cli
