// charaforge-cli: the engine, the prompt tools and the job queue from the command line (CLI11).
#include "cli_options.h"
#include "engine_commands.h"
#ifndef CHARAFORGE_ENGINE_ONLY
#include "prompt_commands.h"
#include "queue_commands.h"

#include <QCoreApplication>
#endif

#include <iostream>

int main(int argc, char** argv) {
#ifndef CHARAFORGE_ENGINE_ONLY
    // The queue shares its database and default folders with the charaforge window.
    QCoreApplication::setOrganizationName(QStringLiteral("CharaForge"));
    QCoreApplication::setApplicationName(QStringLiteral("charaforge"));
    QCoreApplication qt_app(argc, argv);
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
#endif
    return parse_and_run(app, std::vector<std::string>(argv + 1, argv + argc), chosen, std::cout, std::cerr);
}
