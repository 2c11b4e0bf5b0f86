#pragma once
// charaforge-cli prompt commands: QtCore and the prompt library only (never torch).
#include <iosfwd>
#include <string>
#include <vector>

namespace charaforge::cli {

// `prompt check FILE...` ("-" reads standard input). For each file without errors, prints its
// canonical prompt on `out` (preceded by "==> FILE <==" when several files are given); prints every
// diagnostic as "FILE:LINE:COL: error|warning: message" on `err`.
// Returns 0 when every file is valid (warnings allowed), 1 when one has errors, 2 when one cannot
// be read or the command line is wrong.
int run_prompt_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// The same on std::cout / std::cerr.
int run_prompt_command(const std::vector<std::string>& args);

} // namespace charaforge::cli
