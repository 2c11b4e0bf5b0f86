#pragma once
// Test helpers for the demo model (tests only; the real one is resources/demo-model, trained by
// charaforge-demo-train): a stand-in folder and the environment variable that points the app at it.
#include "charaforge/engine/pipeline.h"
#include "model/demo_model.h"

#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>

namespace charaforge::test {

// charaforge-cli make-test-model's folder plus a card that says it is the demo model.
inline std::string make_demo_stand_in(const std::string& dir, int native_resolution = 256) {
    engine::make_test_model(dir);
    std::ofstream(dir + "/charaforge.json")
        << R"({"name": "stand-in demo model", "kind": "demo", "licence": "test only", "training_data": "none", )"
        << R"("native_resolution": )" << native_resolution << "}\n";
    return dir;
}

// A complete model folder that is neither the demo model nor the test model (as a user's NewBie folder is):
// the test model without its marker.
inline std::string make_user_model(const std::string& dir) {
    engine::make_test_model(dir);
    std::ofstream(dir + "/model_index.json") << R"({"_class_name": "NewbiePipeline"})"
                                             << "\n";
    return dir;
}

// Sets CHARAFORGE_DEMO_MODEL for its lifetime (std::nullopt: unset), then puts the old value back.
class DemoModelEnv {
public:
    explicit DemoModelEnv(const std::optional<std::string>& value) {
        if (const char* old = std::getenv(app::kDemoModelEnv))
            old_ = old;
        set(value);
    }
    ~DemoModelEnv() { set(old_); }
    DemoModelEnv(const DemoModelEnv&) = delete;
    DemoModelEnv& operator=(const DemoModelEnv&) = delete;

private:
    static void set(const std::optional<std::string>& value) {
        if (value)
            setenv(app::kDemoModelEnv, value->c_str(), 1);
        else
            unsetenv(app::kDemoModelEnv);
    }
    std::optional<std::string> old_;
};

} // namespace charaforge::test
