#pragma once
// The one-line progress counter on standard error ("\r..." rewritten in place). Anything else printed
// to the terminal goes through note() or end() first, so that a message never lands after the counter
// on the same line.
#include <string>

namespace charaforge::cli::progress {

// Rewrites the counter line with `text`.
void show(const std::string& text);

// Ends the counter line (a newline) if one is showing.
void end();

// Prints `text` on a line of its own on standard error.
void note(const std::string& text);

} // namespace charaforge::cli::progress
