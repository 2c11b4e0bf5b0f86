#pragma once
// charaforge-cli gallery list|export|import|mark: the studio's gallery database without a window.
#include "cli_options.h"

namespace charaforge::cli {

// Registers `gallery list|export|import|mark` on `app`. `gallery export` to a PDF or HTML sheet draws text,
// so main() runs it under a QGuiApplication (offscreen when there is no display).
void add_gallery_commands(CLI::App& app, Action& chosen);

} // namespace charaforge::cli
