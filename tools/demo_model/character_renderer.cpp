#include "character_renderer.h"

#include "demo_rng.h"
#include "raster_canvas.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace charaforge::demo {
namespace {

using P = Point;

Rgb shade(Rgb c, int percent) {
    auto s = [percent](uint8_t v) { return static_cast<uint8_t>(std::min(255, v * percent / 100)); };
    return {s(c.r), s(c.g), s(c.b)};
}

constexpr Rgb kWhite{255, 255, 255};
constexpr Rgb kInk{40, 30, 36};
constexpr Rgb kMouth{150, 40, 50};
constexpr Rgb kTongue{236, 120, 130};

// The head of a character on a canvas of side `s`: centre and radius.
struct Head {
    int cx;
    int cy;
    int r;
    // r * percent / 100: every size in the figure is a fraction of the head's radius.
    int k(int percent) const { return r * percent / 100; }
    int x(int percent) const { return cx + k(percent); }
    int y(int percent) const { return cy + k(percent); }
};

Head head_of(const CharacterSpec& c, int s) {
    int cx = s / 2;
    if (c.position == Position::Left) {
        cx = s * 30 / 100;
    } else if (c.position == Position::Right) {
        cx = s * 70 / 100;
    }
    return {cx, s * 38 / 100, s * 10 / 100};
}

void draw_background(RasterCanvas& canvas, const SceneSpec& scene) {
    const int s = canvas.width();
    switch (scene.background) {
    case Background::White:
        canvas.fill({250, 250, 250});
        break;
    case Background::Blue:
        canvas.fill({168, 198, 240});
        break;
    case Background::Pink:
        canvas.fill({250, 204, 222});
        break;
    case Background::Yellow:
        canvas.fill({250, 238, 168});
        break;
    case Background::Green:
        canvas.fill({188, 228, 178});
        break;
    case Background::Grey:
        canvas.fill({168, 168, 176});
        break;
    case Background::Sky:
        canvas.vertical_gradient({84, 146, 230}, {196, 224, 252});
        break;
    case Background::Room: {
        canvas.fill({232, 216, 190});
        canvas.fill_rect(0, s * 76 / 100, s, s, {150, 104, 70});
        canvas.fill_rect(0, s * 75 / 100, s, s * 77 / 100, {108, 74, 50});
        break;
    }
    case Background::Night: {
        canvas.vertical_gradient({10, 14, 42}, {32, 42, 84});
        DemoRng rng(scene.detail_seed);
        for (int i = 0; i < 40; ++i) {
            const int x = rng.between(0, s - 1);
            const int y = rng.between(0, s * 60 / 100);
            canvas.fill_rect(x, y, x + 2, y + 2, {250, 250, 236});
        }
        canvas.fill_ellipse(s * 86 / 100, s * 14 / 100, s * 6 / 100, s * 6 / 100, {246, 240, 200});
        break;
    }
    }
}

// Hair behind the head and body.
void draw_back_hair(RasterCanvas& canvas, const CharacterSpec& c, const Head& h) {
    const Rgb hair = hair_rgb(c.hair_colour);
    const Rgb back = shade(hair, 82);
    canvas.fill_ellipse(h.cx, h.y(-8), h.k(106), h.k(104), hair);
    if (c.hair_style == HairStyle::Long) {
        canvas.fill_rect(h.x(-120), h.cy, h.x(120), h.y(200), back);
        canvas.fill_ellipse(h.cx, h.y(200), h.k(120), h.k(30), back);
    } else if (c.hair_style == HairStyle::Ponytail) {
        canvas.fill_polygon({P(h.x(60), h.y(-70)), P(h.x(150), h.y(20)), P(h.x(125), h.y(140)), P(h.x(82), h.y(40))},
                            back);
        canvas.fill_ellipse(h.x(72), h.y(-55), h.k(16), h.k(16), shade(hair, 60));
    }
}

void draw_body(RasterCanvas& canvas, const CharacterSpec& c, const Head& h) {
    const int s = canvas.height();
    const Rgb skin = skin_rgb(c.skin);
    const Rgb cloth = clothing_rgb(c.clothing_colour);
    const Rgb cloth_dark = c.clothing_colour == ClothingColour::Black ? Rgb{86, 86, 96} : shade(cloth, 72);
    const int shoulder_y = h.y(120);
    const int half = c.gender == Gender::Girl ? 95 : 110;
    // Neck, then arms (sleeves or skin), then the torso over them.
    canvas.fill_rect(h.x(-28), h.y(50), h.x(28), h.y(135), shade(skin, 90));
    const bool long_sleeves = c.clothing == Clothing::Hoodie || c.clothing == Clothing::Jacket;
    for (int side : {-1, 1}) {
        const std::vector<P> arm{P(h.x(side * (half - 10)), shoulder_y), P(h.x(side * (half + 30)), h.y(140)),
                                 P(h.x(side * (half + 40)), s), P(h.x(side * (half - 5)), s)};
        canvas.fill_polygon(arm, long_sleeves ? cloth_dark : skin);
        if (c.clothing == Clothing::Shirt) {
            canvas.fill_polygon(
                {arm[0], arm[1], P(h.x(side * (half + 35)), h.y(200)), P(h.x(side * (half - 8)), h.y(200))},
                cloth_dark);
        }
    }
    const int bottom_half = c.clothing == Clothing::Dress ? half + 70 : half + 15;
    canvas.fill_polygon(
        {P(h.x(-half), shoulder_y), P(h.x(half), shoulder_y), P(h.x(bottom_half), s), P(h.x(-bottom_half), s)}, cloth);
    switch (c.clothing) {
    case Clothing::Dress: // a square neckline and thin straps
        canvas.fill_rect(h.x(-45), shoulder_y, h.x(45), h.y(150), skin);
        canvas.fill_rect(h.x(-55), shoulder_y, h.x(-40), h.y(150), cloth);
        canvas.fill_rect(h.x(40), shoulder_y, h.x(55), h.y(150), cloth);
        { // the waist: a band as wide as the skirt where it starts
            const int waist_y = h.y(215);
            const int waist = h.k(half) + (h.k(bottom_half) - h.k(half)) * (waist_y - shoulder_y) / (s - shoulder_y);
            canvas.fill_rect(h.cx - waist, waist_y, h.cx + waist, h.y(225), cloth_dark);
            break;
        }
    case Clothing::Shirt: // a V neck
        canvas.fill_polygon({P(h.x(-28), shoulder_y), P(h.x(28), shoulder_y), P(h.cx, h.y(165))}, skin);
        break;
    case Clothing::Hoodie: // the hood around the neck, a pouch pocket and drawstrings
        canvas.fill_ellipse(h.cx, h.y(122), h.k(78), h.k(26), cloth_dark);
        canvas.fill_polygon({P(h.x(-55), h.y(260)), P(h.x(55), h.y(260)), P(h.x(70), h.y(330)), P(h.x(-70), h.y(330))},
                            cloth_dark);
        canvas.fill_line(P(h.x(-18), h.y(140)), P(h.x(-20), h.y(200)), h.k(3) + 1, kWhite);
        canvas.fill_line(P(h.x(18), h.y(140)), P(h.x(20), h.y(200)), h.k(3) + 1, kWhite);
        break;
    case Clothing::Jacket: // open over a white shirt, with lapels
        canvas.fill_polygon({P(h.x(-30), shoulder_y), P(h.x(30), shoulder_y), P(h.x(25), s), P(h.x(-25), s)},
                            {244, 244, 246});
        canvas.fill_polygon({P(h.x(-30), shoulder_y), P(h.x(-48), shoulder_y), P(h.x(-25), h.y(200))}, cloth_dark);
        canvas.fill_polygon({P(h.x(30), shoulder_y), P(h.x(48), shoulder_y), P(h.x(25), h.y(200))}, cloth_dark);
        break;
    }
}

void draw_twintails(RasterCanvas& canvas, const CharacterSpec& c, const Head& h) {
    const Rgb hair = hair_rgb(c.hair_colour);
    for (int side : {-1, 1}) {
        canvas.fill_ellipse(h.x(side * 132), h.y(70), h.k(36), h.k(115), shade(hair, 90));
        canvas.fill_ellipse(h.x(side * 100), h.y(-40), h.k(17), h.k(17), shade(hair, 60));
    }
}

void draw_eyes(RasterCanvas& canvas, const CharacterSpec& c, const Head& h) {
    const int ey = h.y(12);
    const Rgb iris = eye_rgb(c.eye_colour);
    for (int side : {-1, 1}) {
        const int ex = h.x(side * 40);
        if (c.eyes_closed) {
            canvas.fill_ring(ex, ey - h.k(6), h.k(20), h.k(14), h.k(5) + 1, kInk, ey, INT_MAX);
            continue;
        }
        canvas.fill_ellipse(ex, ey, h.k(24), h.k(30), kWhite);
        canvas.fill_ellipse(ex, ey + h.k(2), h.k(20), h.k(27), iris);
        canvas.fill_ellipse(ex, ey + h.k(8), h.k(6), h.k(9), shade(iris, 35));
        canvas.fill_ellipse(ex - h.k(8), ey - h.k(9), h.k(5), h.k(5), kWhite);
        const int lash = c.gender == Gender::Girl ? h.k(6) : h.k(3);
        canvas.fill_rect(ex - h.k(26), ey - h.k(32), ex + h.k(26), ey - h.k(32) + lash + 1, kInk);
    }
}

void draw_mouth(RasterCanvas& canvas, const CharacterSpec& c, const Head& h) {
    const int my = h.y(58);
    switch (c.mouth) {
    case Mouth::Closed:
        canvas.fill_line(P(h.x(-10), my), P(h.x(10), my), h.k(4) + 1, kMouth);
        break;
    case Mouth::Smile:
        canvas.fill_ring(h.cx, my - h.k(14), h.k(22), h.k(18), h.k(8) + 1, kMouth, my - h.k(6));
        break;
    case Mouth::Open:
        canvas.fill_ellipse(h.cx, my, h.k(13), h.k(11), kMouth);
        canvas.fill_ellipse(h.cx, my + h.k(6), h.k(8), h.k(4), kTongue);
        break;
    }
}

void draw_front_hair(RasterCanvas& canvas, const CharacterSpec& c, const Head& h) {
    const Rgb hair = hair_rgb(c.hair_colour);
    canvas.fill_ellipse(h.cx, h.y(-38), h.k(96), h.k(68), hair, INT_MIN, h.y(-22));
    // Fringe tips between the eyes' height and the forehead.
    const int tips = c.gender == Gender::Girl ? 5 : 4;
    for (int i = 0; i < tips; ++i) {
        const int left = -90 + 180 * i / tips;
        const int right = -90 + 180 * (i + 1) / tips;
        const int depth = c.gender == Gender::Girl ? -4 : -12;
        canvas.fill_polygon({P(h.x(left), h.y(-24)), P(h.x(right), h.y(-24)), P(h.x((left + right) / 2), h.y(depth))},
                            hair);
    }
    if (c.hair_style == HairStyle::Long || c.hair_style == HairStyle::Twintails) { // side locks
        canvas.fill_polygon({P(h.x(-96), h.y(-30)), P(h.x(-74), h.y(-30)), P(h.x(-78), h.y(60)), P(h.x(-94), h.y(70))},
                            hair);
        canvas.fill_polygon({P(h.x(96), h.y(-30)), P(h.x(74), h.y(-30)), P(h.x(78), h.y(60)), P(h.x(94), h.y(70))},
                            hair);
    }
    if (c.hair_style == HairStyle::Long) { // locks over the shoulders
        const Rgb lock = shade(hair, 92);
        canvas.fill_polygon(
            {P(h.x(-100), h.y(40)), P(h.x(-76), h.y(40)), P(h.x(-80), h.y(210)), P(h.x(-108), h.y(200))}, lock);
        canvas.fill_polygon({P(h.x(100), h.y(40)), P(h.x(76), h.y(40)), P(h.x(80), h.y(210)), P(h.x(108), h.y(200))},
                            lock);
    }
}

void draw_accessories(RasterCanvas& canvas, const CharacterSpec& c, const Head& h) {
    if (c.glasses) {
        for (int side : {-1, 1}) {
            canvas.fill_ring(h.x(side * 40), h.y(12), h.k(31), h.k(29), h.k(7) + 1, kInk);
        }
        canvas.fill_line(P(h.x(-12), h.y(8)), P(h.x(12), h.y(8)), h.k(3) + 1, kInk);
    }
    if (c.ribbon) {
        const bool reddish = c.hair_colour == HairColour::Red || c.hair_colour == HairColour::Pink;
        const Rgb ribbon = reddish ? Rgb{60, 110, 220} : Rgb{222, 40, 60};
        const P knot(h.x(70), h.y(-82));
        canvas.fill_polygon({knot, P(knot.x - h.k(34), knot.y - h.k(22)), P(knot.x - h.k(34), knot.y + h.k(22))},
                            ribbon);
        canvas.fill_polygon({knot, P(knot.x + h.k(34), knot.y - h.k(22)), P(knot.x + h.k(34), knot.y + h.k(22))},
                            ribbon);
        canvas.fill_ellipse(knot.x, knot.y, h.k(9), h.k(9), shade(ribbon, 70));
    }
    if (c.hat) {
        const Rgb hat = c.hair_colour == HairColour::Black ? Rgb{184, 150, 100} : Rgb{48, 44, 56};
        canvas.fill_ellipse(h.cx, h.y(-118), h.k(78), h.k(50), hat, INT_MIN, h.y(-80));
        canvas.fill_rect(h.x(-78), h.y(-118), h.x(78), h.y(-80), hat);
        canvas.fill_rect(h.x(-78), h.y(-95), h.x(78), h.y(-82), shade(hat, 60)); // the band
        canvas.fill_ellipse(h.cx, h.y(-78), h.k(128), h.k(18), hat);
    }
}

void draw_character(RasterCanvas& canvas, const CharacterSpec& c) {
    const Head h = head_of(c, canvas.width());
    const Rgb skin = skin_rgb(c.skin);
    draw_back_hair(canvas, c, h);
    draw_body(canvas, c, h);
    if (c.hair_style == HairStyle::Twintails) {
        draw_twintails(canvas, c, h);
    }
    for (int side : {-1, 1}) { // ears
        canvas.fill_ellipse(h.x(side * 88), h.y(10), h.k(14), h.k(20), shade(skin, 92));
    }
    canvas.fill_ellipse(h.cx, h.cy, h.k(90), h.k(100), skin);
    draw_eyes(canvas, c, h);
    draw_mouth(canvas, c, h);
    draw_front_hair(canvas, c, h);
    draw_accessories(canvas, c, h);
}

} // namespace

CharacterRenderer::CharacterRenderer(int size) : size_(size) {
    if (size < 64 || size > 2048 || size % 16 != 0) {
        throw std::invalid_argument("demo renderer: size " + std::to_string(size) +
                                    " is not a multiple of 16 in 64..2048");
    }
}

DemoImage CharacterRenderer::render(const SceneSpec& scene) const {
    if (scene.characters.empty() || scene.characters.size() > 2) {
        throw std::invalid_argument("demo renderer: a scene has one or two characters");
    }
    RasterCanvas canvas(2 * size_, 2 * size_);
    draw_background(canvas, scene);
    for (const auto& c : scene.characters) {
        draw_character(canvas, c);
    }
    return canvas.downsampled();
}

FigureLayout CharacterRenderer::layout(const SceneSpec& scene, size_t character) const {
    if (character >= scene.characters.size()) {
        throw std::out_of_range("demo renderer: no character " + std::to_string(character));
    }
    const Head h = head_of(scene.characters[character], 2 * size_);
    // From the canvas (twice the size) to the image.
    auto rect = [](int x0, int y0, int x1, int y1) {
        const int ax = std::min(x0, x1) / 2;
        const int ay = std::min(y0, y1) / 2;
        return Box{ax, ay, std::max(x0, x1) / 2 - ax, std::max(y0, y1) / 2 - ay};
    };
    FigureLayout out;
    out.cx = h.cx / 2;
    out.cy = h.cy / 2;
    out.r = h.r / 2;
    out.hair_probe = rect(h.x(-35), h.y(-52), h.x(35), h.y(-32));
    out.eye_box[0] = rect(h.x(-64), h.y(0), h.x(-16), h.y(42));
    out.eye_box[1] = rect(h.x(16), h.y(0), h.x(64), h.y(42));
    out.mouth_box = rect(h.x(-22), h.y(42), h.x(22), h.y(72));
    out.body_probe = rect(h.x(-72), h.y(228), h.x(-52), h.y(256));
    return out;
}

DemoImage render_demo_image(uint64_t seed, uint64_t index, int size) {
    return CharacterRenderer(size).render(random_scene(seed, index));
}

} // namespace charaforge::demo
