#pragma once
// MD5 (RFC 1321), only to compare a downloaded weight file with its published checksum. Torch-free.
#include <cstdint>
#include <span>
#include <string>

namespace charaforge::engine {

// 32 lower-case hex digits.
std::string md5_hex(std::span<const uint8_t> bytes);
// Streams the file; throws EngineError naming the file when it cannot be read.
std::string md5_file_hex(const std::string& path);

} // namespace charaforge::engine
