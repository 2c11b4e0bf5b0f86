#pragma once
// charaforge-cli queue ... and worker: the studio's job queue without a window.
#include "engine_commands.h"

namespace charaforge::cli {

int run_queue_command(const Args& args);
int cmd_worker(const Args& args);

} // namespace charaforge::cli
