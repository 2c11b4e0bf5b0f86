#pragma once
// safetensors reading (memory-mapped, every header field checked) and writing.
// Torch-free on purpose: the fuzz target and the inspector use it without LibTorch.
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace charaforge::engine {

enum class DType { F64, F32, F16, BF16, F8_E4M3, F8_E5M2, I64, I32, I16, I8, U8, Bool };

std::string_view dtype_name(DType dtype);
std::size_t dtype_size(DType dtype);

struct TensorInfo {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    uint64_t begin = 0; // offsets into the data section (after the header)
    uint64_t end = 0;
    int64_t numel() const;
};

struct SafetensorsHeader {
    std::vector<TensorInfo> tensors; // sorted by name
    std::map<std::string, std::string> metadata;
};

// Largest header accepted; the biggest real headers (thousands of tensors) are a few hundred KiB.
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100ull << 20;

// Parses and validates a header: JSON object, known dtypes, non-negative shapes whose byte size matches
// the offsets, offsets inside `data_size`, no overlapping ranges. `file` only names the source in errors.
// Throws EngineError ("safetensors: FILE: ...") on any violation.
SafetensorsHeader parse_safetensors_header(std::string_view json, uint64_t data_size, const std::string& file);

// Validates a whole file image held in memory (8-byte length, header, data).
SafetensorsHeader parse_safetensors_bytes(std::span<const uint8_t> bytes, const std::string& file);

class SafetensorsFile {
public:
    explicit SafetensorsFile(const std::string& path); // maps the file read-only and validates the header
    ~SafetensorsFile();
    SafetensorsFile(const SafetensorsFile&) = delete;
    SafetensorsFile& operator=(const SafetensorsFile&) = delete;

    const std::string& path() const { return path_; }
    const std::vector<TensorInfo>& tensors() const { return header_.tensors; }
    const std::map<std::string, std::string>& metadata() const { return header_.metadata; }
    const TensorInfo* find(std::string_view name) const;
    const TensorInfo& at(std::string_view name) const; // throws naming the file and key
    std::span<const uint8_t> bytes(const TensorInfo& info) const;

private:
    std::string path_;
    SafetensorsHeader header_;
    const uint8_t* map_ = nullptr;
    std::size_t map_size_ = 0;
    uint64_t data_offset_ = 0;
};

// A tensor to write: raw little-endian bytes with dtype and shape.
struct TensorBlob {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    std::vector<uint8_t> data;
};

// Writes atomically (temporary file in the same folder, flush, rename).
void write_safetensors(const std::string& path, const std::vector<TensorBlob>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// Float decoding of the 8-bit float formats, read as data (LibTorch 1.13 has no float8 dtypes).
float f8_e4m3fn_to_float(uint8_t v);
float f8_e5m2_to_float(uint8_t v);

} // namespace charaforge::engine
