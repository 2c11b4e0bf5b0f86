#include "scene_spec.h"

#include "demo_rng.h"

#include <stdexcept>

namespace charaforge::demo {
namespace {

template <class Values> auto pick(DemoRng& rng, const Values& values) {
    return values[rng.below(static_cast<uint32_t>(values.size()))];
}

CharacterSpec random_character(DemoRng& rng, Position position) {
    CharacterSpec c;
    c.gender = rng.chance(2, 3) ? Gender::Girl : Gender::Boy;
    if (c.gender == Gender::Girl) {
        c.hair_style = pick(rng, kHairStyles);
        c.clothing = pick(rng, std::array{Clothing::Dress, Clothing::Shirt, Clothing::Hoodie, Clothing::Jacket});
        c.ribbon = rng.chance(1, 4);
    } else {
        c.hair_style = rng.chance(4, 5) ? HairStyle::Short : HairStyle::Ponytail;
        c.clothing = pick(rng, std::array{Clothing::Shirt, Clothing::Hoodie, Clothing::Jacket});
    }
    c.hair_colour = pick(rng, kHairColours);
    c.eye_colour = pick(rng, kEyeColours);
    c.skin = pick(rng, std::array{Skin::Fair, Skin::Fair, Skin::Pale, Skin::Dark});
    c.clothing_colour = pick(rng, kClothingColours);
    c.hat = rng.chance(1, 5);
    c.glasses = rng.chance(1, 5);
    c.mouth = pick(rng, std::array{Mouth::Closed, Mouth::Smile, Mouth::Open});
    c.eyes_closed = rng.chance(1, 6);
    c.position = position;
    return c;
}

} // namespace

SceneSpec random_scene(uint64_t seed, uint64_t index) {
    DemoRng rng(DemoRng::stream_seed(seed, index));
    SceneSpec scene;
    if (rng.chance(1, 3)) {
        scene.characters.push_back(random_character(rng, Position::Left));
        scene.characters.push_back(random_character(rng, Position::Right));
    } else {
        scene.characters.push_back(random_character(
            rng, pick(rng, std::array{Position::Left, Position::Center, Position::Center, Position::Right})));
    }
    scene.background = pick(rng, kBackgrounds);
    scene.tag_list_caption = rng.chance(1, 4);
    scene.detail_seed = rng.next();
    return scene;
}

std::string gender_tag(Gender gender) {
    return gender == Gender::Girl ? "1girl" : "1boy";
}

std::string hair_style_tag(HairStyle style) {
    switch (style) {
    case HairStyle::Long:
        return "long_hair";
    case HairStyle::Short:
        return "short_hair";
    case HairStyle::Twintails:
        return "twintails";
    case HairStyle::Ponytail:
        return "ponytail";
    }
    throw std::invalid_argument("demo: unknown hair style");
}

namespace {

struct ColourName {
    const char* name;
    Rgb rgb;
};

// Hair colours far apart in RGB, so that a hair region's mean colour names its colour.
constexpr std::array<ColourName, 9> kHair{{
    {"black", {34, 32, 40}},
    {"brown", {120, 72, 38}},
    {"blonde", {246, 214, 112}},
    {"red", {212, 36, 40}},
    {"pink", {250, 148, 196}},
    {"blue", {44, 88, 214}},
    {"green", {52, 164, 72}},
    {"purple", {132, 64, 186}},
    {"white", {242, 242, 246}},
}};
constexpr std::array<ColourName, 8> kEyes{{
    {"blue", {40, 110, 230}},
    {"red", {200, 30, 40}},
    {"green", {40, 170, 70}},
    {"brown", {130, 80, 40}},
    {"purple", {140, 60, 200}},
    {"yellow", {235, 200, 30}},
    {"pink", {240, 120, 180}},
    {"grey", {128, 128, 136}},
}};
constexpr std::array<ColourName, 8> kClothes{{
    {"red", {200, 40, 48}},
    {"blue", {48, 80, 190}},
    {"green", {50, 140, 70}},
    {"black", {40, 40, 46}},
    {"white", {238, 238, 240}},
    {"yellow", {240, 208, 60}},
    {"pink", {240, 140, 180}},
    {"purple", {120, 60, 170}},
}};

template <class Table, class Enum> const ColourName& entry(const Table& table, Enum value) {
    const auto i = static_cast<size_t>(value);
    if (i >= table.size()) {
        throw std::invalid_argument("demo: colour out of range");
    }
    return table[i];
}

} // namespace

std::string hair_colour_tag(HairColour colour) {
    return std::string(entry(kHair, colour).name) + "_hair";
}
std::string eye_colour_tag(EyeColour colour) {
    return std::string(entry(kEyes, colour).name) + "_eyes";
}

std::string skin_tag(Skin skin) {
    switch (skin) {
    case Skin::Fair:
        return "";
    case Skin::Pale:
        return "pale_skin";
    case Skin::Dark:
        return "dark_skin";
    }
    throw std::invalid_argument("demo: unknown skin");
}

std::string clothing_tag(Clothing clothing) {
    switch (clothing) {
    case Clothing::Dress:
        return "dress";
    case Clothing::Shirt:
        return "shirt";
    case Clothing::Hoodie:
        return "hoodie";
    case Clothing::Jacket:
        return "jacket";
    }
    throw std::invalid_argument("demo: unknown clothing");
}

std::string clothing_colour_tag(Clothing clothing, ClothingColour colour) {
    return std::string(entry(kClothes, colour).name) + "_" + clothing_tag(clothing);
}

std::string mouth_tag(Mouth mouth) {
    switch (mouth) {
    case Mouth::Closed:
        return "closed_mouth";
    case Mouth::Smile:
        return "smile";
    case Mouth::Open:
        return "open_mouth";
    }
    throw std::invalid_argument("demo: unknown mouth");
}

std::string position_tag(Position position) {
    switch (position) {
    case Position::Left:
        return "left";
    case Position::Center:
        return "center";
    case Position::Right:
        return "right";
    }
    throw std::invalid_argument("demo: unknown position");
}

std::vector<std::string> background_tags(Background background) {
    switch (background) {
    case Background::White:
        return {"white_background", "simple_background"};
    case Background::Blue:
        return {"blue_background", "simple_background"};
    case Background::Pink:
        return {"pink_background", "simple_background"};
    case Background::Yellow:
        return {"yellow_background", "simple_background"};
    case Background::Green:
        return {"green_background", "simple_background"};
    case Background::Grey:
        return {"grey_background", "simple_background"};
    case Background::Sky:
        return {"outdoors", "sky", "blue_sky"};
    case Background::Room:
        return {"indoors"};
    case Background::Night:
        return {"outdoors", "night", "night_sky", "starry_sky"};
    }
    throw std::invalid_argument("demo: unknown background");
}

Rgb hair_rgb(HairColour colour) {
    return entry(kHair, colour).rgb;
}
Rgb eye_rgb(EyeColour colour) {
    return entry(kEyes, colour).rgb;
}
Rgb clothing_rgb(ClothingColour colour) {
    return entry(kClothes, colour).rgb;
}

Rgb skin_rgb(Skin skin) {
    switch (skin) {
    case Skin::Fair:
        return {252, 222, 196};
    case Skin::Pale:
        return {255, 240, 232};
    case Skin::Dark:
        return {160, 108, 78};
    }
    throw std::invalid_argument("demo: unknown skin");
}

CharacterSpec demo_base_character() {
    CharacterSpec c;
    c.gender = Gender::Girl;
    c.hair_style = HairStyle::Long;
    c.hair_colour = HairColour::Black;
    c.eye_colour = EyeColour::Brown;
    c.clothing = Clothing::Shirt;
    c.clothing_colour = ClothingColour::Green;
    c.mouth = Mouth::Closed;
    c.position = Position::Center;
    return c;
}

} // namespace charaforge::demo
