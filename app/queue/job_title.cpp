#include "queue/job_title.h"

#include "charaforge/prompt/prompt.h"

#include <QObject>
#include <QRegularExpression>
#include <QStringList>

namespace charaforge::queue {

namespace {

// How many of an unnamed character's appearance (else clothing) tags its title shows.
constexpr int kLooks = 2;

QString characterTitle(const prompt::Character& c) {
    static const QRegularExpression placeholder(QStringLiteral("^\\$character_\\d+\\$$"));
    QStringList name;
    for (const QString& tag : c.n)
        if (!placeholder.match(tag).hasMatch())
            name << tag;
    const QString gender = c.gender.join(QStringLiteral(", "));
    if (!name.isEmpty())
        return gender.isEmpty() ? name.join(QStringLiteral(", "))
                                : QStringLiteral("%1 (%2)").arg(name.join(QStringLiteral(", ")), gender);
    // A placeholder says nothing ("character…" in a narrow column): what the character looks like does.
    const QString looks =
        (c.appearance.isEmpty() ? c.clothing : c.appearance).mid(0, kLooks).join(QStringLiteral(", "));
    if (!gender.isEmpty())
        return looks.isEmpty() ? gender : QStringLiteral("%1 (%2)").arg(gender, looks);
    return looks.isEmpty() ? QObject::tr("character %1").arg(c.index) : looks;
}

} // namespace

QString jobTitle(const QString& prompt, int maxLength) {
    auto elided = [maxLength](const QString& t) {
        return t.size() > maxLength ? t.left(maxLength - 1) + QChar(0x2026) : t;
    };
    const auto parsed = prompt::parse(prompt);
    const prompt::Document& d = parsed.document;
    if (d.kind == prompt::Kind::Xml && !d.characters.empty()) {
        QStringList names;
        for (const prompt::Character& c : d.characters)
            names << characterTitle(c);
        QString title = names.join(QStringLiteral(" & "));
        if (d.general_tags) {
            const QStringList scene = d.general_tags->style + d.general_tags->background;
            if (!scene.isEmpty())
                title += QStringLiteral(" · ") + scene.join(QStringLiteral(", "));
        }
        return elided(title);
    }
    static const QRegularExpression tags(QStringLiteral("<[^>]*>"));
    return elided(QString(prompt).replace(tags, QStringLiteral(" ")).simplified());
}

} // namespace charaforge::queue
