#include "model/demo_model.h"

#include "model/model_card.h"

#include "charaforge/engine/model_check.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace charaforge::app {

namespace fs = std::filesystem;

namespace {

// The running program's path ("" where /proc is not mounted).
fs::path programPath() {
    std::error_code ec;
    auto path = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::path() : path;
}

// True when `path` lies under `folder` (both made absolute and free of links first).
[[maybe_unused]] bool isInside(const fs::path& path, const fs::path& folder) {
    std::error_code ec1, ec2;
    const auto rel = fs::weakly_canonical(path, ec1).lexically_relative(fs::weakly_canonical(folder, ec2));
    return !ec1 && !ec2 && !rel.empty() && *rel.begin() != "..";
}

} // namespace

std::vector<std::string> demoModelCandidates() {
    if (const char* env = std::getenv(kDemoModelEnv)) {
        if (*env == '\0')
            return {};
        return {env};
    }
    std::vector<std::string> folders;
    const fs::path program = programPath();
    if (program.empty())
        return folders;
    // The package: PREFIX/bin/charaforge(-cli) and PREFIX/share/charaforge/demo-model (installer/CMakeLists.txt).
    folders.push_back((program.parent_path().parent_path() / "share" / "charaforge" / "demo-model").string());
#if defined(CHARAFORGE_SOURCE_DIR) && defined(CHARAFORGE_BUILD_DIR)
    // A program of the build tree (tools/setup.sh run, the tests) uses the source tree's folder; an installed copy
    // of the same build never does.
    if (isInside(program, CHARAFORGE_BUILD_DIR))
        folders.push_back((fs::path(CHARAFORGE_SOURCE_DIR) / "resources" / "demo-model").string());
#endif
    return folders;
}

std::string demoModelFolder(std::string* problem) {
    std::string first;
    for (const auto& folder : demoModelCandidates()) {
        std::error_code ec;
        if (!fs::is_directory(folder, ec))
            continue; // not installed here: nothing to say
        std::string why;
        const auto card = readModelCard(folder, &why);
        if (card && card->kind == "demo") {
            why = engine::check_model_folder(folder);
            if (why.empty()) {
                if (problem)
                    *problem = first;
                return folder;
            }
        } else if (why.empty()) {
            why = folder + "/charaforge.json: " + (card ? "kind is not \"demo\"" : "missing");
        }
        if (first.empty())
            first = folder + " is not a usable demo model: " + why;
    }
    if (problem)
        *problem = first;
    return {};
}

} // namespace charaforge::app
