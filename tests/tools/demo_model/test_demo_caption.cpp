// Captions of demo images: they parse with core/prompt, name exactly what was drawn, and use only tags that the
// vocabulary lists under the field they are in.
#include "demo_caption.h"

#include <gtest/gtest.h>

#include <QFile>
#include <QSet>

#include <map>
#include <optional>

using namespace charaforge;
using namespace charaforge::demo;

namespace {

QSet<QString> vocabulary(const char* field) {
    QFile f(QStringLiteral(CHARAFORGE_VOCABULARY_DIR "/%1.txt").arg(QLatin1String(field)));
    EXPECT_TRUE(f.open(QIODevice::ReadOnly)) << field;
    QSet<QString> tags;
    for (const QByteArray& line : f.readAll().split('\n')) {
        const QString tag = QString::fromUtf8(line).trimmed();
        if (!tag.isEmpty() && !tag.startsWith(u'#')) {
            tags.insert(tag);
        }
    }
    return tags;
}

// The value of `values` whose tag is `tag`, if any.
template <class Values, class ToTag> auto decode(const QString& tag, const Values& values, ToTag to_tag) {
    std::optional<typename Values::value_type> found;
    for (auto v : values) {
        if (QString::fromStdString(to_tag(v)) == tag) {
            found = v;
        }
    }
    return found;
}

constexpr std::array kGenders{Gender::Girl, Gender::Boy};
constexpr std::array kSkins{Skin::Fair, Skin::Pale, Skin::Dark};
constexpr std::array kClothes{Clothing::Dress, Clothing::Shirt, Clothing::Hoodie, Clothing::Jacket};
constexpr std::array kMouths{Mouth::Closed, Mouth::Smile, Mouth::Open};
constexpr std::array kPositions{Position::Left, Position::Center, Position::Right};

// A character read back from its caption's tags; fails the test on a tag that names nothing drawn.
CharacterSpec read_back(const prompt::Character& c, EyeColour eyes_when_closed) {
    CharacterSpec out;
    out.eye_colour = eyes_when_closed;
    out.skin = Skin::Fair;
    int set_fields = 0;
    int styles = 0;
    int hair_colours = 0;
    int mouths = 0;
    for (const auto& tag : c.gender) {
        auto g = decode(tag, kGenders, gender_tag);
        EXPECT_TRUE(g) << tag.toStdString();
        out.gender = g.value_or(Gender::Girl);
        ++set_fields;
    }
    for (const auto& tag : c.appearance) {
        if (auto v = decode(tag, kHairStyles, hair_style_tag)) {
            out.hair_style = *v;
            ++styles;
        } else if (auto h = decode(tag, kHairColours, hair_colour_tag)) {
            out.hair_colour = *h;
            ++hair_colours;
        } else if (auto e = decode(tag, kEyeColours, eye_colour_tag)) {
            out.eye_colour = *e;
        } else if (auto s = decode(tag, kSkins, skin_tag)) {
            out.skin = *s;
        } else if (tag == u"glasses") {
            out.glasses = true;
        } else if (tag == u"hair_ribbon") {
            out.ribbon = true;
        } else {
            ADD_FAILURE() << "appearance tag " << tag.toStdString();
        }
    }
    std::optional<Clothing> type;
    for (const auto& tag : c.clothing) {
        if (auto t = decode(tag, kClothes, clothing_tag)) {
            type = *t;
            out.clothing = *t;
        } else if (tag == u"hat") {
            out.hat = true;
        }
    }
    EXPECT_TRUE(type.has_value());
    for (const auto& tag : c.clothing) {
        bool known = decode(tag, kClothes, clothing_tag) || tag == u"hat";
        for (auto colour : kClothingColours) {
            if (type && QString::fromStdString(clothing_colour_tag(*type, colour)) == tag) {
                out.clothing_colour = colour;
                known = true;
            }
        }
        EXPECT_TRUE(known) << "clothing tag " << tag.toStdString();
    }
    for (const auto& tag : c.expression) {
        if (auto m = decode(tag, kMouths, mouth_tag)) {
            out.mouth = *m;
            ++mouths;
        } else if (tag == u"closed_eyes") {
            out.eyes_closed = true;
        } else {
            ADD_FAILURE() << "expression tag " << tag.toStdString();
        }
    }
    EXPECT_EQ(c.position.size(), 1);
    for (const auto& tag : c.position) {
        auto p = decode(tag, kPositions, position_tag);
        EXPECT_TRUE(p) << tag.toStdString();
        out.position = p.value_or(Position::Center);
    }
    EXPECT_EQ(set_fields, 1);
    EXPECT_EQ(styles, 1);
    EXPECT_EQ(hair_colours, 1);
    EXPECT_EQ(mouths, 1);
    EXPECT_TRUE(c.action.isEmpty() && c.interaction.isEmpty() && c.n.isEmpty());
    return out;
}

} // namespace

TEST(DemoCaption, EveryCaptionParsesAndNamesExactlyTheDrawnAttributes) {
    int xml = 0;
    int lists = 0;
    for (uint64_t i = 0; i < 300; ++i) {
        const SceneSpec scene = random_scene(21, i);
        const std::string text = caption_text(scene);
        const prompt::ParseResult parsed = prompt::parse_utf8(QByteArrayView(text.data(), qsizetype(text.size())));
        ASSERT_FALSE(parsed.has_errors()) << text;
        EXPECT_TRUE(parsed.diagnostics.empty()) << text;
        const prompt::Document& doc = parsed.document;
        if (scene.tag_list_caption) {
            ++lists;
            ASSERT_EQ(doc.kind, prompt::Kind::TagList) << text;
            // Each character's attributes are in the list.
            for (const auto& c : caption_document(SceneSpec{scene.characters, scene.background, false, 0}).characters) {
                for (const auto& tag : c.appearance + c.clothing + c.expression + c.position) {
                    EXPECT_TRUE(doc.tags.contains(tag)) << tag.toStdString() << " missing from " << text;
                }
            }
            continue;
        }
        ++xml;
        ASSERT_EQ(doc.kind, prompt::Kind::Xml) << text;
        ASSERT_EQ(doc.characters.size(), scene.characters.size()) << text;
        for (size_t k = 0; k < scene.characters.size(); ++k) {
            const CharacterSpec& drawn = scene.characters[k];
            EXPECT_EQ(doc.characters[k].index, static_cast<int>(k) + 1);
            const CharacterSpec back = read_back(doc.characters[k], drawn.eye_colour);
            EXPECT_EQ(back, drawn) << text;
            EXPECT_EQ(doc.characters[k].appearance.contains(QString::fromStdString(eye_colour_tag(drawn.eye_colour))),
                      !drawn.eyes_closed)
                << text;
        }
        ASSERT_TRUE(doc.general_tags.has_value());
        EXPECT_EQ(doc.general_tags->count,
                  prompt::count_tags(doc.characters) +
                      (scene.characters.size() == 1 ? QStringList{QStringLiteral("solo")} : QStringList{}));
        QStringList background;
        for (const auto& tag : background_tags(scene.background)) {
            background << QString::fromStdString(tag);
        }
        EXPECT_EQ(doc.general_tags->background, background);
        EXPECT_EQ(doc.general_tags->objects,
                  scene.background == Background::Night ? QStringList{QStringLiteral("moon")} : QStringList{});
    }
    EXPECT_GT(xml, 150);
    EXPECT_GT(lists, 30);
}

TEST(DemoCaption, EveryTagIsInItsFieldsVocabulary) {
    std::map<std::string, QSet<QString>> vocab;
    for (const char* field :
         {"gender", "appearance", "clothing", "expression", "position", "count", "background", "objects"}) {
        vocab[field] = vocabulary(field);
        ASSERT_FALSE(vocab[field].isEmpty()) << field;
    }
    for (uint64_t i = 0; i < 300; ++i) {
        SceneSpec scene = random_scene(4, i);
        scene.tag_list_caption = false;
        const prompt::Document doc = caption_document(scene);
        for (const auto& c : doc.characters) {
            for (const auto& field : prompt::character_fields) {
                for (const auto& tag : c.*field.member) {
                    EXPECT_TRUE(vocab[field.name].contains(tag)) << field.name << ": " << tag.toStdString();
                }
            }
        }
        for (const auto& field : prompt::general_tags_fields) {
            for (const auto& tag : (*doc.general_tags).*field.member) {
                EXPECT_TRUE(vocab[field.name].contains(tag)) << field.name << ": " << tag.toStdString();
            }
        }
    }
}

TEST(DemoCaption, OneSceneGivesTheCaptionWrittenByHand) {
    CharacterSpec girl;
    girl.gender = Gender::Girl;
    girl.hair_style = HairStyle::Twintails;
    girl.hair_colour = HairColour::Blue;
    girl.eye_colour = EyeColour::Red;
    girl.skin = Skin::Pale;
    girl.clothing = Clothing::Dress;
    girl.clothing_colour = ClothingColour::White;
    girl.ribbon = true;
    girl.mouth = Mouth::Smile;
    girl.position = Position::Left;
    CharacterSpec boy;
    boy.gender = Gender::Boy;
    boy.hair_style = HairStyle::Short;
    boy.hair_colour = HairColour::Black;
    boy.eye_colour = EyeColour::Green;
    boy.clothing = Clothing::Hoodie;
    boy.clothing_colour = ClothingColour::Red;
    boy.hat = true;
    boy.glasses = true;
    boy.mouth = Mouth::Open;
    boy.eyes_closed = true;
    boy.position = Position::Right;
    SceneSpec scene{{girl, boy}, Background::Night, false, 0};
    EXPECT_EQ(caption_text(scene), "<character_1>\n"
                                   "<n></n>\n"
                                   "<gender>1girl</gender>\n"
                                   "<appearance>twintails, blue_hair, red_eyes, pale_skin, hair_ribbon</appearance>\n"
                                   "<clothing>dress, white_dress</clothing>\n"
                                   "<expression>smile</expression>\n"
                                   "<position>left</position>\n"
                                   "</character_1>\n"
                                   "\n"
                                   "<character_2>\n"
                                   "<n></n>\n"
                                   "<gender>1boy</gender>\n"
                                   "<appearance>short_hair, black_hair, glasses</appearance>\n"
                                   "<clothing>hoodie, red_hoodie, hat</clothing>\n"
                                   "<expression>open_mouth, closed_eyes</expression>\n"
                                   "<position>right</position>\n"
                                   "</character_2>\n"
                                   "\n"
                                   "<general_tags>\n"
                                   "<count>1girl, 1boy</count>\n"
                                   "<background>outdoors, night, night_sky, starry_sky</background>\n"
                                   "<objects>moon</objects>\n"
                                   "</general_tags>");
    scene.tag_list_caption = true;
    EXPECT_EQ(caption_text(scene),
              "1girl, 1boy, twintails, blue_hair, red_eyes, pale_skin, hair_ribbon, dress, white_dress, smile, left, "
              "short_hair, black_hair, glasses, hoodie, red_hoodie, hat, open_mouth, closed_eyes, right, outdoors, "
              "night, night_sky, starry_sky, moon");
}
