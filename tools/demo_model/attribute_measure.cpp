#include "attribute_measure.h"

#include "character_renderer.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace charaforge::demo {
namespace {

// The pixels [x0, x1) x [y0, y1).
struct Span {
    int x0 = 0;
    int y0 = 0;
    int x1 = 0;
    int y1 = 0;
};

// A layout box clipped to a `size` x `size` image.
Span span_of(const Box& b, int size) {
    return {std::clamp(b.x, 0, size), std::clamp(b.y, 0, size), std::clamp(b.x + b.width, 0, size),
            std::clamp(b.y + b.height, 0, size)};
}

Rgb pixel(const RgbView& image, int x, int y) {
    const uint8_t* p = image.rgb + (static_cast<size_t>(y) * image.width + x) * 3;
    return {p[0], p[1], p[2]};
}

double distance(Rgb a, Rgb b) {
    const double dr = a.r - b.r;
    const double dg = a.g - b.g;
    const double db = a.b - b.b;
    return std::sqrt(dr * dr + dg * dg + db * db);
}

// Per-channel median (the lower middle of an even count); black for no pixels.
Rgb median(const std::vector<Rgb>& pixels) {
    if (pixels.empty()) {
        return {};
    }
    std::array<std::vector<uint8_t>, 3> ch;
    for (auto& c : ch) {
        c.reserve(pixels.size());
    }
    for (const Rgb& p : pixels) {
        ch[0].push_back(p.r);
        ch[1].push_back(p.g);
        ch[2].push_back(p.b);
    }
    const size_t mid = (pixels.size() - 1) / 2;
    for (auto& c : ch) {
        std::nth_element(c.begin(), c.begin() + static_cast<long>(mid), c.end());
    }
    return {ch[0][mid], ch[1][mid], ch[2][mid]};
}

double median(std::vector<double> values) {
    if (values.empty()) {
        return 0;
    }
    const size_t mid = (values.size() - 1) / 2;
    std::nth_element(values.begin(), values.begin() + static_cast<long>(mid), values.end());
    return values[mid];
}

template <class Values, class ToRgb> auto nearest(Rgb colour, const Values& values, ToRgb to_rgb) {
    auto best = values[0];
    for (auto v : values) {
        if (distance(colour, to_rgb(v)) < distance(colour, to_rgb(best))) {
            best = v;
        }
    }
    return best;
}

std::vector<Rgb> pixels_in(const RgbView& image, const Span& box) {
    std::vector<Rgb> out;
    for (int y = box.y0; y < box.y1; ++y) {
        for (int x = box.x0; x < box.x1; ++x) {
            out.push_back(pixel(image, x, y));
        }
    }
    return out;
}

// Half the distance from `colour` to the palette's nearest other hair colour: what is closer names it.
double hair_reach(HairColour colour) {
    double closest = std::numeric_limits<double>::max();
    for (HairColour other : kHairColours) {
        if (other != colour) {
            closest = std::min(closest, distance(hair_rgb(colour), hair_rgb(other)));
        }
    }
    return closest / 2;
}

// The distance from `p` to the segment from `a` to `b` in RGB: how near `p` is to a blend of the two colours.
double distance_to_blend(Rgb p, Rgb a, Rgb b) {
    const double ab[3] = {double(b.r - a.r), double(b.g - a.g), double(b.b - a.b)};
    const double ap[3] = {double(p.r - a.r), double(p.g - a.g), double(p.b - a.b)};
    const double len2 = ab[0] * ab[0] + ab[1] * ab[1] + ab[2] * ab[2];
    const double t = len2 > 0 ? std::clamp((ap[0] * ab[0] + ap[1] * ab[1] + ap[2] * ab[2]) / len2, 0.0, 1.0) : 0.0;
    const double d[3] = {ap[0] - t * ab[0], ap[1] - t * ab[1], ap[2] - t * ab[2]};
    return std::sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
}

constexpr Rgb kBlack{0, 0, 0};
constexpr Rgb kWhite{255, 255, 255};

// What an eye box shows besides the iris: the skin and the white of the eye, dark lines (pupils, glasses' frames)
// and their blends at edges (a frame blurred into the skin is a grey, not a grey iris).
double distance_to_face(Rgb p, Rgb skin) {
    return std::min(distance_to_blend(p, kBlack, skin), distance_to_blend(p, kWhite, skin));
}

// The eye boxes' iris pixels (not dark, nearer an eye colour than anything else a face shows), each as the eye
// colour it is nearest to.
struct Iris {
    std::vector<Rgb> pixels;
    std::vector<EyeColour> nearest;
};

Iris iris_of(const RgbView& image, const FigureLayout& layout, const CharacterSpec& c) {
    // Pupils and lines are darker than half the darkest iris.
    double darkest = std::numeric_limits<double>::max();
    for (EyeColour e : kEyeColours) {
        darkest = std::min(darkest, luminance(eye_rgb(e)));
    }
    const Rgb skin = skin_rgb(c.skin);
    Iris out;
    for (const auto& rect : layout.eye_box) {
        for (const Rgb& p : pixels_in(image, span_of(rect, image.width))) {
            const EyeColour e = nearest_eye_colour(p);
            if (luminance(p) >= darkest / 2 && distance(p, eye_rgb(e)) < distance_to_face(p, skin)) {
                out.pixels.push_back(p);
                out.nearest.push_back(e);
            }
        }
    }
    return out;
}

// Each row's background: the median colour of its margins.
std::vector<Rgb> row_backgrounds(const RgbView& image) {
    const int margin = image.width / kMarginDivisor;
    std::vector<Rgb> out;
    out.reserve(static_cast<size_t>(image.height));
    for (int y = 0; y < image.height; ++y) {
        std::vector<Rgb> row = pixels_in(image, {0, y, margin, y + 1});
        const std::vector<Rgb> right = pixels_in(image, {image.width - margin, y, image.width, y + 1});
        row.insert(row.end(), right.begin(), right.end());
        out.push_back(median(row));
    }
    return out;
}

} // namespace

double luminance(Rgb c) {
    return 0.299 * c.r + 0.587 * c.g + 0.114 * c.b;
}

HairColour nearest_hair_colour(Rgb colour) {
    return nearest(colour, kHairColours, hair_rgb);
}

EyeColour nearest_eye_colour(Rgb colour) {
    return nearest(colour, kEyeColours, eye_rgb);
}

Position nearest_position(double x, int width) {
    const CharacterRenderer renderer(width);
    Position best = Position::Center;
    double best_distance = std::numeric_limits<double>::max();
    for (Position p : {Position::Left, Position::Center, Position::Right}) {
        SceneSpec probe;
        probe.characters.push_back(CharacterSpec{});
        probe.characters[0].position = p;
        const double d = std::abs(x - renderer.layout(probe, 0).cx);
        if (d < best_distance) {
            best_distance = d;
            best = p;
        }
    }
    return best;
}

SceneMeasure measure_scene(const RgbView& image, const SceneSpec& scene) {
    if (image.rgb == nullptr || image.width != image.height) {
        throw std::invalid_argument("demo measure: the image is " + std::to_string(image.width) + "x" +
                                    std::to_string(image.height) + ", not a square with pixels");
    }
    const CharacterRenderer renderer(image.width); // refuses sizes the renderer does not draw
    const int size = image.width;
    const std::vector<Rgb> background = row_backgrounds(image);

    SceneMeasure out;
    const int margin = size / kMarginDivisor;
    std::vector<double> margin_luminance;
    double figure_sum = 0;
    for (int y = 0; y < size; ++y) {
        for (int x = 0; x < size; ++x) {
            const Rgb p = pixel(image, x, y);
            if (x < margin || x >= size - margin) {
                margin_luminance.push_back(luminance(p));
            } else if (distance(p, background[static_cast<size_t>(y)]) > kFigureDistance) {
                figure_sum += x;
                ++out.figure_pixels;
            }
        }
    }
    out.background_luminance = median(margin_luminance);
    out.figure_x = out.figure_pixels > 0 ? figure_sum / out.figure_pixels : size / 2.0;

    for (size_t k = 0; k < scene.characters.size(); ++k) {
        const CharacterSpec& c = scene.characters[k];
        const FigureLayout layout = renderer.layout(scene, k);
        CharacterMeasure m;
        m.hair = median(pixels_in(image, span_of(layout.hair_probe, size)));
        m.hair_colour = nearest_hair_colour(m.hair);
        // The eye colour most iris pixels are nearest to (blurred edges spread over several), and their median.
        const Iris iris = iris_of(image, layout, c);
        long most = -1;
        for (EyeColour e : kEyeColours) {
            const long votes = std::count(iris.nearest.begin(), iris.nearest.end(), e);
            if (votes > most) {
                most = votes;
                m.eye_colour = e;
            }
        }
        std::vector<Rgb> winners;
        for (size_t i = 0; i < iris.pixels.size(); ++i) {
            if (iris.nearest[i] == m.eye_colour) {
                winners.push_back(iris.pixels[i]);
            }
        }
        m.eyes = median(winners);
        m.iris_pixels = static_cast<int>(iris.pixels.size());

        // Head height: from above the crown (hats included) to the chin, where no clothes are.
        const int y0 = std::clamp(layout.cy - layout.r * 6 / 5, 0, size);
        const int y1 = std::clamp(layout.cy + layout.r, 0, size);
        const Rgb asked = hair_rgb(c.hair_colour);
        const double reach = hair_reach(c.hair_colour);
        // Nearer the asked hair colour than to the white of the eyes and any skin of the scene (white hair
        // against pale skin).
        auto hair_like = [&](Rgb p) {
            const double d = distance(p, asked);
            if (d >= reach || distance(p, kWhite) <= d) {
                return false;
            }
            for (const CharacterSpec& other : scene.characters) {
                if (distance(p, skin_rgb(other.skin)) <= d) {
                    return false;
                }
            }
            return true;
        };
        double sum = 0;
        int n = 0;
        for (int y = y0; y < y1; ++y) {
            for (int x = margin; x < size - margin; ++x) {
                const Rgb p = pixel(image, x, y);
                if (hair_like(p) && distance(p, background[static_cast<size_t>(y)]) > kFigureDistance) {
                    sum += x;
                    ++n;
                }
            }
        }
        if (n > 0 && n >= layout.r * layout.r / 4) {
            m.hair_x = sum / n;
        }
        out.characters.push_back(m);
    }
    return out;
}

} // namespace charaforge::demo
