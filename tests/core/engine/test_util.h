#pragma once
// Shared helpers for engine tests: temporary folders, tolerances derived from a dtype's precision.
//
// Deletion goes through nftw, not std::filesystem::remove_all: the PyTorch wheel's libtorch_cpu.so (the
// GPU machine's LibTorch) exports its own copy of some std::filesystem functions, and its remove_all
// crashed when called from code built with g++ 13.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <ftw.h>
#include <stdexcept>
#include <stdlib.h>
#include <string>

namespace charaforge::test {

inline void remove_tree(const std::filesystem::path& root) {
    nftw(
        root.c_str(), [](const char* path, const struct stat*, int, struct FTW*) { return std::remove(path); }, 16,
        FTW_DEPTH | FTW_PHYS);
}

inline std::filesystem::path make_temp_dir(const std::string& tag) {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/charaforge-" + tag + "-XXXXXX";
    if (!mkdtemp(tmpl.data()))
        throw std::runtime_error("mkdtemp failed for " + tmpl);
    return tmpl;
}

// bfloat16 keeps 8 significant bits (7 stored + the implicit one): rounding to nearest has a relative
// error of at most 2^-8, the unit roundoff. One unit in the last place at magnitude v is at most 2^-7 |v|.
inline constexpr double kBf16UnitRoundoff = 1.0 / 256.0;

// The largest gap between two neighbouring bf16 values around magnitude `v` (one ulp): a result rounded once
// to bf16 may sit one ulp away from a reference rounded from a differently ordered fp32 sum.
inline double bf16_ulp(double v) {
    const double a = std::fabs(v);
    if (a == 0.0)
        return std::ldexp(1.0, -133); // the smallest subnormal step
    return std::ldexp(1.0, std::ilogb(a) - 7);
}

// First-order worst-case bound on |fp32 result - bf16 result| for a computation whose values have magnitude
// `scale` (the reference tensor's max |x|) and that rounds to bf16 `roundings` times in sequence, each step
// well conditioned (normalised layers): every rounding adds at most u * scale, errors add linearly.
// Independent of the CPU's kernels: any correctly rounded bf16 arithmetic stays inside it.
inline double bf16_bound(double scale, int roundings) {
    return roundings * kBf16UnitRoundoff * scale;
}

class TempDir {
public:
    TempDir() : path_(make_temp_dir("test")) {}
    ~TempDir() { remove_tree(path_); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::string str() const { return path_.string(); }
    std::string file(const std::string& name) const { return (path_ / name).string(); }

private:
    std::filesystem::path path_;
};

} // namespace charaforge::test
