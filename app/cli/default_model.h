#pragma once
// The model of a command given no --model (generate, queue add).
#include <string>

namespace charaforge::cli {

// app::chooseModel's folder (CHARAFORGE_MODEL, the window's remembered folder, else the built-in model: the demo
// model that ships with the app, or the test model); the engine-only build has only the demo model and throws
// std::invalid_argument ("give --model DIR") without it. Says which on standard error, e.g. "no --model given:
// using the built-in demo model DIR".
std::string model_without_option();

} // namespace charaforge::cli
