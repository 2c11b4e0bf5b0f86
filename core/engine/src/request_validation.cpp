#include "charaforge/engine/request_validation.h"

#include "charaforge/engine/error.h"

#include <cmath>
#include <sstream>

namespace charaforge::engine {
namespace {

std::string shown(float v) {
    std::ostringstream ss;
    ss << v;
    return ss.str();
}

void check_text(std::vector<std::string>& out, const char* field, std::string_view text) {
    const auto bad = first_invalid_utf8(text);
    if (bad != std::string_view::npos)
        out.push_back(std::string(field) + ": invalid UTF-8 at byte " + std::to_string(bad));
}

void check_float(std::vector<std::string>& out, const char* field, float v, float lo, float hi, bool lo_open) {
    if (!std::isfinite(v))
        out.push_back(std::string(field) + ": " + shown(v) + " is not a finite number");
    else if (v > hi || (lo_open ? v <= lo : v < lo))
        out.push_back(std::string(field) + ": " + shown(v) + " is outside " + (lo_open ? "(" : "[") + shown(lo) + ", " +
                      shown(hi) + "]");
}

void check_side(std::vector<std::string>& out, const char* field, int v) {
    if (v < kMinImageSize || v > kMaxImageSize || v % kImageSizeMultiple != 0)
        out.push_back(std::string(field) + ": " + std::to_string(v) + " must be a multiple of " +
                      std::to_string(kImageSizeMultiple) + " from " + std::to_string(kMinImageSize) + " to " +
                      std::to_string(kMaxImageSize));
}

void check_embedding(std::vector<std::string>& out, const char* field, const TextEmbedding& e) {
    auto finite = [](const std::vector<float>& v) {
        for (float x : v)
            if (!std::isfinite(x))
                return false;
        return true;
    };
    if (!finite(e.features) || !finite(e.pooled))
        out.push_back(std::string(field) + ": the embedding holds non-finite values");
}

} // namespace

std::string_view solver_name(SolverKind solver) {
    return kSolverNames.at(static_cast<std::size_t>(solver));
}

std::optional<SolverKind> solver_from_name(std::string_view name) {
    for (std::size_t i = 0; i < kSolverNames.size(); ++i)
        if (kSolverNames[i] == name)
            return static_cast<SolverKind>(i);
    return std::nullopt;
}

std::size_t first_invalid_utf8(std::string_view s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const std::size_t n = s.size();
    std::size_t i = 0;
    while (i < n) {
        const unsigned char c = p[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t len = 0;
        uint32_t cp = 0, min = 0;
        if ((c & 0xE0) == 0xC0) {
            len = 2, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return i; // a continuation byte without a lead, or 0xF8..0xFF
        }
        if (i + len > n)
            return i;
        for (std::size_t k = 1; k < len; ++k) {
            if ((p[i + k] & 0xC0) != 0x80)
                return i;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return i; // overlong form, beyond Unicode, or a UTF-16 surrogate
        i += len;
    }
    return std::string_view::npos;
}

void append_utf8(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

std::vector<std::string> request_problems(const GenerationRequest& r) {
    std::vector<std::string> out;
    check_text(out, "prompt", r.prompt);
    check_text(out, "negative prompt", r.negative_prompt);
    if (r.system_prompt)
        check_text(out, "system prompt", *r.system_prompt);
    check_side(out, "width", r.width);
    check_side(out, "height", r.height);
    if (r.steps < kMinSteps || r.steps > kMaxSteps)
        out.push_back("steps: " + std::to_string(r.steps) + " must be from " + std::to_string(kMinSteps) + " to " +
                      std::to_string(kMaxSteps));
    if (r.seed > kMaxSeed)
        out.push_back("seed: " + std::to_string(r.seed) + " is above " + std::to_string(kMaxSeed) +
                      " (the noise generator uses 32-bit seeds)");
    check_float(out, "guidance", r.guidance, 0.0f, kMaxGuidance, false);
    check_float(out, "shift", r.shift, 0.0f, kMaxShift, true);
    check_float(out, "cfg_trunc", r.cfg_trunc, 0.0f, 1.0f, false);
    check_float(out, "renorm_cfg", r.renorm_cfg, 0.0f, kMaxGuidance, false);
    if (r.cond)
        check_embedding(out, "cond", *r.cond);
    if (r.uncond)
        check_embedding(out, "uncond", *r.uncond);
    return out;
}

void validate_request(const GenerationRequest& r, const std::string& what) {
    const auto problems = request_problems(r);
    if (problems.empty())
        return;
    std::string msg = what + ": ";
    for (std::size_t i = 0; i < problems.size(); ++i)
        msg += (i ? "; " : "") + problems[i];
    throw EngineError(msg);
}

} // namespace charaforge::engine
