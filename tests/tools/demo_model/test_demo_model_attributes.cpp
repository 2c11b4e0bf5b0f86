// The demo model follows its prompts (issue 14, "Tests (CPU, in CI)"): images generated on the CPU through the normal
// engine::Pipeline from fixed seeds, at 256^2 with the app's sampling defaults (Euler, CFG 5, shift 6), from prompts
// built like the model's training captions (demo_caption on a SceneSpec whose only varied attribute is the one under
// test), measured with attribute_measure (proven on the renderer's images in test_attribute_measure.cpp). 100 images
// in all: 3 hair colours x 20 seeds, 10 of two characters, 10 of one on either side, 10 night/sky pairs.
//
// The model folder: $CHARAFORGE_DEMO_MODEL, else CHARAFORGE_DEMO_MODEL_DIR (compiled in: the CMake option, by
// default the source tree's resources/demo-model). $CHARAFORGE_DEMO_STEPS overrides the steps (kSteps; CTest sets
// it from CHARAFORGE_DEMO_TEST_STEPS); $CHARAFORGE_DEMO_SAVE=DIR writes every generated image there as PNG;
// $CHARAFORGE_DEMO_DEVICE (default cpu, what CI runs) samples on another device, e.g. cuda right after training.
#include "attribute_measure.h"
#include "demo_caption.h"

#include "charaforge/engine/model_check.h"
#include "charaforge/engine/pipeline.h"
#include "charaforge/imaging/png_io.h"
#include "model/model_card.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>

using namespace charaforge;
using namespace charaforge::demo;
namespace fs = std::filesystem;

namespace {

constexpr int kSize = 256; // the demo model's native resolution
constexpr int kSeeds = 20; // per hair colour (issue 14: >= 90% of 20 seeds)
constexpr int kFewer = 10; // images per test where the issue names no count (sides, night and sky)
constexpr int kSteps = 20; // the CPU speed target's steps
constexpr int kPassPercent = 90;
constexpr uint64_t kFirstSeed = 1000;

std::string model_dir() {
    const char* env = std::getenv("CHARAFORGE_DEMO_MODEL");
    return env != nullptr && *env != '\0' ? std::string(env) : std::string(CHARAFORGE_DEMO_MODEL_DIR);
}

std::string device() {
    const char* env = std::getenv("CHARAFORGE_DEMO_DEVICE");
    return env != nullptr && *env != '\0' ? std::string(env) : std::string("cpu");
}

int steps() {
    const char* env = std::getenv("CHARAFORGE_DEMO_STEPS");
    if (env == nullptr || *env == '\0') {
        return kSteps;
    }
    const int n = std::atoi(env);
    if (n < 1 || n > 1000) {
        throw std::invalid_argument(std::string("CHARAFORGE_DEMO_STEPS: '") + env + "' is not a step count 1..1000");
    }
    return n;
}

// The scene every prompt varies one attribute of: a girl with long black hair and brown eyes in a green shirt,
// centred on a white background, captioned in XML (none of its colours is one a test asks for).
SceneSpec base_scene() {
    SceneSpec s;
    s.characters = {demo_base_character()};
    s.background = Background::White;
    s.tag_list_caption = false;
    return s;
}

// One prompt of a test: its scene (its caption is the prompt) and a name for messages and saved files.
struct Variant {
    std::string name;
    SceneSpec scene;
};

// A generated image with the measure of it against the scene its prompt described.
struct Reading {
    const Variant* variant = nullptr;
    uint64_t seed = 0;
    engine::Image image;
    SceneMeasure measure;
};

class DemoModelAttributes : public ::testing::Test {
protected:
    static engine::Pipeline& pipeline() {
        if (!pipeline_) {
            engine::RuntimeOptions options;
            options.device = device();
            pipeline_ = engine::Pipeline::open(model_dir(), options);
        }
        return *pipeline_;
    }
    static void TearDownTestSuite() { pipeline_.reset(); }

    // Every variant's caption from seeds kFirstSeed.. (`seeds` of them), in one generate call (the pipeline
    // batches them as the app would), each image measured against its variant's scene.
    static std::vector<Reading> generate(const std::vector<Variant>& variants, int seeds = kSeeds) {
        std::vector<engine::GenerationRequest> requests;
        std::vector<Reading> readings;
        for (const Variant& v : variants) {
            for (int i = 0; i < seeds; ++i) {
                engine::GenerationRequest r; // the app's defaults: Euler, CFG 5, shift 6, no negative prompt
                r.prompt = caption_text(v.scene);
                r.width = kSize;
                r.height = kSize;
                r.steps = steps();
                r.seed = kFirstSeed + static_cast<uint64_t>(i);
                requests.push_back(r);
                readings.push_back({&v, r.seed, {}, {}});
            }
        }
        const auto t0 = std::chrono::steady_clock::now();
        std::vector<engine::Image> images = pipeline().generate(requests);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::cout << requests.size() << " images of " << kSize << "^2, " << steps() << " steps, CFG "
                  << requests.front().guidance << ": " << seconds << " s (" << seconds / requests.size()
                  << " s per image)\n";
        const char* save = std::getenv("CHARAFORGE_DEMO_SAVE");
        for (size_t i = 0; i < readings.size(); ++i) {
            Reading& r = readings[i];
            r.image = std::move(images[i]);
            r.measure = measure_scene({r.image.width, r.image.height, r.image.rgb.data()}, r.variant->scene);
            if (save != nullptr && *save != '\0') {
                fs::create_directories(save);
                const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
                imaging::write_png_atomic(
                    (fs::path(save) / (name + "-" + r.variant->name + "-" + std::to_string(r.seed) + ".png")).string(),
                    {r.image.width, r.image.height, r.image.rgb});
            }
        }
        return readings;
    }

    // Expects `holds` of >= kPassPercent of the readings of `variant` (every reading: "") and prints each reading's
    // line (`describe`).
    template <class Holds, class Describe>
    static void expect_rate(const std::vector<Reading>& readings, const std::string& variant, Holds holds,
                            Describe describe) {
        int n = 0;
        int good = 0;
        std::ostringstream lines;
        for (const Reading& r : readings) {
            if (!variant.empty() && r.variant->name != variant) {
                continue;
            }
            ++n;
            const bool ok = holds(r);
            good += ok ? 1 : 0;
            lines << "  " << r.variant->name << " seed " << r.seed << (ok ? "  ok   " : "  FAIL ") << describe(r)
                  << "\n";
        }
        std::cout << (variant.empty() ? "all" : variant) << ": " << good << " of " << n << "\n" << lines.str();
        ASSERT_GT(n, 0) << variant;
        EXPECT_GE(good * 100, n * kPassPercent) << variant << ": " << good << " of " << n << "\n" << lines.str();
    }

    static std::unique_ptr<engine::Pipeline> pipeline_;
};

std::unique_ptr<engine::Pipeline> DemoModelAttributes::pipeline_;

std::string rgb_text(Rgb c) {
    return "(" + std::to_string(c.r) + ", " + std::to_string(c.g) + ", " + std::to_string(c.b) + ")";
}

uint64_t folder_bytes(const fs::path& dir) {
    uint64_t total = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        if (e.is_regular_file()) {
            total += e.file_size();
        }
    }
    return total;
}

} // namespace

// No special path: the folder is a complete official-layout model that the one model locator finds as it finds
// NewBie's (diffusers-folder, each component in its folder), not the random test model, and its card says it is
// the demo model.
TEST_F(DemoModelAttributes, LoadsThroughTheOfficialFolderLoader) {
    const fs::path dir(model_dir());
    EXPECT_EQ(engine::check_model_folder(dir.string()), "");
    EXPECT_FALSE(engine::is_test_model(dir.string()));
    const engine::ModelInfo& info = pipeline().info();
    EXPECT_EQ(info.layout, "diffusers-folder");
    EXPECT_EQ(fs::path(info.transformer_file).parent_path(), dir / "transformer");
    EXPECT_EQ(fs::path(info.vae_file).parent_path(), dir / "vae");
    EXPECT_EQ(fs::path(info.text_encoder_file).parent_path(), dir / "text_encoder");
    EXPECT_EQ(fs::path(info.clip_file).parent_path(), dir / "clip_model");
    EXPECT_TRUE(pipeline().has_text_encoders());
    EXPECT_EQ(pipeline().device().substr(0, device().size()), device());

    // Its card (charaforge.json) read by the app's one reader: the demo model, trained at 256^2.
    std::string problem;
    const auto card = app::readModelCard(dir.string(), &problem);
    ASSERT_TRUE(card.has_value()) << (dir / "charaforge.json") << ": " << problem;
    EXPECT_EQ(card->kind, "demo");
    EXPECT_FALSE(card->name.empty());
    EXPECT_FALSE(card->licence.empty());
    EXPECT_FALSE(card->trainingData.empty());
    EXPECT_EQ(card->nativeResolution, kSize);
    EXPECT_EQ(app::modelKind(dir.string()), app::ModelKind::Demo);
    // Issue 14: at most 40 MB in total.
    EXPECT_LE(folder_bytes(dir), 40'000'000u);
}

TEST_F(DemoModelAttributes, HairColourFollowsThePrompt) {
    std::vector<Variant> variants;
    for (HairColour colour : {HairColour::Blue, HairColour::Red, HairColour::Blonde}) {
        SceneSpec s = base_scene();
        s.characters[0].hair_colour = colour;
        variants.push_back({hair_colour_tag(colour), s});
    }
    const auto readings = generate(variants);
    for (const Variant& v : variants) {
        const HairColour asked = v.scene.characters[0].hair_colour;
        // Nearest in the renderer's whole palette (nine colours), not only among the three asked.
        expect_rate(
            readings, v.name, [&](const Reading& r) { return r.measure.characters[0].hair_colour == asked; },
            [](const Reading& r) {
                return rgb_text(r.measure.characters[0].hair) + " -> " +
                       hair_colour_tag(r.measure.characters[0].hair_colour);
            });
    }
}

// `1girl, position left` + `1boy, position right`: the figure with the girl's hair colour stands on the left and the
// one with the boy's on the right. Half the seeds give her blonde hair and him blue, half the other way round, so
// that a side is told by whose hair it shows.
TEST_F(DemoModelAttributes, TwoCharactersStandOnTheAskedSides) {
    std::vector<Variant> variants;
    for (auto [girl, boy] :
         {std::pair{HairColour::Blonde, HairColour::Blue}, std::pair{HairColour::Blue, HairColour::Blonde}}) {
        SceneSpec s = base_scene();
        CharacterSpec boy_spec = s.characters[0];
        s.characters[0].position = Position::Left;
        s.characters[0].hair_colour = girl;
        boy_spec.gender = Gender::Boy;
        boy_spec.hair_style = HairStyle::Short;
        boy_spec.hair_colour = boy;
        boy_spec.position = Position::Right;
        s.characters.push_back(boy_spec);
        variants.push_back({"girl-" + hair_colour_tag(girl) + "-left-boy-" + hair_colour_tag(boy) + "-right", s});
    }
    const auto readings = generate(variants, kFewer / 2);
    auto side = [](const std::optional<double>& x) {
        return x ? position_tag(nearest_position(*x, kSize)) : std::string("not seen");
    };
    expect_rate(
        readings, "",
        [](const Reading& r) {
            const auto& girl = r.measure.characters[0].hair_x;
            const auto& boy = r.measure.characters[1].hair_x;
            return girl && boy && nearest_position(*girl, kSize) == Position::Left &&
                   nearest_position(*boy, kSize) == Position::Right;
        },
        [&](const Reading& r) {
            return "girl's hair " + side(r.measure.characters[0].hair_x) + ", boy's hair " +
                   side(r.measure.characters[1].hair_x);
        });
}

// One character: `position left` and `position right` put the figure there (its centre nearest to that
// position's place in the training images' layout, not the centre's).
TEST_F(DemoModelAttributes, OneCharacterStandsOnTheAskedSide) {
    std::vector<Variant> variants;
    for (Position p : {Position::Left, Position::Right}) {
        SceneSpec s = base_scene();
        s.characters[0].position = p;
        variants.push_back({"position-" + position_tag(p), s});
    }
    const auto readings = generate(variants, kFewer / 2);
    expect_rate(
        readings, "",
        [](const Reading& r) {
            return nearest_position(r.measure.figure_x, kSize) == r.variant->scene.characters[0].position;
        },
        [](const Reading& r) {
            return "figure centre x " + std::to_string(r.measure.figure_x) + " -> " +
                   position_tag(nearest_position(r.measure.figure_x, kSize));
        });
}

// `night` against `sky`, seed by seed (the same starting noise): the night image's background is the darker.
TEST_F(DemoModelAttributes, NightIsDarkerThanSky) {
    std::vector<Variant> variants;
    for (Background b : {Background::Night, Background::Sky}) {
        SceneSpec s = base_scene();
        s.background = b;
        variants.push_back({b == Background::Night ? "night" : "sky", s});
    }
    const auto readings = generate(variants, kFewer);
    auto sky_of = [&](const Reading& night) -> const Reading& {
        for (const Reading& r : readings) {
            if (r.variant->name == "sky" && r.seed == night.seed) {
                return r;
            }
        }
        throw std::logic_error("no sky image of seed " + std::to_string(night.seed));
    };
    expect_rate(
        readings, "night",
        [&](const Reading& r) { return r.measure.background_luminance < sky_of(r).measure.background_luminance; },
        [&](const Reading& r) {
            return "night " + std::to_string(r.measure.background_luminance) + " vs sky " +
                   std::to_string(sky_of(r).measure.background_luminance);
        });
}

// Eye colour (blue, red, green; 10 seeds each): the tests do not ask for it, so this one is not run by
// default (gtest's DISABLED_; run it with --gtest_also_run_disabled_tests). It asks what the hair colours ask: the
// eye boxes' iris pixels nearest to the asked colour in >= 90% of the images, and prints every reading.
TEST_F(DemoModelAttributes, DISABLED_EyeColourFollowsThePrompt) {
    std::vector<Variant> variants;
    for (EyeColour colour : {EyeColour::Blue, EyeColour::Red, EyeColour::Green}) {
        SceneSpec s = base_scene();
        s.characters[0].eye_colour = colour;
        variants.push_back({eye_colour_tag(colour), s});
    }
    const auto readings = generate(variants, kFewer);
    for (const Variant& v : variants) {
        const EyeColour asked = v.scene.characters[0].eye_colour;
        expect_rate(
            readings, v.name, [&](const Reading& r) { return r.measure.characters[0].eye_colour == asked; },
            [](const Reading& r) {
                const CharacterMeasure& m = r.measure.characters[0];
                return std::to_string(m.iris_pixels) + " iris pixels, " + rgb_text(m.eyes) + " -> " +
                       eye_colour_tag(m.eye_colour);
            });
    }
}
