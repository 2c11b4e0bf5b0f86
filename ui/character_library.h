#pragma once
// The character library: a folder of one-character XML snippets (canonical form, one file each).
#include "charaforge/prompt/prompt.h"

#include <QString>
#include <QStringList>

#include <optional>

namespace charaforge::ui {

class CharacterLibrary {
public:
    explicit CharacterLibrary(QString dir) : m_dir(std::move(dir)) {}

    QString dir() const { return m_dir; }
    void setDir(const QString& dir) { m_dir = dir; }

    // Writes `character` as <name>.xml (name made file-safe); returns its path, or "" on failure.
    QString save(const prompt::Character& character, const QString& name) const;
    // The snippet files (absolute paths), sorted by name.
    QStringList entries() const;
    // The snippet's first character; nullopt when it cannot be read, has errors or holds none.
    static std::optional<prompt::Character> read(const QString& path);

private:
    QString m_dir;
};

} // namespace charaforge::ui
