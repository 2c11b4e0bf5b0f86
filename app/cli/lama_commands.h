#pragma once
// charaforge-cli's LaMa commands: `lama convert` (big-lama.pt to safetensors), `lama make-test-model` (a tiny
// random generator, for tests) and `erase` (one image or many, through the batched erase scheduler).
#include "cli_options.h"

namespace charaforge::cli {

void add_lama_commands(CLI::App& app, Action& chosen);

} // namespace charaforge::cli
