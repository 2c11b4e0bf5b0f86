#pragma once
// The temporary files of atomic writes (write_file_atomic, the PNG writer) and the clean-up of those a killed
// process left behind. Torch-free, Qt-free: the engine and core/imaging share it.
#include <chrono>
#include <string>
#include <vector>

namespace charaforge::engine {

// `<path>.tmp-<pid>-<counter>x<random>`: the temporary file an atomic write of `path` writes and renames;
// unique per write, also for two writes of one process at once.
std::string unique_temp_name(const std::string& path);

// Removes, in `folder` itself (not below it), the regular files named like unique_temp_name's whose process
// is gone (no /proc/<pid>) and that were last written at least `min_age` ago: what a process killed during a
// write left. Nothing else is touched: other names, folders, links, files of live processes, young files.
// Returns the paths removed; a folder that cannot be read removes nothing.
std::vector<std::string> remove_orphan_temp_files(const std::string& folder,
                                                  std::chrono::seconds min_age = std::chrono::minutes(1));

} // namespace charaforge::engine
