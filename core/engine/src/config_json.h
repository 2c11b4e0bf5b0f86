#pragma once
// A model component's config.json, read field by field: every field that is present is checked for its type and
// range, and every error names the component, the file, the field and what is allowed
// ("nextdit: /m/transformer/config.json: 'patch_size' must be an integer in [1, 16], got 0").
#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace charaforge::engine {

class ConfigJson {
public:
    // Parses `text` (empty text: no config file, an empty object). Throws EngineError when it is not a JSON object.
    ConfigJson(std::string component, std::string file, const std::string& text);

    // The sub-object `field` (an empty object when absent or null; an error when it is not an object).
    ConfigJson object(const char* field) const;
    bool has(const char* field) const; // present and not null

    // A field's value, or `fallback` when absent or null. Wrong type or out of [lo, hi] is an error.
    int64_t integer(const char* field, int64_t fallback, int64_t lo, int64_t hi) const;
    // A finite number in [lo, hi], or in (lo, hi] when `lo_open`.
    double number(const char* field, double fallback, double lo, double hi, bool lo_open = false) const;
    bool boolean(const char* field, bool fallback) const;
    std::optional<std::string> string(const char* field) const;
    // An array of integers, each in [lo, hi]; `count` > 0 requires exactly that many.
    std::optional<std::vector<int64_t>> integers(const char* field, std::size_t count, int64_t lo, int64_t hi) const;
    // An integer field that, when present, must equal `from_weights` (architecture read from tensor shapes).
    void check_agrees(const char* field, int64_t from_weights) const;

    [[noreturn]] void fail(const std::string& field, const std::string& what) const;
    const nlohmann::json& json() const { return *obj_; }
    const std::string& file() const { return file_; }

private:
    ConfigJson(const ConfigJson& parent, const nlohmann::json* obj, const std::string& path);
    const nlohmann::json* find(const char* field) const;
    std::string name(const std::string& field) const;

    std::shared_ptr<const nlohmann::json> root_;
    const nlohmann::json* obj_;
    std::string component_, file_, path_;
};

} // namespace charaforge::engine
