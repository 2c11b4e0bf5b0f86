#include "demo_grid.h"

#include "demo_caption.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <stdexcept>

namespace charaforge::demo {

namespace {

SceneSpec scene_of(std::vector<CharacterSpec> characters, Background background = Background::White) {
    SceneSpec s;
    s.characters = std::move(characters);
    s.background = background;
    s.tag_list_caption = false; // XML, as the app writes prompts
    return s;
}

GridRow hair_colour_row() {
    GridRow row{"Hair colour (1girl, long_hair, white_background)", {}};
    for (HairColour colour : {HairColour::Blue, HairColour::Red, HairColour::Blonde, HairColour::Pink}) {
        CharacterSpec c = demo_base_character();
        c.hair_colour = colour;
        row.cells.push_back({scene_of({c}), {{hair_colour_tag(colour)}}, {}});
    }
    return row;
}

GridRow hair_style_row() {
    GridRow row{"Hair style and expression (purple_hair)", {}};
    struct Look {
        HairStyle style;
        Mouth mouth;
        bool eyes_closed;
    };
    for (const Look& look :
         {Look{HairStyle::Twintails, Mouth::Smile, false}, Look{HairStyle::Short, Mouth::Open, false},
          Look{HairStyle::Ponytail, Mouth::Closed, true}, Look{HairStyle::Long, Mouth::Closed, false}}) {
        CharacterSpec c = demo_base_character();
        c.hair_colour = HairColour::Purple;
        c.hair_style = look.style;
        c.mouth = look.mouth;
        c.eyes_closed = look.eyes_closed;
        std::vector<std::string> tags{hair_style_tag(look.style), mouth_tag(look.mouth)};
        if (look.eyes_closed) {
            tags.back() = "closed_eyes"; // a closed mouth is the default look; closed eyes is what this cell shows
        }
        row.cells.push_back({scene_of({c}), {tags}, {}});
    }
    return row;
}

GridRow clothes_row() {
    GridRow row{"Clothes and accessories", {}};
    auto cell = [](Gender gender, Clothing clothing, ClothingColour colour, bool ribbon, bool glasses, bool hat) {
        CharacterSpec c = demo_base_character();
        c.gender = gender;
        if (gender == Gender::Boy) {
            c.hair_style = HairStyle::Short; // as the training set draws boys
        }
        c.clothing = clothing;
        c.clothing_colour = colour;
        c.ribbon = ribbon;
        c.glasses = glasses;
        c.hat = hat;
        std::vector<std::string> tags;
        if (gender == Gender::Boy) {
            tags.push_back(gender_tag(gender));
        }
        tags.push_back(clothing_colour_tag(clothing, colour));
        if (ribbon) {
            tags.push_back("hair_ribbon");
        }
        if (glasses) {
            tags.push_back("glasses");
        }
        if (hat) {
            tags.push_back("hat");
        }
        return GridCell{scene_of({c}), {tags}, {}};
    };
    row.cells = {cell(Gender::Girl, Clothing::Dress, ClothingColour::Red, true, false, false),
                 cell(Gender::Girl, Clothing::Hoodie, ClothingColour::Blue, false, true, false),
                 cell(Gender::Girl, Clothing::Jacket, ClothingColour::Yellow, false, false, true),
                 cell(Gender::Boy, Clothing::Shirt, ClothingColour::White, false, true, true)};
    return row;
}

GridRow scene_row() {
    GridRow row{"Scene, characters and their places", {}};
    auto one = [](Position position, Background background, const std::string& scene_tag) {
        CharacterSpec c = demo_base_character();
        c.hair_colour = HairColour::Pink;
        c.position = position;
        return GridCell{scene_of({c}, background), {{position_tag(position)}}, {scene_tag}};
    };
    row.cells.push_back(one(Position::Left, Background::Sky, "blue_sky"));
    row.cells.push_back(one(Position::Right, Background::Night, "night"));

    CharacterSpec girl = demo_base_character();
    girl.hair_colour = HairColour::Blonde;
    girl.position = Position::Left;
    CharacterSpec boy = demo_base_character();
    boy.gender = Gender::Boy;
    boy.hair_style = HairStyle::Short;
    boy.hair_colour = HairColour::Blue;
    boy.clothing = Clothing::Hoodie;
    boy.clothing_colour = ClothingColour::Black;
    boy.position = Position::Right;
    row.cells.push_back({scene_of({girl, boy}, Background::Room),
                         {{"1girl", "blonde_hair", "left"}, {"1boy", "blue_hair", "right"}},
                         {"indoors"}});

    CharacterSpec first = demo_base_character();
    first.hair_colour = HairColour::Green;
    first.hair_style = HairStyle::Twintails;
    first.position = Position::Left;
    first.mouth = Mouth::Smile;
    CharacterSpec second = demo_base_character();
    second.hair_colour = HairColour::White;
    second.hair_style = HairStyle::Ponytail;
    second.clothing = Clothing::Dress;
    second.clothing_colour = ClothingColour::Purple;
    second.position = Position::Right;
    row.cells.push_back({scene_of({first, second}, Background::Pink),
                         {{"green_hair", "left"}, {"white_hair", "right"}},
                         {"2girls", "pink_background"}});
    return row;
}

std::string joined(const std::vector<std::string>& parts, const std::string& separator) {
    std::string out;
    for (const std::string& p : parts) {
        out += (out.empty() ? "" : separator) + p;
    }
    return out;
}

// "a, b, c"
std::string list_text(const std::vector<std::string>& items) {
    return joined(items, ", ");
}

std::string side_name(const std::optional<Position>& side) {
    return side ? position_tag(*side) : std::string("not seen");
}

nlohmann::ordered_json rgb_json(Rgb c) {
    return nlohmann::ordered_json::array({c.r, c.g, c.b});
}

std::string number_text(double value) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", value);
    return buf;
}

} // namespace

std::vector<GridRow> grid_rows() {
    return {hair_colour_row(), hair_style_row(), clothes_row(), scene_row()};
}

std::string cell_label(const GridCell& cell) {
    std::vector<std::string> groups;
    for (const auto& tags : cell.character_tags) {
        groups.push_back(list_text(tags));
    }
    if (cell.character_tags.size() <= 1) { // one character: its tags and the scene's in one list
        std::vector<std::string> all =
            cell.character_tags.empty() ? std::vector<std::string>{} : cell.character_tags.front();
        all.insert(all.end(), cell.scene_tags.begin(), cell.scene_tags.end());
        return list_text(all);
    }
    if (!cell.scene_tags.empty()) {
        groups.push_back(list_text(cell.scene_tags));
    }
    return joined(groups, "; ");
}

std::string cell_prompt(const GridCell& cell) {
    return caption_text(cell.scene);
}

std::vector<engine::GenerationRequest> grid_requests(const std::vector<GridRow>& rows, const GridSettings& settings) {
    std::vector<engine::GenerationRequest> requests;
    for (const GridRow& row : rows) {
        for (const GridCell& cell : row.cells) {
            engine::GenerationRequest r; // the app's defaults: Euler, shift 6, no negative prompt
            r.prompt = cell_prompt(cell);
            r.width = settings.size;
            r.height = settings.size;
            r.steps = settings.steps;
            r.guidance = static_cast<float>(settings.cfg);
            r.seed = settings.seed;
            requests.push_back(std::move(r));
        }
    }
    return requests;
}

CellReading read_cell(const GridCell& cell, const engine::Image& image) {
    CellReading out;
    out.measure = measure_scene({image.width, image.height, image.rgb.data()}, cell.scene);
    const auto& characters = cell.scene.characters;
    out.hair_as_asked = true;
    out.side_as_asked = true;
    for (size_t i = 0; i < characters.size(); ++i) {
        const CharacterMeasure& m = out.measure.characters[i];
        out.hair.push_back(m.hair_colour);
        std::optional<Position> side;
        if (characters.size() == 1) {
            if (out.measure.figure_pixels > 0) {
                side = nearest_position(out.measure.figure_x, image.width);
            }
        } else if (m.hair_x) {
            side = nearest_position(*m.hair_x, image.width);
        }
        out.side.push_back(side);
        out.hair_as_asked = out.hair_as_asked && m.hair_colour == characters[i].hair_colour;
        out.side_as_asked = out.side_as_asked && side == characters[i].position;
    }
    return out;
}

std::string hair_reading_text(const GridCell& cell, const CellReading& reading) {
    std::vector<std::string> seen;
    std::vector<std::string> asked;
    for (size_t i = 0; i < cell.scene.characters.size(); ++i) {
        seen.push_back(hair_colour_tag(reading.hair[i]));
        asked.push_back(hair_colour_tag(cell.scene.characters[i].hair_colour));
    }
    const std::string text = "hair seen: " + list_text(seen);
    return reading.hair_as_asked ? text : text + (seen.size() > 1 ? "; " : ", ") + "asked " + list_text(asked);
}

std::string side_reading_text(const GridCell& cell, const CellReading& reading) {
    std::vector<std::string> seen;
    std::vector<std::string> asked;
    for (size_t i = 0; i < cell.scene.characters.size(); ++i) {
        seen.push_back(side_name(reading.side[i]));
        asked.push_back(position_tag(cell.scene.characters[i].position));
    }
    const bool several = seen.size() > 1;
    const std::string text = std::string(several ? "sides seen: " : "side seen: ") + list_text(seen);
    return reading.side_as_asked ? text : text + (several ? "; " : ", ") + "asked " + list_text(asked);
}

ContactSheet grid_sheet(const std::vector<GridRow>& rows, const GridSettings& settings,
                        const std::vector<engine::Image>& images, const std::vector<CellReading>& readings) {
    ContactSheet sheet;
    sheet.columns = kGridColumns;
    size_t i = 0;
    int hair_ok = 0;
    int side_ok = 0;
    for (const GridRow& row : rows) {
        sheet.row_titles.push_back(row.title);
        for (const GridCell& cell : row.cells) {
            if (i >= images.size() || i >= readings.size()) {
                throw std::invalid_argument("demo grid: " + std::to_string(images.size()) + " images and " +
                                            std::to_string(readings.size()) + " readings for more cells");
            }
            const engine::Image& image = images[i];
            const CellReading& reading = readings[i];
            hair_ok += reading.hair_as_asked ? 1 : 0;
            side_ok += reading.side_as_asked ? 1 : 0;
            sheet.cells.push_back(
                {{image.width, image.height, image.rgb},
                 {{cell_label(cell), kLabelColour},
                  {hair_reading_text(cell, reading), reading.hair_as_asked ? kAsAskedColour : kNotAsAskedColour},
                  {side_reading_text(cell, reading), reading.side_as_asked ? kAsAskedColour : kNotAsAskedColour}}});
            ++i;
        }
    }
    if (i != images.size() || i != readings.size()) {
        throw std::invalid_argument("demo grid: " + std::to_string(images.size()) + " images and " +
                                    std::to_string(readings.size()) + " readings for " + std::to_string(i) + " cells");
    }
    const std::string n = std::to_string(i);
    sheet.title = {
        settings.model_name + ": " + n + " prompts, seed " + std::to_string(settings.seed) + ", " +
            std::to_string(settings.steps) + (settings.steps == 1 ? " step" : " steps") + ", CFG " +
            number_text(settings.cfg) + ", " + std::to_string(settings.size) + "x" + std::to_string(settings.size),
        "Every image from the same seed and settings (Euler, shift 6): only the prompt differs, a demo training "
        "caption in NewBie's XML format. Under each image the tags its row varies (black), then the hair colour and "
        "side that attribute_measure reads back from the image (green: as asked, red: not).",
        "Read as asked: hair colour in " + std::to_string(hair_ok) + " of " + n + " images, side in " +
            std::to_string(side_ok) + " of " + n + ".",
    };
    return sheet;
}

std::string grid_report(const std::vector<GridRow>& rows, const GridSettings& settings, const std::string& device,
                        const std::vector<CellReading>& readings) {
    using Json = nlohmann::ordered_json;
    Json cells = Json::array();
    size_t i = 0;
    int hair_ok = 0;
    int side_ok = 0;
    for (size_t r = 0; r < rows.size(); ++r) {
        for (size_t c = 0; c < rows[r].cells.size(); ++c, ++i) {
            const GridCell& cell = rows[r].cells[c];
            if (i >= readings.size()) {
                throw std::invalid_argument("demo grid: " + std::to_string(readings.size()) +
                                            " readings for more cells");
            }
            const CellReading& reading = readings[i];
            hair_ok += reading.hair_as_asked ? 1 : 0;
            side_ok += reading.side_as_asked ? 1 : 0;
            Json characters = Json::array();
            for (size_t k = 0; k < cell.scene.characters.size(); ++k) {
                const CharacterSpec& asked = cell.scene.characters[k];
                const CharacterMeasure& m = reading.measure.characters[k];
                characters.push_back({
                    {"asked",
                     {{"hair_colour", hair_colour_tag(asked.hair_colour)}, {"side", position_tag(asked.position)}}},
                    {"measured",
                     {{"hair_colour", hair_colour_tag(reading.hair[k])},
                      {"hair_rgb", rgb_json(m.hair)},
                      {"side", reading.side[k] ? Json(position_tag(*reading.side[k])) : Json(nullptr)}}},
                });
            }
            cells.push_back({
                {"row", r},
                {"column", c},
                {"row_title", rows[r].title},
                {"label", cell_label(cell)},
                {"prompt", cell_prompt(cell)},
                {"characters", characters},
                {"hair_colour_as_asked", reading.hair_as_asked},
                {"side_as_asked", reading.side_as_asked},
                {"figure_pixels", reading.measure.figure_pixels},
                {"background_luminance", reading.measure.background_luminance},
            });
        }
    }
    if (i != readings.size()) {
        throw std::invalid_argument("demo grid: " + std::to_string(readings.size()) + " readings for " +
                                    std::to_string(i) + " cells");
    }
    const Json report = {
        {"model", settings.model_dir},
        {"model_name", settings.model_name},
        {"device", device},
        {"width", settings.size},
        {"height", settings.size},
        {"seed", settings.seed},
        {"steps", settings.steps},
        {"cfg", settings.cfg},
        {"sampler", "euler"},
        {"shift", engine::GenerationRequest{}.shift},
        {"images", i},
        {"hair_colour_as_asked", hair_ok},
        {"side_as_asked", side_ok},
        {"cells", cells},
    };
    return report.dump(1) + "\n";
}

GridResult make_demo_grid(engine::Pipeline& pipeline, const GridSettings& settings,
                          const engine::Callbacks& callbacks) {
    const std::vector<GridRow> rows = grid_rows();
    GridResult out;
    out.images = pipeline.generate(grid_requests(rows, settings), callbacks); // one call: the pipeline batches
    if (out.images.size() != static_cast<size_t>(kGridRows * kGridColumns)) {
        throw std::runtime_error("demo grid: the pipeline returned " + std::to_string(out.images.size()) +
                                 " images for " + std::to_string(kGridRows * kGridColumns) + " prompts");
    }
    size_t i = 0;
    for (const GridRow& row : rows) {
        for (const GridCell& cell : row.cells) {
            out.readings.push_back(read_cell(cell, out.images[i++]));
            out.hair_as_asked += out.readings.back().hair_as_asked ? 1 : 0;
            out.side_as_asked += out.readings.back().side_as_asked ? 1 : 0;
        }
    }
    out.sheet = render_contact_sheet(grid_sheet(rows, settings, out.images, out.readings));
    out.report = grid_report(rows, settings, pipeline.device_name(), out.readings);
    return out;
}

} // namespace charaforge::demo
