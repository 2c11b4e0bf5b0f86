// Ref: NewBieAI-Lab/NewBie-image-Exp0.1 README.md (XML structured prompt example) and
// NewBieAI-Lab/ComfyUI-Newbie-Nodes comfy_newbie_xml_prompt_builder.py (element names and order).
// The prompt model's value helpers and the canonical serialiser; the parser is in parse.cpp.
#include "charaforge/prompt/prompt.h"
#include "prompt_internal.h"

#include <algorithm>

namespace charaforge::prompt {

using namespace Qt::StringLiterals;

namespace detail {

namespace {

bool is_xml_char(char32_t c) {
    return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD) ||
           (c >= 0x10000 && c <= 0x10FFFF);
}

} // namespace

QString escape_xml_text(QStringView text) {
    QString out;
    out.reserve(text.size());
    for (qsizetype i = 0; i < text.size(); ++i) {
        const QChar c = text[i];
        if (c.isHighSurrogate() && i + 1 < text.size() && text[i + 1].isLowSurrogate()) {
            out += c;
            out += text[++i];
            continue;
        }
        if (c.isSurrogate() || !is_xml_char(c.unicode()))
            continue;
        if (c == u'&')
            out += u"&amp;"_s;
        else if (c == u'<')
            out += u"&lt;"_s;
        else if (c == u'>')
            out += u"&gt;"_s;
        else
            out += c;
    }
    return out;
}

QStringList split_tags_at(QStringView text, std::vector<qsizetype>* offsets) {
    QStringList tags;
    qsizetype begin = 0;
    while (begin <= text.size()) {
        qsizetype end = text.indexOf(u',', begin);
        if (end < 0)
            end = text.size();
        const QString tag = text.mid(begin, end - begin).toString().simplified();
        if (!tag.isEmpty()) {
            tags.append(tag);
            if (offsets) {
                qsizetype first = begin;
                while (first < end && text[first].isSpace())
                    ++first;
                offsets->push_back(first);
            }
        }
        begin = end + 1;
    }
    return tags;
}

QString tag_key(const QString& tag) {
    QString key = tag.toLower();
    key.replace(u'_', u' ');
    return key.simplified();
}

} // namespace detail

bool Character::empty() const {
    return std::all_of(character_fields.begin(), character_fields.end(),
                       [this](const auto& f) { return (this->*f.member).isEmpty(); });
}

bool GeneralTags::empty() const {
    return std::all_of(general_tags_fields.begin(), general_tags_fields.end(),
                       [this](const auto& f) { return (this->*f.member).isEmpty(); });
}

bool ParseResult::has_errors() const {
    return std::any_of(diagnostics.begin(), diagnostics.end(),
                       [](const Diagnostic& d) { return d.severity == Severity::Error; });
}

const char* to_string(Severity severity) {
    return severity == Severity::Error ? "error" : "warning";
}

TagList split_tags(QStringView text) {
    return detail::split_tags_at(text, nullptr);
}

QString join_tags(const TagList& tags) {
    return tags.join(u", "_s);
}

TagList count_tags(const std::vector<Character>& characters) {
    struct Group {
        QStringList names; // gender tags that mean one of these
        const char* one;   // "girl": 1girl, 2girls, multiple_girls
    };
    const Group groups[] = {{{u"1girl"_s, u"girl"_s, u"female"_s}, "girl"},
                            {{u"1boy"_s, u"boy"_s, u"male"_s}, "boy"},
                            {{u"1other"_s, u"other"_s}, "other"}};
    TagList out;
    for (const Group& g : groups) {
        int n = 0;
        for (const Character& c : characters)
            n += std::any_of(c.gender.begin(), c.gender.end(),
                             [&](const QString& t) { return g.names.contains(t.toLower().replace(u' ', u'_')); });
        const QString one = QString::fromLatin1(g.one);
        if (n == 1)
            out << u"1"_s + one;
        else if (n > 1)
            out << (n >= 6 ? u"6+"_s : QString::number(n)) + one + u's' << u"multiple_"_s + one + u's';
    }
    return out;
}

Kind detect_kind(QStringView text) {
    const QStringView trimmed = text.trimmed();
    qsizetype first = 0;
    while (first < trimmed.size() && (trimmed[first].isSpace() || trimmed[first] == u','))
        ++first;
    if (first == trimmed.size())
        return Kind::TagList;
    if (trimmed[first] == u'<' || trimmed.contains(u"</"_s) || trimmed.contains(u"/>"_s))
        return Kind::Xml;
    // CJK sentence punctuation: tag lists are comma-separated in ASCII.
    if (trimmed.contains(u'\u3002') || trimmed.contains(u'\uFF0C') || trimmed.contains(u'\uFF01') ||
        trimmed.contains(u'\uFF1F'))
        return Kind::NaturalLanguage;
    const TagList parts = split_tags(trimmed);
    for (const QString& part : parts)
        if (part.count(u' ') + 1 > 4)
            return Kind::NaturalLanguage;
    // "A girl stands." ends a sentence; a lone "..." or "?" is a danbooru tag.
    if (!parts.isEmpty()) {
        const QString& last = parts.back();
        const QChar end = last.back();
        if ((end == u'.' || end == u'!' || end == u'?') && last.contains(u' '))
            return Kind::NaturalLanguage;
    }
    return Kind::TagList;
}

namespace {

QString element_line(const char* name, const TagList& tags) {
    const QString n = QString::fromLatin1(name);
    return u'<' + n + u'>' + detail::escape_xml_text(join_tags(tags)) + u"</"_s + n + u'>';
}

// Writes the extras anchored to `anchor`, in their order, each once.
void write_anchored(QStringList& out, const std::vector<RawElement>& extras, QStringView anchor,
                    std::vector<bool>& written) {
    for (size_t i = 0; i < extras.size(); ++i)
        if (!written[i] && extras[i].after == anchor) {
            out.append(extras[i].xml);
            written[i] = true;
        }
}

void write_rest(QStringList& out, const std::vector<RawElement>& extras, const std::vector<bool>& written) {
    for (size_t i = 0; i < extras.size(); ++i)
        if (!written[i])
            out.append(extras[i].xml);
}

template <class Owner, size_t N>
QString fields_block(const QString& tag, const Owner& owner, const std::array<FieldInfo<Owner>, N>& fields) {
    QStringList lines{u'<' + tag + u'>'};
    std::vector<bool> written(owner.extra.size(), false);
    write_anchored(lines, owner.extra, u""_s, written);
    for (const auto& f : fields) {
        const TagList& tags = owner.*f.member;
        // The official builders always keep <n>, even empty, so the model has seen it that way.
        if (!tags.isEmpty() || qstrcmp(f.name, "n") == 0)
            lines.append(element_line(f.name, tags));
        write_anchored(lines, owner.extra, QString::fromLatin1(f.name), written);
    }
    write_rest(lines, owner.extra, written);
    lines.append(u"</"_s + tag + u'>');
    return lines.join(u'\n');
}

QString character_tag(int index) {
    return u"character_"_s + QString::number(index);
}

QString serialise_xml(const Document& d) {
    QStringList blocks;
    std::vector<bool> written(d.extra.size(), false);
    write_anchored(blocks, d.extra, u""_s, written);
    if (d.caption)
        blocks.append(u"<caption>"_s + detail::escape_xml_text(*d.caption) + u"</caption>"_s);
    write_anchored(blocks, d.extra, u"caption"_s, written);
    for (const Character& c : d.characters) {
        const QString tag = character_tag(c.index);
        blocks.append(fields_block(tag, c, character_fields));
        write_anchored(blocks, d.extra, tag, written);
    }
    if (d.general_tags)
        blocks.append(fields_block(QStringLiteral("general_tags"), *d.general_tags, general_tags_fields));
    write_anchored(blocks, d.extra, u"general_tags"_s, written);
    write_rest(blocks, d.extra, written);

    if (!d.image_root)
        return blocks.join(u"\n\n"_s);
    QStringList outer;
    for (const RawElement& e : d.before_image)
        outer.append(e.xml);
    outer.append(blocks.isEmpty() ? QStringLiteral("<image>\n</image>")
                                  : u"<image>\n"_s + blocks.join(u"\n\n"_s) + u"\n</image>"_s);
    for (const RawElement& e : d.after_image)
        outer.append(e.xml);
    return outer.join(u"\n\n"_s);
}

} // namespace

QString serialise(const Document& document) {
    switch (document.kind) {
    case Kind::TagList:
        return join_tags(document.tags);
    case Kind::NaturalLanguage:
        return document.text;
    case Kind::Xml:
        break;
    }
    return serialise_xml(document);
}

} // namespace charaforge::prompt
