#pragma once
// charaforge-cli prompt ...: QtCore and the prompt library only (never torch).
#include "cli_options.h"

#include <iosfwd>
#include <string>
#include <vector>

namespace charaforge::cli {

// `prompt check FILE...` ("-" reads standard input). For each file without errors, prints its
// canonical prompt on `out` (preceded by "==> FILE <==" when several files are given); prints every
// diagnostic as "FILE:LINE:COL: error|warning: message" on `err`.
// Returns 0 when every file is valid (warnings allowed), 1 when one has errors, 2 when one cannot
// be read.
int check_prompt_files(const std::vector<std::string>& files, std::ostream& out, std::ostream& err);

// Registers `prompt check` on `app`; the check prints to `out` and `err`.
void add_prompt_commands(CLI::App& app, Action& chosen, std::ostream& out, std::ostream& err);

} // namespace charaforge::cli
