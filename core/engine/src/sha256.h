#pragma once
// SHA-256 (FIPS 180-4), to key caches by file content. Torch-free.
#include <cstdint>
#include <span>
#include <string>

namespace charaforge::engine {

// 64 lower-case hex digits.
std::string sha256_hex(std::span<const uint8_t> bytes);

} // namespace charaforge::engine
