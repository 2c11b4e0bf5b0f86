// The notice above the editor: the demo model's offers "Choose model folder…", which asks for the same chooser as
// File → Choose model folder…; the test model's has no button; "" hides it.
#include "ui/main_window.h"
#include "ui/model_notice.h"

#include <QAction>
#include <QLabel>
#include <QMenu>
#include <QMenuBar>
#include <QPushButton>
#include <QSignalSpy>

#include <gtest/gtest.h>

using charaforge::ui::MainWindow;

TEST(ModelNotice, TheChooserButtonAsksForTheMenusModelFolderDialog) {
    MainWindow w;
    w.show();
    auto* text = w.findChild<QLabel*>(QStringLiteral("modelNotice"));
    auto* choose = w.findChild<QPushButton*>(QStringLiteral("modelNoticeChoose"));
    ASSERT_NE(text, nullptr);
    ASSERT_NE(choose, nullptr);
    EXPECT_FALSE(text->isVisible());
    EXPECT_FALSE(choose->isVisible());

    w.setModelNotice(QStringLiteral("<b>Demo model — for real images choose the NewBie model folder.</b>"), true);
    EXPECT_TRUE(text->isVisible());
    ASSERT_TRUE(choose->isVisible());
    EXPECT_EQ(choose->text(), QStringLiteral("Choose model folder…"));
    QSignalSpy requested(&w, &MainWindow::chooseModelRequested);
    choose->click();
    EXPECT_EQ(requested.size(), 1);
    // The menu's action asks for the same.
    for (QAction* a : w.menuBar()->actions().front()->menu()->actions())
        if (a->text() == QStringLiteral("Choose model folder…"))
            a->trigger();
    EXPECT_EQ(requested.size(), 2);

    w.setModelNotice(QStringLiteral("<b>Test model in use.</b> images are noise"));
    EXPECT_TRUE(text->isVisible());
    EXPECT_FALSE(choose->isVisible()) << "the test model's notice has no button";
    w.setModelNotice({}, true);
    EXPECT_FALSE(text->isVisible());
    EXPECT_FALSE(choose->isVisible());
}
