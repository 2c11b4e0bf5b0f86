#pragma once
// charaforge-demo-grid (issue 14: "screenshots of a 4x4 grid of prompts and their images"): 16 prompts in four rows,
// each row varying what its title names over its four columns (hair colour; hair style and expression; clothes and
// accessories; scene, one or two characters and their places), every prompt the demo model's training caption
// (demo_caption, NewBie's XML format) of a SceneSpec. The images come from one engine::Pipeline::generate call with
// one seed for all, so that only the prompts differ; the contact sheet labels each with the tags its row varies and
// with what attribute_measure reads back from it (hair colour and side: green when as asked, red when not), and the
// report says the same per image as JSON. No Qt in this header, no torch.
#include "attribute_measure.h"
#include "contact_sheet.h"

#include "charaforge/engine/pipeline.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace charaforge::demo {

inline constexpr int kGridRows = 4;
inline constexpr int kGridColumns = 4;

struct GridCell {
    SceneSpec scene;
    // The label: per character the tags that set it apart (each one of that character's caption tags), then the
    // scene's (each one of the caption's general tags).
    std::vector<std::vector<std::string>> character_tags;
    std::vector<std::string> scene_tags;
};

struct GridRow {
    std::string title;           // what the row varies
    std::vector<GridCell> cells; // kGridColumns
};

// The sheet's 16 prompts, kGridRows rows of kGridColumns.
std::vector<GridRow> grid_rows();

// "twintails, smile"; with two characters each one's tags, then the scene's, apart by "; ".
std::string cell_label(const GridCell& cell);

// The cell's prompt: its scene's caption (XML).
std::string cell_prompt(const GridCell& cell);

struct GridSettings {
    std::string model_dir;
    std::string model_name; // for the title ("CharaForge demo model")
    int size = 256;         // square images, 64..2048, a multiple of 16 (attribute_measure's range)
    uint64_t seed = 0;      // every image's
    int steps = 20;
    double cfg = 5.0;
};

// One request per cell, row by row: the app's sampling defaults (Euler, shift 6, no negative prompt) but for the
// settings' size, seed, steps and CFG.
std::vector<engine::GenerationRequest> grid_requests(const std::vector<GridRow>& rows, const GridSettings& settings);

// What attribute_measure reads from a cell's image, against the scene its prompt describes.
struct CellReading {
    SceneMeasure measure;
    std::vector<HairColour> hair;              // per character: the palette's nearest to its hair probe
    std::vector<std::optional<Position>> side; // per character: where it stands (nullopt: not seen)
    bool hair_as_asked = false;                // every character's
    bool side_as_asked = false;
};

// One character: its side is where the figure's pixels centre (SceneMeasure::figure_x; not seen without figure
// pixels); two: where each one's hair colour is seen (CharacterMeasure::hair_x). Throws std::invalid_argument for an
// image attribute_measure cannot read (not square, of another size than 64..2048 in steps of 16).
CellReading read_cell(const GridCell& cell, const engine::Image& image);

// The reading as the sheet prints it: "hair seen: blue_hair" or "hair seen: red_hair, asked blue_hair", and
// "side seen: center" or "side seen: left, asked center" ("sides" and a list for two characters).
std::string hair_reading_text(const GridCell& cell, const CellReading& reading);
std::string side_reading_text(const GridCell& cell, const CellReading& reading);

inline constexpr Rgb kLabelColour{0, 0, 0};
inline constexpr Rgb kAsAskedColour{0, 120, 40};
inline constexpr Rgb kNotAsAskedColour{190, 20, 20};

// The contact sheet of the generated images (one per cell, row by row) and their readings.
ContactSheet grid_sheet(const std::vector<GridRow>& rows, const GridSettings& settings,
                        const std::vector<engine::Image>& images, const std::vector<CellReading>& readings);

// The report: the settings, then per cell its row, column, label, prompt, and per character the asked and the
// measured hair colour and side, as JSON text.
std::string grid_report(const std::vector<GridRow>& rows, const GridSettings& settings, const std::string& device,
                        const std::vector<CellReading>& readings);

struct GridResult {
    std::vector<engine::Image> images; // row by row
    std::vector<CellReading> readings;
    imaging::RgbImage sheet;
    std::string report;
    int hair_as_asked = 0; // cells
    int side_as_asked = 0;
};

// The whole grid: grid_rows() generated in one generate call, read, drawn and reported.
GridResult make_demo_grid(engine::Pipeline& pipeline, const GridSettings& settings,
                          const engine::Callbacks& callbacks = {});

} // namespace charaforge::demo
