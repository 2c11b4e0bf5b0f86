#pragma once
// The model the studio opens at start.
#include <QString>
#include <QStringList>

namespace charaforge::ui {
class MainWindow;
}

namespace charaforge::app {

class StudioController;

// Opens chooseModel(arguments)'s folder (--model, CHARAFORGE_MODEL, the remembered folder, else the built-in model:
// the demo model that ships with the app, or the test model) in `controller`; the editor's size follows the model
// (StudioController::openModel), and the test model gets small quick defaults (256 x 256, 12 steps: its images are
// noise). A built-in model that cannot be prepared is said in a dialog and shown as the window's model problem.
// Returns the folder opened ("" when none).
QString openStartModel(ui::MainWindow& window, StudioController& controller, const QStringList& arguments);

} // namespace charaforge::app
