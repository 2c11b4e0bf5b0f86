// File → Memory mode and the start-up choice of the memory mode (issue 15), in the studio's scratch home
// (test_studio.cpp's main points QSettings there).
#include "gui/memory_mode_menu.h"

#include <QAction>
#include <QMenu>
#include <QSettings>
#include <QWidget>

#include <gtest/gtest.h>

#include <memory>

using namespace charaforge;

namespace {
const QString kKey = QStringLiteral("engine/memory_mode");

QAction* modeAction(QMenu& menu, const QString& name) {
    return menu.findChild<QAction*>(QStringLiteral("memoryMode_") + name);
}
} // namespace

TEST(MemoryModeMenu, AGivenModeIsRememberedAndABadOneIsAnErrorThatChangesNothing) {
    QSettings().setValue(kKey, QStringLiteral("balanced"));
    const auto bad = app::chooseMemoryMode(QStringLiteral("turbo"));
    EXPECT_TRUE(bad.name.isEmpty());
    EXPECT_TRUE(bad.error.contains(QStringLiteral("--memory-mode"))) << bad.error.toStdString();
    EXPECT_TRUE(bad.error.contains(QStringLiteral("'turbo'"))) << bad.error.toStdString();
    EXPECT_EQ(QSettings().value(kKey).toString(), QStringLiteral("balanced"));

    const auto low = app::chooseMemoryMode(QStringLiteral("low"));
    EXPECT_EQ(low.name, QStringLiteral("low"));
    EXPECT_TRUE(low.error.isEmpty());
    EXPECT_EQ(QSettings().value(kKey).toString(), QStringLiteral("low"));
    // Next start without the option: the remembered choice.
    const auto next = app::chooseMemoryMode(QString());
    EXPECT_EQ(next.name, QStringLiteral("low"));
    EXPECT_TRUE(next.warning.isEmpty());
}

TEST(MemoryModeMenu, ARememberedValueThatIsNoModeGivesAutoAndSaysSo) {
    QSettings().setValue(kKey, QStringLiteral("medium"));
    const auto c = app::chooseMemoryMode(QString());
    EXPECT_EQ(c.name, QStringLiteral("auto"));
    EXPECT_TRUE(c.error.isEmpty());
    EXPECT_TRUE(c.warning.contains(kKey)) << c.warning.toStdString();
    EXPECT_TRUE(c.warning.contains(QStringLiteral("'medium'"))) << c.warning.toStdString();
    QSettings().remove(kKey);
    const auto fresh = app::chooseMemoryMode(QString());
    EXPECT_EQ(fresh.name, QStringLiteral("auto"));
    EXPECT_TRUE(fresh.warning.isEmpty());
}

TEST(MemoryModeMenu, TheMenuChecksTheCurrentModeAndAChoiceIsRememberedForTheNextStart) {
    QWidget parent;
    QStringList said;
    std::unique_ptr<QMenu> menu(
        app::makeMemoryModeMenu(QStringLiteral("balanced"), &parent, [&](const QString& m) { said << m; }));
    ASSERT_EQ(menu->actions().size(), 4);
    for (const auto* name : {"auto", "high", "balanced", "low"}) {
        QAction* a = modeAction(*menu, QString::fromLatin1(name));
        ASSERT_NE(a, nullptr) << name;
        EXPECT_TRUE(a->isCheckable());
        EXPECT_FALSE(a->toolTip().isEmpty()) << name;
        EXPECT_EQ(a->isChecked(), QString::fromLatin1(name) == QStringLiteral("balanced")) << name;
    }
    modeAction(*menu, QStringLiteral("low"))->trigger();
    EXPECT_EQ(QSettings().value(kKey).toString(), QStringLiteral("low"));
    EXPECT_TRUE(modeAction(*menu, QStringLiteral("low"))->isChecked());
    EXPECT_FALSE(modeAction(*menu, QStringLiteral("balanced"))->isChecked()); // one mode at a time
    ASSERT_EQ(said.size(), 1);
    EXPECT_TRUE(said.front().contains(QStringLiteral("low")));
    EXPECT_TRUE(said.front().contains(QStringLiteral("next start")));
    EXPECT_EQ(app::chooseMemoryMode(QString()).name, QStringLiteral("low"));
    QSettings().remove(kKey);
}
