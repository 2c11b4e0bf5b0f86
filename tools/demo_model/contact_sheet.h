#pragma once
// A labelled contact sheet: images of one size in a grid of `columns`, each with a few short lines of text under
// it, an optional title band above each row and a title block at the top; for charaforge-demo-grid (issue 14's
// screenshots of prompts and their images). Text is cv_drawing's font (OpenCV's Hershey simplex, as in
// charaforge-loss-plot), wrapped at spaces to the cell's width. No Qt, no torch (OpenCV draws, inside
// contact_sheet.cpp only).
#include "demo_image.h" // Box
#include "scene_spec.h" // Rgb

#include "charaforge/imaging/png_io.h"

#include <string>
#include <vector>

namespace charaforge::demo {

struct SheetText {
    std::string text; // printable ASCII (other bytes are drawn as '?'); wrapped at spaces to the cell's width
    Rgb colour;
};

struct SheetCell {
    imaging::RgbImage image;     // every cell's the same size
    std::vector<SheetText> text; // under the image, each wrapped onto as many lines as it needs
};

struct ContactSheet {
    std::vector<std::string> title;      // lines above the grid: the first one large, the others at label size
    std::vector<std::string> row_titles; // empty, or one per row (a band above the row, left-aligned)
    int columns = 4;
    std::vector<SheetCell> cells; // row by row; the last row may be short
};

// Sizes (pixels) and fonts. A cell is as wide as its image but at least kMinCellWidth, so that labels stay legible
// under small images; the image is centred in it.
inline constexpr int kSheetMargin = 16;
inline constexpr int kSheetGap = 16;
inline constexpr int kMinCellWidth = 256;
inline constexpr double kSheetTitleScale = 0.8;
inline constexpr int kSheetTitleThickness = 2;
inline constexpr double kSheetRowTitleScale = 0.6;
inline constexpr int kSheetRowTitleThickness = 1;
inline constexpr double kSheetTextScale = 0.5;
inline constexpr int kSheetTextThickness = 1;
inline constexpr Rgb kSheetBackground{255, 255, 255};
inline constexpr Rgb kSheetFrame{160, 160, 160}; // a 1-pixel frame just outside each image
inline constexpr Rgb kSheetTitleColour{0, 0, 0};
inline constexpr Rgb kSheetRowTitleColour{40, 40, 110};

// A line of text as laid out: what is drawn and which SheetText (or title line) it comes from.
struct SheetLine {
    std::string text;
    size_t source = 0;
};

// Where everything goes, in sheet pixels; per cell in the order of ContactSheet::cells.
struct SheetLayout {
    int width = 0;
    int height = 0;
    int cell_width = 0;
    int line_height = 0;                       // of a label line
    Box title;                                 // the title block
    std::vector<SheetLine> title_lines;        // wrapped to the sheet's width; source 0 is the large first line
    std::vector<Box> rows;                     // each row's title band (empty without row titles)
    std::vector<Box> images;                   // exactly the image's pixels
    std::vector<Box> labels;                   // the text area under each image; a row's are as tall
    std::vector<std::vector<SheetLine>> lines; // each cell's text, wrapped, top to bottom
};

// `text` split at spaces into lines no wider than `width` pixels at label size (kSheetTextScale); a word wider
// than that alone is cut between characters. Joining the lines with single spaces (a cut word: without one) gives
// `text` back with its runs of spaces made single. Empty text: no lines.
std::vector<std::string> wrap_text(const std::string& text, int width);

// Throws std::invalid_argument for no cells, columns < 1, cells of different sizes or without pixels, a row title
// count other than the rows', or a sheet over 32768 pixels a side.
SheetLayout contact_sheet_layout(const ContactSheet& sheet);

// The sheet drawn as contact_sheet_layout places it.
imaging::RgbImage render_contact_sheet(const ContactSheet& sheet);

} // namespace charaforge::demo
