#include "demo_caption.h"

namespace charaforge::demo {
namespace {

QString q(const std::string& tag) {
    return QString::fromStdString(tag);
}

prompt::Character character_fields(const CharacterSpec& c, int index) {
    prompt::Character out;
    out.index = index;
    out.gender = {q(gender_tag(c.gender))};
    out.appearance = {q(hair_style_tag(c.hair_style)), q(hair_colour_tag(c.hair_colour))};
    if (!c.eyes_closed) { // closed eyes show no colour
        out.appearance << q(eye_colour_tag(c.eye_colour));
    }
    if (!skin_tag(c.skin).empty()) {
        out.appearance << q(skin_tag(c.skin));
    }
    if (c.glasses) {
        out.appearance << QStringLiteral("glasses");
    }
    if (c.ribbon) {
        out.appearance << QStringLiteral("hair_ribbon");
    }
    out.clothing = {q(clothing_tag(c.clothing)), q(clothing_colour_tag(c.clothing, c.clothing_colour))};
    if (c.hat) {
        out.clothing << QStringLiteral("hat");
    }
    out.expression = {q(mouth_tag(c.mouth))};
    if (c.eyes_closed) {
        out.expression << QStringLiteral("closed_eyes");
    }
    out.position = {q(position_tag(c.position))};
    return out;
}

prompt::GeneralTags general_fields(const SceneSpec& scene, const std::vector<prompt::Character>& characters) {
    prompt::GeneralTags out;
    out.count = prompt::count_tags(characters);
    if (characters.size() == 1) {
        out.count << QStringLiteral("solo");
    }
    for (const auto& tag : background_tags(scene.background)) {
        out.background << q(tag);
    }
    if (scene.background == Background::Night) {
        out.objects << QStringLiteral("moon");
    }
    return out;
}

} // namespace

prompt::Document caption_document(const SceneSpec& scene) {
    std::vector<prompt::Character> characters;
    for (size_t i = 0; i < scene.characters.size(); ++i) {
        characters.push_back(character_fields(scene.characters[i], static_cast<int>(i) + 1));
    }
    const prompt::GeneralTags general = general_fields(scene, characters);
    prompt::Document doc;
    if (!scene.tag_list_caption) {
        doc.kind = prompt::Kind::Xml;
        doc.characters = characters;
        doc.general_tags = general;
        return doc;
    }
    // A tag list names the count first (it stands for the genders), then each character, then the scene.
    doc.kind = prompt::Kind::TagList;
    auto add = [&doc](const prompt::TagList& tags) {
        for (const auto& tag : tags) {
            if (!doc.tags.contains(tag)) {
                doc.tags << tag;
            }
        }
    };
    add(general.count);
    for (const auto& c : characters) {
        add(c.appearance);
        add(c.clothing);
        add(c.expression);
        add(c.position);
    }
    add(general.background);
    add(general.objects);
    return doc;
}

std::string caption_text(const SceneSpec& scene) {
    return prompt::serialise(caption_document(scene)).toStdString();
}

} // namespace charaforge::demo
