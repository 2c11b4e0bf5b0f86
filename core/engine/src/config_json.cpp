#include "config_json.h"

#include "charaforge/engine/error.h"

#include <cmath>
#include <sstream>

namespace charaforge::engine {
namespace {

std::string shown(const nlohmann::json& v) {
    auto s = v.dump();
    if (s.size() > 60)
        s = s.substr(0, 57) + "...";
    return s;
}

std::string num(double v) {
    std::ostringstream ss;
    ss << v;
    return ss.str();
}

} // namespace

ConfigJson::ConfigJson(std::string component, std::string file, const std::string& text)
    : component_(std::move(component)), file_(std::move(file)) {
    auto root = std::make_shared<nlohmann::json>(nlohmann::json::object());
    if (!text.empty()) {
        try {
            *root = nlohmann::json::parse(text);
        } catch (const std::exception& e) {
            throw EngineError(component_ + ": " + file_ + " is not valid JSON: " + e.what());
        }
        if (!root->is_object())
            throw EngineError(component_ + ": " + file_ + " is not a JSON object");
    }
    root_ = root;
    obj_ = root_.get();
}

ConfigJson::ConfigJson(const ConfigJson& parent, const nlohmann::json* obj, const std::string& path)
    : root_(parent.root_), obj_(obj), component_(parent.component_), file_(parent.file_), path_(path) {}

std::string ConfigJson::name(const std::string& field) const {
    return path_.empty() ? field : path_ + "." + field;
}

void ConfigJson::fail(const std::string& field, const std::string& what) const {
    throw EngineError(component_ + ": " + file_ + ": '" + name(field) + "' " + what);
}

const nlohmann::json* ConfigJson::find(const char* field) const {
    auto it = obj_->find(field);
    if (it == obj_->end() || it->is_null())
        return nullptr;
    return &*it;
}

bool ConfigJson::has(const char* field) const {
    return find(field) != nullptr;
}

ConfigJson ConfigJson::object(const char* field) const {
    static const nlohmann::json empty = nlohmann::json::object();
    const auto* v = find(field);
    if (!v)
        return ConfigJson(*this, &empty, name(field));
    if (!v->is_object())
        fail(field, "must be an object, got " + shown(*v));
    return ConfigJson(*this, v, name(field));
}

int64_t ConfigJson::integer(const char* field, int64_t fallback, int64_t lo, int64_t hi) const {
    const auto* v = find(field);
    if (!v)
        return fallback;
    const std::string allowed = "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    // A float with an integral value (diffusers writes 2.0 at times) is accepted when it is in range.
    int64_t out = 0;
    if (v->is_number_integer() && !(v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(INT64_MAX))) {
        out = v->get<int64_t>();
    } else if (v->is_number_float() && std::isfinite(v->get<double>()) &&
               std::trunc(v->get<double>()) == v->get<double>() && std::fabs(v->get<double>()) < 9.0e15) {
        out = static_cast<int64_t>(v->get<double>());
    } else {
        fail(field, "must be " + allowed + ", got " + shown(*v));
    }
    if (out < lo || out > hi)
        fail(field, "must be " + allowed + ", got " + shown(*v));
    return out;
}

double ConfigJson::number(const char* field, double fallback, double lo, double hi, bool lo_open) const {
    const auto* v = find(field);
    if (!v)
        return fallback;
    const std::string allowed = std::string("a number in ") + (lo_open ? "(" : "[") + num(lo) + ", " + num(hi) + "]";
    if (!v->is_number())
        fail(field, "must be " + allowed + ", got " + shown(*v));
    const double out = v->get<double>();
    if (!std::isfinite(out) || out > hi || (lo_open ? out <= lo : out < lo))
        fail(field, "must be " + allowed + ", got " + shown(*v));
    return out;
}

bool ConfigJson::boolean(const char* field, bool fallback) const {
    const auto* v = find(field);
    if (!v)
        return fallback;
    if (!v->is_boolean())
        fail(field, "must be true or false, got " + shown(*v));
    return v->get<bool>();
}

std::optional<std::string> ConfigJson::string(const char* field) const {
    const auto* v = find(field);
    if (!v)
        return std::nullopt;
    if (!v->is_string())
        fail(field, "must be a string, got " + shown(*v));
    return v->get<std::string>();
}

std::optional<std::vector<int64_t>> ConfigJson::integers(const char* field, std::size_t count, int64_t lo,
                                                         int64_t hi) const {
    const auto* v = find(field);
    if (!v)
        return std::nullopt;
    const std::string allowed =
        (count ? "an array of " + std::to_string(count) + " integers" : "an array of integers") + " in [" +
        std::to_string(lo) + ", " + std::to_string(hi) + "]";
    if (!v->is_array() || (count && v->size() != count))
        fail(field, "must be " + allowed + ", got " + shown(*v));
    std::vector<int64_t> out;
    for (const auto& e : *v) {
        if (!e.is_number_integer() || (e.is_number_unsigned() && e.get<uint64_t>() > uint64_t(INT64_MAX)) ||
            e.get<int64_t>() < lo || e.get<int64_t>() > hi)
            fail(field, "must be " + allowed + ", got " + shown(*v));
        out.push_back(e.get<int64_t>());
    }
    return out;
}

void ConfigJson::check_agrees(const char* field, int64_t from_weights) const {
    const auto* v = find(field);
    if (!v)
        return;
    if (!v->is_number_integer() || (v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(INT64_MAX)) ||
        v->get<int64_t>() != from_weights)
        fail(field, "must be " + std::to_string(from_weights) + " (what the weights have), got " + shown(*v));
}

} // namespace charaforge::engine
