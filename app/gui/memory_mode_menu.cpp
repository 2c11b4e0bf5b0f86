#include "gui/memory_mode_menu.h"

#include "charaforge/engine/memory_mode.h"

#include <QAction>
#include <QActionGroup>
#include <QMenu>
#include <QSettings>

#include <utility>

namespace charaforge::app {
namespace {

const QString kSettingKey = QStringLiteral("engine/memory_mode");

bool isMode(const QString& text) {
    try {
        engine::parse_memory_mode(text.toStdString());
        return true;
    } catch (const std::exception&) {
        return false;
    }
}

} // namespace

MemoryModeChoice chooseMemoryMode(const QString& given) {
    MemoryModeChoice c;
    if (!given.isEmpty()) {
        if (!isMode(given)) {
            c.error =
                QObject::tr("--memory-mode: '%1' is not a memory mode (use auto, high, balanced or low)").arg(given);
            return c;
        }
        QSettings().setValue(kSettingKey, given);
        c.name = given;
        return c;
    }
    const QString remembered = QSettings().value(kSettingKey, QStringLiteral("auto")).toString();
    if (isMode(remembered)) {
        c.name = remembered;
        return c;
    }
    c.name = QStringLiteral("auto");
    c.warning = QObject::tr("The remembered memory mode (setting %1) is '%2', which is not a mode: using auto")
                    .arg(kSettingKey, remembered);
    return c;
}

QMenu* makeMemoryModeMenu(const QString& current, QWidget* parent, const std::function<void(const QString&)>& notify) {
    auto* modes = new QMenu(QObject::tr("Memory mode"), parent);
    modes->setObjectName(QStringLiteral("memoryModeMenu"));
    auto* group = new QActionGroup(modes);
    for (const auto& [name, tip] :
         {std::pair{QStringLiteral("auto"), QObject::tr("From the GPU's memory")},
          {QStringLiteral("high"), QObject::tr("Everything stays on the GPU (32 GB and up)")},
          {QStringLiteral("balanced"), QObject::tr("Text encoders leave the GPU after encoding (16–24 GB cards)")},
          {QStringLiteral("low"),
           QObject::tr("Also fp8 transformer weights, text encoders on the CPU, tiled VAE (8–12 GB)")}}) {
        QAction* a = modes->addAction(name);
        a->setObjectName(QStringLiteral("memoryMode_") + name);
        a->setToolTip(tip);
        a->setCheckable(true);
        a->setChecked(current == name);
        group->addAction(a);
        QObject::connect(a, &QAction::triggered, modes, [notify, name = name] {
            QSettings().setValue(kSettingKey, name);
            if (notify)
                notify(QObject::tr("Memory mode %1 takes effect at the next start").arg(name));
        });
    }
    modes->setToolTipsVisible(true);
    return modes;
}

} // namespace charaforge::app
