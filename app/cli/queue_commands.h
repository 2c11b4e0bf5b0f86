#pragma once
// charaforge-cli queue ... and worker: the studio's job queue without a window.
#include "cli_options.h"

namespace charaforge::cli {

// Registers `queue add|list|pause|resume|cancel|retry|duplicate|move` on `app`.
void add_queue_commands(CLI::App& app, Action& chosen);
// Registers `worker` on `app`.
void add_worker_command(CLI::App& app, Action& chosen);

} // namespace charaforge::cli
