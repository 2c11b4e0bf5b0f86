#include "gui/start_model.h"

#include "gui/studio_controller.h"
#include "model/model_card.h"
#include "queue/model_setup.h"
#include "ui/main_window.h"

#include <QMessageBox>

#include <exception>

namespace charaforge::app {

QString openStartModel(ui::MainWindow& window, StudioController& controller, const QStringList& arguments) {
    ModelChoice choice;
    try {
        choice = chooseModel(arguments);
    } catch (const std::exception& e) {
        QMessageBox::critical(
            &window, QObject::tr("CharaForge"),
            QObject::tr("Could not prepare the default test model: %1").arg(QString::fromStdString(e.what())));
        window.setModelDescription(QObject::tr("No model open"), QString::fromStdString(e.what()));
        window.setModelProblem(QString::fromStdString(e.what()));
        return {};
    }
    if (choice.path.isEmpty())
        return {};
    controller.openModel(choice.path);
    if (modelKind(choice.path.toStdString()) == ModelKind::Test) {
        // The test model's images are noise: small and quick is all it needs, even on a CPU.
        auto settings = window.settings();
        settings.width = settings.height = 256;
        settings.steps = 12;
        window.setSettings(settings);
    }
    return choice.path;
}

} // namespace charaforge::app
