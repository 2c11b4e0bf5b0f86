// Tests for the XML prompt model: the official README example, round trip, diagnostics with exact
// positions, tag lists and natural language, hostile input, and the `prompt check` command.
#include "charaforge/prompt/prompt.h"
#include "prompt_commands.h"

#include <QByteArray>
#include <QDir>
#include <QFile>
#include <QTemporaryDir>

#include <gtest/gtest.h>

#include <chrono>
#include <sstream>

using namespace charaforge::prompt;
using namespace Qt::StringLiterals;

namespace {

const QString kData = QStringLiteral(CHARAFORGE_TEST_DATA);

QByteArray read_bytes(const QString& path) {
    QFile file(path);
    EXPECT_TRUE(file.open(QIODevice::ReadOnly)) << path.toStdString();
    return file.readAll();
}

QByteArray fixture(const QString& name) {
    return read_bytes(kData + u"/prompts/"_s + name);
}

std::string describe(const std::vector<Diagnostic>& diagnostics) {
    std::string out;
    for (const Diagnostic& d : diagnostics)
        out += std::to_string(d.line) + ":" + std::to_string(d.column) + ": " + to_string(d.severity) + ": " +
               d.message.toStdString() + "\n";
    return out.empty() ? "(no diagnostics)" : out;
}

// Expects exactly one diagnostic, at line:column, whose message contains every `parts`.
void expect_single(const ParseResult& result, Severity severity, int line, int column,
                   std::initializer_list<const char*> parts) {
    ASSERT_EQ(result.diagnostics.size(), 1u) << describe(result.diagnostics);
    const Diagnostic& d = result.diagnostics.front();
    EXPECT_EQ(d.severity, severity) << describe(result.diagnostics);
    EXPECT_EQ(d.line, line) << describe(result.diagnostics);
    EXPECT_EQ(d.column, column) << describe(result.diagnostics);
    for (const char* part : parts)
        EXPECT_TRUE(d.message.contains(QString::fromUtf8(part))) << describe(result.diagnostics) << "missing: " << part;
}

ParseResult parse_str(const char* utf8) {
    return parse_utf8(QByteArrayView(utf8, static_cast<qsizetype>(qstrlen(utf8))));
}

TagList tags(std::initializer_list<const char*> list) {
    TagList out;
    for (const char* t : list)
        out.append(QString::fromUtf8(t));
    return out;
}

template <class F> long long elapsed_ms(F&& f) {
    const auto start = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
}

// Generous for a Debug build; sanitizers slow parsing down several times.
#if defined(__SANITIZE_ADDRESS__)
constexpr long long kTimeBoundMs = 15000;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr long long kTimeBoundMs = 15000;
#else
constexpr long long kTimeBoundMs = 5000; // 2 contended cores; the quadratic attribute check took 47 s
#endif
#else
constexpr long long kTimeBoundMs = 5000; // 2 contended cores; the quadratic attribute check took 47 s
#endif

} // namespace

// ---------------------------------------------------------------------------------------------
// The official README example

TEST(ReadmeExample, EveryFieldIsKept) {
    const ParseResult r = parse_utf8(fixture(QStringLiteral("readme_example.xml")));
    EXPECT_TRUE(r.diagnostics.empty()) << describe(r.diagnostics);
    const Document& d = r.document;
    EXPECT_EQ(d.kind, Kind::Xml);
    EXPECT_FALSE(d.image_root);
    EXPECT_FALSE(d.caption.has_value());
    EXPECT_TRUE(d.extra.empty());
    ASSERT_EQ(d.characters.size(), 2u);

    // Transcribed from the README (NewBieAI-Lab/NewBie-image-Exp0.1).
    const Character& c1 = d.characters[0];
    EXPECT_EQ(c1.index, 1);
    EXPECT_EQ(c1.n, tags({"$character_1$"}));
    EXPECT_EQ(c1.gender, tags({"1girl"}));
    EXPECT_EQ(c1.appearance, tags({"chibi", "red_eyes", "blue_hair", "long_hair", "hair_between_eyes", "head_tilt",
                                   "tareme", "closed_mouth"}));
    EXPECT_EQ(c1.clothing, tags({"school_uniform", "serafuku", "white_sailor_collar", "white_shirt", "short_sleeves",
                                 "red_neckerchief", "bow", "blue_skirt", "miniskirt", "pleated_skirt", "blue_hat",
                                 "mini_hat", "thighhighs", "grey_thighhighs", "black_shoes", "mary_janes"}));
    EXPECT_EQ(c1.expression, tags({"happy", "smile"}));
    EXPECT_EQ(c1.action, tags({"standing", "holding", "holding_briefcase"}));
    EXPECT_TRUE(c1.interaction.isEmpty());
    EXPECT_EQ(c1.position, tags({"center_left"}));
    EXPECT_TRUE(c1.extra.empty());

    const Character& c2 = d.characters[1];
    EXPECT_EQ(c2.index, 2);
    EXPECT_EQ(c2.n, tags({"$character_2$"}));
    EXPECT_EQ(c2.appearance,
              tags({"chibi", "red_eyes", "pink_hair", "long_hair", "very_long_hair", "multi-tied_hair", "open_mouth"}));
    EXPECT_EQ(c2.clothing.size(), 20);
    EXPECT_EQ(c2.clothing.back(), QStringLiteral("bare_arms"));
    EXPECT_EQ(c2.action, tags({"standing", "holding", "holding_briefcase", "waving"}));
    EXPECT_EQ(c2.position, tags({"center_right"}));

    ASSERT_TRUE(d.general_tags.has_value());
    const GeneralTags& g = *d.general_tags;
    EXPECT_EQ(g.count, tags({"2girls", "multiple_girls"}));
    EXPECT_EQ(g.style, tags({"anime_style", "digital_art"}));
    EXPECT_EQ(g.background, tags({"white_background", "simple_background"}));
    EXPECT_EQ(g.atmosphere, tags({"cheerful"}));
    EXPECT_EQ(g.quality, tags({"high_resolution", "detailed"}));
    EXPECT_EQ(g.objects, tags({"briefcase"}));
    EXPECT_EQ(g.other, tags({"alternate_costume"}));
    EXPECT_TRUE(g.artists.isEmpty() && g.lighting.isEmpty() && g.extra_tags.isEmpty());
}

// The canonical layout is the README's own: its lines without the two spaces of Markdown indent.
TEST(ReadmeExample, CanonicalFormIsTheReadmeLayout) {
    const QString file = QString::fromUtf8(fixture(QStringLiteral("readme_example.xml")));
    QStringList lines = file.split(u'\n');
    ASSERT_TRUE(lines.front().startsWith(u"<!--"_s));
    lines.removeFirst();
    while (!lines.isEmpty() && lines.back().isEmpty())
        lines.removeLast();
    for (QString& line : lines) {
        if (!line.isEmpty()) {
            ASSERT_TRUE(line.startsWith(u"  "_s)) << line.toStdString();
            line.remove(0, 2);
        }
    }
    const QString expected = lines.join(u'\n');
    const QString canonical = serialise(parse_utf8(file.toUtf8()).document);
    EXPECT_EQ(canonical.toStdString(), expected.toStdString());
    EXPECT_EQ(serialise(parse(canonical).document), canonical);
}

// ---------------------------------------------------------------------------------------------
// Round trip and idempotence over every fixture and the fuzz corpus

TEST(RoundTrip, AllFixturesAndFuzzCorpus) {
    int checked = 0;
    int rejected = 0;
    for (const QString& dir : {kData + u"/prompts"_s, kData + u"/prompt_fuzz_corpus"_s}) {
        const QFileInfoList files = QDir(dir).entryInfoList(QDir::Files, QDir::Name);
        ASSERT_FALSE(files.isEmpty()) << dir.toStdString();
        for (const QFileInfo& info : files) {
            SCOPED_TRACE(info.filePath().toStdString());
            const ParseResult first = parse_utf8(read_bytes(info.filePath()));
            for (const Diagnostic& d : first.diagnostics) {
                EXPECT_GE(d.line, 1);
                EXPECT_GE(d.column, 1);
            }
            if (first.has_errors()) {
                ++rejected;
                continue;
            }
            const QString canonical = serialise(first.document);
            const ParseResult second = parse(canonical);
            EXPECT_FALSE(second.has_errors()) << describe(second.diagnostics);
            EXPECT_TRUE(second.document == first.document) << canonical.toStdString();
            EXPECT_EQ(serialise(second.document).toStdString(), canonical.toStdString());
            // The canonical text also survives the trip through UTF-8 bytes (what a file stores).
            EXPECT_TRUE(parse_utf8(canonical.toUtf8()).document == first.document);
            ++checked;
        }
    }
    EXPECT_GE(checked, 15);
    EXPECT_GE(rejected, 5); // the hostile seeds
}

TEST(RoundTrip, BuiltDocumentKeepsUnknownElementsInPlace) {
    Document d;
    d.image_root = true;
    d.before_image.push_back({QStringLiteral("style"), QStringLiteral("<style>style of mikozin</style>"), {}});
    d.caption = QStringLiteral("Two friends at a festival.");
    Character a;
    a.index = 1;
    a.n = tags({"$character_1$"});
    a.gender = tags({"1girl"});
    a.appearance = tags({"red_hair"});
    a.extra.push_back(
        {QStringLiteral("accessory"), QStringLiteral("<accessory>fox_mask</accessory>"), QStringLiteral("appearance")});
    Character b;
    b.index = 2;
    b.gender = tags({"1boy"});
    d.characters = {a, b};
    d.general_tags = GeneralTags{};
    d.general_tags->count = tags({"1girl", "1boy"});
    d.extra.push_back({QStringLiteral("note"), QStringLiteral("<note>x</note>"), QStringLiteral("character_1")});

    const QString text = serialise(d);
    EXPECT_EQ(text.toStdString(), "<style>style of mikozin</style>\n\n"
                                  "<image>\n"
                                  "<caption>Two friends at a festival.</caption>\n\n"
                                  "<character_1>\n<n>$character_1$</n>\n<gender>1girl</gender>\n"
                                  "<appearance>red_hair</appearance>\n<accessory>fox_mask</accessory>\n"
                                  "</character_1>\n\n"
                                  "<note>x</note>\n\n"
                                  "<character_2>\n<n></n>\n<gender>1boy</gender>\n</character_2>\n\n"
                                  "<general_tags>\n<count>1girl, 1boy</count>\n</general_tags>\n"
                                  "</image>");
    const ParseResult back = parse(text);
    EXPECT_FALSE(back.has_errors()) << describe(back.diagnostics);
    EXPECT_TRUE(back.document == d);
}

TEST(Canonical, KnownFieldsTakeReadmeOrderAndUnknownOnesKeepTheirPlace) {
    const ParseResult r = parse_utf8(fixture(QStringLiteral("unknown_elements.xml")));
    EXPECT_FALSE(r.has_errors());
    EXPECT_EQ(serialise(r.document).toStdString(),
              "<scene_note>kept verbatim <b>with markup</b> &amp; an entity</scene_note>\n\n"
              "<character_1>\n<n>$character_1$</n>\n"
              "<hair_ornament weight=\"1.2\">hairclip, x_hair_ornament</hair_ornament>\n"
              "<gender>1girl</gender>\n<appearance>green_hair, long_hair</appearance>\n</character_1>\n\n"
              "<general_tags>\n<count>1girl, solo</count>\n<camera>dutch_angle</camera>\n"
              "<quality>masterpiece</quality>\n</general_tags>");
}

TEST(Canonical, ComfyUiAssemblerLayoutIsRecognised) {
    const ParseResult r = parse_utf8(fixture(QStringLiteral("comfyui_assembler.xml")));
    EXPECT_TRUE(r.diagnostics.empty()) << describe(r.diagnostics);
    const Document& d = r.document;
    EXPECT_TRUE(d.image_root);
    ASSERT_EQ(d.before_image.size(), 1u);
    EXPECT_EQ(d.before_image[0].xml, QStringLiteral("<style>style of mikozin</style>"));
    EXPECT_EQ(d.caption.value_or(QString()),
              QStringLiteral("A girl with a halo reads a book by the window in the late afternoon sun."));
    ASSERT_EQ(d.characters.size(), 1u);
    EXPECT_EQ(d.characters[0].n, tags({"seia \\(blue archive\\)"})); // escaped parentheses kept verbatim
    EXPECT_EQ(d.characters[0].interaction, tags({"leaning_on_object"}));
    ASSERT_TRUE(d.general_tags);
    EXPECT_EQ(d.general_tags->artists, tags({"artist:mikozin"}));
    EXPECT_EQ(d.general_tags->quality,
              tags({"high quality illustration", "clean lineart", "no logo", "no watermark"})); // spaces kept
    EXPECT_EQ(d.general_tags->extra_tags, tags({"dappled_sunlight"}));
}

TEST(Canonical, CaptionMovesFirstAndTagsKeepTheirSpelling) {
    const ParseResult r = parse_utf8(fixture(QStringLiteral("gemma_template.xml")));
    EXPECT_TRUE(r.diagnostics.empty()) << describe(r.diagnostics);
    const QString text = serialise(r.document);
    EXPECT_TRUE(text.startsWith(u"<caption>Two maid twins stand in a mansion hallway; the blue-haired one smiles at "_s
                                u"her sister \\(who looks smug\\).</caption>\n\n<character_1>\n"_s))
        << text.toStdString();
    EXPECT_EQ(r.document.characters.at(0).n, tags({"rem_\\(re:zero\\)"}));
    EXPECT_EQ(r.document.general_tags->resolution, tags({"max_high_resolution"}));
}

// ---------------------------------------------------------------------------------------------
// Diagnostics: kind, message and exact position

TEST(Diagnostics, MismatchedClosingTag) {
    expect_single(parse_str("<character_1>\n<n>x</m>\n</character_1>"), Severity::Error, 2, 5, {"</m>", "<n>", "2:1"});
}

TEST(Diagnostics, UnclosedElementPointsAtItsStart) {
    expect_single(parse_str("<caption>x</caption>\n  <character_1>\n<n>x</n>\n"), Severity::Error, 2, 3,
                  {"<character_1> is never closed"});
}

TEST(Diagnostics, UnfinishedTagAtTheEnd) {
    expect_single(parse_str("<caption>x</caption>\n<character_1"), Severity::Error, 2, 1, {"unfinished tag"});
}

TEST(Diagnostics, StrayClosingTag) {
    expect_single(parse_str("<caption>x</caption>\n</character_1>"), Severity::Error, 2, 1, {"malformed XML"});
}

TEST(Diagnostics, UnescapedLessThanInText) {
    expect_single(parse_str("<general_tags>\n<other>a <3</other>\n</general_tags>"), Severity::Error, 2, 10,
                  {"malformed XML"});
}

TEST(Diagnostics, UndeclaredEntity) {
    expect_single(parse_str("<caption>a &nbsp; b</caption>"), Severity::Error, 1, 12, {"nbsp"});
}

// Columns on the first line are not shifted by the synthetic root.
TEST(Diagnostics, NonNumericCharacterIndexOnTheFirstLine) {
    expect_single(parse_str("<caption>x</caption><character_x></character_x>"), Severity::Error, 1, 21,
                  {"must be a number", "<character_x>"});
}

TEST(Diagnostics, CharacterIndexOutOfRange) {
    expect_single(parse_str("<character_0><n>a</n></character_0>"), Severity::Error, 1, 1, {"between 1 and"});
}

TEST(Diagnostics, DuplicateCharacterIndex) {
    expect_single(parse_str("<character_1>\n<n>a</n>\n</character_1>\n<character_1>\n<n>b</n>\n</character_1>"),
                  Severity::Error, 4, 1, {"duplicate character index 1", "1:1"});
}

TEST(Diagnostics, UnknownElement) {
    const ParseResult r = parse_str("<character_1>\n<n>a</n>\n  <hair_ornament>x</hair_ornament>\n</character_1>");
    expect_single(r, Severity::Warning, 3, 3, {"unknown element <hair_ornament>", "<character_1>"});
    ASSERT_EQ(r.document.characters.at(0).extra.size(), 1u);
    EXPECT_EQ(r.document.characters[0].extra[0].xml, QStringLiteral("<hair_ornament>x</hair_ornament>"));
    EXPECT_EQ(r.document.characters[0].extra[0].after, QStringLiteral("n"));
}

TEST(Diagnostics, GapInCharacterNumbering) {
    expect_single(parse_str("<character_1>\n<n>a</n>\n</character_1>\n\n<character_3>\n<n>b</n>\n</character_3>"),
                  Severity::Warning, 5, 1, {"gap", "<character_2> is missing"});
    expect_single(parse_str("<character_2><n>a</n></character_2>"), Severity::Warning, 1, 1,
                  {"<character_1> is missing"});
}

TEST(Diagnostics, CountDisagreesWithCharacters) {
    const ParseResult r = parse_str("<character_1><n>a</n></character_1>\n"
                                    "<character_2><n>b</n></character_2>\n"
                                    "<character_3><n>c</n></character_3>\n"
                                    "<general_tags>\n"
                                    "  <count>2girls</count>\n"
                                    "</general_tags>");
    expect_single(r, Severity::Warning, 5, 3, {"2 characters", "3 character blocks"});
}

TEST(Diagnostics, CountIsReadConservatively) {
    struct Case {
        const char* count;
        int characters;
        bool warns;
    };
    const Case cases[] = {
        {"2girls, multiple_girls", 2, false},
        {"1girl, 1boy", 2, false},
        {"1girl, solo", 1, false},
        {"multiple_girls", 3, false},
        {"multiple girls", 1, true},
        {"6+girls", 3, true},
        {"6+girls", 7, false},
        {"solo", 2, true},
        {"1girl", 2, true},
        {"2boys, 1other", 3, false},
        {"3others", 2, true},
        {"1girl, 2girls", 3, false},
        {"1girl, multiple_girls", 1, false},
        {"crowd, scenery", 4, false},
        {"no_humans", 1, false},
        {"2GIRLS", 2, false},
    };
    for (const Case& c : cases) {
        QString text;
        for (int i = 1; i <= c.characters; ++i)
            text += u"<character_"_s + QString::number(i) + u"><n>x</n></character_"_s + QString::number(i) + u">\n"_s;
        text += u"<general_tags><count>"_s + QString::fromUtf8(c.count) + u"</count></general_tags>"_s;
        const ParseResult r = parse(text);
        EXPECT_EQ(r.diagnostics.size(), c.warns ? 1u : 0u) << c.count << " with " << c.characters << ":\n"
                                                           << describe(r.diagnostics);
    }
}

TEST(Diagnostics, EmptyCharacter) {
    expect_single(parse_str("<character_1><n>a</n></character_1>\n<character_2>\n<n></n>\n</character_2>"),
                  Severity::Warning, 2, 1, {"<character_2> has no tags"});
}

TEST(Diagnostics, TagRepeatedWithinAField) {
    // "long hair" is "long_hair" written with a space: the same danbooru tag.
    expect_single(parse_str("<character_1>\n<appearance>long_hair, blue_eyes, long hair</appearance>\n</character_1>"),
                  Severity::Warning, 2, 35, {"'long hair'", "<appearance>"});
}

TEST(Diagnostics, SameTagInDifferentFieldsIsFine) {
    const ParseResult r = parse_str("<character_1><n>a</n><expression>smile</expression></character_1>"
                                    "<character_2><n>b</n><expression>smile</expression></character_2>");
    EXPECT_TRUE(r.diagnostics.empty()) << describe(r.diagnostics);
}

TEST(Diagnostics, DuplicateFieldIsMergedWithAWarning) {
    const ParseResult r = parse_str("<character_1>\n<n>a</n>\n<appearance>x</appearance>\n<appearance>y</appearance>\n"
                                    "</character_1>");
    expect_single(r, Severity::Warning, 4, 1, {"more than once"});
    EXPECT_EQ(r.document.characters.at(0).appearance, tags({"x", "y"}));
}

TEST(Diagnostics, TextOutsideElementsIsKept) {
    const ParseResult r = parse_str("best quality\n<character_1><n>a</n></character_1>");
    expect_single(r, Severity::Warning, 1, 1, {"text outside"});
    ASSERT_EQ(r.document.extra.size(), 1u);
    EXPECT_EQ(r.document.extra[0].xml, QStringLiteral("best quality"));
    EXPECT_TRUE(r.document.extra[0].name.isEmpty());
}

// ---------------------------------------------------------------------------------------------
// Line endings, encodings, placeholders

TEST(Text, CrLfGivesTheSameDocumentAndPositions) {
    const char* lf = "<character_1>\n<appearance>long_hair, blue_eyes, long hair</appearance>\n</character_1>";
    const char* crlf =
        "<character_1>\r\n<appearance>long_hair, blue_eyes, long hair</appearance>\r\n</character_1>\r\n";
    const char* cr = "<character_1>\r<appearance>long_hair, blue_eyes, long hair</appearance>\r</character_1>";
    const ParseResult a = parse_str(lf);
    for (const char* text : {crlf, cr}) {
        const ParseResult b = parse_str(text);
        EXPECT_TRUE(b.document == a.document);
        EXPECT_EQ(b.diagnostics, a.diagnostics) << describe(b.diagnostics);
        EXPECT_FALSE(serialise(b.document).contains(u'\r'));
    }
    expect_single(a, Severity::Warning, 2, 35, {"long hair"});
}

TEST(Text, CjkNamesAndColumnsInCodePoints) {
    const ParseResult f = parse_utf8(fixture(QStringLiteral("cjk_names.xml")));
    EXPECT_TRUE(f.diagnostics.empty()) << describe(f.diagnostics);
    ASSERT_EQ(f.document.characters.size(), 1u);
    EXPECT_EQ(f.document.characters[0].n, tags({"初音ミク"}));
    EXPECT_EQ(f.document.characters[0].appearance, tags({"蓝色头发", "twintails", "aqua_eyes"}));
    EXPECT_EQ(f.document.general_tags->background, tags({"stage", "🎤"}));
    EXPECT_TRUE(serialise(f.document).contains(QString::fromUtf8("<n>初音ミク</n>")));

    // Each CJK character and the emoji (two UTF-16 units, four UTF-8 bytes) is one column.
    const ParseResult r = parse_str("<character_1>\n<n>初音ミク</n>\n<appearance>蓝色头发, 🎤, 蓝色头发</appearance>\n"
                                    "</character_1>");
    expect_single(r, Severity::Warning, 3, 22, {"蓝色头发"});
}

TEST(Text, PlaceholdersEscapesAndBlankLinesAreKept) {
    const ParseResult r = parse_str("\n\n<character_1>\n\n<n>$character_1$</n>\n\n"
                                    "<appearance>  hair_ornament ,\n  \\(symbol\\)  </appearance>\n</character_1>\n\n");
    EXPECT_TRUE(r.diagnostics.empty()) << describe(r.diagnostics);
    EXPECT_EQ(r.document.characters.at(0).n, tags({"$character_1$"}));
    EXPECT_EQ(r.document.characters.at(0).appearance, tags({"hair_ornament", "\\(symbol\\)"}));
}

TEST(Text, XmlDeclarationAndCommentsAreAccepted) {
    const ParseResult r = parse_str("<?xml version=\"1.0\"?>\n<!-- c -->\n<character_1><n>a</n>\n<m/></character_1>");
    expect_single(r, Severity::Warning, 4, 1, {"<m>"});
}

// ---------------------------------------------------------------------------------------------
// Kinds other than XML

TEST(Kinds, TagListIsRecognised) {
    const ParseResult r = parse_utf8(fixture(QStringLiteral("tag_list.txt")));
    EXPECT_TRUE(r.diagnostics.empty()) << describe(r.diagnostics);
    EXPECT_EQ(r.document.kind, Kind::TagList);
    EXPECT_EQ(r.document.tags,
              tags({"1girl", "solo", "long_hair", "blue_eyes", "hatsune_miku", "smile", "looking_at_viewer"}));
    EXPECT_EQ(serialise(r.document),
              QStringLiteral("1girl, solo, long_hair, blue_eyes, hatsune_miku, smile, looking_at_viewer"));
}

TEST(Kinds, NaturalLanguageIsRecognised) {
    const ParseResult r = parse_utf8(fixture(QStringLiteral("natural_language.txt")));
    EXPECT_TRUE(r.diagnostics.empty()) << describe(r.diagnostics);
    EXPECT_EQ(r.document.kind, Kind::NaturalLanguage);
    EXPECT_EQ(r.document.text, QStringLiteral("A girl with long blue hair stands under the cherry blossoms at dusk, "
                                              "smiling at the viewer."));
}

TEST(Kinds, Detection) {
    EXPECT_EQ(detect_kind(u"1girl"_s), Kind::TagList); // the README's quick-start prompt
    EXPECT_EQ(detect_kind(u"masterpiece, best quality, 1girl, ..."_s), Kind::TagList);
    EXPECT_EQ(detect_kind(u"1girl, ?"_s), Kind::TagList);
    EXPECT_EQ(detect_kind(u"A girl smiles."_s), Kind::NaturalLanguage);
    EXPECT_EQ(detect_kind(u"a girl standing in the rain"_s), Kind::NaturalLanguage);
    EXPECT_EQ(detect_kind(QString::fromUtf8("一个蓝色头发的女孩站在雨中。")), Kind::NaturalLanguage);
    EXPECT_EQ(detect_kind(u"  <character_1></character_1>"_s), Kind::Xml);
    EXPECT_EQ(detect_kind(u"best quality, <character_1/>"_s), Kind::Xml);
    EXPECT_EQ(detect_kind(u"1girl, <3"_s), Kind::TagList);
    EXPECT_EQ(detect_kind(u""_s), Kind::TagList);
}

TEST(Kinds, RepeatedTagInATagList) {
    expect_single(parse_str("1girl, solo,\n  smile, Smile"), Severity::Warning, 2, 10, {"'Smile'"});
}

TEST(Kinds, EmptyPromptWarns) {
    const ParseResult r = parse_str("  \n ");
    expect_single(r, Severity::Warning, 1, 1, {"empty"});
    EXPECT_EQ(r.document.kind, Kind::TagList);
    EXPECT_TRUE(serialise(r.document).isEmpty());
}

// ---------------------------------------------------------------------------------------------
// Hostile input: an error, no crash, in bounded time

TEST(Hostile, OversizedInputIsRejected) {
    QByteArray big(ParseLimits{}.max_bytes + 1, 'a');
    ParseResult r;
    EXPECT_LT(elapsed_ms([&] { r = parse_utf8(big); }), kTimeBoundMs);
    expect_single(r, Severity::Error, 1, 1, {"too large"});
    QString text(ParseLimits{}.max_bytes + 1, u'x');
    expect_single(parse(text), Severity::Error, 1, 1, {"too large"});
}

TEST(Hostile, LargestAcceptedInputParsesInTime) {
    QByteArray text = "<character_1>\n<appearance>";
    while (text.size() < ParseLimits{}.max_bytes - 64)
        text += "long_hair, ";
    text += "</appearance>\n</character_1>";
    ParseResult r;
    EXPECT_LT(elapsed_ms([&] { r = parse_utf8(text); }), kTimeBoundMs);
    EXPECT_FALSE(r.has_errors()) << describe(r.diagnostics);
    expect_single(r, Severity::Warning, 2, 24, {"'long_hair' is repeated"}); // reported once
}

TEST(Hostile, DeepNestingStopsAtTheLimit) {
    const QByteArray text = QByteArray("<a>").repeated(10000) + QByteArray("</a>").repeated(10000);
    ParseResult r;
    EXPECT_LT(elapsed_ms([&] { r = parse_utf8(text); }), kTimeBoundMs);
    // The 33rd <a> is the first one too deep.
    expect_single(r, Severity::Error, 1, 1 + 3 * 32, {"<a>", "nested more than 32"});
}

TEST(Hostile, TooManyElements) {
    const QByteArray text = QByteArray("<x/>").repeated(200000);
    ParseResult r;
    EXPECT_LT(elapsed_ms([&] { r = parse_utf8(text); }), kTimeBoundMs);
    ASSERT_TRUE(r.has_errors());
    const auto error = std::find_if(r.diagnostics.begin(), r.diagnostics.end(),
                                    [](const Diagnostic& d) { return d.severity == Severity::Error; });
    EXPECT_EQ(error->column, 1 + 4 * ParseLimits{}.max_elements); // the first element over the limit
    EXPECT_TRUE(error->message.contains(u"more than "_s + QString::number(ParseLimits{}.max_elements)));
    EXPECT_TRUE(error->message.contains(u"<x>"_s)) << error->message.toStdString();
}

TEST(Hostile, ManyAttributesAreRefusedInLinearTime) {
    // 100k attributes in one element, 1 MB: Qt's duplicate-attribute check alone took 47 s.
    QByteArray text = "<caption>x</caption>\n<character_1 ";
    for (int i = 0; text.size() < ParseLimits{}.max_bytes - 64; ++i)
        text += "a" + QByteArray::number(i) + "='' ";
    text += "><n>x</n></character_1>";
    ParseResult r;
    EXPECT_LT(elapsed_ms([&] { r = parse_utf8(text); }), kTimeBoundMs);
    expect_single(r, Severity::Error, 2, 1, {"<character_1>", "more than 100 attributes"});
}

TEST(Hostile, AttributesUpToTheLimitAreAccepted) {
    QByteArray text = "<character_1";
    for (int i = 0; i < ParseLimits{}.max_attributes; ++i)
        text += " a" + QByteArray::number(i) + "=\"v>w\"";
    text += "><n>x</n></character_1>";
    expect_single(parse_utf8(text), Severity::Warning, 1, 1, {"attributes of <character_1> are ignored"});
    // Markup that looks like attributes inside a comment or CDATA does not count.
    QByteArray quoted = "<caption><!-- <x";
    for (int i = 0; i < 2 * ParseLimits{}.max_attributes; ++i)
        quoted += " a" + QByteArray::number(i) + "=''";
    quoted += "> --><![CDATA[<y" + QByteArray(" b=''").repeated(2 * ParseLimits{}.max_attributes) + ">]]></caption>";
    EXPECT_FALSE(parse_utf8(quoted).has_errors()) << describe(parse_utf8(quoted).diagnostics);
}

TEST(Hostile, ManyAttributesSpreadOverElementsParseInTime) {
    QByteArray element = "<x";
    for (int i = 0; i < ParseLimits{}.max_attributes; ++i)
        element += " a" + QByteArray::number(i) + "=''";
    element += "/>";
    QByteArray text;
    while (text.size() + element.size() < ParseLimits{}.max_bytes)
        text += element;
    ParseResult r;
    EXPECT_LT(elapsed_ms([&] { r = parse_utf8(text); }), kTimeBoundMs);
    EXPECT_FALSE(r.has_errors()) << describe(r.diagnostics);
}

TEST(Hostile, DiagnosticsAreCapped) {
    const ParseResult r = parse_utf8(QByteArray("<x/>").repeated(2000));
    ASSERT_EQ(r.diagnostics.size(), static_cast<size_t>(ParseLimits{}.max_diagnostics) + 1);
    EXPECT_TRUE(r.diagnostics.back().message.contains(u"1500 more"_s)) << r.diagnostics.back().message.toStdString();
    EXPECT_EQ(r.diagnostics.back().column, 1 + 4 * ParseLimits{}.max_diagnostics);
    EXPECT_EQ(r.document.extra.size(), 2000u);
}

TEST(Hostile, DtdAndEntityExpansionAreRejected) {
    const char* laughs = "<!DOCTYPE lolz [<!ENTITY lol \"lol\">"
                         "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
                         "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">"
                         "<!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">]>"
                         "<caption>&lol4;</caption>";
    ParseResult r;
    EXPECT_LT(elapsed_ms([&] { r = parse_str(laughs); }), kTimeBoundMs);
    expect_single(r, Severity::Error, 1, 1, {"DOCTYPE"});
    EXPECT_FALSE(r.document.caption.has_value());

    const ParseResult xxe =
        parse_str("<caption>x</caption>\n<!DOCTYPE x [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n"
                  "<character_1><n>&xxe;</n></character_1>");
    expect_single(xxe, Severity::Error, 2, 1, {"DOCTYPE"});
    EXPECT_TRUE(xxe.document.characters.empty());
}

TEST(Hostile, InvalidUtf8) {
    expect_single(parse_str("<caption>ab\xC3(</caption>"), Severity::Error, 1, 12, {"invalid UTF-8", "0xC3"});
    expect_single(parse_str("<caption>\n\xE4\xB8\xAD\xFF</caption>"), Severity::Error, 2, 2, {"0xFF"});
    expect_single(parse_str("<caption>\xC0\xAF</caption>"), Severity::Error, 1, 10, {"0xC0"});     // overlong '/'
    expect_single(parse_str("<caption>\xED\xA0\x80</caption>"), Severity::Error, 1, 10, {"0xED"}); // surrogate
    expect_single(parse_str("1girl, \xE4\xB8"), Severity::Error, 1, 8, {"invalid UTF-8"});         // truncated
    EXPECT_FALSE(parse_str("\xEF\xBB\xBF<caption>BOM is fine</caption>").has_errors());
}

TEST(Hostile, NulAndControlCharacters) {
    const QByteArray nul("<caption>a\0b</caption>", 22);
    expect_single(parse_utf8(nul), Severity::Error, 1, 11, {"NUL"});
    expect_single(parse_utf8(QByteArray("1girl,\n\0", 8)), Severity::Error, 2, 1, {"NUL"});
    expect_single(parse_str("<caption>a\x01</caption>"), Severity::Error, 1, 11, {"U+0001"});
}

TEST(Hostile, SyntheticRootCannotBeClosedFromInside) {
    const ParseResult r = parse_str("<caption>x</caption></charaforge-synthetic-root><caption>y</caption>");
    ASSERT_TRUE(r.has_errors()) << describe(r.diagnostics);
    EXPECT_EQ(r.diagnostics.front().column, 21);
}

// ---------------------------------------------------------------------------------------------
// charaforge-cli prompt check

namespace {

struct CliRun {
    int code;
    std::string out;
    std::string err;
};

// `charaforge-cli prompt ARGS...` through the real command line (CLI11) and the real action.
CliRun run_cli(std::vector<std::string> args) {
    std::ostringstream out;
    std::ostringstream err;
    CLI::App app("", "charaforge-cli");
    charaforge::cli::Action chosen;
    charaforge::cli::add_prompt_commands(app, chosen, out, err);
    args.insert(args.begin(), "prompt");
    const int code = charaforge::cli::parse_and_run(app, args, chosen, out, err);
    return {code, out.str(), err.str()};
}

std::string write_file(const QTemporaryDir& dir, const char* name, const QByteArray& content) {
    const QString path = dir.filePath(QString::fromUtf8(name));
    QFile file(path);
    EXPECT_TRUE(file.open(QIODevice::WriteOnly));
    file.write(content);
    return path.toStdString();
}

} // namespace

// Danbooru count tags from the genders, girls first (golden values from danbooru's tag wiki: 1girl, 2girls,
// 6+girls, multiple_girls, 1boy, 1other).
TEST(Prompt, CountTagsComeFromTheCharactersGenders) {
    auto chars = [](std::initializer_list<const char*> genders) {
        std::vector<Character> out;
        for (const char* g : genders) {
            Character c;
            c.gender = split_tags(QString::fromLatin1(g));
            out.push_back(c);
        }
        return out;
    };
    EXPECT_EQ(count_tags({}), TagList{});
    EXPECT_EQ(count_tags(chars({"1girl"})), TagList{QStringLiteral("1girl")});
    EXPECT_EQ(count_tags(chars({"1girl", "girl"})),
              (TagList{QStringLiteral("2girls"), QStringLiteral("multiple_girls")}));
    EXPECT_EQ(count_tags(chars({"1boy", "1girl"})), (TagList{QStringLiteral("1girl"), QStringLiteral("1boy")}));
    EXPECT_EQ(count_tags(chars({"male", "1other", ""})), (TagList{QStringLiteral("1boy"), QStringLiteral("1other")}));
    EXPECT_EQ(count_tags(chars({"1girl", "1girl", "1girl", "1girl", "1girl", "1girl", "1girl"})),
              (TagList{QStringLiteral("6+girls"), QStringLiteral("multiple_girls")}));
    EXPECT_EQ(count_tags(chars({"1boy", "1boy"})), (TagList{QStringLiteral("2boys"), QStringLiteral("multiple_boys")}));
}

TEST(Cli, ValidFilePrintsCanonicalPrompt) {
    QTemporaryDir dir;
    const std::string path =
        write_file(dir, "ok.xml", "<character_1>\n  <gender>1girl</gender>\n  <n>a</n>\n</character_1>\n");
    const CliRun run = run_cli({"check", path});
    EXPECT_EQ(run.code, 0);
    EXPECT_EQ(run.out, "<character_1>\n<n>a</n>\n<gender>1girl</gender>\n</character_1>\n");
    EXPECT_EQ(run.err, "");
}

TEST(Cli, WarningsStillSucceed) {
    QTemporaryDir dir;
    const std::string path = write_file(
        dir, "gap.xml", "<character_1>\n<n>a</n>\n</character_1>\n\n<character_3>\n<n>b</n>\n</character_3>\n");
    const CliRun run = run_cli({"check", path});
    EXPECT_EQ(run.code, 0);
    EXPECT_EQ(run.err, path + ":5:1: warning: gap in character numbering: <character_2> is missing\n");
    EXPECT_FALSE(run.out.empty());
}

TEST(Cli, ErrorsFailWithPositions) {
    QTemporaryDir dir;
    const std::string path = write_file(dir, "bad.xml", "<character_1>\n<n>x</m>\n</character_1>\n");
    const CliRun run = run_cli({"check", path});
    EXPECT_EQ(run.code, 1);
    EXPECT_EQ(run.out, "");
    EXPECT_EQ(run.err.rfind(path + ":2:5: error: ", 0), 0u) << run.err;
}

TEST(Cli, OversizedFileIsAnError) {
    QTemporaryDir dir;
    const std::string path = write_file(dir, "big.txt", QByteArray(ParseLimits{}.max_bytes + 10, 'a'));
    const CliRun run = run_cli({"check", path});
    EXPECT_EQ(run.code, 1);
    EXPECT_NE(run.err.find(":1:1: error: the prompt is too large"), std::string::npos) << run.err;
}

TEST(Cli, UnreadableInputAndUsage) {
    QTemporaryDir dir;
    const std::string ok = write_file(dir, "ok.txt", "1girl, solo");
    const std::string bad = write_file(dir, "bad.xml", "<a>");
    const std::string missing = dir.filePath(QStringLiteral("missing.xml")).toStdString();

    CliRun run = run_cli({"check", missing});
    EXPECT_EQ(run.code, 2);
    EXPECT_EQ(run.err.rfind(missing + ": error: cannot read", 0), 0u) << run.err;
    EXPECT_EQ(run_cli({"check", dir.path().toStdString()}).code, 2);
    EXPECT_EQ(run_cli({"check", ok, missing}).code, 2);
    EXPECT_EQ(run_cli({"check", bad, missing}).code, 2);
    EXPECT_EQ(run_cli({"check", ok, bad}).code, 1);
    EXPECT_EQ(run_cli({}).code, 2);
    EXPECT_EQ(run_cli({"check"}).code, 2);
    EXPECT_EQ(run_cli({"frobnicate", ok}).code, 2);
    run = run_cli({"check", "--help"});
    EXPECT_EQ(run.code, 0);
    EXPECT_NE(run.out.find("charaforge-cli prompt check [OPTIONS] FILE"), std::string::npos) << run.out;
    run = run_cli({"check", ok, "--frobnicate"});
    EXPECT_EQ(run.code, 2);
    EXPECT_EQ(run.out, "");
    EXPECT_EQ(run.err.rfind("charaforge-cli prompt check: error: ", 0), 0u) << run.err;
}

TEST(Cli, SeveralValidFilesAreLabelled) {
    QTemporaryDir dir;
    const std::string a = write_file(dir, "a.txt", "1girl,  solo");
    const std::string b = write_file(dir, "b.txt", "A girl stands in the rain.\n");
    const CliRun run = run_cli({"check", a, b});
    EXPECT_EQ(run.code, 0);
    EXPECT_EQ(run.out, "==> " + a + " <==\n1girl, solo\n==> " + b + " <==\nA girl stands in the rain.\n");
}
