#pragma once
// Where the demo model that ships with the app is (issue 14): the model every start and command uses until the
// user chooses one. Plain C++ (no Qt, no torch) so that the engine-only charaforge-cli finds it too.
#include <string>
#include <vector>

namespace charaforge::app {

// The environment variable that replaces the places looked in (tests): set, it is the only folder tried; set
// and empty, there is no demo model.
inline constexpr const char* kDemoModelEnv = "CHARAFORGE_DEMO_MODEL";

// The folders tried, in order: $CHARAFORGE_DEMO_MODEL when set; else the installed one (PREFIX/share/charaforge/
// demo-model beside PREFIX/bin of the running program) and, for a program run from its build tree
// (tools/setup.sh run, the tests), the source tree's resources/demo-model.
std::vector<std::string> demoModelCandidates();

// The first of those folders that is the demo model (isDemoModel) and holds every part (engine::check_model_folder:
// file headers only, no weights loaded); "" when none is. A folder that exists but is not usable is passed over,
// with why in `problem` (the first such one).
std::string demoModelFolder(std::string* problem = nullptr);

} // namespace charaforge::app
