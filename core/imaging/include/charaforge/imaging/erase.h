#pragma once
// Pre- and post-processing of LaMa erasing as IOPaint does it (iopaint/model/base.py, helper.py,
// batch_processing.py): binary masks, the high-resolution strategies (original, resize, crop around each mask
// region), mirror padding of each tile to a multiple of 8, and the composite back into the original.
// No torch: the tiles go to the engine's LamaInpainter and come back as RGB of the padded size.
#include "charaforge/imaging/png_io.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace charaforge::imaging {

struct GrayImage {
    int width = 0;
    int height = 0;
    std::vector<uint8_t> data; // one byte per pixel, rows top to bottom
};

enum class EraseStrategy { Original, Resize, Crop };

// IOPaint's defaults (iopaint/schema.py): crop above 800 px with a 128 px margin; resize to 1280 px.
struct EraseOptions {
    EraseStrategy strategy = EraseStrategy::Crop;
    int crop_trigger_size = 800; // Crop applies when the longer side exceeds this
    int crop_margin = 128;
    int resize_limit = 1280; // Resize applies when the longer side exceeds this
    int pad_multiple = 8;
    int min_side = 16; // big-lama's smallest input (its 1x1 bottleneck must be reflect-padded)
};

std::optional<EraseStrategy> parse_erase_strategy(std::string_view name); // "original", "resize", "crop"
std::string_view erase_strategy_name(EraseStrategy strategy);

// The batch CLI's mask rule: resized to width x height with nearest neighbour when it differs, then
// >= 127 -> 255, else 0. Throws std::invalid_argument on an empty mask or size.
GrayImage binarize_mask(const GrayImage& mask, int width, int height);

// A mask file as IOPaint's batch CLI reads it: grey level (OpenCV's IMREAD_GRAYSCALE weights) at or above 127 is
// a hole. Throws std::invalid_argument "PATH: WxH does not match the image IMAGE_PATH (WxH)" when its size is not
// width x height, std::runtime_error naming the file when it cannot be read.
GrayImage read_mask_png(const std::string& path, int width, int height, const std::string& image_path);

// One model input: `image` and `mask` mirror-padded (edge repeated: numpy "symmetric") at the bottom and right
// to a multiple of pad_multiple; the unpadded region is width x height at (left, top) of the work image.
struct EraseTile {
    int left = 0, top = 0, width = 0, height = 0;
    RgbImage image;
    GrayImage mask; // nonzero = hole (soft values under Resize, like IOPaint's cubic-resized mask)
};

struct ErasePlan {
    EraseStrategy applied = EraseStrategy::Original; // Original when the chosen strategy's trigger is not reached
    int work_width = 0, work_height = 0;             // the image the tiles cut from (resized under Resize)
    std::vector<EraseTile> tiles;                    // none when the mask is empty under Crop
};

// `mask` is binary (binarize_mask) and the image's size. Throws std::invalid_argument on size mismatches.
ErasePlan plan_erase(const RgbImage& image, const GrayImage& mask, const EraseOptions& options = {});

// Builds the result from the model's outputs (one per tile, the padded tile's size): crop each output, blend
// with its tile's mask (result * m + original * (1 - m), m = mask / 255, rounded), paste tiles in order;
// Resize scales back with bicubic and restores every pixel outside the original mask.
RgbImage compose_erase(const RgbImage& image, const GrayImage& mask, const ErasePlan& plan,
                       const std::vector<RgbImage>& outputs);

} // namespace charaforge::imaging
