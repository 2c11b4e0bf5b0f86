#include "progress_line.h"

#include <iostream>

namespace charaforge::cli::progress {

namespace {
bool g_open = false;
std::size_t g_width = 0;
} // namespace

void show(const std::string& text) {
    // Pad over a longer previous text so that no stale characters remain.
    std::cerr << '\r' << text;
    if (text.size() < g_width)
        std::cerr << std::string(g_width - text.size(), ' ');
    std::cerr << std::flush;
    g_width = text.size();
    g_open = true;
}

void end() {
    if (g_open)
        std::cerr << '\n';
    g_open = false;
    g_width = 0;
}

void note(const std::string& text) {
    end();
    std::cerr << text << '\n';
}

} // namespace charaforge::cli::progress
