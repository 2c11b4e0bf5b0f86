// Variant expansion: product, labels, prompt edits per axis, hostile values.
#include "queue/variants.h"

#include "charaforge/prompt/prompt.h"

#include <QSet>

#include <gtest/gtest.h>

using namespace charaforge::queue;
namespace prompt = charaforge::prompt;

namespace {

const char* kPrompt = "<character_1>\n<n>miku</n>\n<clothing>school_uniform</clothing>\n</character_1>\n\n"
                      "<general_tags>\n<style>anime</style>\n<quality>masterpiece</quality>\n</general_tags>";

JobSpec base() {
    JobSpec s;
    s.prompt = QString::fromUtf8(kPrompt);
    s.seed = 100;
    return s;
}

VariantAxis axis(AxisKind kind, QStringList values) {
    VariantAxis a;
    a.kind = kind;
    a.values = std::move(values);
    return a;
}

prompt::Document parsed(const QString& text) {
    auto r = prompt::parse(text);
    EXPECT_FALSE(r.has_errors()) << text.toStdString();
    return r.document;
}

} // namespace

TEST(Variants, ThreeStylesTimesFourSeedsIsTwelveLabelledJobs) {
    const QList<VariantAxis> axes{axis(AxisKind::Style, {"flat color, lineart", "watercolor", "oil painting"}),
                                  seedAxis(7, 4)};
    EXPECT_EQ(variantCount(axes), 12);
    const auto e = expandVariants(base(), axes);
    ASSERT_EQ(e.variants.size(), 12);
    EXPECT_EQ(e.axisNames, (QStringList{"style", "seed"}));
    // First axis varies slowest; every (style, seed) pair appears once.
    QSet<QString> seen;
    for (int i = 0; i < 12; ++i) {
        const auto& v = e.variants[i];
        ASSERT_EQ(v.axisValues.size(), 2);
        seen.insert(v.axisValues.join('/'));
        EXPECT_EQ(v.spec.seed, 7 + i % 4);
        const auto doc = parsed(v.spec.prompt);
        ASSERT_TRUE(doc.general_tags);
        EXPECT_EQ(doc.general_tags->style, prompt::split_tags(v.axisValues[0]));
        EXPECT_EQ(doc.general_tags->quality, QStringList{"masterpiece"}); // other fields untouched
        EXPECT_EQ(doc.characters.at(0).n, QStringList{"miku"});
    }
    EXPECT_EQ(seen.size(), 12);
    EXPECT_EQ(e.variants[4].axisValues, (QStringList{"watercolor", "7"}));
}

TEST(Variants, ExtendKeepsTheExistingStyleTags) {
    auto a = axis(AxisKind::Style, {"watercolor"});
    a.extend = true;
    const auto e = expandVariants(base(), {a});
    EXPECT_EQ(parsed(e.variants[0].spec.prompt).general_tags->style, (QStringList{"anime", "watercolor"}));
}

TEST(Variants, CharacterFieldAxisReplacesThatFieldOnly) {
    VariantAxis a = axis(AxisKind::CharacterField, {"kimono", "maid_outfit, apron"});
    a.character = 1;
    a.field = QStringLiteral("clothing");
    const auto e = expandVariants(base(), {a});
    ASSERT_EQ(e.variants.size(), 2);
    EXPECT_EQ(e.axisNames, QStringList{"character_1.clothing"});
    EXPECT_EQ(parsed(e.variants[1].spec.prompt).characters.at(0).clothing, (QStringList{"maid_outfit", "apron"}));
    EXPECT_EQ(parsed(e.variants[1].spec.prompt).general_tags->style, QStringList{"anime"});
}

TEST(Variants, NumericAndSamplerAndResolutionAxes) {
    const auto e = expandVariants(base(), {axis(AxisKind::Cfg, {"3.5", "7"}), axis(AxisKind::Steps, {"20"}),
                                           axis(AxisKind::Sampler, {"euler", "dpm"}),
                                           axis(AxisKind::Resolution, {"832x1216", "1024x1024"})});
    ASSERT_EQ(e.variants.size(), 8);
    EXPECT_DOUBLE_EQ(e.variants[0].spec.cfg, 3.5);
    EXPECT_EQ(e.variants[0].spec.steps, 20);
    EXPECT_EQ(e.variants[0].spec.width, 832);
    EXPECT_EQ(e.variants[0].spec.height, 1216);
    EXPECT_EQ(e.variants[3].spec.sampler, "dpm");
    EXPECT_EQ(e.variants[3].spec.width, 1024);
    EXPECT_DOUBLE_EQ(e.variants[7].spec.cfg, 7.0);
    EXPECT_EQ(e.variants[0].spec.prompt, base().prompt); // non-tag axes leave the prompt alone
}

TEST(Variants, NoAxesIsTheBaseJob) {
    const auto e = expandVariants(base(), {});
    ASSERT_EQ(e.variants.size(), 1);
    EXPECT_EQ(e.variants[0].spec, base());
}

TEST(Variants, BadValuesNameTheAxisAndValue) {
    auto expectError = [](const QList<VariantAxis>& axes, const std::string& needle) {
        try {
            expandVariants(base(), axes);
            ADD_FAILURE() << "no error for " << needle;
        } catch (const VariantError& e) {
            EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
        }
    };
    expectError({axis(AxisKind::Cfg, {"lots"})}, "axis cfg, value \"lots\"");
    expectError({axis(AxisKind::Steps, {"0"})}, "axis steps");
    expectError({axis(AxisKind::Sampler, {"ddim"})}, "\"ddim\"");
    expectError({axis(AxisKind::Sampler, {"ddim"})}, "not a sampler (euler, midpoint or dpm)");
    expectError({axis(AxisKind::Resolution, {"1000x1000"})}, "multiples of 16");
    expectError({axis(AxisKind::Seed, {})}, "no values");
    VariantAxis c = axis(AxisKind::CharacterField, {"hat"});
    c.character = 3;
    c.field = QStringLiteral("clothing");
    expectError({c}, "no <character_3>");
    c.character = 1;
    c.field = QStringLiteral("shoes");
    expectError({c}, "not a character field");
    QStringList many;
    for (int i = 0; i < 101; ++i)
        many << QString::number(i);
    expectError({axis(AxisKind::Seed, many), axis(AxisKind::Seed, many)}, "more than 10000");
}

TEST(Variants, NaturalLanguagePromptRefusesTagAxes) {
    JobSpec s = base();
    s.prompt = QStringLiteral("A girl with long teal hair stands in the rain at night.");
    EXPECT_THROW(expandVariants(s, {axis(AxisKind::Style, {"watercolor"})}), VariantError);
    EXPECT_NO_THROW(expandVariants(s, {seedAxis(1, 2)}));
}

TEST(Variants, VaryOptionParses) {
    auto a = parseVaryOption(QStringLiteral("style=flat color, lineart|watercolor"));
    EXPECT_EQ(a.kind, AxisKind::Style);
    EXPECT_EQ(a.values, (QStringList{"flat color, lineart", "watercolor"}));
    a = parseVaryOption(QStringLiteral("seeds=3"), 40);
    EXPECT_EQ(a.values, (QStringList{"40", "41", "42"}));
    a = parseVaryOption(QStringLiteral("character_2.expression+=smile|crying"));
    EXPECT_EQ(a.kind, AxisKind::CharacterField);
    EXPECT_EQ(a.character, 2);
    EXPECT_EQ(a.field, "expression");
    EXPECT_TRUE(a.extend);
    EXPECT_THROW(parseVaryOption(QStringLiteral("colour=red")), VariantError);
    EXPECT_THROW(parseVaryOption(QStringLiteral("seeds=-1")), VariantError);
    EXPECT_THROW(parseVaryOption(QStringLiteral("cfg=")), VariantError);
    EXPECT_THROW(parseVaryOption(QStringLiteral("nonsense")), VariantError);
}

TEST(Variants, AxesRoundTripThroughJson) {
    VariantAxis c = axis(AxisKind::CharacterField, {"a", "b"});
    c.field = QStringLiteral("clothing");
    c.character = 2;
    c.extend = true;
    const QList<VariantAxis> axes{axis(AxisKind::Style, {"x, y", "<script>"}), seedAxis(5, 2), c};
    EXPECT_EQ(axesFromJson(axesToJson(axes)), axes);
    EXPECT_THROW(axesFromJson(QStringLiteral("{not json")), VariantError);
}
