#pragma once
// charaforge-cli queue ... and worker: the studio's job queue without a window.
#include "cli_options.h"
#include "queue/job.h"

namespace charaforge::cli {

// The settings of `options` as a job's (no prompt, seed, model or output folder yet): what `queue add`
// queues and what `generate` records in its PNGs.
queue::JobSpec jobSpecFor(const SamplingOptions& options);

// Registers `queue add|list|pause|resume|cancel|retry|duplicate|move` on `app`.
void add_queue_commands(CLI::App& app, Action& chosen);
// Registers `worker` on `app`.
void add_worker_command(CLI::App& app, Action& chosen);

} // namespace charaforge::cli
