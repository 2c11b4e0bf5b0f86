#pragma once
// Small file helpers shared by the engine (no torch).
#include <string>
#include <string_view>

namespace charaforge::engine {

// Writes `data` to `path` so that a reader never sees a half-written file: a temporary file in the
// same folder is written, flushed (fsync) and renamed over the target. Throws EngineError.
void write_file_atomic(const std::string& path, std::string_view data);

// Reads a whole file; throws EngineError naming the file when it cannot.
std::string read_file(const std::string& path);

} // namespace charaforge::engine
