// Erase pre/post-processing against IOPaint's rules (numpy "symmetric" padding, the batch CLI's mask threshold,
// _crop_box arithmetic, the keep-unmasked-area blend).
#include "charaforge/imaging/erase.h"

#include <gtest/gtest.h>

using namespace charaforge::imaging;

namespace {

RgbImage gradient(int w, int h) {
    RgbImage im;
    im.width = w;
    im.height = h;
    im.rgb.resize(static_cast<std::size_t>(w) * h * 3);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            for (int c = 0; c < 3; ++c)
                im.rgb[(static_cast<std::size_t>(y) * w + x) * 3 + c] =
                    static_cast<uint8_t>((x * 7 + y * 13 + c * 50) % 256);
    return im;
}

GrayImage empty_mask(int w, int h) {
    GrayImage m;
    m.width = w;
    m.height = h;
    m.data.assign(static_cast<std::size_t>(w) * h, 0);
    return m;
}

void fill(GrayImage& m, int x0, int y0, int x1, int y1) {
    for (int y = y0; y < y1; ++y)
        for (int x = x0; x < x1; ++x)
            m.data[static_cast<std::size_t>(y) * m.width + x] = 255;
}

uint8_t px(const RgbImage& im, int x, int y, int c) {
    return im.rgb[(static_cast<std::size_t>(y) * im.width + x) * 3 + c];
}

} // namespace

TEST(Erase, PadsBottomAndRightSymmetricallyToAMultipleOfEight) {
    const auto im = gradient(13, 20);
    auto mask = empty_mask(13, 20);
    fill(mask, 11, 17, 13, 20); // touches the bottom-right corner: the padding mirrors the hole
    const auto plan = plan_erase(im, mask, {EraseStrategy::Original});
    ASSERT_EQ(plan.tiles.size(), 1u);
    const auto& t = plan.tiles[0];
    EXPECT_EQ(t.image.width, 16);
    EXPECT_EQ(t.image.height, 24);
    EXPECT_EQ(t.width, 13);
    EXPECT_EQ(t.height, 20);
    // np.pad(..., 'symmetric'): [.., a, b | b, a, ..] (the edge pixel repeated).
    for (int c = 0; c < 3; ++c) {
        EXPECT_EQ(px(t.image, 13, 5, c), px(im, 12, 5, c));
        EXPECT_EQ(px(t.image, 15, 5, c), px(im, 10, 5, c));
        EXPECT_EQ(px(t.image, 4, 20, c), px(im, 4, 19, c));
        EXPECT_EQ(px(t.image, 4, 23, c), px(im, 4, 16, c));
        EXPECT_EQ(px(t.image, 4, 7, c), px(im, 4, 7, c));
    }
    EXPECT_EQ(t.mask.data[22 * 16 + 14], 255); // mirrors (11, 17): inside the hole
    EXPECT_EQ(t.mask.data[23 * 16 + 15], 0);   // mirrors (10, 16): outside
    EXPECT_EQ(t.mask.data[23 * 16 + 4], 0);
}

TEST(Erase, SmallImagesArePaddedToTheModelMinimum) {
    const auto plan = plan_erase(gradient(5, 9), empty_mask(5, 9), {EraseStrategy::Original});
    EXPECT_EQ(plan.tiles[0].image.width, 16);
    EXPECT_EQ(plan.tiles[0].image.height, 16);
}

TEST(Erase, MaskThresholdAndNearestResizeAsTheBatchCli) {
    GrayImage m;
    m.width = 2;
    m.height = 1;
    m.data = {126, 127};
    const auto b = binarize_mask(m, 2, 1);
    EXPECT_EQ(b.data, (std::vector<uint8_t>{0, 255}));
    const auto r = binarize_mask(m, 4, 2);
    EXPECT_EQ(r.data, (std::vector<uint8_t>{0, 0, 255, 255, 0, 0, 255, 255}));
    EXPECT_THROW(binarize_mask(GrayImage{}, 4, 2), std::invalid_argument);
}

TEST(Erase, CropStrategyCutsOneTilePerRegionWithIopaintsBox) {
    const auto im = gradient(1000, 900);
    auto mask = empty_mask(1000, 900);
    fill(mask, 100, 200, 150, 260); // box [100, 200, 150, 260]
    fill(mask, 700, 800, 800, 900); // touches the bottom edge
    const auto plan = plan_erase(im, mask);
    ASSERT_EQ(plan.applied, EraseStrategy::Crop);
    ASSERT_EQ(plan.tiles.size(), 2u);
    // _crop_box by hand: first box cx 125 cy 230, w 306 h 316 -> l -28 r 278 t 72 b 388; l < 0 moves r to 306.
    bool saw_first = false, saw_second = false;
    for (const auto& t : plan.tiles) {
        if (t.left == 0 && t.top == 72 && t.width == 306 && t.height == 316)
            saw_first = true;
        // second: cx 750 cy 850, w 356 h 356 -> l 572 r 928 t 672 b 1028; b > 900 moves t to 544, b to 900.
        if (t.left == 572 && t.top == 544 && t.width == 356 && t.height == 356)
            saw_second = true;
        EXPECT_EQ(t.image.width % 8, 0);
        EXPECT_EQ(t.image.height % 8, 0);
    }
    EXPECT_TRUE(saw_first);
    EXPECT_TRUE(saw_second);

    // An empty mask gives no tiles and the original back.
    const auto none = plan_erase(im, empty_mask(1000, 900));
    EXPECT_TRUE(none.tiles.empty());
    EXPECT_EQ(compose_erase(im, empty_mask(1000, 900), none, {}).rgb, im.rgb);
}

TEST(Erase, StrategiesBelowTheirTriggerRunTheOriginal) {
    const auto im = gradient(800, 600);
    auto mask = empty_mask(800, 600);
    fill(mask, 10, 10, 20, 20);
    EXPECT_EQ(plan_erase(im, mask, {EraseStrategy::Crop}).applied, EraseStrategy::Original);
    EXPECT_EQ(plan_erase(im, mask, {EraseStrategy::Resize}).applied, EraseStrategy::Original);
}

TEST(Erase, ComposeKeepsKnownPixelsAndTakesTheHoleFromTheModel) {
    for (auto strategy : {EraseStrategy::Original, EraseStrategy::Crop, EraseStrategy::Resize}) {
        const auto im = gradient(1400, 900);
        auto mask = empty_mask(1400, 900);
        fill(mask, 300, 300, 420, 380);
        const auto plan = plan_erase(im, mask, {strategy});
        EXPECT_EQ(plan.applied, strategy);
        std::vector<RgbImage> outputs;
        for (const auto& t : plan.tiles) {
            RgbImage black = t.image;
            std::fill(black.rgb.begin(), black.rgb.end(), 0);
            outputs.push_back(black);
        }
        const auto out = compose_erase(im, mask, plan, outputs);
        ASSERT_EQ(out.width, 1400);
        for (int c = 0; c < 3; ++c) {
            EXPECT_EQ(px(out, 50, 50, c), px(im, 50, 50, c)) << erase_strategy_name(strategy);
            EXPECT_EQ(px(out, 299, 340, c), px(im, 299, 340, c)) << erase_strategy_name(strategy);
            EXPECT_LE(px(out, 360, 340, c), 2) << erase_strategy_name(strategy); // inside the hole: the model's
        }
        if (strategy == EraseStrategy::Resize) {
            EXPECT_EQ(plan.work_width, 1280);
            EXPECT_EQ(plan.work_height, 823); // int(900 * 1280 / 1400 + 0.5)
        }
    }
    EXPECT_EQ(parse_erase_strategy("crop"), EraseStrategy::Crop);
    EXPECT_FALSE(parse_erase_strategy("tile").has_value());
}
