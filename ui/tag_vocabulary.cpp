#include "ui/tag_vocabulary.h"

#include <QDir>
#include <QFile>
#include <QSet>
#include <QStandardPaths>

// The resource lives in a static library: make sure the linker keeps it (outside any namespace).
static void initVocabularyResource() {
    Q_INIT_RESOURCE(vocabulary);
}

namespace charaforge::ui {

namespace {

void appendFile(const QString& path, QStringList& out, QSet<QString>& seen) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly | QIODevice::Text))
        return;
    const QStringList lines = QString::fromUtf8(file.readAll()).split(u'\n');
    for (const QString& raw : lines) {
        const QString tag = raw.trimmed();
        if (tag.isEmpty() || tag.startsWith(u'#') || seen.contains(tag))
            continue;
        seen.insert(tag);
        out.append(tag);
    }
}

} // namespace

TagVocabulary::TagVocabulary(QString userDir) : m_userDir(std::move(userDir)) {
    initVocabularyResource();
}

QString TagVocabulary::defaultUserDir() {
    return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + QStringLiteral("/vocabulary");
}

QStringList TagVocabulary::shippedFields() {
    initVocabularyResource();
    QStringList fields;
    const QStringList files = QDir(QStringLiteral(":/vocabulary")).entryList({QStringLiteral("*.txt")}, QDir::Files);
    for (const QString& f : files)
        fields.append(f.chopped(4));
    return fields;
}

QStringList TagVocabulary::tags(const QString& field) const {
    if (const auto it = m_cache.constFind(field); it != m_cache.cend())
        return *it;
    QStringList out;
    QSet<QString> seen;
    const QString file = field + QStringLiteral(".txt");
    appendFile(QStringLiteral(":/vocabulary/") + file, out, seen);
    if (!m_userDir.isEmpty())
        appendFile(QDir(m_userDir).filePath(file), out, seen);
    m_cache.insert(field, out);
    return out;
}

} // namespace charaforge::ui
