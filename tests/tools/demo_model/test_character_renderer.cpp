// The renderer's images measured against their specs: what a caption names must be visible where it should be.
#include "character_renderer.h"

#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <limits>

using namespace charaforge::demo;

namespace {

constexpr int kSize = 128; // small and fast; the layout scales with the size

// The renderer's image and boxes as OpenCV types (copies), for cv::mean, cv::norm and regions.
cv::Mat mat(const DemoImage& image) {
    return cv::Mat(image.height, image.width, CV_8UC3, const_cast<uint8_t*>(image.rgb.data())).clone();
}

cv::Rect rect(const Box& box) {
    return {box.x, box.y, box.width, box.height};
}

int distance2(const cv::Vec3b& p, Rgb c) {
    const int dr = p[0] - c.r;
    const int dg = p[1] - c.g;
    const int db = p[2] - c.b;
    return dr * dr + dg * dg + db * db;
}

double distance2(const cv::Scalar& mean, Rgb c) {
    return std::pow(mean[0] - c.r, 2) + std::pow(mean[1] - c.g, 2) + std::pow(mean[2] - c.b, 2);
}

template <class Values, class ToRgb> auto nearest(const cv::Scalar& mean, const Values& values, ToRgb to_rgb) {
    auto best = values[0];
    for (auto v : values) {
        if (distance2(mean, to_rgb(v)) < distance2(mean, to_rgb(best))) {
            best = v;
        }
    }
    return best;
}

int pixels_near(const cv::Mat& image, const cv::Rect& box, Rgb colour, int tolerance) {
    int n = 0;
    const cv::Mat roi = image(box & cv::Rect(0, 0, image.cols, image.rows));
    for (int y = 0; y < roi.rows; ++y) {
        for (int x = 0; x < roi.cols; ++x) {
            n += distance2(roi.at<cv::Vec3b>(y, x), colour) <= tolerance * tolerance ? 1 : 0;
        }
    }
    return n;
}

double luminance(const cv::Mat& image) {
    const cv::Scalar m = cv::mean(image);
    return 0.299 * m[0] + 0.587 * m[1] + 0.114 * m[2];
}

// Over 150 random scenes: the mean colour of each character's `probe` is the palette's nearest to what it asks.
template <class Values, class ToRgb, class Asked>
void expect_probe_colours(uint64_t seed, Box FigureLayout::*probe, const Values& values, ToRgb to_rgb, Asked asked) {
    const CharacterRenderer renderer(kSize);
    for (uint64_t i = 0; i < 150; ++i) {
        const SceneSpec s = random_scene(seed, i);
        const cv::Mat image = mat(renderer.render(s));
        for (size_t k = 0; k < s.characters.size(); ++k) {
            const cv::Scalar mean = cv::mean(image(rect(renderer.layout(s, k).*probe)));
            EXPECT_EQ(nearest(mean, values, to_rgb), asked(s.characters[k])) << "scene " << i << " character " << k;
        }
    }
}

SceneSpec one(CharacterSpec c, Background background = Background::White) {
    SceneSpec s;
    s.characters = {c};
    s.background = background;
    return s;
}

} // namespace

TEST(CharacterRenderer, TheSameSceneGivesTheSamePixelsAndOtherSeedsOtherImages) {
    const CharacterRenderer a(kSize);
    const CharacterRenderer b(kSize);
    for (uint64_t i = 0; i < 8; ++i) {
        const cv::Mat first = mat(a.render(random_scene(42, i)));
        const cv::Mat again = mat(b.render(random_scene(42, i)));
        ASSERT_EQ(first.type(), CV_8UC3);
        ASSERT_EQ(first.size(), cv::Size(kSize, kSize));
        EXPECT_EQ(cv::norm(first, again, cv::NORM_INF), 0) << "image " << i;
        const cv::Mat other = mat(a.render(random_scene(43, i)));
        EXPECT_GT(cv::norm(first, other, cv::NORM_L1), 0) << "image " << i;
    }
    EXPECT_EQ(random_scene(42, 3), random_scene(42, 3));
    EXPECT_NE(random_scene(42, 3), random_scene(42, 4));
}

TEST(CharacterRenderer, EveryAttributeValueOccursInRandomScenes) {
    std::set<int> styles, hair, eyes, backgrounds, counts, positions;
    int hats = 0, ribbons = 0, glasses = 0, closed = 0, tag_lists = 0;
    for (uint64_t i = 0; i < 400; ++i) {
        const SceneSpec s = random_scene(1, i);
        counts.insert(static_cast<int>(s.characters.size()));
        backgrounds.insert(static_cast<int>(s.background));
        tag_lists += s.tag_list_caption ? 1 : 0;
        for (const auto& c : s.characters) {
            styles.insert(static_cast<int>(c.hair_style));
            hair.insert(static_cast<int>(c.hair_colour));
            eyes.insert(static_cast<int>(c.eye_colour));
            positions.insert(static_cast<int>(c.position));
            hats += c.hat;
            ribbons += c.ribbon;
            glasses += c.glasses;
            closed += c.eyes_closed;
            EXPECT_FALSE(c.ribbon && c.gender == Gender::Boy);
        }
        if (s.characters.size() == 2) {
            EXPECT_EQ(s.characters[0].position, Position::Left);
            EXPECT_EQ(s.characters[1].position, Position::Right);
        }
    }
    EXPECT_EQ(styles.size(), kHairStyles.size());
    EXPECT_EQ(hair.size(), kHairColours.size());
    EXPECT_EQ(eyes.size(), kEyeColours.size());
    EXPECT_EQ(backgrounds.size(), kBackgrounds.size());
    EXPECT_EQ(counts, (std::set<int>{1, 2}));
    EXPECT_EQ(positions.size(), 3u);
    EXPECT_GT(hats, 0);
    EXPECT_GT(ribbons, 0);
    EXPECT_GT(glasses, 0);
    EXPECT_GT(closed, 0);
    EXPECT_GT(tag_lists, 40);
    EXPECT_LT(tag_lists, 200);
}

TEST(CharacterRenderer, TheFringeShowsTheAskedHairColourInEveryScene) {
    expect_probe_colours(5, &FigureLayout::hair_probe, kHairColours, hair_rgb,
                         [](const CharacterSpec& c) { return c.hair_colour; });
}

TEST(CharacterRenderer, OpenEyesShowTheAskedEyeColourAndClosedEyesNone) {
    const CharacterRenderer renderer(256);
    for (uint64_t i = 0; i < 80; ++i) {
        const SceneSpec s = random_scene(9, i);
        const cv::Mat image = mat(renderer.render(s));
        for (size_t k = 0; k < s.characters.size(); ++k) {
            const CharacterSpec& c = s.characters[k];
            for (const Box& eye : renderer.layout(s, k).eye_box) {
                const cv::Rect box = rect(eye);
                EyeColour most = kEyeColours[0];
                int most_pixels = -1;
                for (EyeColour e : kEyeColours) {
                    const int n = pixels_near(image, box, eye_rgb(e), 30);
                    if (n > most_pixels) {
                        most = e;
                        most_pixels = n;
                    }
                }
                const int asked = pixels_near(image, box, eye_rgb(c.eye_colour), 30);
                if (c.eyes_closed) {
                    // Only blended edges of the closed lids, never an iris.
                    EXPECT_LE(asked, 6) << "scene " << i << " character " << k << ": closed eyes show their colour";
                } else {
                    EXPECT_EQ(most, c.eye_colour) << "scene " << i << " character " << k;
                    EXPECT_GE(asked, 15) << "scene " << i << " character " << k;
                }
            }
        }
    }
}

TEST(CharacterRenderer, TheClothesShowTheAskedColour) {
    expect_probe_colours(11, &FigureLayout::body_probe, kClothingColours, clothing_rgb,
                         [](const CharacterSpec& c) { return c.clothing_colour; });
}

TEST(CharacterRenderer, TheFigureStandsOnTheAskedSide) {
    const CharacterRenderer renderer(kSize);
    for (Position position : {Position::Left, Position::Center, Position::Right}) {
        CharacterSpec c;
        c.position = position;
        c.hair_style = HairStyle::Twintails; // the widest figure
        const cv::Mat image = mat(renderer.render(one(c)));
        double sum_x = 0;
        int n = 0;
        for (int y = 0; y < image.rows; ++y) {
            for (int x = 0; x < image.cols; ++x) {
                if (distance2(image.at<cv::Vec3b>(y, x), Rgb{250, 250, 250}) > 100) {
                    sum_x += x;
                    ++n;
                }
            }
        }
        ASSERT_GT(n, kSize * kSize / 20);
        const double centroid = sum_x / n / kSize;
        if (position == Position::Left) {
            EXPECT_LT(centroid, 0.4);
        } else if (position == Position::Right) {
            EXPECT_GT(centroid, 0.6);
        } else {
            EXPECT_NEAR(centroid, 0.5, 0.03);
        }
    }
    // Two characters: the left one's hair colour on the left half, the right one's on the right half.
    SceneSpec two;
    CharacterSpec left;
    left.position = Position::Left;
    left.hair_colour = HairColour::Blue;
    CharacterSpec right;
    right.position = Position::Right;
    right.hair_colour = HairColour::Red;
    two.characters = {left, right};
    const cv::Mat image = mat(renderer.render(two));
    const cv::Rect left_half(0, 0, kSize / 2, kSize);
    const cv::Rect right_half(kSize / 2, 0, kSize / 2, kSize);
    EXPECT_GT(pixels_near(image, left_half, hair_rgb(HairColour::Blue), 10), 100);
    EXPECT_EQ(pixels_near(image, right_half, hair_rgb(HairColour::Blue), 10), 0);
    EXPECT_GT(pixels_near(image, right_half, hair_rgb(HairColour::Red), 10), 100);
    EXPECT_EQ(pixels_near(image, left_half, hair_rgb(HairColour::Red), 10), 0);
}

TEST(CharacterRenderer, NightIsDarkerThanSkyAndRoomsHaveAFloor) {
    const CharacterRenderer renderer(kSize);
    const SceneSpec sample = random_scene(3, 0);
    SceneSpec night = sample;
    night.background = Background::Night;
    SceneSpec sky = sample;
    sky.background = Background::Sky;
    const double night_l = luminance(mat(renderer.render(night)));
    const double sky_l = luminance(mat(renderer.render(sky)));
    EXPECT_LT(night_l, sky_l - 60) << night_l << " vs " << sky_l;
    // The top corners are background in every scene: sky is blue, night dark blue.
    const cv::Scalar sky_corner = cv::mean(mat(renderer.render(sky))(cv::Rect(0, 0, 8, 8)));
    EXPECT_GT(sky_corner[2], sky_corner[0] + 60); // blue over red
    const cv::Scalar night_corner = cv::mean(mat(renderer.render(night))(cv::Rect(0, 0, 8, 8)));
    EXPECT_LT(night_corner[0] + night_corner[1] + night_corner[2], 150);
}

TEST(CharacterRenderer, MouthsAndAccessoriesAreDrawn) {
    const CharacterRenderer renderer(256);
    CharacterSpec c;
    c.mouth = Mouth::Closed;
    // The mouth's marks: pixels far from the skin, their bounding box, and the tongue's pixels.
    struct Marks {
        cv::Rect box;
        int tongue = 0;
    };
    const auto marks = [&](Mouth m) {
        CharacterSpec d = c;
        d.mouth = m;
        const SceneSpec s = one(d);
        const cv::Mat image = mat(renderer.render(s));
        const cv::Rect area = rect(renderer.layout(s, 0).mouth_box);
        Marks out;
        std::vector<cv::Point> dark;
        for (int y = area.y; y < area.br().y; ++y) {
            for (int x = area.x; x < area.br().x; ++x) {
                if (distance2(image.at<cv::Vec3b>(y, x), skin_rgb(d.skin)) > 80 * 80) {
                    dark.emplace_back(x, y);
                }
            }
        }
        if (!dark.empty()) {
            out.box = cv::boundingRect(dark);
        }
        out.tongue = pixels_near(image, area, Rgb{236, 120, 130}, 30);
        return out;
    };
    const Marks closed = marks(Mouth::Closed);
    const Marks smile = marks(Mouth::Smile);
    const Marks open = marks(Mouth::Open);
    EXPECT_GT(closed.box.area(), 0);
    EXPECT_GT(smile.box.width, closed.box.width);
    EXPECT_GT(open.box.height, closed.box.height + 1);
    EXPECT_GT(open.box.height, smile.box.height);
    EXPECT_GE(open.tongue, 3);
    EXPECT_EQ(closed.tongue + smile.tongue, 0);
    // Glasses put dark frames around the eyes; a hat and a ribbon change the pixels above the fringe only.
    const auto ink = [&](const CharacterSpec& d) {
        const SceneSpec s = one(d);
        return pixels_near(mat(renderer.render(s)), rect(renderer.layout(s, 0).eye_box[0]), Rgb{40, 30, 36}, 30);
    };
    CharacterSpec with_glasses = c;
    with_glasses.glasses = true;
    EXPECT_GT(ink(with_glasses), ink(c) + 15);
    for (bool hat : {false, true}) {
        CharacterSpec d = c;
        d.hat = hat;
        d.ribbon = !hat;
        const SceneSpec plain = one(c);
        const SceneSpec dressed = one(d);
        const cv::Mat a = mat(renderer.render(plain));
        const cv::Mat b = mat(renderer.render(dressed));
        const FigureLayout l = renderer.layout(plain, 0);
        EXPECT_GT(cv::norm(a, b, cv::NORM_L1), 1000);
        const cv::Rect below_fringe(0, l.hair_probe.y, 256, 256 - l.hair_probe.y);
        EXPECT_EQ(cv::norm(a(below_fringe), b(below_fringe), cv::NORM_INF), 0) << (hat ? "hat" : "ribbon");
    }
}

TEST(CharacterRenderer, RefusesBadSizesAndScenes) {
    EXPECT_THROW(CharacterRenderer(100), std::invalid_argument);
    EXPECT_THROW(CharacterRenderer(0), std::invalid_argument);
    EXPECT_THROW(CharacterRenderer(4096), std::invalid_argument);
    const CharacterRenderer renderer(64);
    SceneSpec empty;
    EXPECT_THROW(renderer.render(empty), std::invalid_argument);
    SceneSpec three = random_scene(1, 0);
    three.characters.resize(3);
    EXPECT_THROW(renderer.render(three), std::invalid_argument);
    EXPECT_THROW(renderer.layout(random_scene(1, 0), 5), std::out_of_range);
}
