#pragma once
// What a generation request may hold, checked before any work (text encoding, sampling) by one function that
// the CLI, the queue and the GUI share. Torch-free.
#include "charaforge/engine/pipeline.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace charaforge::engine {

// Image sides: multiples of 16 (VAE factor 8 x patch size 2) from 16 to 8192 pixels.
inline constexpr int kImageSizeMultiple = 16;
inline constexpr int kMinImageSize = 16;
inline constexpr int kMaxImageSize = 8192;
inline constexpr int kMinSteps = 1;
inline constexpr int kMaxSteps = 1000;
// Seeds are 0 .. 2^32 - 1. The initial noise comes from LibTorch's CPU generator (mt19937), which keeps only
// the low 32 bits of its seed, as PyTorch's torch.manual_seed does: a larger seed would only alias a smaller
// one (N and N + 2^32 gave the same image while the record stored different seeds), so it is refused.
inline constexpr uint64_t kMaxSeed = 0xFFFFFFFFull;
// Guidance, shift and the other float settings must be finite and within these magnitudes.
inline constexpr float kMaxGuidance = 100.0f;
inline constexpr float kMaxShift = 1000.0f;

// The sampler names of the command line, the queue, the variants and the PNG records, in the order
// SolverKind lists them: "dpm" is DPM-Solver++ 2M, the official sample script's `--solver dpm`.
inline constexpr std::array<std::string_view, 3> kSolverNames{"euler", "midpoint", "dpm"};
std::string_view solver_name(SolverKind solver);
// The solver a name stands for (exactly one of kSolverNames), nullopt for any other text.
std::optional<SolverKind> solver_from_name(std::string_view name);

// The byte offset of the first invalid UTF-8 sequence in `text` (overlong forms, surrogates and code points
// above U+10FFFF are invalid), or std::string_view::npos when `text` is valid UTF-8.
std::size_t first_invalid_utf8(std::string_view text);

// Appends `code_point` to `out` in UTF-8 (1 to 4 bytes). A surrogate (U+D800..U+DFFF) is written in its 3-byte
// form, which first_invalid_utf8 refuses: a UTF-16 text with an unpaired surrogate stays detectably invalid.
void append_utf8(std::string& out, char32_t code_point);

// Every problem of `r`, one line each ("prompt: invalid UTF-8 at byte 12", "guidance: nan is not a finite
// number"); empty when the request can be sampled.
std::vector<std::string> request_problems(const GenerationRequest& r);

// Throws EngineError "request: <problem>; <problem>" when request_problems(r) is not empty. `what` names the
// request in the message ("request 3", "job 17").
void validate_request(const GenerationRequest& r, const std::string& what = "request");

} // namespace charaforge::engine
