// charaforge-cli: the engine and the prompt tools from the command line.
#include "charaforge/engine/error.h"
#include "engine_commands.h"
#ifndef CHARAFORGE_ENGINE_ONLY
#include "prompt_commands.h"
#include "queue_commands.h"

#include <QCoreApplication>
#endif

#include <iostream>
#include <stdexcept>

namespace {

void usage(std::ostream& out) {
    out << "charaforge-cli " << CHARAFORGE_VERSION << "\n"
        << "usage:\n"
        << "  charaforge-cli make-test-model DIR [--seed N]\n"
        << "  charaforge-cli inspect PATH\n"
        << "  charaforge-cli generate --model DIR --out FILE.png [--prompt TEXT] [--negative TEXT]\n"
        << "        [--width W] [--height H] [--steps N] [--sampler euler|midpoint] [--cfg S] [--cfg-trunc T]\n"
        << "        [--renorm R] [--shift S] [--seed N] [--count N] [--batch N] [--device D] [--dtype T]\n"
        << "        [--system-prompt TEXT] [--offload-text-encoders] [--embeddings FILE.json]\n"
        << "  charaforge-cli tokenize --model DIR TEXT\n"
        << "  charaforge-cli run-component --model DIR --component transformer|vae-decode|vae-encode|gemma|jina\n"
        << "        --inputs IN.safetensors --out OUT.safetensors [--device D] [--dtype T]\n"
#ifndef CHARAFORGE_ENGINE_ONLY
        << "  charaforge-cli prompt check FILE...\n"
        << "  charaforge-cli queue add|list|pause|resume|cancel|retry ...   (queue --help for details)\n"
        << "  charaforge-cli worker [--queue DB] [--until-empty] [--batch N] [--checkpoint-every K]\n"
        << "        [--device D] [--dtype T] [--offload-text-encoders]\n"
#endif
        ;
}

} // namespace

int main(int argc, char** argv) {
#ifndef CHARAFORGE_ENGINE_ONLY
    // The queue shares its database and default folders with the charaforge window.
    QCoreApplication::setOrganizationName(QStringLiteral("CharaForge"));
    QCoreApplication::setApplicationName(QStringLiteral("charaforge"));
    QCoreApplication app(argc, argv);
#endif
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "--help" || args[0] == "help") {
        usage(args.empty() ? std::cerr : std::cout);
        return args.empty() ? 2 : 0;
    }
    if (args[0] == "--version") {
        std::cout << "charaforge-cli " << CHARAFORGE_VERSION << "\n";
        return 0;
    }
    const std::string cmd = args[0];
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    try {
        using namespace charaforge::cli;
        if (cmd == "make-test-model")
            return cmd_make_test_model(rest);
        if (cmd == "inspect")
            return cmd_inspect(rest);
        if (cmd == "generate")
            return cmd_generate(rest);
        if (cmd == "tokenize")
            return cmd_tokenize(rest);
        if (cmd == "run-component")
            return cmd_run_component(rest);
#ifndef CHARAFORGE_ENGINE_ONLY
        if (cmd == "prompt")
            return run_prompt_command(rest);
        if (cmd == "queue")
            return run_queue_command(rest);
        if (cmd == "worker")
            return cmd_worker(rest);
#endif
        std::cerr << "charaforge-cli: unknown command '" << cmd << "'\n";
        usage(std::cerr);
        return 2;
    } catch (const std::invalid_argument& e) {
        std::cerr << "charaforge-cli " << cmd << ": " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "charaforge-cli " << cmd << ": error: " << e.what() << "\n";
        return 1;
    }
}
