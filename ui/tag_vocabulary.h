#pragma once
// Completion vocabularies for the prompt form: one tag list per prompt field, shipped as Qt resources
// (`:/vocabulary/<field>.txt`, one tag per line, '#' starts a comment) and merged with the same file
// names in a user folder, so users can extend them without rebuilding.
#include <QHash>
#include <QString>
#include <QStringList>

namespace charaforge::ui {

class TagVocabulary {
public:
    // `userDir` empty: no user folder.
    explicit TagVocabulary(QString userDir = defaultUserDir());

    // QStandardPaths::AppDataLocation + "/vocabulary".
    static QString defaultUserDir();
    // The fields that ship a vocabulary (file base names in the resource).
    static QStringList shippedFields();

    // Shipped tags first, then the user's new ones; duplicates dropped. Empty for unknown fields.
    QStringList tags(const QString& field) const;
    QString userDir() const { return m_userDir; }

private:
    QString m_userDir;
    mutable QHash<QString, QStringList> m_cache;
};

} // namespace charaforge::ui
