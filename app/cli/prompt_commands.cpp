// charaforge-cli prompt ...: checks and canonicalises NewBie XML prompts.
#include "prompt_commands.h"

#include "charaforge/prompt/prompt.h"

#include <QByteArray>
#include <QFile>
#include <QFileInfo>
#include <QString>

#include <algorithm>
#include <cstdio>
#include <iostream>

namespace charaforge::cli {

namespace {

constexpr int kExitInvalid = 1;
constexpr int kExitUnreadable = 2;

// Reads at most limit + 1 bytes, so that an oversized file is reported by the parser, not slurped.
bool read_file(const std::string& path, qsizetype limit, QByteArray& data, QString& error) {
    QFile file;
    if (path == "-") {
        if (!file.open(stdin, QIODevice::ReadOnly)) {
            error = file.errorString();
            return false;
        }
    } else {
        const QString name = QString::fromStdString(path);
        if (QFileInfo(name).isDir()) {
            error = QStringLiteral("is a directory");
            return false;
        }
        file.setFileName(name);
        if (!file.open(QIODevice::ReadOnly)) {
            error = file.errorString();
            return false;
        }
    }
    data = file.read(limit + 1);
    if (file.error() != QFileDevice::NoError) {
        error = file.errorString();
        return false;
    }
    return true;
}

} // namespace

int check_prompt_files(const std::vector<std::string>& files, std::ostream& out, std::ostream& err) {
    int status = kExitOk;
    const prompt::ParseLimits limits;
    for (const std::string& path : files) {
        QByteArray data;
        QString error;
        if (!read_file(path, limits.max_bytes, data, error)) {
            err << path << ": error: cannot read: " << error.toStdString() << "\n";
            status = std::max(status, kExitUnreadable);
            continue;
        }
        const prompt::ParseResult result = prompt::parse_utf8(data, limits);
        for (const prompt::Diagnostic& d : result.diagnostics)
            err << path << ':' << d.line << ':' << d.column << ": " << prompt::to_string(d.severity) << ": "
                << d.message.toStdString() << "\n";
        if (result.has_errors()) {
            status = std::max(status, kExitInvalid);
            continue;
        }
        if (files.size() > 1)
            out << "==> " << path << " <==\n";
        out << prompt::serialise(result.document).toStdString() << "\n";
    }
    return status;
}

void add_prompt_commands(CLI::App& app, Action& chosen, std::ostream& out, std::ostream& err) {
    auto* prompt = app.add_subcommand("prompt", "Check and canonicalise NewBie prompts");
    prompt->require_subcommand(1);
    auto files = std::make_shared<std::vector<std::string>>();
    auto* check = prompt->add_subcommand(
        "check", "Check prompts (XML, tag list or natural language). Prints the canonical prompt of each valid "
                 "file on stdout and FILE:LINE:COL diagnostics on stderr. Exit status: 0 valid (warnings "
                 "allowed), 1 errors, 2 unreadable input or a wrong command line.");
    check->add_option("FILE", *files, "prompt files (\"-\" reads standard input)")->required();
    set_action(check, chosen, [files, &out, &err] { return check_prompt_files(*files, out, err); });
}

} // namespace charaforge::cli
