#include "contact_sheet.h"

#include "cv_drawing.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <sstream>
#include <stdexcept>

namespace charaforge::demo {

namespace {

constexpr int kMaxSide = 32768;
constexpr int kLineSpacing = 5;  // pixels between a line's descenders and the next line's capitals
constexpr int kLabelPadding = 6; // between an image and its first line

// Printable ASCII only: the font has no other glyphs (OpenCV would draw '?' for each byte of a UTF-8 character).
std::string printable(const std::string& text) {
    std::string out = text;
    for (char& c : out) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u > 0x7e) {
            c = '?';
        }
    }
    return out;
}

int text_width(const std::string& text, double scale, int thickness) {
    return text_size(text, scale, thickness).width;
}

// Greedy: as many words on a line as fit; a word too wide alone is cut where it stops fitting.
std::vector<std::string> wrap(const std::string& text, int width, double scale, int thickness) {
    std::vector<std::string> words;
    std::istringstream in(printable(text));
    for (std::string w; in >> w;) {
        words.push_back(w);
    }
    std::vector<std::string> lines;
    std::string line;
    for (std::string word : words) {
        const std::string joined = line.empty() ? word : line + " " + word;
        if (text_width(joined, scale, thickness) <= width) {
            line = joined;
            continue;
        }
        if (!line.empty()) {
            lines.push_back(line);
            line.clear();
        }
        while (text_width(word, scale, thickness) > width && word.size() > 1) {
            size_t fits = 1; // at least one character a line, however narrow the width
            while (fits + 1 < word.size() && text_width(word.substr(0, fits + 1), scale, thickness) <= width) {
                ++fits;
            }
            lines.push_back(word.substr(0, fits));
            word = word.substr(fits);
        }
        line = word;
    }
    if (!line.empty()) {
        lines.push_back(line);
    }
    return lines;
}

cv::Scalar colour(Rgb c) {
    return cv::Scalar(c.r, c.g, c.b); // the sheet is drawn in RGB order
}

// The strokes' half width and their anti-aliased edge reach past the box getTextSize gives: a line keeps this far
// inside its area on every side.
int inset(int thickness) {
    return thickness + 1;
}

// A line's height: its inset, its capitals and descenders, the spacing to the next.
int line_height(double scale, int thickness) {
    int baseline = 0;
    const cv::Size size = text_size("Ag_|", scale, thickness, &baseline);
    return inset(thickness) + size.height + baseline + kLineSpacing;
}

// One line with the top left of its area at (x, top).
void draw_line(cv::Mat& img, const std::string& text, int x, int top, double scale, Rgb c, int thickness) {
    put_text(img, text, {x + inset(thickness), top + inset(thickness)}, scale, colour(c), thickness, 0.0, 1.0);
}

} // namespace

std::vector<std::string> wrap_text(const std::string& text, int width) {
    return wrap(text, width - 2 * inset(kSheetTextThickness), kSheetTextScale, kSheetTextThickness);
}

SheetLayout contact_sheet_layout(const ContactSheet& sheet) {
    if (sheet.cells.empty()) {
        throw std::invalid_argument("contact sheet: no images");
    }
    if (sheet.columns < 1) {
        throw std::invalid_argument("contact sheet: " + std::to_string(sheet.columns) + " columns");
    }
    const int image_w = sheet.cells.front().image.width;
    const int image_h = sheet.cells.front().image.height;
    for (size_t i = 0; i < sheet.cells.size(); ++i) {
        const imaging::RgbImage& img = sheet.cells[i].image;
        if (img.width <= 0 || img.height <= 0 ||
            img.rgb.size() != static_cast<size_t>(img.width) * static_cast<size_t>(img.height) * 3) {
            throw std::invalid_argument("contact sheet: image " + std::to_string(i) + " has no pixels or " +
                                        std::to_string(img.rgb.size()) + " bytes for " + std::to_string(img.width) +
                                        "x" + std::to_string(img.height));
        }
        if (img.width != image_w || img.height != image_h) {
            throw std::invalid_argument("contact sheet: image " + std::to_string(i) + " is " +
                                        std::to_string(img.width) + "x" + std::to_string(img.height) +
                                        ", the first one " + std::to_string(image_w) + "x" + std::to_string(image_h));
        }
    }
    const size_t columns = static_cast<size_t>(sheet.columns);
    const size_t row_count = (sheet.cells.size() + columns - 1) / columns;
    if (!sheet.row_titles.empty() && sheet.row_titles.size() != row_count) {
        throw std::invalid_argument("contact sheet: " + std::to_string(sheet.row_titles.size()) + " row titles for " +
                                    std::to_string(row_count) + " rows");
    }

    SheetLayout out;
    out.cell_width = std::max(image_w, kMinCellWidth);
    const int64_t width64 = 2 * kSheetMargin + static_cast<int64_t>(columns) * out.cell_width +
                            static_cast<int64_t>(columns - 1) * kSheetGap;
    if (width64 > kMaxSide) {
        throw std::invalid_argument("contact sheet: " + std::to_string(columns) + " columns of " +
                                    std::to_string(out.cell_width) + " pixels are over " + std::to_string(kMaxSide) +
                                    " pixels wide");
    }
    out.width = static_cast<int>(width64);
    out.line_height = line_height(kSheetTextScale, kSheetTextThickness);
    const int inner = out.width - 2 * kSheetMargin;

    // The title block: the first line large, the others at label size, each wrapped to the sheet.
    int64_t y = kSheetMargin;
    int title_h = 0;
    for (size_t i = 0; i < sheet.title.size(); ++i) {
        const bool large = i == 0;
        const double scale = large ? kSheetTitleScale : kSheetTextScale;
        const int thickness = large ? kSheetTitleThickness : kSheetTextThickness;
        for (const std::string& line : wrap(sheet.title[i], inner - 2 * inset(thickness), scale, thickness)) {
            out.title_lines.push_back({line, i});
            title_h += large ? line_height(scale, thickness) : out.line_height;
        }
    }
    out.title = {kSheetMargin, kSheetMargin, inner, title_h};
    y += title_h + (title_h > 0 ? kSheetGap : 0);

    // Every cell's text wrapped; the tallest of a row sets its label areas' height.
    for (const SheetCell& cell : sheet.cells) {
        std::vector<SheetLine> lines;
        for (size_t t = 0; t < cell.text.size(); ++t) {
            for (const std::string& line : wrap_text(cell.text[t].text, out.cell_width)) {
                lines.push_back({line, t});
            }
        }
        out.lines.push_back(std::move(lines));
    }

    for (size_t r = 0; r < row_count; ++r) {
        if (!sheet.row_titles.empty()) {
            const int band = line_height(kSheetRowTitleScale, kSheetRowTitleThickness);
            out.rows.push_back({kSheetMargin, static_cast<int>(y), inner, band});
            y += band;
        }
        const size_t first = r * columns;
        const size_t end = std::min(first + columns, sheet.cells.size());
        size_t most_lines = 0;
        for (size_t i = first; i < end; ++i) {
            most_lines = std::max(most_lines, out.lines[i].size());
        }
        const int label_h = most_lines == 0 ? 0 : kLabelPadding + static_cast<int>(most_lines) * out.line_height;
        for (size_t c = 0; first + c < end; ++c) {
            const int x = kSheetMargin + static_cast<int>(c) * (out.cell_width + kSheetGap);
            out.images.push_back({x + (out.cell_width - image_w) / 2, static_cast<int>(y), image_w, image_h});
            out.labels.push_back({x, static_cast<int>(y) + image_h, out.cell_width, label_h});
        }
        y += image_h + label_h + (r + 1 < row_count ? kSheetGap : 0);
        if (y > kMaxSide) {
            throw std::invalid_argument("contact sheet: " + std::to_string(row_count) + " rows of " +
                                        std::to_string(image_h) + " pixels are over " + std::to_string(kMaxSide) +
                                        " pixels tall");
        }
    }
    out.height = static_cast<int>(y) + kSheetMargin;
    return out;
}

imaging::RgbImage render_contact_sheet(const ContactSheet& sheet) {
    const SheetLayout layout = contact_sheet_layout(sheet);
    cv::Mat img(layout.height, layout.width, CV_8UC3, colour(kSheetBackground));

    int y = layout.title.y;
    for (const SheetLine& line : layout.title_lines) {
        const bool large = line.source == 0;
        const double scale = large ? kSheetTitleScale : kSheetTextScale;
        const int thickness = large ? kSheetTitleThickness : kSheetTextThickness;
        draw_line(img, line.text, layout.title.x, y, scale, kSheetTitleColour, thickness);
        y += large ? line_height(scale, thickness) : layout.line_height;
    }
    for (size_t r = 0; r < layout.rows.size(); ++r) {
        const Box& band = layout.rows[r];
        draw_line(img, printable(sheet.row_titles[r]), band.x, band.y, kSheetRowTitleScale, kSheetRowTitleColour,
                  kSheetRowTitleThickness);
    }
    for (size_t i = 0; i < sheet.cells.size(); ++i) {
        const SheetCell& cell = sheet.cells[i];
        const Box& box = layout.images[i];
        cv::rectangle(img, cv::Rect(box.x - 1, box.y - 1, box.width + 2, box.height + 2), colour(kSheetFrame), 1);
        // The image's rows as they are (RGB, no padding): a header over its bytes, copied in.
        const cv::Mat src(cell.image.height, cell.image.width, CV_8UC3, const_cast<uint8_t*>(cell.image.rgb.data()));
        src.copyTo(img(cv::Rect(box.x, box.y, box.width, box.height)));
        const Box& label = layout.labels[i];
        int line_y = label.y + kLabelPadding;
        for (const SheetLine& line : layout.lines[i]) {
            draw_line(img, line.text, label.x, line_y, kSheetTextScale, cell.text[line.source].colour,
                      kSheetTextThickness);
            line_y += layout.line_height;
        }
    }
    return to_rgb_image(img);
}

} // namespace charaforge::demo
