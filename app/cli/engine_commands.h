#pragma once
// charaforge-cli commands that need only the engine (they build on the GPU machine too):
// make-test-model, inspect, generate, tokenize, run-component.
#include "cli_options.h"

namespace charaforge::cli {

// Registers the engine subcommands on `app`; the one given on the command line sets `chosen`.
void add_engine_commands(CLI::App& app, Action& chosen);

} // namespace charaforge::cli
