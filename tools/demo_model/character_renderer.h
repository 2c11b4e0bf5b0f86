#pragma once
// Draws a SceneSpec: simple anime-style bust figures (hair behind and in front of the head, face, eyes,
// mouth, clothes, accessories) on a plain colour or a small scene. Integer drawing on a canvas twice the
// output size, then 2x2 averaged, so that a seed gives identical pixels everywhere. No OpenCV, no Qt, no torch:
// it builds in the engine-only configuration (library charaforge_demo_render).
#include "demo_image.h"
#include "scene_spec.h"

#include <cstddef>
#include <cstdint>

namespace charaforge::demo {

// Where a character's parts land in the output image (pixels), for measuring an image against its spec.
struct FigureLayout {
    int cx = 0; // the head's centre
    int cy = 0;
    int r = 0;      // the head's radius
    Box hair_probe; // inside the fringe, whatever the style, hat or ribbon
    Box eye_box[2]; // each eye below the fringe and lashes (with the glasses frame)
    Box mouth_box;  // around the mouth
    Box body_probe; // on the clothes' front, clear of collars, pockets, straps and hair
};

class CharacterRenderer {
public:
    // `size`: the output's width and height, 64..2048, a multiple of 16.
    explicit CharacterRenderer(int size);

    int size() const { return size_; }

    DemoImage render(const SceneSpec& scene) const;
    FigureLayout layout(const SceneSpec& scene, size_t character) const;

private:
    int size_;
};

// Image `index` of the demo set of `seed` at `size` x `size`: CharacterRenderer(size).render(random_scene(seed,
// index)), exactly the pixels write_demo_set() writes to that image's PNG. Throws std::invalid_argument for a
// bad size.
DemoImage render_demo_image(uint64_t seed, uint64_t index, int size);

} // namespace charaforge::demo
