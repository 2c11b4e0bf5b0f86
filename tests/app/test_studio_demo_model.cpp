// The studio's first start with the demo model that ships with the app (a stand-in here, through
// CHARAFORGE_DEMO_MODEL): it is the model, at its native size, with the notice and its "Choose model folder…"
// button; a remembered choice wins; a size the user set stays. Part of charaforge_studio_tests (its main()
// keeps the settings in a scratch home and starts every test without a demo model).
#include "demo_stand_in.h"
#include "gui/start_model.h"
#include "gui/studio_controller.h"
#include "queue/job_store.h"
#include "queue/model_setup.h"
#include "studio_rig.h"
#include "ui/main_window.h"

#include <QAction>
#include <QLabel>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>

#include <gtest/gtest.h>

using namespace charaforge;

namespace {

// The rig with the stand-in demo model, as at a first start (nothing remembered).
struct DemoRig : test::Rig {
    QString demo = QString::fromStdString(test::make_demo_stand_in((dir + QStringLiteral("/demo")).toStdString()));
    test::DemoModelEnv env{demo.toStdString()};

    DemoRig() { QSettings().remove(QStringLiteral("model/path")); }
    QLabel* modelLabel() { return window.findChild<QLabel*>(QStringLiteral("modelLabel")); }
    QLabel* notice() { return window.findChild<QLabel*>(QStringLiteral("modelNotice")); }
    QPushButton* chooseButton() { return window.findChild<QPushButton*>(QStringLiteral("modelNoticeChoose")); }
};

QString remembered() {
    return QSettings().value(QStringLiteral("model/path")).toString();
}

} // namespace

TEST(StudioDemoModel, AFirstStartUsesTheDemoModelAtItsSizeAndItsNoticeOffersTheChooser) {
    DemoRig rig;
    ASSERT_EQ(rig.window.settings().width, 1024) << "the form starts at NewBie's default";
    app::StudioController controller(rig.window, *rig.worker, rig.db);
    controller.setOutputDir(rig.dir);
    EXPECT_EQ(app::openStartModel(rig.window, controller, {}), rig.demo);
    EXPECT_EQ(controller.model(), rig.demo);
    EXPECT_EQ(rig.window.settings().width, 256);
    EXPECT_EQ(rig.window.settings().height, 256);
    EXPECT_EQ(remembered(), QString()) << "the default is not the user's choice";
    rig.thread.start();
    ASSERT_TRUE(test::waitFor([&] { return rig.modelLabel()->text().startsWith(QStringLiteral("Demo model")); }, 60000))
        << rig.modelLabel()->text().toStdString();

    EXPECT_TRUE(rig.notice()->isVisibleTo(&rig.window));
    EXPECT_TRUE(
        rig.notice()->text().contains(QStringLiteral("Demo model — for real images choose the NewBie model folder")))
        << rig.notice()->text().toStdString();
    EXPECT_FALSE(rig.notice()->text().contains(QStringLiteral("Test model"))) << "the stand-in is a test model inside";
    ASSERT_TRUE(rig.chooseButton()->isVisibleTo(&rig.window));
    EXPECT_EQ(rig.chooseButton()->text(), QStringLiteral("Choose model folder…"));
    QSignalSpy chooser(&rig.window, &ui::MainWindow::chooseModelRequested);
    rig.chooseButton()->click();
    EXPECT_EQ(chooser.size(), 1) << "the button did not ask for the model-folder chooser";

    // Jobs are queued with the demo model at its size.
    queue::JobStore store(rig.db);
    store.setPaused(true);
    rig.window.findChild<QPushButton*>(QStringLiteral("queue"))->click();
    ASSERT_EQ(store.jobs().size(), 1);
    EXPECT_EQ(store.jobs()[0].spec.model, rig.demo);
    EXPECT_EQ(store.jobs()[0].spec.width, 256);
}

TEST(StudioDemoModel, ARememberedChoiceWins) {
    DemoRig rig;
    const QString user =
        QString::fromStdString(test::make_user_model((rig.dir + QStringLiteral("/user")).toStdString()));
    app::rememberModel(user);
    app::StudioController controller(rig.window, *rig.worker, rig.db);
    EXPECT_EQ(app::openStartModel(rig.window, controller, {}), user);
    EXPECT_EQ(rig.window.settings().width, 1024) << "a user's model keeps NewBie's size";
    rig.thread.start();
    ASSERT_TRUE(test::waitFor([&] { return rig.modelLabel()->text().startsWith(QStringLiteral("user ·")); }, 60000))
        << rig.modelLabel()->text().toStdString();
    EXPECT_FALSE(rig.notice()->isVisibleTo(&rig.window)) << rig.notice()->text().toStdString();
    EXPECT_FALSE(rig.chooseButton()->isVisibleTo(&rig.window));
}

// The test model remembered by File → Use the built-in model in a build without the demo model is no choice of
// a model: the demo model takes its place.
TEST(StudioDemoModel, ARememberedTestModelGivesWayToTheDemoModel) {
    DemoRig rig;
    {
        test::DemoModelEnv none{std::string{}};
        ASSERT_EQ(app::builtInModel(), app::defaultTestModelPath());
    }
    app::rememberModel(app::defaultTestModelPath());
    app::StudioController controller(rig.window, *rig.worker, rig.db);
    EXPECT_EQ(app::openStartModel(rig.window, controller, {}), rig.demo);
    // --model still wins over everything.
    const QString user =
        QString::fromStdString(test::make_user_model((rig.dir + QStringLiteral("/user")).toStdString()));
    EXPECT_EQ(app::chooseModel({QStringLiteral("charaforge"), QStringLiteral("--model"), user}).path, user);
}

// The size follows the model only from the previous model's default: the demo model's 256 back to NewBie's 1024
// for a user's folder; a size the user set stays through both.
TEST(StudioDemoModel, TheSizeFollowsTheModelOnlyWhenTheUserSetNone) {
    DemoRig rig;
    const QString user =
        QString::fromStdString(test::make_user_model((rig.dir + QStringLiteral("/user")).toStdString()));
    app::StudioController controller(rig.window, *rig.worker, rig.db);
    auto s = rig.window.settings();
    s.width = 320;
    s.height = 320;
    rig.window.setSettings(s);
    app::openStartModel(rig.window, controller, {});
    EXPECT_EQ(controller.model(), rig.demo);
    EXPECT_EQ(rig.window.settings().width, 320) << "a size set before (a restored session) stays";
    EXPECT_EQ(rig.window.settings().height, 320);

    s.width = s.height = 256;
    rig.window.setSettings(s);
    EXPECT_TRUE(controller.chooseModelFolder(user));
    EXPECT_EQ(rig.window.settings().width, 1024) << "the demo model's size goes back to NewBie's for its folder";
    rig.window.findChild<QAction*>(QStringLiteral("builtInModelAction"))->trigger();
    EXPECT_EQ(controller.model(), rig.demo) << "File → Use the built-in model is the demo model";
    EXPECT_EQ(remembered(), rig.demo);
    EXPECT_EQ(rig.window.settings().width, 256);
    s = rig.window.settings();
    s.width = 512;
    rig.window.setSettings(s);
    EXPECT_TRUE(controller.chooseModelFolder(user));
    EXPECT_EQ(rig.window.settings().width, 512) << "a size the user chose stays";
    EXPECT_EQ(rig.window.settings().height, 256);
}
