#include "queue/variants.h"

#include "charaforge/engine/request_validation.h"
#include "charaforge/prompt/prompt.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>

#include <algorithm>

namespace charaforge::queue {

namespace {

struct KindName {
    AxisKind kind;
    const char* name;
};
constexpr KindName kKindNames[] = {{AxisKind::Style, "style"},
                                   {AxisKind::Seed, "seed"},
                                   {AxisKind::Cfg, "cfg"},
                                   {AxisKind::Steps, "steps"},
                                   {AxisKind::Sampler, "sampler"},
                                   {AxisKind::Resolution, "resolution"},
                                   {AxisKind::CharacterField, "character"}};

QString kindName(AxisKind kind) {
    for (const auto& k : kKindNames)
        if (k.kind == kind)
            return QLatin1String(k.name);
    return QStringLiteral("?");
}

[[noreturn]] void fail(const VariantAxis& axis, const QString& value, const QString& why) {
    throw VariantError(
        QStringLiteral("variants: axis %1, value \"%2\": %3").arg(axis.name(), value, why).toStdString());
}

prompt::TagList* characterField(prompt::Character& c, const QString& field) {
    for (const auto& f : prompt::character_fields)
        if (field == QLatin1String(f.name))
            return &(c.*(f.member));
    return nullptr;
}

bool isCharacterField(const QString& field) {
    return std::any_of(prompt::character_fields.begin(), prompt::character_fields.end(),
                       [&](const auto& f) { return field == QLatin1String(f.name); });
}

void applyTags(prompt::TagList& target, const QString& value, bool extend) {
    const auto tags = prompt::split_tags(value);
    if (!extend)
        target.clear();
    for (const auto& t : tags)
        if (!target.contains(t))
            target.push_back(t);
}

// Sets the style tags (or a character's field) of the prompt text.
QString applyToPrompt(const QString& text, const VariantAxis& axis, const QString& value) {
    auto parsed = prompt::parse(text);
    auto& doc = parsed.document;
    if (doc.kind == prompt::Kind::NaturalLanguage)
        fail(axis, value, QStringLiteral("the prompt is natural language; tag axes need an XML prompt or a tag list"));
    if (doc.kind == prompt::Kind::TagList) {
        if (axis.kind == AxisKind::CharacterField)
            fail(axis, value, QStringLiteral("the prompt is a tag list with no <character_N> blocks"));
        applyTags(doc.tags, value, true); // a tag list has no style field to replace
        return prompt::serialise(doc);
    }
    if (parsed.has_errors())
        fail(axis, value,
             QStringLiteral("the prompt has XML errors (line %1: %2)")
                 .arg(parsed.diagnostics.front().line)
                 .arg(parsed.diagnostics.front().message));
    if (axis.kind == AxisKind::Style) {
        if (!doc.general_tags)
            doc.general_tags = prompt::GeneralTags{};
        applyTags(doc.general_tags->style, value, axis.extend);
    } else {
        auto it = std::find_if(doc.characters.begin(), doc.characters.end(),
                               [&](const prompt::Character& c) { return c.index == axis.character; });
        if (it == doc.characters.end())
            fail(axis, value, QStringLiteral("the prompt has no <character_%1>").arg(axis.character));
        applyTags(*characterField(*it, axis.field), value, axis.extend);
    }
    return prompt::serialise(doc);
}

void apply(JobSpec& spec, const VariantAxis& axis, const QString& value) {
    bool ok = false;
    switch (axis.kind) {
    case AxisKind::Style:
    case AxisKind::CharacterField:
        spec.prompt = applyToPrompt(spec.prompt, axis, value);
        return;
    case AxisKind::Seed:
        spec.seed = value.toLongLong(&ok);
        if (!ok)
            fail(axis, value, QStringLiteral("not an integer seed"));
        return;
    case AxisKind::Cfg:
        spec.cfg = value.toDouble(&ok);
        if (!ok || !(spec.cfg >= 0.0 && spec.cfg <= 30.0))
            fail(axis, value, QStringLiteral("not a CFG scale between 0 and 30"));
        return;
    case AxisKind::Steps:
        spec.steps = value.toInt(&ok);
        if (!ok || spec.steps < 1 || spec.steps > 1000)
            fail(axis, value, QStringLiteral("not a step count between 1 and 1000"));
        return;
    case AxisKind::Sampler:
        if (!engine::solver_from_name(value.toStdString()))
            fail(axis, value, QStringLiteral("not a sampler (euler, midpoint or dpm)"));
        spec.sampler = value;
        return;
    case AxisKind::Resolution: {
        static const QRegularExpression wh(QStringLiteral("^(\\d{2,5})[x×](\\d{2,5})$"));
        const auto m = wh.match(value);
        const int w = m.hasMatch() ? m.captured(1).toInt() : 0, h = m.hasMatch() ? m.captured(2).toInt() : 0;
        if (w < 256 || h < 256 || w > 4096 || h > 4096 || w % 16 || h % 16)
            fail(axis, value, QStringLiteral("not a size WxH of multiples of 16 between 256 and 4096"));
        spec.width = w;
        spec.height = h;
        return;
    }
    }
}

} // namespace

QString VariantAxis::name() const {
    if (kind == AxisKind::CharacterField)
        return QStringLiteral("character_%1.%2").arg(character).arg(field);
    return kindName(kind);
}

qint64 variantCount(const QList<VariantAxis>& axes) {
    qint64 n = 1;
    for (const auto& a : axes) {
        n *= a.values.size();
        if (n > kMaxVariantJobs)
            return kMaxVariantJobs + 1; // saturate: the caller only needs "too many"
    }
    return n;
}

Expansion expandVariants(const JobSpec& base, const QList<VariantAxis>& axes) {
    Expansion out;
    for (const auto& a : axes) {
        if (a.values.isEmpty())
            fail(a, QString(), QStringLiteral("the axis has no values"));
        if (a.kind == AxisKind::CharacterField && !isCharacterField(a.field))
            fail(a, QString(), QStringLiteral("\"%1\" is not a character field").arg(a.field));
        out.axisNames << a.name();
    }
    const qint64 count = variantCount(axes);
    if (count > kMaxVariantJobs)
        throw VariantError(
            QStringLiteral("variants: the axes expand to more than %1 jobs").arg(kMaxVariantJobs).toStdString());
    out.variants.reserve(count);
    for (qint64 i = 0; i < count; ++i) {
        Variant v;
        v.spec = base;
        qint64 rest = i, stride = count;
        for (const auto& a : axes) {
            stride /= a.values.size();
            const QString value = a.values[static_cast<int>(rest / stride)].trimmed();
            rest %= stride;
            apply(v.spec, a, value);
            v.axisValues << value;
        }
        out.variants.push_back(std::move(v));
    }
    return out;
}

VariantAxis seedAxis(qint64 first, int count) {
    VariantAxis a;
    a.kind = AxisKind::Seed;
    for (int i = 0; i < count; ++i)
        a.values << QString::number(first + i);
    return a;
}

VariantAxis parseVaryOption(const QString& text, qint64 baseSeed) {
    const int eq = text.indexOf(QLatin1Char('='));
    auto bad = [&](const QString& why) {
        return VariantError(QStringLiteral("--vary \"%1\": %2").arg(text, why).toStdString());
    };
    if (eq <= 0)
        throw bad(QStringLiteral("expected KIND=VALUE|VALUE|..."));
    QString kind = text.left(eq).trimmed();
    const QString rest = text.mid(eq + 1);
    VariantAxis a;
    if (kind.endsWith(QLatin1Char('+'))) {
        a.extend = true;
        kind.chop(1);
    }
    if (kind == QStringLiteral("seeds")) {
        bool ok = false;
        const int n = rest.trimmed().toInt(&ok);
        if (!ok || n < 1 || n > kMaxVariantJobs)
            throw bad(QStringLiteral("seeds= takes a count between 1 and %1").arg(kMaxVariantJobs));
        return seedAxis(baseSeed, n);
    }
    static const QRegularExpression character(QStringLiteral("^character_(\\d{1,3})\\.(\\w+)$"));
    if (const auto m = character.match(kind); m.hasMatch()) {
        a.kind = AxisKind::CharacterField;
        a.character = m.captured(1).toInt();
        a.field = m.captured(2);
        if (!isCharacterField(a.field))
            throw bad(QStringLiteral("\"%1\" is not a character field").arg(a.field));
    } else {
        bool found = false;
        for (const auto& k : kKindNames)
            if (kind == QLatin1String(k.name) && k.kind != AxisKind::CharacterField) {
                a.kind = k.kind;
                found = true;
            }
        if (!found)
            throw bad(QStringLiteral("unknown axis \"%1\" (style, seed, seeds, cfg, steps, sampler, resolution, "
                                     "character_N.FIELD)")
                          .arg(kind));
        if (a.extend && a.kind != AxisKind::Style)
            throw bad(QStringLiteral("only tag axes take '+'"));
    }
    for (const auto& v : rest.split(QLatin1Char('|')))
        if (!v.trimmed().isEmpty())
            a.values << v.trimmed();
    if (a.values.isEmpty())
        throw bad(QStringLiteral("no values"));
    return a;
}

QString axesToJson(const QList<VariantAxis>& axes) {
    QJsonArray arr;
    for (const auto& a : axes) {
        QJsonObject o{{QStringLiteral("kind"), kindName(a.kind)},
                      {QStringLiteral("values"), QJsonArray::fromStringList(a.values)}};
        if (a.extend)
            o[QStringLiteral("extend")] = true;
        if (a.kind == AxisKind::CharacterField) {
            o[QStringLiteral("character")] = a.character;
            o[QStringLiteral("field")] = a.field;
        }
        arr.append(o);
    }
    return QString::fromUtf8(QJsonDocument(arr).toJson(QJsonDocument::Compact));
}

QList<VariantAxis> axesFromJson(const QString& json) {
    QJsonParseError err;
    const auto doc = QJsonDocument::fromJson(json.toUtf8(), &err);
    if (!doc.isArray())
        throw VariantError(
            QStringLiteral("variants: the stored axes are not a JSON array (%1)").arg(err.errorString()).toStdString());
    QList<VariantAxis> out;
    for (const auto& v : doc.array()) {
        const auto o = v.toObject();
        VariantAxis a;
        const QString kind = o.value(QStringLiteral("kind")).toString();
        bool found = false;
        for (const auto& k : kKindNames)
            if (kind == QLatin1String(k.name)) {
                a.kind = k.kind;
                found = true;
            }
        if (!found)
            throw VariantError(QStringLiteral("variants: stored axis kind \"%1\" is unknown").arg(kind).toStdString());
        for (const auto& s : o.value(QStringLiteral("values")).toArray())
            a.values << s.toString();
        a.extend = o.value(QStringLiteral("extend")).toBool();
        a.character = o.value(QStringLiteral("character")).toInt(1);
        a.field = o.value(QStringLiteral("field")).toString();
        out.push_back(a);
    }
    return out;
}

} // namespace charaforge::queue
