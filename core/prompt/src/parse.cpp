// Ref: NewBieAI-Lab/NewBie-image-Exp0.1 README.md (XML structured prompt example) and
// NewBieAI-Lab/ComfyUI-Newbie-Nodes comfy_newbie_xml_prompt_builder.py (element names, <image> root).
// Parser and checks. Prompts have several top-level elements and no single root, so the text is
// wrapped in a synthetic root; every position is mapped back to the text as written.
#include "charaforge/prompt/prompt.h"
#include "prompt_internal.h"

#include <QRegularExpression>
#include <QSet>
#include <QXmlStreamReader>

#include <algorithm>
#include <map>

namespace charaforge::prompt {

using namespace Qt::StringLiterals;

namespace {

constexpr int kMaxCharacterIndex = 9999;
const QString kRoot = QStringLiteral("charaforge-synthetic-root");

// A parsed element. Offsets index the wrapped text.
struct Node {
    QString name;
    qsizetype start = 0;         // its '<'
    qsizetype content_start = 0; // after the start tag
    qsizetype content_end = 0;   // the end tag's '<'
    qsizetype end = 0;           // after the end tag
    bool has_attributes = false;
    std::vector<Node> children;
    std::vector<QString> texts{QString()}; // texts[i] comes before children[i]; one more than children
};

void append_text(const Node& node, QString& out) {
    for (size_t i = 0; i < node.children.size(); ++i) {
        out += node.texts[i];
        append_text(node.children[i], out);
    }
    out += node.texts.back();
}

QString text_of(const Node& node) {
    QString out;
    append_text(node, out);
    return out;
}

// Text offset -> 1-based line and column (columns in code points). Only line ends were changed when
// CR LF became LF, so positions in the normalised text are those of the original.
class PositionMap {
public:
    explicit PositionMap(QStringView text) : text_(text) {
        line_starts_.push_back(0);
        bool surrogates = false;
        for (qsizetype i = 0; i < text.size(); ++i) {
            if (text[i] == u'\n')
                line_starts_.push_back(i + 1);
            surrogates = surrogates || text[i].isLowSurrogate();
        }
        if (surrogates) {
            lows_before_.resize(text.size() + 1, 0);
            for (qsizetype i = 0; i < text.size(); ++i)
                lows_before_[i + 1] = lows_before_[i] + (text[i].isLowSurrogate() ? 1 : 0);
        }
    }

    std::pair<int, int> at(qsizetype offset) const {
        offset = std::clamp<qsizetype>(offset, 0, text_.size());
        const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset) - 1;
        const qsizetype start = *it;
        qsizetype column = offset - start;
        if (!lows_before_.empty())
            column -= lows_before_[offset] - lows_before_[start];
        return {static_cast<int>(it - line_starts_.begin()) + 1, static_cast<int>(column) + 1};
    }

private:
    QStringView text_;
    std::vector<qsizetype> line_starts_;
    std::vector<qsizetype> lows_before_;
};

QString position_string(std::pair<int, int> pos) {
    return QString::number(pos.first) + u':' + QString::number(pos.second);
}

struct CountSpec {
    bool checkable = false;
    bool exact = false;
    int total = 0; // exact count, or lower bound when !exact
    QString tags;  // the count tags that were understood, for the message
};

// Reads danbooru count tags conservatively: 1girl, 2girls, 6+girls, multiple_girls, 1boy, 1other,
// solo. A category not mentioned counts as zero. Contradictions or nothing recognised: no check.
CountSpec read_count(const TagList& count) {
    static const QRegularExpression numbered(QStringLiteral("^(\\d{1,3})(\\+?)_?(girl|boy|other)s?$"));
    static const QRegularExpression multiple(QStringLiteral("^multiple_(girl|boy|other)s$"));
    struct Category {
        int exact = -1;
        int at_least = 0;
    };
    std::map<QString, Category> categories;
    bool solo = false;
    QStringList understood;
    for (const QString& tag : count) {
        QString key = tag.toLower();
        key.replace(u' ', u'_');
        if (key == u"solo"_s) {
            solo = true;
            understood.append(tag);
            continue;
        }
        if (const auto m = numbered.match(key); m.hasMatch()) {
            Category& c = categories[m.captured(3)];
            const int n = m.captured(1).toInt();
            if (!m.captured(2).isEmpty()) {
                c.at_least = std::max(c.at_least, n);
            } else {
                if (c.exact >= 0 && c.exact != n)
                    return {};
                c.exact = n;
            }
            understood.append(tag);
        } else if (const auto mm = multiple.match(key); mm.hasMatch()) {
            Category& c = categories[mm.captured(1)];
            c.at_least = std::max(c.at_least, 2);
            understood.append(tag);
        }
    }
    if (understood.isEmpty())
        return {};
    CountSpec spec{true, true, 0, understood.join(u", "_s)};
    for (const auto& [name, c] : categories) {
        if (c.exact >= 0 && c.exact < c.at_least)
            return {}; // "1girl, multiple_girls": contradictory, say nothing
        if (c.exact >= 0) {
            spec.total += c.exact;
        } else {
            spec.total += c.at_least;
            spec.exact = false;
        }
    }
    if (solo) {
        if ((spec.exact && spec.total != 1 && !categories.empty()) || (!spec.exact && spec.total > 1))
            return {};
        spec.exact = true;
        spec.total = 1;
    }
    return spec;
}

bool is_top_level_known(const QString& name) {
    return name == u"caption"_s || name == u"general_tags"_s || name.startsWith(u"character_"_s);
}

// UTF-8 validation that reports where the first bad sequence starts.
qsizetype first_invalid_utf8(QByteArrayView bytes) {
    const auto* s = reinterpret_cast<const unsigned char*>(bytes.data());
    const qsizetype n = bytes.size();
    qsizetype i = 0;
    while (i < n) {
        const unsigned char b = s[i];
        int more = 0;
        unsigned char lo = 0x80, hi = 0xBF;
        if (b < 0x80) {
            ++i;
            continue;
        } else if (b >= 0xC2 && b <= 0xDF) {
            more = 1;
        } else if (b >= 0xE0 && b <= 0xEF) {
            more = 2;
            if (b == 0xE0)
                lo = 0xA0;
            if (b == 0xED)
                hi = 0x9F; // no UTF-16 surrogates
        } else if (b >= 0xF0 && b <= 0xF4) {
            more = 3;
            if (b == 0xF0)
                lo = 0x90;
            if (b == 0xF4)
                hi = 0x8F;
        } else {
            return i;
        }
        if (i + more >= n)
            return i; // truncated at the end
        if (s[i + 1] < lo || s[i + 1] > hi)
            return i;
        for (int k = 2; k <= more; ++k)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF)
                return i;
        i += more + 1;
    }
    return -1;
}

QString normalise_newlines(QStringView input) {
    if (!input.contains(u'\r'))
        return input.toString();
    QString out;
    out.reserve(input.size());
    for (qsizetype i = 0; i < input.size(); ++i) {
        if (input[i] == u'\r') {
            out += u'\n';
            if (i + 1 < input.size() && input[i + 1] == u'\n')
                ++i;
        } else {
            out += input[i];
        }
    }
    return out;
}

struct CrowdedTag {
    qsizetype start = -1; // the tag's '<'; -1 when every tag is within the limit
    QString name;
};

// QXmlStreamReader compares each attribute of a start tag with all the ones before it, before the
// element reaches us: 100k attributes take most of a minute. One linear pass over the text finds the
// first start tag with too many (counting '=' outside quotes), skipping comments, CDATA and processing
// instructions. Malformed markup is left for the reader to report.
CrowdedTag first_crowded_tag(QStringView xml, int max_attributes) {
    const auto skip_past = [&](qsizetype from, QStringView close) {
        const qsizetype at = xml.indexOf(close, from);
        return at < 0 ? xml.size() : at + close.size();
    };
    qsizetype i = 0;
    while ((i = xml.indexOf(u'<', i)) >= 0) {
        const QStringView rest = xml.mid(i);
        if (rest.startsWith(u"<!--"_s)) {
            i = skip_past(i + 4, u"-->");
            continue;
        }
        if (rest.startsWith(u"<![CDATA["_s)) {
            i = skip_past(i + 9, u"]]>");
            continue;
        }
        if (rest.startsWith(u"<?"_s)) {
            i = skip_past(i + 2, u"?>");
            continue;
        }
        if (rest.startsWith(u"</"_s) || rest.startsWith(u"<!"_s)) {
            i += 2;
            continue;
        }
        qsizetype j = i + 1;
        while (j < xml.size() && !xml[j].isSpace() && xml[j] != u'>' && xml[j] != u'/' && xml[j] != u'<')
            ++j;
        const qsizetype name_end = j;
        int count = 0;
        QChar quote;
        for (; j < xml.size(); ++j) {
            const QChar c = xml[j];
            if (!quote.isNull()) {
                if (c == quote)
                    quote = QChar();
            } else if (c == u'"' || c == u'\'') {
                quote = c;
            } else if (c == u'=') {
                if (++count > max_attributes)
                    return {i, xml.mid(i + 1, name_end - i - 1).toString()};
            } else if (c == u'>' || c == u'<') {
                break;
            }
        }
        i = j;
    }
    return {};
}

// One entry per child (element or text run) in written order, for anchoring the extras.
struct SequenceItem {
    QString known; // a known element's anchor name; empty for an extra
    int raw = -1;  // index into the extras
};

struct TagSite {
    QString tag;
    qsizetype offset; // wrapped
};

// The extras follow the last known element that serialise() writes before them. Sorting them by
// their anchor's canonical slot, and joining text runs that end up side by side, makes the
// document read back the same after serialise().
template <class Rank, class Emitted>
void anchor_extras(std::vector<RawElement>& extras, const std::vector<SequenceItem>& sequence, Rank rank,
                   Emitted emitted) {
    QString last;
    for (const SequenceItem& item : sequence) {
        if (item.raw >= 0)
            extras[item.raw].after = last;
        else if (emitted(item.known))
            last = item.known;
    }
    std::stable_sort(extras.begin(), extras.end(),
                     [&](const RawElement& a, const RawElement& b) { return rank(a.after) < rank(b.after); });
    std::vector<RawElement> merged;
    for (RawElement& e : extras) {
        if (!merged.empty() && e.name.isEmpty() && merged.back().name.isEmpty() && merged.back().after == e.after)
            merged.back().xml += u'\n' + e.xml;
        else
            merged.push_back(std::move(e));
    }
    extras = std::move(merged);
}

class Parser {
public:
    Parser(QString text, const ParseLimits& limits) : text_(std::move(text)), limits_(limits), map_(text_) {}

    ParseResult run();

private:
    struct Pending {
        qsizetype offset; // in text_
        Severity severity;
        QString message;
    };
    void add(Severity severity, qsizetype text_offset, QString message) {
        pending_.push_back({text_offset, severity, std::move(message)});
    }
    void warn_at(qsizetype wrapped, QString message) { add(Severity::Warning, to_text(wrapped), std::move(message)); }
    void error_at(qsizetype wrapped, QString message) { add(Severity::Error, to_text(wrapped), std::move(message)); }
    qsizetype to_text(qsizetype wrapped) const { return wrapped - prefix_; }
    QString where(qsizetype wrapped) const { return position_string(map_.at(to_text(wrapped))); }

    bool check_characters();
    void parse_plain(Kind kind);
    void parse_xml();
    bool read_tree(Node& root);
    void report_reader_error(const QXmlStreamReader& reader, const std::vector<Node>& stack);
    void interpret(const Node& root);
    void interpret_content(const Node& parent);
    void read_caption(const Node& node);
    template <class Owner, size_t N>
    void read_fields(Owner& owner, const std::array<FieldInfo<Owner>, N>& fields, const std::vector<const Node*>& nodes,
                     const QString& owner_tag);
    void add_text_run(const Node& parent, size_t i, std::vector<RawElement>& extras,
                      std::vector<SequenceItem>* sequence, const QString& context);
    void add_unknown(const Node& node, std::vector<RawElement>& extras, std::vector<SequenceItem>* sequence,
                     const QString& context, bool warn = true);
    void check_repeats(const std::vector<TagSite>& sites, const QString& field);
    void check_character_set();
    void check_count();
    std::vector<Diagnostic> finish_diagnostics();

    QString text_;
    ParseLimits limits_;
    PositionMap map_;
    QString wrapped_;
    qsizetype prefix_ = 0;
    Document doc_;
    std::vector<Pending> pending_;
    std::vector<qsizetype> character_starts_; // wrapped offset of each doc_.characters entry
    qsizetype count_start_ = -1;              // wrapped offset of the (first) <count>
};

// Characters XML 1.0 cannot carry (NUL, C0 controls, U+FFFE/FFFF, lone surrogates) are errors in
// every kind of prompt: they would make the canonical XML unreadable.
bool Parser::check_characters() {
    for (qsizetype i = 0; i < text_.size(); ++i) {
        const QChar c = text_[i];
        if (c.isHighSurrogate() && i + 1 < text_.size() && text_[i + 1].isLowSurrogate()) {
            ++i;
            continue;
        }
        const char16_t u = c.unicode();
        const bool ok = u == 0x9 || u == 0xA || (u >= 0x20 && !c.isSurrogate() && u != 0xFFFE && u != 0xFFFF);
        if (!ok) {
            const QString what = u == 0 ? QStringLiteral("NUL character")
                                        : u"character U+"_s + QString::number(u, 16).toUpper().rightJustified(4, u'0');
            add(Severity::Error, i, what + u" is not allowed in a prompt"_s);
            return false;
        }
    }
    return true;
}

ParseResult Parser::run() {
    if (check_characters()) {
        const Kind kind = detect_kind(text_);
        if (kind == Kind::Xml)
            parse_xml();
        else
            parse_plain(kind);
    }
    ParseResult result;
    result.document = std::move(doc_);
    result.diagnostics = finish_diagnostics();
    return result;
}

void Parser::parse_plain(Kind kind) {
    doc_ = Document{};
    doc_.kind = kind;
    if (kind == Kind::NaturalLanguage) {
        doc_.text = text_.trimmed();
        return;
    }
    std::vector<qsizetype> offsets;
    doc_.tags = detail::split_tags_at(text_, &offsets);
    if (doc_.tags.isEmpty()) {
        add(Severity::Warning, 0, QStringLiteral("the prompt is empty"));
        return;
    }
    std::vector<TagSite> sites;
    for (qsizetype i = 0; i < doc_.tags.size(); ++i)
        sites.push_back({doc_.tags[i], offsets[i] + prefix_});
    check_repeats(sites, {});
}

void Parser::parse_xml() {
    doc_ = Document{};
    QString body = text_;
    // An XML declaration is only legal at the very start; inside the synthetic root it would not be.
    // Blank it out character by character so offsets stay put.
    qsizetype first = 0;
    while (first < body.size() && body[first].isSpace())
        ++first;
    if (QStringView(body).mid(first).startsWith(u"<?xml"_s) && first + 5 < body.size() &&
        (body[first + 5].isSpace() || body[first + 5] == u'?')) {
        const qsizetype close = body.indexOf(u"?>"_s, first);
        if (close >= 0)
            for (qsizetype i = first; i < close + 2; ++i)
                if (body[i] != u'\n')
                    body[i] = u' ';
    }
    // No DTDs: they bring entity definitions (billion laughs) and external references.
    if (const qsizetype dtd = body.indexOf(u"<!DOCTYPE"_s); dtd >= 0) {
        add(Severity::Error, dtd, QStringLiteral("document type declarations (<!DOCTYPE>) are not allowed"));
        return;
    }
    const QString open = u'<' + kRoot + u'>';
    prefix_ = open.size();
    wrapped_ = open + body + u"</"_s + kRoot + u'>';

    Node root;
    if (!read_tree(root))
        return;
    interpret(root);
}

bool Parser::read_tree(Node& root) {
    if (const CrowdedTag crowded = first_crowded_tag(wrapped_, limits_.max_attributes); crowded.start >= 0) {
        error_at(crowded.start,
                 u'<' + crowded.name + QStringLiteral("> has more than %1 attributes").arg(limits_.max_attributes));
        return false;
    }
    QXmlStreamReader reader(wrapped_);
    reader.setNamespaceProcessing(false);
    std::vector<Node> stack;
    int elements = 0;
    while (!reader.atEnd()) {
        switch (reader.readNext()) {
        case QXmlStreamReader::StartElement: {
            const qsizetype offset = reader.characterOffset();
            Node node;
            node.start = wrapped_.lastIndexOf(u'<', offset - 1);
            node.name = reader.qualifiedName().toString();
            if (!stack.empty()) {
                if (static_cast<int>(stack.size()) > limits_.max_depth) {
                    error_at(node.start,
                             u'<' + node.name +
                                 QStringLiteral("> is nested more than %1 levels deep").arg(limits_.max_depth));
                    return false;
                }
                if (++elements > limits_.max_elements) {
                    error_at(node.start, QStringLiteral("more than %1 elements; the first one over the limit is <")
                                                 .arg(limits_.max_elements) +
                                             node.name + u'>');
                    return false;
                }
            }
            node.content_start = offset;
            node.has_attributes = !reader.attributes().isEmpty();
            stack.push_back(std::move(node));
            break;
        }
        case QXmlStreamReader::EndElement: {
            const qsizetype offset = reader.characterOffset();
            const qsizetype tag_start = wrapped_.lastIndexOf(u'<', offset - 1);
            if (stack.size() == 1) {
                if (offset != wrapped_.size()) {
                    error_at(tag_start, QStringLiteral("closing tag without an opening tag"));
                    return false;
                }
                root = std::move(stack.back());
                stack.pop_back();
                break;
            }
            Node node = std::move(stack.back());
            stack.pop_back();
            node.end = offset;
            node.content_end = std::max(node.content_start, tag_start);
            stack.back().children.push_back(std::move(node));
            stack.back().texts.emplace_back();
            break;
        }
        case QXmlStreamReader::Characters:
            if (!stack.empty())
                stack.back().texts.back() += reader.text();
            break;
        case QXmlStreamReader::DTD: // also caught by the scan above; Qt accepts one inside an element
            error_at(reader.characterOffset() - reader.text().size(),
                     QStringLiteral("document type declarations (<!DOCTYPE>) are not allowed"));
            return false;
        default:
            break;
        }
    }
    if (reader.hasError()) {
        report_reader_error(reader, stack);
        return false;
    }
    return true;
}

// Qt reports an error after consuming part of the offending construct. Point at the start of the
// tag or entity reference it was reading, and name the elements involved where we know them.
void Parser::report_reader_error(const QXmlStreamReader& reader, const std::vector<Node>& stack) {
    const qsizetype text_end = prefix_ + text_.size();
    const qsizetype offset = std::min<qsizetype>(reader.characterOffset(), wrapped_.size());
    if (offset > text_end) {
        // The trouble surfaced at the synthetic closing tag: something in the text was left open.
        const qsizetype lt = wrapped_.lastIndexOf(u'<', text_end - 1);
        const qsizetype gt = wrapped_.lastIndexOf(u'>', text_end - 1);
        if (lt >= prefix_ && lt > gt)
            error_at(lt, QStringLiteral("unfinished tag"));
        else if (stack.size() > 1)
            error_at(stack.back().start, u'<' + stack.back().name + u"> is never closed"_s);
        else
            error_at(text_end, u"malformed XML: "_s + reader.errorString());
        return;
    }
    qsizetype at = std::max<qsizetype>(offset - 1, prefix_);
    const qsizetype lt = wrapped_.lastIndexOf(u'<', at);
    const qsizetype gt = at > 0 ? wrapped_.lastIndexOf(u'>', at - 1) : -1;
    if (lt >= prefix_ && lt > gt) {
        at = lt; // inside a tag
    } else if (wrapped_[at] == u';') {
        const qsizetype amp = wrapped_.lastIndexOf(u'&', at);
        if (amp >= prefix_ && at - amp < 64)
            at = amp; // an entity reference
    }
    if (QStringView(wrapped_).mid(at).startsWith(u"</"_s) && stack.size() > 1) {
        qsizetype name_end = at + 2;
        while (name_end < wrapped_.size() && wrapped_[name_end] != u'>' && !wrapped_[name_end].isSpace())
            ++name_end;
        const QString name = wrapped_.mid(at + 2, name_end - at - 2);
        const Node& open = stack.back();
        error_at(at, u"closing tag </"_s + name + u"> does not match <"_s + open.name + u"> opened at "_s +
                         where(open.start));
        return;
    }
    error_at(at, u"malformed XML: "_s + reader.errorString());
}

void Parser::add_text_run(const Node& parent, size_t i, std::vector<RawElement>& extras,
                          std::vector<SequenceItem>* sequence, const QString& context) {
    const QString text = parent.texts[i].trimmed();
    if (text.isEmpty())
        return;
    const qsizetype from = i == 0 ? parent.content_start : parent.children[i - 1].end;
    const qsizetype to = i < parent.children.size() ? parent.children[i].start : parent.content_end;
    qsizetype at = from;
    while (at < to && wrapped_[at].isSpace())
        ++at;
    warn_at(at, context.isEmpty() ? QStringLiteral("text outside any element is kept as written")
                                  : u"text directly inside <"_s + context + u"> is kept as written"_s);
    extras.push_back({QString(), detail::escape_xml_text(text), QString()});
    if (sequence)
        sequence->push_back({QString(), static_cast<int>(extras.size()) - 1});
}

void Parser::add_unknown(const Node& node, std::vector<RawElement>& extras, std::vector<SequenceItem>* sequence,
                         const QString& context, bool warn) {
    if (warn)
        warn_at(node.start, u"unknown element <"_s + node.name + u'>' +
                                (context.isEmpty() ? QString() : u" in <"_s + context + u'>') +
                                u" is kept as written"_s);
    extras.push_back({node.name, wrapped_.mid(node.start, node.end - node.start), QString()});
    if (sequence)
        sequence->push_back({QString(), static_cast<int>(extras.size()) - 1});
}

void Parser::interpret(const Node& root) {
    int images = 0;
    bool known = false;
    for (const Node& child : root.children) {
        images += child.name == u"image"_s ? 1 : 0;
        known = known || is_top_level_known(child.name);
    }
    if (images == 1 && !known) {
        doc_.image_root = true;
        bool inside_done = false;
        for (size_t i = 0; i < root.children.size(); ++i) {
            auto& side = inside_done ? doc_.after_image : doc_.before_image;
            add_text_run(root, i, side, nullptr, {});
            const Node& child = root.children[i];
            if (child.name == u"image"_s) {
                if (child.has_attributes)
                    warn_at(child.start, QStringLiteral("attributes of <image> are ignored"));
                interpret_content(child);
                inside_done = true;
            } else {
                // The official ComfyUI assembler writes a <style> line before <image>.
                add_unknown(child, side, nullptr, {}, !(child.name == u"style"_s && !inside_done));
            }
        }
        add_text_run(root, root.children.size(), doc_.after_image, nullptr, {});
    } else {
        interpret_content(root);
    }

    const bool has_elements =
        doc_.image_root || doc_.caption || !doc_.characters.empty() || doc_.general_tags ||
        std::any_of(doc_.extra.begin(), doc_.extra.end(), [](const RawElement& e) { return !e.name.isEmpty(); });
    if (!has_elements) {
        // Only comments and text: read it as a plain prompt, since an XML document without any
        // element would not survive serialise().
        const QString plain = text_of(root).trimmed();
        pending_.erase(std::remove_if(pending_.begin(), pending_.end(),
                                      [](const Pending& p) { return p.severity == Severity::Warning; }),
                       pending_.end());
        const Kind kind = detect_kind(plain);
        doc_ = Document{};
        if (plain.isEmpty()) {
            doc_.kind = Kind::TagList;
            add(Severity::Warning, 0, QStringLiteral("the prompt is empty"));
        } else if (kind == Kind::Xml) {
            add(Severity::Error, 0, QStringLiteral("the prompt has markup but no XML element"));
        } else {
            doc_.kind = kind;
            if (kind == Kind::TagList)
                doc_.tags = split_tags(plain);
            else
                doc_.text = plain;
            add(Severity::Warning, 0, QStringLiteral("no XML element found; the text is read as a plain prompt"));
        }
        return;
    }
    check_character_set();
    check_count();
}

void Parser::read_caption(const Node& node) {
    if (node.has_attributes)
        warn_at(node.start, QStringLiteral("attributes of <caption> are ignored"));
    if (!node.children.empty())
        warn_at(node.children.front().start, QStringLiteral("markup inside <caption> is dropped; its text is kept"));
    const QString text = text_of(node).simplified();
    if (doc_.caption) {
        warn_at(node.start, QStringLiteral("<caption> appears more than once; the texts are joined"));
        doc_.caption = (*doc_.caption + u' ' + text).simplified();
    } else {
        doc_.caption = text;
    }
}

template <class Owner, size_t N>
void Parser::read_fields(Owner& owner, const std::array<FieldInfo<Owner>, N>& fields,
                         const std::vector<const Node*>& nodes, const QString& owner_tag) {
    std::vector<SequenceItem> sequence;
    std::array<std::vector<TagSite>, N> sites;
    QSet<QString> seen;
    for (const Node* node : nodes) {
        for (size_t i = 0; i <= node->children.size(); ++i) {
            add_text_run(*node, i, owner.extra, &sequence, owner_tag);
            if (i == node->children.size())
                break;
            const Node& child = node->children[i];
            const auto field = std::find_if(fields.begin(), fields.end(), [&](const FieldInfo<Owner>& f) {
                return child.name == QLatin1String(f.name);
            });
            if (field == fields.end()) {
                add_unknown(child, owner.extra, &sequence, owner_tag);
                continue;
            }
            if (seen.contains(child.name))
                warn_at(child.start, u'<' + child.name + u"> appears more than once in <"_s + owner_tag +
                                         u">; the tags are merged"_s);
            seen.insert(child.name);
            if (child.has_attributes)
                warn_at(child.start, u"attributes of <"_s + child.name + u"> are ignored"_s);
            if (!child.children.empty())
                warn_at(child.children.front().start,
                        u"markup inside <"_s + child.name + u"> is dropped; its text is kept"_s);
            std::vector<qsizetype> offsets;
            const TagList tags = detail::split_tags_at(text_of(child), &offsets);
            // Tag positions are exact when the content is plain text (no entity, CDATA or comment).
            const QStringView raw =
                QStringView(wrapped_).mid(child.content_start, child.content_end - child.content_start);
            const bool exact = child.children.empty() && !raw.contains(u'&') && !raw.contains(u'<');
            auto& field_sites = sites[static_cast<size_t>(field - fields.begin())];
            for (qsizetype k = 0; k < tags.size(); ++k)
                field_sites.push_back({tags[k], exact ? child.content_start + offsets[k] : child.start});
            (owner.*(field->member)).append(tags);
            sequence.push_back({child.name, -1});
        }
    }
    const auto rank = [&](const QString& anchor) {
        if (anchor.isEmpty())
            return -1;
        for (size_t k = 0; k < N; ++k)
            if (anchor == QLatin1String(fields[k].name))
                return static_cast<int>(k);
        return static_cast<int>(N);
    };
    const auto emitted = [&](const QString& name) {
        for (const auto& f : fields)
            if (name == QLatin1String(f.name))
                return name == u"n"_s || !(owner.*(f.member)).isEmpty();
        return false;
    };
    anchor_extras(owner.extra, sequence, rank, emitted);
    for (size_t k = 0; k < N; ++k)
        check_repeats(sites[k], QString::fromLatin1(fields[k].name));
}

void Parser::check_repeats(const std::vector<TagSite>& sites, const QString& field) {
    QSet<QString> seen;
    QSet<QString> reported;
    for (const TagSite& site : sites) {
        const QString key = detail::tag_key(site.tag);
        if (seen.contains(key) && !reported.contains(key)) {
            warn_at(site.offset, u"tag '"_s + site.tag + u"' is repeated"_s +
                                     (field.isEmpty() ? QString() : u" in <"_s + field + u'>'));
            reported.insert(key);
        }
        seen.insert(key);
    }
}

void Parser::interpret_content(const Node& parent) {
    std::vector<SequenceItem> sequence;
    std::vector<const Node*> general_nodes;
    for (size_t i = 0; i <= parent.children.size(); ++i) {
        add_text_run(parent, i, doc_.extra, &sequence, {});
        if (i == parent.children.size())
            break;
        const Node& child = parent.children[i];
        if (child.name == u"caption"_s) {
            read_caption(child);
            sequence.push_back({QStringLiteral("caption"), -1});
        } else if (child.name == u"general_tags"_s) {
            if (!general_nodes.empty())
                warn_at(child.start, QStringLiteral("<general_tags> appears more than once; the blocks are merged"));
            if (child.has_attributes)
                warn_at(child.start, QStringLiteral("attributes of <general_tags> are ignored"));
            general_nodes.push_back(&child);
            sequence.push_back({QStringLiteral("general_tags"), -1});
        } else if (child.name.startsWith(u"character_"_s)) {
            const QString suffix = child.name.mid(10);
            const bool digits = !suffix.isEmpty() && std::all_of(suffix.begin(), suffix.end(),
                                                                 [](QChar c) { return c >= u'0' && c <= u'9'; });
            const int index = digits && suffix.size() <= 4 ? suffix.toInt() : -1;
            if (!digits) {
                error_at(child.start, u"character index must be a number: <"_s + child.name + u'>');
                add_unknown(child, doc_.extra, &sequence, {}, false);
                continue;
            }
            if (index < 1 || index > kMaxCharacterIndex) {
                error_at(child.start, u"character index must be between 1 and "_s +
                                          QString::number(kMaxCharacterIndex) + u": <"_s + child.name + u'>');
                add_unknown(child, doc_.extra, &sequence, {}, false);
                continue;
            }
            if (child.has_attributes)
                warn_at(child.start, u"attributes of <"_s + child.name + u"> are ignored"_s);
            Character character;
            character.index = index;
            read_fields(character, character_fields, {&child}, child.name);
            if (character.empty())
                warn_at(child.start, u'<' + child.name + u"> has no tags"_s);
            doc_.characters.push_back(std::move(character));
            character_starts_.push_back(child.start);
            sequence.push_back({u"character_"_s + QString::number(index), -1});
        } else {
            add_unknown(child, doc_.extra, &sequence, {});
        }
    }
    if (!general_nodes.empty()) {
        GeneralTags general;
        read_fields(general, general_tags_fields, general_nodes, QStringLiteral("general_tags"));
        doc_.general_tags = std::move(general);
        for (const Node* node : general_nodes)
            for (const Node& child : node->children)
                if (child.name == u"count"_s && count_start_ < 0)
                    count_start_ = child.start;
    }
    const auto rank = [this](const QString& anchor) {
        if (anchor.isEmpty())
            return -1;
        if (anchor == u"caption"_s)
            return 0;
        for (size_t k = 0; k < doc_.characters.size(); ++k)
            if (anchor == u"character_"_s + QString::number(doc_.characters[k].index))
                return 1 + static_cast<int>(k);
        if (anchor == u"general_tags"_s)
            return 1 + static_cast<int>(doc_.characters.size());
        return 2 + static_cast<int>(doc_.characters.size());
    };
    anchor_extras(doc_.extra, sequence, rank, [](const QString&) { return true; });
}

void Parser::check_character_set() {
    std::map<int, qsizetype> first_start;
    for (size_t k = 0; k < doc_.characters.size(); ++k) {
        const int index = doc_.characters[k].index;
        const auto [it, inserted] = first_start.emplace(index, character_starts_[k]);
        if (!inserted)
            error_at(character_starts_[k], u"duplicate character index "_s + QString::number(index) +
                                               u": <character_"_s + QString::number(index) +
                                               u"> is already defined at "_s + where(it->second));
    }
    int previous = 0;
    for (const auto& [index, start] : first_start) {
        if (index > previous + 1) {
            const QString missing = index == previous + 2
                                        ? u"<character_"_s + QString::number(previous + 1) + u"> is missing"_s
                                        : u"<character_"_s + QString::number(previous + 1) + u"> to <character_"_s +
                                              QString::number(index - 1) + u"> are missing"_s;
            warn_at(start, u"gap in character numbering: "_s + missing);
        }
        previous = index;
    }
}

void Parser::check_count() {
    if (!doc_.general_tags || doc_.characters.empty() || count_start_ < 0)
        return;
    const CountSpec spec = read_count(doc_.general_tags->count);
    if (!spec.checkable)
        return;
    QSet<int> indices;
    for (const Character& c : doc_.characters)
        indices.insert(c.index);
    const int blocks = static_cast<int>(indices.size());
    if ((spec.exact && blocks != spec.total) || (!spec.exact && blocks < spec.total))
        warn_at(count_start_, u"<count> ("_s + spec.tags + u") means "_s + (spec.exact ? QString() : u"at least "_s) +
                                  QString::number(spec.total) + (spec.total == 1 ? u" character"_s : u" characters"_s) +
                                  u" but the prompt has "_s + QString::number(blocks) +
                                  (blocks == 1 ? u" character block"_s : u" character blocks"_s));
}

std::vector<Diagnostic> Parser::finish_diagnostics() {
    std::stable_sort(pending_.begin(), pending_.end(),
                     [](const Pending& a, const Pending& b) { return a.offset < b.offset; });
    const size_t keep = std::min(pending_.size(), static_cast<size_t>(std::max(1, limits_.max_diagnostics)));
    std::vector<Diagnostic> out;
    out.reserve(keep + 1);
    for (size_t i = 0; i < keep; ++i) {
        const auto [line, column] = map_.at(pending_[i].offset);
        out.push_back({pending_[i].severity, line, column, pending_[i].message});
    }
    if (keep < pending_.size()) {
        const bool errors = std::any_of(pending_.begin() + static_cast<std::ptrdiff_t>(keep), pending_.end(),
                                        [](const Pending& p) { return p.severity == Severity::Error; });
        const auto [line, column] = map_.at(pending_[keep].offset);
        out.push_back({errors ? Severity::Error : Severity::Warning, line, column,
                       QString::number(pending_.size() - keep) + u" more diagnostics are not shown"_s});
    }
    return out;
}

ParseResult too_large(qsizetype size, qsizetype limit) {
    ParseResult result;
    result.diagnostics.push_back({Severity::Error, 1, 1,
                                  u"the prompt is too large ("_s + QString::number(size) + u" bytes; the limit is "_s +
                                      QString::number(limit) + u')'});
    return result;
}

} // namespace

ParseResult parse(QStringView text, const ParseLimits& limits) {
    if (text.size() > limits.max_bytes)
        return too_large(text.size(), limits.max_bytes);
    return Parser(normalise_newlines(text), limits).run();
}

ParseResult parse_utf8(QByteArrayView utf8, const ParseLimits& limits) {
    if (utf8.size() > limits.max_bytes)
        return too_large(utf8.size(), limits.max_bytes);
    const qsizetype bom = utf8.startsWith("\xEF\xBB\xBF") ? 3 : 0;
    const QByteArrayView body = utf8.sliced(bom);
    if (const qsizetype bad = first_invalid_utf8(body); bad >= 0) {
        const QString before = normalise_newlines(QString::fromUtf8(body.first(bad)));
        const auto [line, column] = PositionMap(before).at(before.size());
        ParseResult result;
        result.diagnostics.push_back(
            {Severity::Error, line, column,
             u"invalid UTF-8 (byte 0x"_s +
                 QString::number(static_cast<unsigned char>(body[bad]), 16).toUpper().rightJustified(2, u'0') +
                 u" at byte offset "_s + QString::number(bad + bom) + u')'});
        return result;
    }
    return parse(QString::fromUtf8(body), limits);
}

} // namespace charaforge::prompt
