#include "charaforge/engine/error.h"
#include "charaforge/engine/tools.h"
#include "model_folder.h"

#include <filesystem>
#include <sstream>

namespace charaforge::engine {

std::string inspect_checkpoint(const std::string& path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        return locate_model(path, Require::Nothing).summary();
    SafetensorsFile f(path);
    std::ostringstream ss;
    uint64_t params = 0;
    for (const auto& t : f.tensors()) {
        ss << t.name << "\t" << dtype_name(t.dtype) << "\t[";
        for (std::size_t i = 0; i < t.shape.size(); ++i)
            ss << (i ? ", " : "") << t.shape[i];
        ss << "]\n";
        params += static_cast<uint64_t>(t.numel());
    }
    for (const auto& [k, v] : f.metadata())
        ss << "metadata " << k << " = " << v << "\n";
    ss << f.tensors().size() << " tensors, " << params << " values\n";
    ss << "kind: " << checkpoint_kind_name(classify_checkpoint(f)) << "\n";
    return ss.str();
}

} // namespace charaforge::engine
