#pragma once
// What one demo image shows: up to two characters (hair, eyes, skin, clothes, accessories, expression,
// position) on a background. random_scene() draws a SceneSpec from a seed; the renderer draws it and the
// caption names it, so that every tag of a caption is something drawn. No Qt, no OpenCV, no torch.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace charaforge::demo {

struct Rgb {
    uint8_t r = 0;
    uint8_t g = 0;
    uint8_t b = 0;
    bool operator==(const Rgb&) const = default;
};

enum class Gender { Girl, Boy };
enum class HairStyle { Long, Short, Twintails, Ponytail };
enum class HairColour { Black, Brown, Blonde, Red, Pink, Blue, Green, Purple, White };
enum class EyeColour { Blue, Red, Green, Brown, Purple, Yellow, Pink, Grey };
enum class Skin { Fair, Pale, Dark }; // Fair is the untagged default
enum class Clothing { Dress, Shirt, Hoodie, Jacket };
enum class ClothingColour { Red, Blue, Green, Black, White, Yellow, Pink, Purple };
enum class Mouth { Closed, Smile, Open };
enum class Position { Left, Center, Right };
enum class Background { White, Blue, Pink, Yellow, Green, Grey, Sky, Room, Night };

struct CharacterSpec {
    Gender gender = Gender::Girl;
    HairStyle hair_style = HairStyle::Long;
    HairColour hair_colour = HairColour::Black;
    EyeColour eye_colour = EyeColour::Blue;
    Skin skin = Skin::Fair;
    Clothing clothing = Clothing::Shirt;
    ClothingColour clothing_colour = ClothingColour::White;
    bool hat = false;
    bool ribbon = false; // a hair ribbon (girls only)
    bool glasses = false;
    Mouth mouth = Mouth::Closed;
    bool eyes_closed = false;
    Position position = Position::Center;

    bool operator==(const CharacterSpec&) const = default;
};

struct SceneSpec {
    std::vector<CharacterSpec> characters; // 1 or 2; two stand Left and Right
    Background background = Background::White;
    bool tag_list_caption = false; // caption as a plain tag list instead of XML
    uint64_t detail_seed = 0;      // stars and other placement that no tag names

    bool operator==(const SceneSpec&) const = default;
};

// The character the attribute tests and charaforge-demo-grid vary one attribute of: a girl with long black hair and
// brown eyes in a green shirt, closed mouth, centred (none of its colours is one a test asks for).
CharacterSpec demo_base_character();

// The scene of image `index` of a run with `seed` (independent of how many images the run makes).
SceneSpec random_scene(uint64_t seed, uint64_t index);

// Every value of each attribute, for tests and tables.
inline constexpr std::array kHairStyles{HairStyle::Long, HairStyle::Short, HairStyle::Twintails, HairStyle::Ponytail};
inline constexpr std::array kHairColours{HairColour::Black, HairColour::Brown,  HairColour::Blonde,
                                         HairColour::Red,   HairColour::Pink,   HairColour::Blue,
                                         HairColour::Green, HairColour::Purple, HairColour::White};
inline constexpr std::array kEyeColours{EyeColour::Blue,   EyeColour::Red,    EyeColour::Green, EyeColour::Brown,
                                        EyeColour::Purple, EyeColour::Yellow, EyeColour::Pink,  EyeColour::Grey};
inline constexpr std::array kClothingColours{ClothingColour::Red,   ClothingColour::Blue,  ClothingColour::Green,
                                             ClothingColour::Black, ClothingColour::White, ClothingColour::Yellow,
                                             ClothingColour::Pink,  ClothingColour::Purple};
inline constexpr std::array kBackgrounds{Background::White,  Background::Blue,  Background::Pink,
                                         Background::Yellow, Background::Green, Background::Grey,
                                         Background::Sky,    Background::Room,  Background::Night};

// Tags (danbooru names, all in resources/vocabulary/): "long_hair", "blue_hair", "red_eyes", "pale_skin" (""
// for Fair), "dress", "red_dress", "smile", "left", ...
std::string gender_tag(Gender gender);
std::string hair_style_tag(HairStyle style);
std::string hair_colour_tag(HairColour colour);
std::string eye_colour_tag(EyeColour colour);
std::string skin_tag(Skin skin);
std::string clothing_tag(Clothing clothing);
std::string clothing_colour_tag(Clothing clothing, ClothingColour colour);
std::string mouth_tag(Mouth mouth);
std::string position_tag(Position position);
// The background's tags, e.g. {"blue_background", "simple_background"} or {"night", "night_sky", ...}.
std::vector<std::string> background_tags(Background background);

// The colours drawn for each attribute.
Rgb hair_rgb(HairColour colour);
Rgb eye_rgb(EyeColour colour);
Rgb skin_rgb(Skin skin);
Rgb clothing_rgb(ClothingColour colour);

} // namespace charaforge::demo
