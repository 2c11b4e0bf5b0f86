#pragma once
// The studio's colour scheme: light, dark, or the desktop's. Qt 6.4 has no QStyleHints::colorScheme
// (6.5+), so "system" is decided from the palette the platform gives the application.
#include <QPalette>
#include <QString>

class QApplication;

namespace charaforge::ui {

enum class Theme { System, Light, Dark };

// "light", "dark", "system" (anything else: System).
Theme themeFromName(const QString& name);
QString themeName(Theme theme);
// A palette reads as dark when its window colour is darker than its text.
bool isDarkPalette(const QPalette& palette);
// The dark palette the studio uses (Fusion colours).
QPalette darkPalette();
// Applies `theme` to the application; System keeps (or restores) the platform's palette.
// Returns whether the result is dark.
bool applyTheme(QApplication& app, Theme theme);

} // namespace charaforge::ui
