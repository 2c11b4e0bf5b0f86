// charaforge-demo-check: how well a demo model follows captions it was not trained on (issue 14), in the
// engine-only build too, so that it runs on the GPU machine right after training. Each line of a
// charaforge-demo-data --captions-only file (a seed the model was not trained on) is generated through
// engine::Pipeline as the app would (Euler, CFG, shift: the defaults) from its own sampling seed, and measured
// with attribute_measure against the scene the caption describes (random_scene(seed, index)): each character's
// hair and eye colour, the side each of two characters stands on (told by their hair colours, as the attribute
// tests do), the side of a single figure, and the background (the one whose rendering of the scene has the nearest
// margin colour). Prints every reading and the rates; --json writes them. --renderer
// measures the renderer's own images of the captions instead (no model): the measure's ceiling at that size.
//
//   charaforge-demo-check (--model DIR | --renderer) --captions FILE [--count 60] [--device cpu] [--steps 20] [--cfg 5]
//                         [--seed 1000] [--batch 8] [--grid FILE.ppm] [--json FILE]
#include "attribute_measure.h"
#include "character_renderer.h"
#include "cli_options.h"
#include "demo_trainer.h"
#include "scene_spec.h"

#include "charaforge/engine/pipeline.h"
#include "charaforge/engine/ppm.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

using namespace charaforge;
using namespace charaforge::demo;

namespace {

struct Rate {
    int good = 0;
    int total = 0;
    void add(bool ok) {
        good += ok ? 1 : 0;
        ++total;
    }
    std::string text() const {
        if (total == 0) {
            return "none";
        }
        return std::to_string(good) + "/" + std::to_string(total) + " (" + std::to_string(100 * good / total) + "%)";
    }
};

// The first 16 images as a 4 x 4 binary PPM (P6), row-major in the captions' order.
void write_grid(const std::string& path, const std::vector<engine::Image>& images) {
    const int n = static_cast<int>(std::min<size_t>(16, images.size()));
    const int w = images.front().width;
    const int h = images.front().height;
    const int cols = 4;
    const int rows = (n + cols - 1) / cols;
    std::vector<uint8_t> canvas(static_cast<size_t>(cols * w) * static_cast<size_t>(rows * h) * 3, 255);
    for (int i = 0; i < n; ++i) {
        const auto& img = images[static_cast<size_t>(i)];
        for (int y = 0; y < h; ++y) {
            const size_t dst = ((static_cast<size_t>((i / cols) * h + y) * static_cast<size_t>(cols * w)) +
                                static_cast<size_t>((i % cols) * w)) *
                               3;
            std::copy_n(img.rgb.begin() + static_cast<ptrdiff_t>(static_cast<size_t>(y) * static_cast<size_t>(w) * 3),
                        static_cast<size_t>(w) * 3, canvas.begin() + static_cast<ptrdiff_t>(dst));
        }
    }
    engine::write_ppm(path, {cols * w, rows * h, std::move(canvas)});
}

// The per-channel median of the margins (the outer tenth on each side, which no figure reaches).
Rgb margin_median(int width, int height, const uint8_t* rgb) {
    std::array<std::vector<uint8_t>, 3> channels;
    const int margin = width / kMarginDivisor;
    for (int y = 0; y < height; ++y) {
        for (int x = 0; x < width; ++x) {
            if (x < margin || x >= width - margin) {
                const uint8_t* p =
                    rgb + (static_cast<size_t>(y) * static_cast<size_t>(width) + static_cast<size_t>(x)) * 3;
                for (int c = 0; c < 3; ++c) {
                    channels[static_cast<size_t>(c)].push_back(p[c]);
                }
            }
        }
    }
    std::array<uint8_t, 3> m{};
    for (size_t c = 0; c < 3; ++c) {
        auto& v = channels[c];
        std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(v.size() / 2), v.end());
        m[c] = v[v.size() / 2];
    }
    return {m[0], m[1], m[2]};
}

// The background whose rendering (this scene's characters on it) has the margin colour nearest to `seen`.
Background nearest_background(Rgb seen, SceneSpec scene, int size) {
    const CharacterRenderer renderer(size);
    Background best = Background::White;
    double best_d = 1e30;
    for (Background b : kBackgrounds) {
        scene.background = b;
        const DemoImage ref = renderer.render(scene);
        const Rgb r = margin_median(ref.width, ref.height, ref.rgb.data());
        const double d = std::pow(r.r - seen.r, 2) + std::pow(r.g - seen.g, 2) + std::pow(r.b - seen.b, 2);
        if (d < best_d) {
            best_d = d;
            best = b;
        }
    }
    return best;
}

std::string background_name(Background b) {
    return background_tags(b).front();
}

} // namespace

int main(int argc, char** argv) {
    std::string model;
    std::string captions;
    std::string device = "cpu";
    std::string grid;
    std::string json_out;
    int count = 60;
    int steps = 20;
    int batch = 8;
    double cfg = 5;
    int64_t seed = 1000;
    CLI::App app("Measures how a demo model follows held-out captions (hair and eye colours, sides).\n"
                 "Exit status: 0 measured, 1 the work failed, 2 a wrong command line.",
                 "charaforge-demo-check");
    bool renderer = false;
    auto* model_option = app.add_option("--model", model, "the demo model folder");
    app.add_flag("--renderer", renderer, "measure the renderer's images of the captions (the measure's ceiling)")
        ->excludes(model_option);
    app.add_option("--captions", captions,
                   "captions.jsonl of charaforge-demo-data --captions-only (another --seed "
                   "than the training's)")
        ->required();
    cli::add_int(&app, "--count", count, 1, 100000, "captions measured (the file's first)");
    cli::add_int(&app, "--steps", steps, 1, 1000, "sampling steps");
    cli::add_int(&app, "--batch", batch, 1, 256, "images per generate call");
    cli::add_number(&app, "--cfg", cfg, 1.0, 30.0, "CFG scale");
    cli::add_int64(&app, "--seed", seed, 0, std::numeric_limits<int64_t>::max(), "sampling seed of the first caption");
    cli::add_device_option(&app, device);
    app.add_option("--grid", grid, "write the first 16 images as a 4x4 PPM");
    app.add_option("--json", json_out, "write the rates as JSON");
    cli::Action chosen = [&] {
        if (model.empty() && !renderer) {
            throw std::invalid_argument("give --model DIR or --renderer");
        }
        const auto lines = read_demo_captions(captions, count);
        std::vector<engine::Image> images;
        std::unique_ptr<engine::Pipeline> pipeline;
        if (renderer) {
            for (const auto& l : lines) {
                DemoImage d = render_demo_image(l.seed, l.index, l.size);
                images.push_back({d.width, d.height, std::move(d.rgb)});
            }
        } else {
            engine::RuntimeOptions options;
            options.device = device;
            pipeline = engine::Pipeline::open(model, options);
        }
        for (size_t from = 0; !renderer && from < lines.size(); from += static_cast<size_t>(batch)) {
            std::vector<engine::GenerationRequest> requests;
            for (size_t i = from; i < std::min(lines.size(), from + static_cast<size_t>(batch)); ++i) {
                engine::GenerationRequest r;
                r.prompt = lines[i].text;
                r.width = lines[i].size;
                r.height = lines[i].size;
                r.steps = steps;
                r.guidance = static_cast<float>(cfg);
                r.seed = static_cast<uint64_t>(seed) + i;
                requests.push_back(r);
            }
            auto out = pipeline->generate(requests);
            for (auto& im : out) {
                images.push_back(std::move(im));
            }
        }
        Rate hair_one, hair_two, eyes, sides_two, side_one, plain_background, scene_background;
        std::map<std::string, Rate> hair_by_colour;
        for (size_t i = 0; i < lines.size(); ++i) {
            const SceneSpec scene = random_scene(lines[i].seed, lines[i].index);
            const auto& img = images[i];
            const SceneMeasure m = measure_scene({img.width, img.height, img.rgb.data()}, scene);
            std::ostringstream line;
            line << "caption " << lines[i].seed << "/" << lines[i].index << ":";
            for (size_t k = 0; k < scene.characters.size(); ++k) {
                const CharacterSpec& c = scene.characters[k];
                const CharacterMeasure& cm = m.characters[k];
                const bool hair_ok = cm.hair_colour == c.hair_colour;
                (scene.characters.size() == 1 ? hair_one : hair_two).add(hair_ok);
                hair_by_colour[hair_colour_tag(c.hair_colour)].add(hair_ok);
                line << " hair " << hair_colour_tag(c.hair_colour) << "->" << hair_colour_tag(cm.hair_colour);
                if (!c.eyes_closed) {
                    eyes.add(cm.eye_colour == c.eye_colour);
                    line << " eyes " << eye_colour_tag(c.eye_colour) << "->" << eye_colour_tag(cm.eye_colour);
                }
            }
            const Background seen =
                nearest_background(margin_median(img.width, img.height, img.rgb.data()), scene, img.width);
            const bool plain = scene.background != Background::Sky && scene.background != Background::Room &&
                               scene.background != Background::Night;
            (plain ? plain_background : scene_background).add(seen == scene.background);
            line << " background " << background_name(scene.background) << "->" << background_name(seen);
            if (scene.characters.size() == 1) {
                const Position p = nearest_position(m.figure_x, img.width);
                side_one.add(p == scene.characters[0].position);
                line << " at " << position_tag(scene.characters[0].position) << "->" << position_tag(p);
            } else if (scene.characters[0].hair_colour != scene.characters[1].hair_colour) {
                bool ok = true;
                for (size_t k = 0; k < 2; ++k) {
                    const auto& x = m.characters[k].hair_x;
                    ok = ok && x && nearest_position(*x, img.width) == scene.characters[k].position;
                }
                sides_two.add(ok);
                line << (ok ? " sides ok" : " sides wrong");
            }
            std::cout << line.str() << "\n";
        }
        std::cout << "hair colour, one character: " << hair_one.text() << "\n"
                  << "hair colour, two characters: " << hair_two.text() << "\n"
                  << "eye colour (open eyes): " << eyes.text() << "\n"
                  << "one character on its side: " << side_one.text() << "\n"
                  << "two characters on their sides: " << sides_two.text() << "\n"
                  << "plain background colour: " << plain_background.text() << "\n"
                  << "scene (sky, room, night): " << scene_background.text() << "\n";
        for (const auto& [tag, rate] : hair_by_colour) {
            std::cout << "  " << tag << ": " << rate.text() << "\n";
        }
        if (!grid.empty()) {
            write_grid(grid, images);
        }
        if (!json_out.empty()) {
            auto r = [](const Rate& x) { return nlohmann::json{{"good", x.good}, {"total", x.total}}; };
            const nlohmann::json j = {{"model", model},
                                      {"captions", captions},
                                      {"count", lines.size()},
                                      {"steps", steps},
                                      {"cfg", cfg},
                                      {"device", device},
                                      {"hair_one", r(hair_one)},
                                      {"hair_two", r(hair_two)},
                                      {"eyes", r(eyes)},
                                      {"side_one", r(side_one)},
                                      {"sides_two", r(sides_two)},
                                      {"plain_background", r(plain_background)},
                                      {"scene_background", r(scene_background)}};
            std::ofstream f(json_out);
            f << j.dump(2) << "\n";
            if (!f.flush()) {
                throw std::runtime_error(json_out + ": cannot write");
            }
        }
        return cli::kExitOk;
    };
    return cli::parse_and_run(app, std::vector<std::string>(argv + 1, argv + argc), chosen, std::cout, std::cerr);
}
