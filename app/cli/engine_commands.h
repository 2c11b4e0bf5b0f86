#pragma once
// charaforge-cli commands that need only the engine (they build on the GPU machine too).
#include <string>
#include <vector>

namespace charaforge::cli {

using Args = std::vector<std::string>;

int cmd_make_test_model(const Args& args);
int cmd_inspect(const Args& args);
int cmd_run_component(const Args& args);
int cmd_generate(const Args& args);
int cmd_tokenize(const Args& args);

// Small option reader: --name value / --flag. Throws std::invalid_argument naming the option.
class Options {
public:
    Options(const Args& args, std::vector<std::string> value_options, std::vector<std::string> flags = {});
    bool has(const std::string& name) const;
    std::string get(const std::string& name, const std::string& fallback = {}) const;
    std::string require(const std::string& name) const;
    long long get_int(const std::string& name, long long fallback) const;
    double get_double(const std::string& name, double fallback) const;
    const std::vector<std::string>& positional() const { return positional_; }

private:
    std::vector<std::pair<std::string, std::string>> values_;
    std::vector<std::string> positional_;
};

} // namespace charaforge::cli
