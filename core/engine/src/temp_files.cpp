#include "charaforge/engine/temp_files.h"

#include <atomic>
#include <filesystem>
#include <random>
#include <regex>
#include <unistd.h>

namespace charaforge::engine {

namespace fs = std::filesystem;

std::string unique_temp_name(const std::string& path) {
    static std::atomic<unsigned> counter{0};
    static const unsigned salt = std::random_device{}();
    return path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "x" + std::to_string(salt);
}

std::vector<std::string> remove_orphan_temp_files(const std::string& folder, std::chrono::seconds min_age) {
    // Exactly unique_temp_name's tail: ".tmp-PID-COUNTERxRANDOM" after a non-empty name.
    static const std::regex kTempName(R"(.+\.tmp-([1-9][0-9]{0,9})-[0-9]{1,10}x[0-9]{1,10})");
    std::vector<std::string> removed;
    std::error_code ec;
    fs::directory_iterator it(folder, ec);
    if (ec)
        return removed;
    const auto now = fs::file_time_type::clock::now();
    for (; it != fs::directory_iterator(); it.increment(ec)) {
        if (ec)
            break;
        const fs::path& path = it->path();
        std::smatch m;
        const std::string name = path.filename().string();
        if (!std::regex_match(name, m, kTempName))
            continue;
        std::error_code sec;
        if (!fs::is_regular_file(fs::symlink_status(path, sec)) || sec)
            continue;
        const auto written = fs::last_write_time(path, sec);
        if (sec || now - written < min_age)
            continue; // a write in progress, or one that just ended
        if (fs::exists("/proc/" + m[1].str(), sec) || sec)
            continue; // its process (or one with its pid) still runs
        if (fs::remove(path, sec) && !sec)
            removed.push_back(path.string());
    }
    return removed;
}

} // namespace charaforge::engine
