#include "ui/character_library.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSaveFile>

namespace charaforge::ui {

namespace {

QString safeFileName(const QString& name) {
    QString out;
    for (const QChar ch : name.trimmed())
        out.append(ch.isLetterOrNumber() || ch == u'-' || ch == u'_' ? ch : QChar(u'_'));
    return out.isEmpty() ? QStringLiteral("character") : out.left(80);
}

} // namespace

QString CharacterLibrary::save(const prompt::Character& character, const QString& name) const {
    prompt::Document snippet;
    prompt::Character c = character;
    c.index = 1;
    snippet.characters.push_back(c);
    if (!QDir().mkpath(m_dir))
        return {};
    const QString path = QDir(m_dir).filePath(safeFileName(name) + QStringLiteral(".xml"));
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        return {};
    file.write(prompt::serialise(snippet).toUtf8() + '\n');
    return file.commit() ? path : QString();
}

QStringList CharacterLibrary::entries() const {
    QStringList out;
    const QFileInfoList files =
        QDir(m_dir).entryInfoList({QStringLiteral("*.xml")}, QDir::Files, QDir::Name | QDir::IgnoreCase);
    for (const QFileInfo& info : files)
        out.append(info.absoluteFilePath());
    return out;
}

std::optional<prompt::Character> CharacterLibrary::read(const QString& path) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return std::nullopt;
    const prompt::ParseResult result = prompt::parse_utf8(file.readAll());
    if (result.has_errors() || result.document.characters.empty())
        return std::nullopt;
    return result.document.characters.front();
}

} // namespace charaforge::ui
