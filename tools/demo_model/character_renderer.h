#pragma once
// Draws a SceneSpec: simple anime-style bust figures (hair behind and in front of the head, face, eyes,
// mouth, clothes, accessories) on a plain colour or a small scene. Integer drawing on a canvas twice the
// output size, then 2x2 averaged, so that a seed gives identical pixels everywhere.
#include "scene_spec.h"

#include <opencv2/core.hpp>

namespace charaforge::demo {

// Where a character's parts land in the output image (pixels), for measuring an image against its spec.
struct FigureLayout {
    int cx = 0; // the head's centre
    int cy = 0;
    int r = 0;           // the head's radius
    cv::Rect hair_probe; // inside the fringe, whatever the style, hat or ribbon
    cv::Rect eye_box[2]; // each eye below the fringe and lashes (with the glasses frame)
    cv::Rect mouth_box;  // around the mouth
    cv::Rect body_probe; // on the clothes' front, clear of collars, pockets, straps and hair
};

class CharacterRenderer {
public:
    // `size`: the output's width and height, 64..2048, a multiple of 16.
    explicit CharacterRenderer(int size);

    int size() const { return size_; }

    // CV_8UC3, channels R, G, B.
    cv::Mat render(const SceneSpec& scene) const;
    FigureLayout layout(const SceneSpec& scene, size_t character) const;

private:
    int size_;
};

} // namespace charaforge::demo
