#pragma once
// Small file helpers shared by the engine (no torch).
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace charaforge::engine {

// Writes `data` to `path` so that a reader never sees a half-written file: a temporary file in the
// same folder is written, flushed (fsync) and renamed over the target. Throws EngineError.
void write_file_atomic(const std::string& path, std::string_view data);

// `name` in each of `subdirs` of the running executable's folder (paths relative to it, in that order), or none
// when /proc/self/exe cannot be read: where the installed program's own companion files (the SentencePiece
// bridge and probe under lib/charaforge) are looked for before the build tree's.
std::vector<std::string> beside_executable(const std::string& name, std::initializer_list<const char*> subdirs);

// Reads a whole file; throws EngineError naming the file when it cannot.
std::string read_file(const std::string& path);

} // namespace charaforge::engine
