// charaforge-cli: the engine, the prompt tools and the job queue from the command line (CLI11).
#include "cli_options.h"
#include "engine_commands.h"
#ifndef CHARAFORGE_ENGINE_ONLY
#include "gallery_commands.h"
#include "lama_commands.h"
#include "prompt_commands.h"
#include "queue_commands.h"

#include <QGuiApplication>
#endif

#include <cstring>
#include <iostream>
#include <memory>

int main(int argc, char** argv) {
#ifndef CHARAFORGE_ENGINE_ONLY
    // The queue shares its database and default folders with the charaforge window.
    QCoreApplication::setOrganizationName(QStringLiteral("CharaForge"));
    QCoreApplication::setApplicationName(QStringLiteral("charaforge"));
    // Gallery sheets (PDF, HTML thumbnails) draw text and images, which needs Qt Gui: under the offscreen
    // platform, since the command line never opens a window (and may run without a display).
    std::unique_ptr<QCoreApplication> qt_app;
    if (argc > 1 && std::strcmp(argv[1], "gallery") == 0) {
        if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
            qputenv("QT_QPA_PLATFORM", "offscreen");
        qt_app = std::make_unique<QGuiApplication>(argc, argv);
    } else {
        qt_app = std::make_unique<QCoreApplication>(argc, argv);
    }
#endif
    using namespace charaforge::cli;
    CLI::App app("CharaForge: NewBie-image text-to-image from the command line.\n"
                 "Exit status: 0 success, 1 the work failed, 2 a wrong command line (prompt check: 1 errors in a "
                 "prompt, 2 unreadable input).",
                 "charaforge-cli");
    app.set_version_flag("--version", std::string("charaforge-cli ") + CHARAFORGE_VERSION);
    app.require_subcommand(1);
    app.get_formatter()->column_width(34);
    Action chosen;
    add_engine_commands(app, chosen);
#ifndef CHARAFORGE_ENGINE_ONLY
    add_prompt_commands(app, chosen, std::cout, std::cerr);
    add_queue_commands(app, chosen);
    add_worker_command(app, chosen);
    add_gallery_commands(app, chosen);
    add_lama_commands(app, chosen);
#endif
    return parse_and_run(app, std::vector<std::string>(argv + 1, argv + argc), chosen, std::cout, std::cerr);
}
