#pragma once
// Reads back from an image what a SceneSpec asked for: each character's hair and eye colour (the nearest in the
// renderer's palette), where each figure stands, and how bright the background is. The demo model's attribute
// tests measure its generated images against their prompts with it; its own tests prove it on the renderer's
// images, clean and blurred with noise. Regions come from the renderer's layout (FigureLayout) and are summarised
// by medians, never single pixels. No OpenCV, no Qt, no torch (it builds wherever the renderer does).
#include "scene_spec.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace charaforge::demo {

// An 8-bit RGB image: rows top to bottom, pixels interleaved (R, G, B), no row padding, as DemoImage,
// engine::Image and imaging::RgbImage hold theirs.
struct RgbView {
    int width = 0;
    int height = 0;
    const uint8_t* rgb = nullptr; // width * height * 3 bytes
};

struct CharacterMeasure {
    Rgb hair;                                   // per-channel median of the hair probe
    HairColour hair_colour = HairColour::Black; // the palette's hair colour nearest to `hair`
    // The eye boxes' iris pixels: not dark (pupils, frames) and nearer an eye colour than to the skin's blends with
    // black (frames' edges) and with white (the white of the eye). Each is nearest to an eye colour; `eye_colour` is
    // the one most are nearest to and `eyes` the per-channel median of those.
    EyeColour eye_colour = EyeColour::Blue;
    Rgb eyes;
    int iris_pixels = 0; // how many iris pixels both boxes show (closed eyes: hardly any; eye_colour then means little)
    // Horizontal centre (pixels from the left edge) of the figure pixels at head height that look like the asked hair
    // colour: closer to it than half its distance to the palette's nearest other hair colour, and than to white or
    // any skin of the scene. nullopt when fewer than r^2 / 4 are seen (r: the layout's head radius).
    std::optional<double> hair_x;
};

struct SceneMeasure {
    std::vector<CharacterMeasure> characters; // in the scene's order
    // Horizontal centre (pixels) of every figure pixel: one that differs from its row's background (the median of
    // the row's margins) by more than kFigureDistance. Meaningful for one character.
    double figure_x = 0;
    int figure_pixels = 0;
    // Median luminance (Rec. 601, 0..255) of the margins, which no figure reaches: night < sky.
    double background_luminance = 0;
};

// The margins: the outer tenth of the width on each side. The widest figure (twintails at Left) keeps 13% clear.
inline constexpr int kMarginDivisor = 10;
// Euclidean RGB distance from a row's background beyond which a pixel belongs to a figure.
inline constexpr double kFigureDistance = 40;

// Measures `image` (any size the renderer draws: 64..2048, a multiple of 16, square) where `scene` says its parts
// are. Throws std::invalid_argument for an image that is not square, of another size or without pixels.
SceneMeasure measure_scene(const RgbView& image, const SceneSpec& scene);

// The position whose head centre (the renderer's layout at `width`) is nearest to `x`.
Position nearest_position(double x, int width);

HairColour nearest_hair_colour(Rgb colour);
EyeColour nearest_eye_colour(Rgb colour);
double luminance(Rgb colour);

} // namespace charaforge::demo
