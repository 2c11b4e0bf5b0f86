#include "default_model.h"

#include "progress_line.h"

#include "model/demo_model.h"
#include "model/model_card.h"

#ifndef CHARAFORGE_ENGINE_ONLY
#include "queue/model_setup.h"
#endif

#include <stdexcept>

namespace charaforge::cli {

std::string model_without_option() {
    std::string problem; // a demo model folder that is there but not usable
    [[maybe_unused]] const std::string demo = app::demoModelFolder(&problem);
#ifndef CHARAFORGE_ENGINE_ONLY
    const app::ModelChoice choice = app::chooseModel({});
    const std::string model = choice.path.toStdString();
    const bool builtIn = choice.builtIn;
#else
    if (demo.empty())
        throw std::invalid_argument("--model: not given, and there is no demo model" +
                                    (problem.empty() ? std::string() : " (" + problem + ")") + ": give --model DIR");
    const std::string model = demo;
    const bool builtIn = true;
#endif
    if (builtIn && !problem.empty())
        progress::note(problem);
    std::string which = "using " + model + app::modelRemark(model); // CHARAFORGE_MODEL or the window's folder
    if (builtIn && app::modelKind(model) == app::ModelKind::Demo)
        which = "using the built-in demo model " + model + " (for real images give --model with the NewBie folder)";
    else if (builtIn)
        which = "using the built-in test model " + model + " (random weights: its images are noise)";
    progress::note("no --model given: " + which);
    return model;
}

} // namespace charaforge::cli
