#include "queue/model_setup.h"

#include "model/demo_model.h"
#include "model/model_card.h"

#include "charaforge/engine/model_check.h"
#include "charaforge/engine/pipeline.h"

#include <QDir>
#include <QFileInfo>
#include <QSettings>
#include <QStandardPaths>

namespace charaforge::app {

QString defaultTestModelPath() {
    return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + QStringLiteral("/test-model");
}

ModelChoice chooseModel(const QStringList& arguments) {
    ModelChoice c;
    const int at = arguments.indexOf(QStringLiteral("--model"));
    if (at >= 0 && at + 1 < arguments.size()) {
        c.path = arguments.at(at + 1);
        return c;
    }
    const QString env = qEnvironmentVariable("CHARAFORGE_MODEL");
    if (!env.isEmpty()) {
        c.path = env;
        return c;
    }
    const QString saved = QSettings().value(QStringLiteral("model/path")).toString();
    const bool staleTestModel = saved == defaultTestModelPath() && !demoModelFolder().empty();
    if (!saved.isEmpty() && !staleTestModel && engine::check_model_folder(saved.toStdString()).empty()) {
        c.path = saved;
        return c;
    }
    c.path = builtInModel(&c.createdTestModel);
    c.builtIn = true;
    return c;
}

QString builtInModel(bool* created) {
    if (created)
        *created = false;
    if (const std::string demo = demoModelFolder(); !demo.empty())
        return QString::fromStdString(demo);
    const QString path = defaultTestModelPath();
    const bool make =
        !engine::is_test_model(path.toStdString()) || !engine::check_model_folder(path.toStdString()).empty();
    if (make) {
        QDir().mkpath(path);
        engine::make_test_model(path.toStdString(), 0);
    }
    if (created)
        *created = make;
    return path;
}

QString defaultOutputDir() {
    QString pictures = QStandardPaths::writableLocation(QStandardPaths::PicturesLocation);
    if (pictures.isEmpty())
        pictures = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
    return pictures + QStringLiteral("/CharaForge");
}

void rememberModel(const QString& path) {
    QSettings().setValue(QStringLiteral("model/path"), path);
}

QString modelDialogStartFolder(const QString& remembered, const QString& home) {
    if (remembered.isEmpty() || QDir::isRelativePath(remembered))
        return home;
    const QFileInfo last(QDir::cleanPath(remembered));
    const QDir parent = last.dir();
    return parent.exists() ? parent.absolutePath() : home;
}

QString modelDialogStartFolder() {
    return modelDialogStartFolder(QSettings().value(QStringLiteral("model/path")).toString(), QDir::homePath());
}

QString testModelNotice() {
    return QObject::tr("<b>Test model in use.</b> CharaForge is running a tiny model with random weights that it "
                       "created on first start: its images are noise. To make real images, download "
                       "<b>NewBie-image-Exp0.1</b> (non-commercial licence; CharaForge does not ship it) and choose "
                       "its folder with <i>File → Choose model folder…</i>, start with <tt>--model DIR</tt>, or set "
                       "<tt>CHARAFORGE_MODEL</tt>. The README explains where to get the files.");
}

QString demoModelNotice() {
    return QObject::tr("<b>Demo model — for real images choose the NewBie model folder.</b> The demo model is "
                       "CharaForge's own small model, trained on drawn characters; it ships with the app and works "
                       "best at 192–320 pixels. <b>NewBie-image-Exp0.1</b> (non-commercial licence, not shipped "
                       "with CharaForge) makes real images: the README explains where to get it.");
}

QString modelNotice(const QString& folder) {
    switch (modelKind(folder.toStdString())) {
    case ModelKind::Demo:
        return demoModelNotice();
    case ModelKind::Test:
        return testModelNotice();
    case ModelKind::Other:
        break;
    }
    return {};
}

} // namespace charaforge::app
