// Ref: huggingface/safetensors format (docs "Format"): u64 LE header length, JSON header, data section.
#include "safetensors.h"

#include "charaforge/engine/error.h"
#include "file_util.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <set>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace charaforge::engine {
namespace {

[[noreturn]] void fail(const std::string& file, const std::string& what) {
    throw EngineError("safetensors: " + file + ": " + what);
}

struct DTypeEntry {
    std::string_view name;
    DType dtype;
    std::size_t size;
};
constexpr DTypeEntry kDTypes[] = {
    {"F64", DType::F64, 8},         {"F32", DType::F32, 4},         {"F16", DType::F16, 2}, {"BF16", DType::BF16, 2},
    {"F8_E4M3", DType::F8_E4M3, 1}, {"F8_E5M2", DType::F8_E5M2, 1}, {"I64", DType::I64, 8}, {"I32", DType::I32, 4},
    {"I16", DType::I16, 2},         {"I8", DType::I8, 1},           {"U8", DType::U8, 1},   {"BOOL", DType::Bool, 1},
};

uint64_t read_u64_le(const uint8_t* p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i)
        v = (v << 8) | p[i];
    return v;
}

} // namespace

std::string_view dtype_name(DType dtype) {
    for (const auto& e : kDTypes)
        if (e.dtype == dtype)
            return e.name;
    return "?";
}

std::size_t dtype_size(DType dtype) {
    for (const auto& e : kDTypes)
        if (e.dtype == dtype)
            return e.size;
    return 0;
}

int64_t TensorInfo::numel() const {
    int64_t n = 1;
    for (auto d : shape)
        n *= d;
    return n;
}

SafetensorsHeader parse_safetensors_header(std::string_view json_text, uint64_t data_size, const std::string& file) {
    nlohmann::json root;
    // nlohmann keeps the last of duplicate keys: a header naming one tensor twice would silently lose one.
    std::set<std::string> names;
    std::string duplicate;
    auto watch_keys = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
        if (event == nlohmann::json::parse_event_t::key && depth == 1 && duplicate.empty() &&
            !names.insert(parsed.get<std::string>()).second)
            duplicate = parsed.get<std::string>();
        return true;
    };
    try {
        root = nlohmann::json::parse(json_text.begin(), json_text.end(), watch_keys);
    } catch (const nlohmann::json::exception& e) {
        fail(file, std::string("header is not valid JSON (") + e.what() + ")");
    }
    if (!duplicate.empty())
        fail(file, "the header names tensor '" + duplicate + "' twice");
    if (!root.is_object())
        fail(file, "header is not a JSON object");

    SafetensorsHeader header;
    for (auto it = root.begin(); it != root.end(); ++it) {
        const std::string& key = it.key();
        const auto& value = it.value();
        if (key == "__metadata__") {
            if (!value.is_object())
                fail(file, "__metadata__ is not an object");
            for (auto m = value.begin(); m != value.end(); ++m) {
                if (!m.value().is_string())
                    fail(file, "__metadata__ value of '" + m.key() + "' is not a string");
                header.metadata[m.key()] = m.value().get<std::string>();
            }
            continue;
        }
        auto where = [&](const std::string& what) { fail(file, "tensor '" + key + "': " + what); };
        if (!value.is_object())
            where("entry is not an object");
        auto dt = value.find("dtype");
        auto sh = value.find("shape");
        auto off = value.find("data_offsets");
        if (dt == value.end() || !dt->is_string())
            where("missing or non-string dtype");
        if (sh == value.end() || !sh->is_array())
            where("missing or non-array shape");
        if (off == value.end() || !off->is_array() || off->size() != 2)
            where("data_offsets must be [begin, end]");

        TensorInfo info;
        info.name = key;
        const std::string dtype_str = dt->get<std::string>();
        auto entry = std::find_if(std::begin(kDTypes), std::end(kDTypes),
                                  [&](const DTypeEntry& e) { return e.name == dtype_str; });
        if (entry == std::end(kDTypes))
            where("unsupported dtype '" + dtype_str + "'");
        info.dtype = entry->dtype;

        // Byte size with overflow checks: a hostile shape must not wrap around.
        uint64_t bytes = entry->size;
        if (sh->size() > 16)
            where("more than 16 dimensions");
        for (const auto& d : *sh) {
            if (!d.is_number_unsigned())
                where("shape entries must be non-negative integers");
            const uint64_t dim = d.get<uint64_t>();
            if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
                where("dimension too large");
            if (dim != 0 && bytes > std::numeric_limits<uint64_t>::max() / dim)
                where("shape overflows");
            bytes *= dim;
            info.shape.push_back(static_cast<int64_t>(dim));
        }
        for (const auto& o : *off)
            if (!o.is_number_unsigned())
                where("data_offsets must be non-negative integers");
        info.begin = (*off)[0].get<uint64_t>();
        info.end = (*off)[1].get<uint64_t>();
        if (info.begin > info.end)
            where("data_offsets begin > end");
        if (info.end > data_size)
            where("data_offsets end " + std::to_string(info.end) + " is past the data section (" +
                  std::to_string(data_size) + " bytes)");
        if (info.end - info.begin != bytes)
            where("byte range " + std::to_string(info.end - info.begin) + " does not match dtype and shape (" +
                  std::to_string(bytes) + " bytes)");
        header.tensors.push_back(std::move(info));
    }

    // Ranges may not overlap (empty tensors occupy no bytes and are exempt).
    std::vector<const TensorInfo*> by_offset;
    for (const auto& t : header.tensors)
        if (t.end > t.begin)
            by_offset.push_back(&t);
    std::sort(by_offset.begin(), by_offset.end(), [](auto a, auto b) { return a->begin < b->begin; });
    for (std::size_t i = 1; i < by_offset.size(); ++i)
        if (by_offset[i]->begin < by_offset[i - 1]->end)
            fail(file, "tensors '" + by_offset[i - 1]->name + "' and '" + by_offset[i]->name + "' overlap");

    std::sort(header.tensors.begin(), header.tensors.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
    return header;
}

SafetensorsHeader parse_safetensors_bytes(std::span<const uint8_t> bytes, const std::string& file) {
    if (bytes.size() < 8)
        fail(file, "file is shorter than the 8-byte header length");
    const uint64_t header_len = read_u64_le(bytes.data());
    if (header_len > kMaxSafetensorsHeaderBytes)
        fail(file, "header length " + std::to_string(header_len) + " exceeds the limit");
    if (header_len > bytes.size() - 8)
        fail(file, "header length " + std::to_string(header_len) + " is past the end of the file");
    std::string_view json(reinterpret_cast<const char*>(bytes.data() + 8), header_len);
    return parse_safetensors_header(json, bytes.size() - 8 - header_len, file);
}

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path) {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever (it is refused below).
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        fail(path, std::string("cannot open: ") + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        fail(path, "not a regular file");
    }
    map_size_ = static_cast<std::size_t>(st.st_size);
    if (map_size_ < 8) {
        ::close(fd);
        fail(path, "file is shorter than the 8-byte header length");
    }
    void* p = ::mmap(nullptr, map_size_, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (p == MAP_FAILED)
        fail(path, std::string("cannot map: ") + std::strerror(errno));
    map_ = static_cast<const uint8_t*>(p);
    try {
        header_ = parse_safetensors_bytes({map_, map_size_}, path);
    } catch (...) {
        ::munmap(const_cast<uint8_t*>(map_), map_size_);
        throw;
    }
    data_offset_ = 8 + read_u64_le(map_);
}

SafetensorsFile::~SafetensorsFile() {
    if (map_)
        ::munmap(const_cast<uint8_t*>(map_), map_size_);
}

const TensorInfo* SafetensorsFile::find(std::string_view name) const {
    auto it = std::lower_bound(header_.tensors.begin(), header_.tensors.end(), name,
                               [](const TensorInfo& t, std::string_view n) { return t.name < n; });
    return (it != header_.tensors.end() && it->name == name) ? &*it : nullptr;
}

const TensorInfo& SafetensorsFile::at(std::string_view name) const {
    if (const auto* t = find(name))
        return *t;
    fail(path_, "no tensor named '" + std::string(name) + "'");
}

std::span<const uint8_t> SafetensorsFile::bytes(const TensorInfo& info) const {
    return {map_ + data_offset_ + info.begin, static_cast<std::size_t>(info.end - info.begin)};
}

void write_safetensors(const std::string& path, const std::vector<TensorBlob>& tensors,
                       const std::map<std::string, std::string>& metadata) {
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!metadata.empty())
        header["__metadata__"] = metadata;
    uint64_t offset = 0;
    for (const auto& t : tensors) {
        int64_t numel = 1;
        for (auto d : t.shape)
            numel *= d;
        if (static_cast<uint64_t>(numel) * dtype_size(t.dtype) != t.data.size())
            throw EngineError("safetensors: " + path + ": tensor '" + t.name + "' data size does not match its shape");
        header[t.name] = {{"dtype", std::string(dtype_name(t.dtype))},
                          {"shape", t.shape},
                          {"data_offsets", {offset, offset + t.data.size()}}};
        offset += t.data.size();
    }
    std::string json = header.dump();
    json.append((8 - json.size() % 8) % 8, ' '); // keep the data section 8-byte aligned
    std::string out;
    out.reserve(8 + json.size() + offset);
    uint64_t len = json.size();
    for (int i = 0; i < 8; ++i)
        out.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
    out += json;
    for (const auto& t : tensors)
        out.append(reinterpret_cast<const char*>(t.data.data()), t.data.size());
    write_file_atomic(path, out);
}

float f8_e4m3fn_to_float(uint8_t v) {
    const int sign = v >> 7, exp = (v >> 3) & 0xf, man = v & 0x7;
    float r;
    if (exp == 0xf && man == 0x7)
        r = std::numeric_limits<float>::quiet_NaN(); // e4m3fn has no infinities
    else if (exp == 0)
        r = std::ldexp(static_cast<float>(man) / 8.0f, -6);
    else
        r = std::ldexp(1.0f + static_cast<float>(man) / 8.0f, exp - 7);
    return sign ? -r : r;
}

float f8_e5m2_to_float(uint8_t v) {
    const int sign = v >> 7, exp = (v >> 2) & 0x1f, man = v & 0x3;
    float r;
    if (exp == 0x1f)
        r = man ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
    else if (exp == 0)
        r = std::ldexp(static_cast<float>(man) / 4.0f, -14);
    else
        r = std::ldexp(1.0f + static_cast<float>(man) / 4.0f, exp - 15);
    return sign ? -r : r;
}

} // namespace charaforge::engine
