#pragma once
// The NewBie-image prompt model: XML-structured captions (`<character_N>` blocks, `<general_tags>`,
// an optional `<caption>`, optionally wrapped in `<image>`), plain danbooru tag lists and natural
// language. QtCore only; no torch.
//
// parse() never throws and never crashes on hostile input: it returns the document together with
// diagnostics whose line and column (both 1-based, columns count Unicode code points) refer to the
// text as the user wrote it. serialise() writes the canonical layout (see serialise()).
#include <QByteArrayView>
#include <QString>
#include <QStringList>
#include <QStringView>

#include <array>
#include <optional>
#include <vector>

namespace charaforge::prompt {

using TagList = QStringList;

// What the whole prompt is. Tag lists and natural language are valid prompts (the README says the
// model accepts them), not errors.
enum class Kind { Xml, TagList, NaturalLanguage };

// An element (or a run of free text) the model does not know, kept so that nothing the user wrote
// is lost. `xml` is the element's markup exactly as written, from its `<` to its closing `>`; for
// free text `name` is empty and `xml` is the escaped, trimmed text. `after` names the known sibling
// it follows in canonical order ("" = before all of them): a field name inside a character or
// `<general_tags>`, or "caption", "character_N", "general_tags" at the top level. The parser
// always anchors to an element that serialise() writes; an anchor naming nothing is written last.
struct RawElement {
    QString name;
    QString xml;
    QString after;

    bool operator==(const RawElement&) const = default;
};

// One `<character_N>` block. Every field is a comma-separated tag list, whitespace-trimmed, with
// underscores, spaces and `\(` `\)` escapes kept as written.
struct Character {
    int index = 1; // N of character_N
    TagList n;     // name; may be empty or the `$character_N$` placeholder
    TagList gender;
    TagList appearance;
    TagList clothing;
    TagList expression;
    TagList action;
    TagList interaction;
    TagList position;
    std::vector<RawElement> extra; // unknown children, in written order

    // True when no known field holds a tag.
    bool empty() const;
    bool operator==(const Character&) const = default;
};

struct GeneralTags {
    TagList count; // "2girls, multiple_girls"
    TagList body_type;
    TagList artists; // "artist:name"
    TagList style;
    TagList background;
    TagList environment;
    TagList perspective;
    TagList atmosphere;
    TagList lighting;
    TagList resolution;
    TagList quality;
    TagList objects;
    TagList other;
    TagList extra_tags;
    std::vector<RawElement> extra; // unknown children, in written order

    bool empty() const;
    bool operator==(const GeneralTags&) const = default;
};

// Field tables in canonical order (the official README's order, with the fields the official
// ComfyUI builder adds slotted where it writes them). Forms and the serialiser iterate these.
template <class Owner> struct FieldInfo {
    const char* name;
    TagList Owner::*member;
};
inline constexpr std::array<FieldInfo<Character>, 8> character_fields{{
    {"n", &Character::n},
    {"gender", &Character::gender},
    {"appearance", &Character::appearance},
    {"clothing", &Character::clothing},
    {"expression", &Character::expression},
    {"action", &Character::action},
    {"interaction", &Character::interaction},
    {"position", &Character::position},
}};
inline constexpr std::array<FieldInfo<GeneralTags>, 14> general_tags_fields{{
    {"count", &GeneralTags::count},
    {"body_type", &GeneralTags::body_type},
    {"artists", &GeneralTags::artists},
    {"style", &GeneralTags::style},
    {"background", &GeneralTags::background},
    {"environment", &GeneralTags::environment},
    {"perspective", &GeneralTags::perspective},
    {"atmosphere", &GeneralTags::atmosphere},
    {"lighting", &GeneralTags::lighting},
    {"resolution", &GeneralTags::resolution},
    {"quality", &GeneralTags::quality},
    {"objects", &GeneralTags::objects},
    {"other", &GeneralTags::other},
    {"extra_tags", &GeneralTags::extra_tags},
}};

struct Document {
    Kind kind = Kind::Xml;

    // Kind::Xml
    bool image_root = false;           // the content is wrapped in `<image>...</image>`
    std::optional<QString> caption;    // natural-language `<caption>`, whitespace collapsed
    std::vector<Character> characters; // in written order
    std::optional<GeneralTags> general_tags;
    std::vector<RawElement> extra;        // unknown elements / text beside the known ones
    std::vector<RawElement> before_image; // outside `<image>` (e.g. the ComfyUI `<style>` line)
    std::vector<RawElement> after_image;

    TagList tags; // Kind::TagList
    QString text; // Kind::NaturalLanguage: trimmed, line breaks normalised to "\n"

    bool operator==(const Document&) const = default;
};

enum class Severity { Warning, Error };

struct Diagnostic {
    Severity severity = Severity::Error;
    int line = 1;   // 1-based, in the original text
    int column = 1; // 1-based, in Unicode code points
    QString message;

    bool operator==(const Diagnostic&) const = default;
};

struct ParseResult {
    Document document;
    std::vector<Diagnostic> diagnostics; // sorted by position

    bool has_errors() const;
};

// Bounds on hostile input. Exceeding one is an error, never a crash or a hang.
struct ParseLimits {
    qsizetype max_bytes = 1 << 20; // UTF-8 bytes (UTF-16 code units for parse(QStringView))
    int max_depth = 32;            // element nesting below the top level
    int max_elements = 10000;      // a real prompt has well under 200
    int max_attributes = 100;      // per element; the known elements take none
    int max_diagnostics = 500;     // further ones are summarised in one last warning
};

// Parses UTF-8 bytes (a leading BOM is skipped). Invalid UTF-8 and NUL are errors with positions.
ParseResult parse_utf8(QByteArrayView utf8, const ParseLimits& limits = {});
// Parses text as is (CR LF and lone CR read as line breaks).
ParseResult parse(QStringView text, const ParseLimits& limits = {});

// The canonical text: what the model is given and what a file stores.
//  - XML: one element per line; `<character_N>` / `<general_tags>` open and close on their own lines
//    with their fields between them, not indented (the README indents every line by the same two
//    spaces, which is Markdown nesting, not structure); one blank line between top-level blocks;
//    `<image>` and `</image>` on their own lines around the blocks. Order: caption, characters as
//    written, general_tags; fields in the FieldInfo tables' order; tags joined with ", ". `<n>` is
//    always written (the official builders keep it even when empty); other empty fields are not.
//  - Tag list: tags joined with ", ". Natural language: the text.
// Comments and attributes of known elements are dropped; unknown elements are written verbatim.
// No trailing newline. parse(serialise(d)) == d for every d parsed without errors, and serialise is
// idempotent.
QString serialise(const Document& document);

// Which kind a text is: Xml when its first character other than whitespace or ',' is '<' or it
// contains "</" or "/>"; NaturalLanguage when a comma-separated part has more than four words, the
// text ends a sentence ("...two words." / "。") or holds CJK sentence punctuation; else TagList.
Kind detect_kind(QStringView text);

// The danbooru count tags of `characters`, from their genders: girls, then boys, then others, each as
// "1girl" / "2girls" ... "6+girls" with "multiple_girls" from two on ("1girl, 1boy", "2girls, multiple_girls").
// A character's gender counts when it is 1girl/girl/female, 1boy/boy/male or 1other/other; a character with
// none of them is not counted.
TagList count_tags(const std::vector<Character>& characters);

// "a, b ,c" -> {"a", "b", "c"}: split on ',', whitespace runs collapsed, empty parts dropped.
TagList split_tags(QStringView text);
QString join_tags(const TagList& tags);

const char* to_string(Severity severity); // "error" / "warning"

} // namespace charaforge::prompt
