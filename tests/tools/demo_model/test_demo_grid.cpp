// charaforge-demo-grid's pieces and the program: the contact sheet's layout (every image's pixels where the layout
// says, unchanged; its text under it in its colours; nothing in the gaps), the wrapping of labels, the 16 prompts
// (XML captions, each label tag one of its character's or the scene's caption tags, each row varying what it says),
// their readings on the renderer's own images (as asked) and on a mismatched scene (not), and the program on the
// tiny test model: its PNG holds the pipeline's images of the 16 prompts in their cells, its report says what the
// readings say, and every bad option or model folder is refused with exit status 2, naming it, writing nothing.
#include "character_renderer.h"
#include "contact_sheet.h"
#include "cv_drawing.h"
#include "demo_caption.h"
#include "demo_grid.h"

#include "charaforge/engine/pipeline.h"
#include "charaforge/imaging/png_io.h"
#include "test_util.h" // tests/core/engine: TempDir

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace charaforge;
using namespace charaforge::demo;
namespace fs = std::filesystem;

namespace {

constexpr Rgb kTextColours[] = {{0, 0, 0}, {200, 30, 30}, {30, 30, 200}};

imaging::RgbImage solid_image(int w, int h, Rgb c, int marker) {
    imaging::RgbImage img{w, h, std::vector<uint8_t>(static_cast<size_t>(w) * h * 3)};
    for (size_t i = 0; i < img.rgb.size(); i += 3) {
        img.rgb[i] = c.r;
        img.rgb[i + 1] = c.g;
        img.rgb[i + 2] = c.b;
    }
    // One pixel per image that tells it apart from its neighbours' and shows its orientation.
    const size_t at = (static_cast<size_t>(marker % h) * w + static_cast<size_t>(marker % w)) * 3;
    img.rgb[at] = 255 - c.r;
    return img;
}

Rgb pixel(const imaging::RgbImage& img, int x, int y) {
    const size_t at = (static_cast<size_t>(y) * img.width + x) * 3;
    return {img.rgb[at], img.rgb[at + 1], img.rgb[at + 2]};
}

bool inside(const Box& b, int x, int y) {
    return x >= b.x && x < b.x + b.width && y >= b.y && y < b.y + b.height;
}

bool overlap(const Box& a, const Box& b) {
    return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

// Pixels of `box` within `tolerance` levels of `c` per channel.
int pixels_near(const imaging::RgbImage& img, const Box& box, Rgb c, int tolerance) {
    int n = 0;
    for (int y = box.y; y < box.y + box.height; ++y) {
        for (int x = box.x; x < box.x + box.width; ++x) {
            const Rgb p = pixel(img, x, y);
            n +=
                std::abs(p.r - c.r) <= tolerance && std::abs(p.g - c.g) <= tolerance && std::abs(p.b - c.b) <= tolerance
                    ? 1
                    : 0;
        }
    }
    return n;
}

ContactSheet sample_sheet(int image_w, int image_h) {
    ContactSheet sheet;
    sheet.columns = 3;
    sheet.title = {"A title line", "a second, smaller title line"};
    sheet.row_titles = {"first row", "second row"};
    for (int i = 0; i < 5; ++i) { // the last row is short
        const Rgb c{static_cast<uint8_t>(40 * i), static_cast<uint8_t>(200 - 30 * i), 120};
        sheet.cells.push_back(
            {solid_image(image_w, image_h, c, 7 * i + 3),
             {{"label of image " + std::to_string(i), kTextColours[0]},
              {"a red line", kTextColours[1]},
              {i == 2 ? "a blue line long enough to need two lines under an image" : "blue", kTextColours[2]}}});
    }
    return sheet;
}

} // namespace

TEST(ContactSheet, PlacesEveryImageUnchangedWithItsTextUnderIt) {
    for (const auto& [w, h] : {std::pair{40, 30}, std::pair{300, 260}}) { // narrower and wider than kMinCellWidth
        SCOPED_TRACE(std::to_string(w) + "x" + std::to_string(h));
        const ContactSheet sheet = sample_sheet(w, h);
        const SheetLayout layout = contact_sheet_layout(sheet);
        const imaging::RgbImage img = render_contact_sheet(sheet);
        ASSERT_EQ(img.width, layout.width);
        ASSERT_EQ(img.height, layout.height);
        ASSERT_EQ(img.rgb.size(), static_cast<size_t>(img.width) * img.height * 3);
        const int cell = std::max(w, kMinCellWidth);
        EXPECT_EQ(layout.cell_width, cell);
        EXPECT_EQ(layout.width, 2 * kSheetMargin + 3 * cell + 2 * kSheetGap);
        ASSERT_EQ(layout.images.size(), 5u);
        ASSERT_EQ(layout.labels.size(), 5u);
        ASSERT_EQ(layout.rows.size(), 2u);

        // Boxes: inside the sheet, apart from one another, in reading order.
        std::vector<Box> boxes{layout.title};
        boxes.insert(boxes.end(), layout.rows.begin(), layout.rows.end());
        boxes.insert(boxes.end(), layout.images.begin(), layout.images.end());
        boxes.insert(boxes.end(), layout.labels.begin(), layout.labels.end());
        for (size_t i = 0; i < boxes.size(); ++i) {
            EXPECT_GE(boxes[i].x, 0);
            EXPECT_GE(boxes[i].y, 0);
            EXPECT_LE(boxes[i].x + boxes[i].width, img.width);
            EXPECT_LE(boxes[i].y + boxes[i].height, img.height);
            for (size_t j = i + 1; j < boxes.size(); ++j) {
                EXPECT_FALSE(overlap(boxes[i], boxes[j])) << "boxes " << i << " and " << j;
            }
        }
        for (size_t i = 0; i < 5; ++i) {
            const Box& b = layout.images[i];
            EXPECT_EQ(b.width, w);
            EXPECT_EQ(b.height, h);
            EXPECT_EQ(layout.labels[i].y, b.y + b.height); // the text right under its image
            EXPECT_GT(b.y, layout.rows[i / 3].y);          // under its row's title
            if (i % 3 > 0) {
                EXPECT_EQ(b.y, layout.images[i - 1].y);
                EXPECT_GT(b.x, layout.images[i - 1].x);
            }
        }
        EXPECT_GT(layout.images[3].y, layout.labels[0].y + layout.labels[0].height - 1);

        // Every image's pixels exactly, each in its own box.
        for (size_t i = 0; i < 5; ++i) {
            const Box& b = layout.images[i];
            const imaging::RgbImage& src = sheet.cells[i].image;
            int differing = 0;
            for (int y = 0; y < h; ++y) {
                for (int x = 0; x < w; ++x) {
                    differing += pixel(img, b.x + x, b.y + y) == pixel(src, x, y) ? 0 : 1;
                }
            }
            EXPECT_EQ(differing, 0) << "image " << i;
        }

        // The text: each cell's lines in their colours, inside its label box; the long one on two lines.
        for (size_t i = 0; i < 5; ++i) {
            const auto& lines = layout.lines[i];
            const auto third = static_cast<size_t>(
                std::count_if(lines.begin(), lines.end(), [](const SheetLine& l) { return l.source == 2; }));
            EXPECT_EQ(lines.size(), 2 + third) << "cell " << i;
            EXPECT_EQ(third > 1, i == 2) << "cell " << i << ": only the long line wraps";
            const Box& label = layout.labels[i];
            EXPECT_GT(pixels_near(img, label, kTextColours[0], 40), 10) << "cell " << i;
            EXPECT_GT(pixels_near(img, label, kTextColours[1], 40), 10) << "cell " << i;
            EXPECT_GT(pixels_near(img, label, kTextColours[2], 40), 10) << "cell " << i;
        }
        // A row's label boxes are as tall as its tallest text: the first row's as the long line's cell's.
        for (size_t i = 0; i < 5; ++i) {
            EXPECT_EQ(layout.labels[i].height, layout.labels[i < 3 ? 2 : 3].height) << "cell " << i;
        }
        EXPECT_GE(layout.labels[2].height, static_cast<int>(layout.lines[2].size()) * layout.line_height);
        EXPECT_GE(layout.labels[3].height, 3 * layout.line_height);
        EXPECT_LT(layout.labels[3].height, layout.labels[2].height);
        EXPECT_GT(pixels_near(img, layout.title, kSheetTitleColour, 40), 50);
        EXPECT_GT(pixels_near(img, layout.rows[0], kSheetRowTitleColour, 40), 10);

        // Nothing but the background outside the boxes and the images' frames.
        int stray = 0;
        std::string first_stray;
        for (int y = 0; y < img.height; ++y) {
            for (int x = 0; x < img.width; ++x) {
                bool in_box = false;
                for (const Box& b : boxes) {
                    in_box = in_box || inside(b, x, y);
                }
                for (const Box& b : layout.images) {
                    in_box = in_box || inside({b.x - 1, b.y - 1, b.width + 2, b.height + 2}, x, y);
                }
                if (!in_box && pixel(img, x, y) != kSheetBackground) {
                    if (stray++ == 0) {
                        first_stray = "(" + std::to_string(x) + ", " + std::to_string(y) + ")";
                    }
                }
            }
        }
        EXPECT_EQ(stray, 0) << "the first at " << first_stray;
    }
}

TEST(ContactSheet, WrapsTextToTheWidthKeepingEveryWord) {
    const std::string text = "hair seen: blonde_hair, white_hair;  asked green_hair, white_hair  and a_very_long_"
                             "word_that_cannot_fit_on_any_line_of_this_width_at_all";
    for (int width : {60, 120, 256, 2000}) {
        SCOPED_TRACE(width);
        const std::vector<std::string> lines = wrap_text(text, width);
        ASSERT_FALSE(lines.empty());
        std::string rejoined;
        for (const std::string& line : lines) {
            EXPECT_LE(text_size(line, kSheetTextScale, kSheetTextThickness).width, width) << line;
            EXPECT_FALSE(line.empty());
            EXPECT_NE(line.front(), ' ');
            EXPECT_NE(line.back(), ' ');
            rejoined += line;
        }
        std::string squeezed; // the words without their spaces: every character kept, in order
        for (char c : text) {
            if (c != ' ') {
                squeezed += c;
            }
        }
        rejoined.erase(std::remove(rejoined.begin(), rejoined.end(), ' '), rejoined.end());
        EXPECT_EQ(rejoined, squeezed);
    }
    EXPECT_EQ(wrap_text("two words", 2000), std::vector<std::string>{"two words"});
    EXPECT_TRUE(wrap_text("   ", 100).empty());
    EXPECT_EQ(wrap_text("caf\xc3\xa9", 2000), std::vector<std::string>{"caf??"}); // the font is ASCII only
}

TEST(ContactSheet, RefusesWhatItCannotLayOut) {
    ContactSheet sheet = sample_sheet(40, 30);
    ContactSheet none = sheet;
    none.cells.clear();
    EXPECT_THROW(contact_sheet_layout(none), std::invalid_argument);
    ContactSheet zero_columns = sheet;
    zero_columns.columns = 0;
    EXPECT_THROW(contact_sheet_layout(zero_columns), std::invalid_argument);
    ContactSheet mixed = sheet;
    mixed.cells[3].image = solid_image(41, 30, {1, 2, 3}, 0);
    EXPECT_THROW(contact_sheet_layout(mixed), std::invalid_argument);
    ContactSheet short_pixels = sheet;
    short_pixels.cells[1].image.rgb.pop_back();
    EXPECT_THROW(contact_sheet_layout(short_pixels), std::invalid_argument);
    ContactSheet titles = sheet;
    titles.row_titles.push_back("a third row title for two rows");
    EXPECT_THROW(contact_sheet_layout(titles), std::invalid_argument);
    ContactSheet wide = sheet;
    wide.columns = 200;
    wide.cells.resize(200, sheet.cells[0]);
    wide.row_titles = {"one row"};
    EXPECT_THROW(contact_sheet_layout(wide), std::invalid_argument);
}

namespace {

bool has_tag(const prompt::TagList& tags, const std::string& tag) {
    return tags.contains(QString::fromStdString(tag));
}

bool character_has(const prompt::Character& c, const std::string& tag) {
    return has_tag(c.gender, tag) || has_tag(c.appearance, tag) || has_tag(c.clothing, tag) ||
           has_tag(c.expression, tag) || has_tag(c.position, tag);
}

bool general_has(const prompt::GeneralTags& g, const std::string& tag) {
    return has_tag(g.count, tag) || has_tag(g.background, tag) || has_tag(g.objects, tag);
}

engine::Image rendered(const SceneSpec& scene, int size) {
    const DemoImage img = CharacterRenderer(size).render(scene);
    return {img.width, img.height, img.rgb};
}

} // namespace

TEST(DemoGrid, SixteenXmlPromptsEachRowVaryingWhatItSays) {
    const std::vector<GridRow> rows = grid_rows();
    ASSERT_EQ(rows.size(), static_cast<size_t>(kGridRows));
    std::set<std::string> prompts;
    std::set<std::string> labels;
    for (const GridRow& row : rows) {
        SCOPED_TRACE(row.title);
        EXPECT_FALSE(row.title.empty());
        ASSERT_EQ(row.cells.size(), static_cast<size_t>(kGridColumns));
        for (const GridCell& cell : row.cells) {
            const prompt::Document doc = caption_document(cell.scene);
            EXPECT_EQ(doc.kind, prompt::Kind::Xml);
            EXPECT_EQ(cell_prompt(cell), caption_text(cell.scene));
            prompts.insert(cell_prompt(cell));
            labels.insert(cell_label(cell));
            // The label names only what the prompt asks, each tag for the character (or scene) that has it.
            ASSERT_EQ(cell.character_tags.size(), cell.scene.characters.size());
            for (size_t k = 0; k < cell.character_tags.size(); ++k) {
                for (const std::string& tag : cell.character_tags[k]) {
                    EXPECT_TRUE(character_has(doc.characters[k], tag)) << tag << " of character " << k + 1;
                }
            }
            for (const std::string& tag : cell.scene_tags) {
                ASSERT_TRUE(doc.general_tags.has_value());
                EXPECT_TRUE(general_has(*doc.general_tags, tag)) << tag;
            }
            // Legible under the smallest cell: at most two lines.
            EXPECT_LE(wrap_text(cell_label(cell), kMinCellWidth).size(), 2u) << cell_label(cell);
        }
    }
    EXPECT_EQ(prompts.size(), 16u);
    EXPECT_EQ(labels.size(), 16u);

    // Row 1 varies the hair colour alone; row 2 the hair style (and the expression); row 3 the clothes; row 4 the
    // scene and one or two characters, on both sides.
    std::set<HairColour> colours;
    for (const GridCell& cell : rows[0].cells) {
        colours.insert(cell.scene.characters[0].hair_colour);
        SceneSpec same = cell.scene;
        same.characters[0].hair_colour = rows[0].cells[0].scene.characters[0].hair_colour;
        EXPECT_EQ(same, rows[0].cells[0].scene);
    }
    EXPECT_EQ(colours.size(), 4u);
    std::set<HairStyle> styles;
    for (const GridCell& cell : rows[1].cells) {
        styles.insert(cell.scene.characters[0].hair_style);
    }
    EXPECT_EQ(styles.size(), 4u);
    std::set<std::pair<Clothing, ClothingColour>> clothes;
    for (const GridCell& cell : rows[2].cells) {
        clothes.insert({cell.scene.characters[0].clothing, cell.scene.characters[0].clothing_colour});
    }
    EXPECT_EQ(clothes.size(), 4u);
    std::set<Background> backgrounds;
    std::set<size_t> counts;
    std::set<Position> places;
    for (const GridCell& cell : rows[3].cells) {
        backgrounds.insert(cell.scene.background);
        counts.insert(cell.scene.characters.size());
        for (const CharacterSpec& c : cell.scene.characters) {
            places.insert(c.position);
        }
    }
    EXPECT_EQ(backgrounds.size(), 4u);
    EXPECT_EQ(counts, (std::set<size_t>{1, 2}));
    EXPECT_EQ(places, (std::set<Position>{Position::Left, Position::Right}));

    // One request per cell, all from one seed at the settings.
    GridSettings settings;
    settings.size = 128;
    settings.seed = 77;
    settings.steps = 3;
    settings.cfg = 4.5;
    const auto requests = grid_requests(rows, settings);
    ASSERT_EQ(requests.size(), 16u);
    for (size_t i = 0; i < requests.size(); ++i) {
        EXPECT_EQ(requests[i].prompt, cell_prompt(rows[i / 4].cells[i % 4]));
        EXPECT_EQ(requests[i].width, 128);
        EXPECT_EQ(requests[i].height, 128);
        EXPECT_EQ(requests[i].seed, 77u);
        EXPECT_EQ(requests[i].steps, 3);
        EXPECT_FLOAT_EQ(requests[i].guidance, 4.5f);
    }
}

// The renderer draws what a scene asks, so its image of each cell must read as asked; the same image against a
// scene asking for other hair, or another side, must not.
TEST(DemoGrid, ReadsTheRenderersImagesAsAskedAndAMismatchAsNot) {
    for (const GridRow& row : grid_rows()) {
        for (const GridCell& cell : row.cells) {
            SCOPED_TRACE(cell_label(cell));
            const CellReading reading = read_cell(cell, rendered(cell.scene, 256));
            EXPECT_TRUE(reading.hair_as_asked) << hair_reading_text(cell, reading);
            EXPECT_TRUE(reading.side_as_asked) << side_reading_text(cell, reading);
            EXPECT_EQ(hair_reading_text(cell, reading).find("asked"), std::string::npos);
            EXPECT_EQ(side_reading_text(cell, reading).find("asked"), std::string::npos);
        }
    }
    const std::vector<GridRow> rows = grid_rows();
    const GridCell& blue = rows[0].cells[0]; // blue_hair, centre
    ASSERT_EQ(blue.scene.characters[0].hair_colour, HairColour::Blue);
    GridCell red = rows[0].cells[1];
    ASSERT_EQ(red.scene.characters[0].hair_colour, HairColour::Red);
    const CellReading wrong_hair = read_cell(red, rendered(blue.scene, 256));
    EXPECT_FALSE(wrong_hair.hair_as_asked);
    EXPECT_TRUE(wrong_hair.side_as_asked);
    EXPECT_EQ(hair_reading_text(red, wrong_hair), "hair seen: blue_hair, asked red_hair");
    EXPECT_EQ(side_reading_text(red, wrong_hair), "side seen: center");

    GridCell left = blue;
    left.scene.characters[0].position = Position::Left;
    const CellReading wrong_side = read_cell(blue, rendered(left.scene, 256));
    EXPECT_FALSE(wrong_side.side_as_asked);
    EXPECT_EQ(side_reading_text(blue, wrong_side), "side seen: left, asked center");

    const GridCell& pair = rows[3].cells[2]; // girl left, boy right
    ASSERT_EQ(pair.scene.characters.size(), 2u);
    SceneSpec swapped = pair.scene;
    std::swap(swapped.characters[0].position, swapped.characters[1].position);
    const CellReading sides = read_cell(pair, rendered(swapped, 256));
    EXPECT_FALSE(sides.side_as_asked);
    EXPECT_EQ(side_reading_text(pair, sides), "sides seen: right, left; asked left, right");
}

namespace {

// The program's outcome: exit status and what it printed.
struct Outcome {
    int status = -1;
    std::string out;
    std::string err;
};

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string quoted(const std::string& arg) {
    std::string q = "'";
    for (char c : arg) {
        if (c == '\'') {
            q.append("'\\''");
        } else {
            q.push_back(c);
        }
    }
    return q + "'";
}

Outcome run_grid(const test::TempDir& dir, const std::vector<std::string>& args) {
    std::string command = quoted(CHARAFORGE_DEMO_GRID_EXE);
    for (const std::string& a : args) {
        command.append(" ").append(quoted(a));
    }
    command.append(" >").append(quoted(dir.file("stdout.txt"))).append(" 2>").append(quoted(dir.file("stderr.txt")));
    const int raw = std::system(command.c_str());
    Outcome o;
    o.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    o.out = read_text(dir.file("stdout.txt"));
    o.err = read_text(dir.file("stderr.txt"));
    return o;
}

// The tiny random test model with a card naming it and giving its native side, so that --size defaults to it.
std::string tiny_model(const test::TempDir& dir, int native) {
    const std::string model = engine::make_test_model(dir.file("model"), 3);
    std::ofstream card(fs::path(model) / "charaforge.json");
    card << R"({"name": "Tiny grid test model", "native_resolution": )" << native << "}\n";
    return model;
}

} // namespace

TEST(DemoGridProgram, DrawsThePipelinesImagesOfTheSixteenPromptsInTheirCells) {
    const test::TempDir dir;
    constexpr int kSide = 64;
    const std::string model = tiny_model(dir, kSide);
    const std::string png = dir.file("grid.png");
    const std::string json = dir.file("grid.json");
    const Outcome o =
        run_grid(dir, {model, "--out", png, "--report", json, "--steps", "2", "--seed", "5", "--device", "cpu"});
    ASSERT_EQ(o.status, 0) << o.out << o.err;
    EXPECT_NE(o.out.find("16 images of 64x64, 2 steps, CFG 5, seed 5"), std::string::npos) << o.out;

    // The same requests through the public API in one call, as the program makes them.
    GridSettings settings;
    settings.model_dir = model;
    settings.model_name = "Tiny grid test model";
    settings.size = kSide;
    settings.seed = 5;
    settings.steps = 2;
    settings.cfg = 5.0;
    engine::RuntimeOptions runtime;
    runtime.device = "cpu";
    const auto pipeline = engine::Pipeline::open(model, runtime);
    const std::vector<GridRow> rows = grid_rows();
    const std::vector<engine::Image> images = pipeline->generate(grid_requests(rows, settings));
    ASSERT_EQ(images.size(), 16u);
    std::vector<CellReading> readings;
    for (size_t i = 0; i < images.size(); ++i) {
        readings.push_back(read_cell(rows[i / 4].cells[i % 4], images[i]));
    }

    const imaging::RgbImage sheet = imaging::read_png(png);
    const SheetLayout layout = contact_sheet_layout(grid_sheet(rows, settings, images, readings));
    ASSERT_EQ(sheet.width, layout.width);
    ASSERT_EQ(sheet.height, layout.height);
    EXPECT_EQ(layout.width, 2 * kSheetMargin + 4 * kMinCellWidth + 3 * kSheetGap); // 64 px images, 256 px cells
    ASSERT_EQ(layout.images.size(), 16u);
    // A seed's image in the same batch differs by rounding at most (README: two levels of 255).
    for (size_t i = 0; i < 16; ++i) {
        const Box& b = layout.images[i];
        int worst = 0;
        for (int y = 0; y < kSide; ++y) {
            for (int x = 0; x < kSide; ++x) {
                const Rgb p = pixel(sheet, b.x + x, b.y + y);
                const size_t at = (static_cast<size_t>(y) * kSide + x) * 3;
                worst = std::max({worst, std::abs(p.r - images[i].rgb[at]), std::abs(p.g - images[i].rgb[at + 1]),
                                  std::abs(p.b - images[i].rgb[at + 2])});
            }
        }
        EXPECT_LE(worst, 2) << "cell " << i;
        EXPECT_GT(pixels_near(sheet, layout.labels[i], kLabelColour, 40), 10) << "cell " << i << ": no label";
    }
    EXPECT_GT(pixels_near(sheet, layout.title, kSheetTitleColour, 40), 100);

    // The report: the settings, and per cell its prompt and the asked and measured attributes.
    const auto report = nlohmann::json::parse(read_text(json));
    EXPECT_EQ(report.at("model"), model);
    EXPECT_EQ(report.at("model_name"), "Tiny grid test model");
    EXPECT_EQ(report.at("width"), kSide);
    EXPECT_EQ(report.at("seed"), 5);
    EXPECT_EQ(report.at("steps"), 2);
    EXPECT_EQ(report.at("cfg"), 5.0);
    EXPECT_EQ(report.at("images"), 16);
    ASSERT_EQ(report.at("cells").size(), 16u);
    int hair_ok = 0;
    for (size_t i = 0; i < 16; ++i) {
        const auto& cell = report.at("cells")[i];
        const GridCell& asked = rows[i / 4].cells[i % 4];
        EXPECT_EQ(cell.at("row"), i / 4);
        EXPECT_EQ(cell.at("column"), i % 4);
        EXPECT_EQ(cell.at("prompt"), cell_prompt(asked));
        EXPECT_EQ(cell.at("label"), cell_label(asked));
        ASSERT_EQ(cell.at("characters").size(), asked.scene.characters.size());
        for (size_t k = 0; k < asked.scene.characters.size(); ++k) {
            const auto& c = cell.at("characters")[k];
            EXPECT_EQ(c.at("asked").at("hair_colour"), hair_colour_tag(asked.scene.characters[k].hair_colour));
            EXPECT_EQ(c.at("measured").at("hair_colour"), hair_colour_tag(readings[i].hair[k]));
        }
        EXPECT_EQ(cell.at("hair_colour_as_asked"), readings[i].hair_as_asked);
        EXPECT_EQ(cell.at("side_as_asked"), readings[i].side_as_asked);
        hair_ok += readings[i].hair_as_asked ? 1 : 0;
    }
    EXPECT_EQ(report.at("hair_colour_as_asked"), hair_ok);
}

TEST(DemoGridProgram, RefusesBadOptionsAndModelFoldersNamingThem) {
    const test::TempDir dir;
    const std::string model = tiny_model(dir, 64);
    const std::string out = dir.file("x.png");
    fs::create_directories(dir.path() / "empty");
    const std::string a_file = dir.file("a_file.txt");
    std::ofstream(a_file) << "not a model\n";
    struct Case {
        std::vector<std::string> args;
        std::string message;
    };
    const std::vector<Case> cases = {
        {{dir.file("nowhere"), "--out", out}, "MODEL_DIR: " + dir.file("nowhere") + ": no such folder"},
        {{a_file, "--out", out}, "MODEL_DIR: " + a_file + ": not a folder"},
        {{dir.file("empty"), "--out", out}, "MODEL_DIR: " + dir.file("empty") + ": not a complete model folder"},
        {{model}, "--out is required"},
        {{"--out", out}, "MODEL_DIR is required"},
        {{model, "--out", out, "--steps", "0"}, "--steps"},
        {{model, "--out", out, "--steps", "many"}, "--steps"},
        {{model, "--out", out, "--seed", "-1"}, "--seed"},
        {{model, "--out", out, "--seed", "4294967296"}, "--seed"},
        {{model, "--out", out, "--cfg", "nan"}, "--cfg"},
        {{model, "--out", out, "--size", "72"}, "--size: 72 is not a side of 64..2048 in steps of 16"},
        {{model, "--out", out, "--size", "48"}, "--size: 48 is not a side"},
        {{model, "--out", out, "--size", "4096"}, "--size"},
        {{model, "--out", out, "--device", "gpu"}, "'gpu' is not a device"},
        {{model, "--out", out, "--batch", "0"}, "--batch"},
        {{model, "--out", out, "--bogus"}, "--bogus"},
        {{model, "--out", dir.file("nowhere/x.png")}, "--out: " + dir.file("nowhere/x.png") + ": the folder"},
        {{model, "--out", dir.str()}, "--out: " + dir.str() + ": is a folder"},
        {{model, "--out", out, "--report", out}, "--report: " + out + ": is the --out file"},
        {{model, "--out", out, "--report", dir.file("nowhere/r.json")}, "--report: "},
    };
    for (const Case& c : cases) {
        std::string shown;
        for (const std::string& a : c.args) {
            shown += " " + a;
        }
        const Outcome o = run_grid(dir, c.args);
        EXPECT_EQ(o.status, 2) << shown << "\n" << o.out << o.err;
        EXPECT_NE(o.err.find(c.message), std::string::npos) << shown << ": expected '" << c.message << "' in\n"
                                                            << o.err;
        EXPECT_FALSE(fs::exists(out)) << shown;
    }
    // A model whose card gives a side the measure cannot read: refused as the default it is.
    const test::TempDir other;
    const std::string big = tiny_model(other, 32);
    const Outcome o = run_grid(dir, {big, "--out", out});
    EXPECT_EQ(o.status, 2) << o.err;
    EXPECT_NE(o.err.find("(the model's default side)"), std::string::npos) << o.err;
}
