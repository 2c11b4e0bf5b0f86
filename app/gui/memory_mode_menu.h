#pragma once
// The studio's memory mode (issue 15): where it comes from at start (--memory-mode, else the remembered choice,
// else auto) and File → Memory mode, which remembers a new choice for the next start. Torch-free.
#include <QString>

#include <functional>

class QMenu;
class QWidget;

namespace charaforge::app {

struct MemoryModeChoice {
    QString name;    // "auto", "high", "balanced" or "low"
    QString warning; // set when a remembered value was not a mode and auto is used instead
    QString error;   // set when --memory-mode was not a mode (the studio exits with status 2)
};

// `given`: the --memory-mode value ("" when absent). A given mode is remembered in QSettings (engine/memory_mode);
// a remembered value that is no mode gives auto and a warning naming the setting and the value.
MemoryModeChoice chooseMemoryMode(const QString& given);

// The menu of the four modes with `current` checked. Choosing one remembers it and calls `notify` with the
// status-bar message (the mode takes effect at the next start).
QMenu* makeMemoryModeMenu(const QString& current, QWidget* parent, const std::function<void(const QString&)>& notify);

} // namespace charaforge::app
