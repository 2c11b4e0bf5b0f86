#pragma once
// Shared helpers for engine tests: temporary folders.
//
// Deletion goes through nftw, not std::filesystem::remove_all: the PyTorch wheel's libtorch_cpu.so (the
// GPU machine's LibTorch) exports its own copy of some std::filesystem functions, and its remove_all
// crashed when called from code built with g++ 13.
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
