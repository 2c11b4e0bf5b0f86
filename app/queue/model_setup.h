#pragma once
// Where the app finds its model: --model DIR, CHARAFORGE_MODEL, the saved setting, or the embedded
// default (a tiny random-weight test model created on first start).
#include <QString>
#include <QStringList>

namespace charaforge::app {

struct ModelChoice {
    QString path;
    bool createdTestModel = false;
};

// Folder of the embedded default test model (inside the app's data location).
QString defaultTestModelPath();

// The built-in test model's folder, created first when it is missing or incomplete; `created` (optional) tells.
QString builtInModel(bool* created = nullptr);

// Decides the model folder; creates the test model when nothing else is configured. A remembered folder that no
// longer holds a usable model (engine::check_model_folder) is passed over for the built-in one.
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

} // namespace charaforge::app
