#pragma once
// Where the app finds its model: --model DIR, CHARAFORGE_MODEL, the saved setting, or the built-in model: the
// demo model that ships with the app (model/demo_model.h) when it is there, else a tiny random-weight test model
// created on first start.
#include <QString>
#include <QStringList>

namespace charaforge::app {

struct ModelChoice {
    QString path;
    bool createdTestModel = false;
    bool builtIn = false; // nothing was chosen: the built-in model (the demo model, else the test model)
};

// Folder of the embedded default test model (inside the app's data location).
QString defaultTestModelPath();

// The built-in model's folder: the demo model's (demoModelFolder) when it is there, else the test model's, created
// first when it is missing or incomplete; `created` (optional) tells.
QString builtInModel(bool* created = nullptr);

// Decides the model folder; the built-in model when nothing else is configured. A remembered folder that no
// longer holds a usable model (engine::check_model_folder) is passed over for the built-in one, and so is a
// remembered test model while the demo model is there (the test model is only the fallback of a build without it).
ModelChoice chooseModel(const QStringList& arguments);

// Where images go unless the user chose a folder: Pictures/CharaForge (the app data folder without one).
QString defaultOutputDir();

// Remembers a user-chosen model folder for the next start.
void rememberModel(const QString& path);

// Where File → Choose model folder… opens: the folder holding `remembered` (the last chosen model, so that it
// or a sibling is one click away) while that exists, else `home`. Never the working directory: a relative or
// empty `remembered` gives `home`.
QString modelDialogStartFolder(const QString& remembered, const QString& home);
// The same for the remembered model (QSettings "model/path") and the user's home folder.
QString modelDialogStartFolder();

// The notice shown while the test model is in use.
QString testModelNotice();
// The notice shown while the demo model is in use (MainWindow offers the model-folder chooser beside it).
QString demoModelNotice();
// The notice for `folder` (ModelKind): the demo model's, the test model's, or "" for a user's model.
QString modelNotice(const QString& folder);

} // namespace charaforge::app
