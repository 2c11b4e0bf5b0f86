// The demo VAE's training on CPU at a tiny scale (32x32 images of flat colour blocks drawn here): a few dozen steps
// lower the held-out reconstruction error; the written vae/ folder loads through the engine's normal loader with
// the measured scale and shift and reconstructs like the in-memory model; the same seed gives the same weights.
#include "vae_trainer.h"

#include "model_folder.h"
#include "runtime.h"
#include "safetensors.h"
#include "weights.h"

#include "charaforge/engine/pipeline.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace charaforge;

namespace {

fs::path fresh_dir(const std::string& name) {
    const fs::path dir = fs::temp_directory_path() / ("charaforge-demo-vae-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

// n images [n, size, size, 3]: a flat background and twelve small flat rectangles of random colours and places.
torch::Tensor block_images(int64_t n, int64_t size, uint32_t seed) {
    std::mt19937 rng(seed);
    auto colour = [&] { return std::uniform_int_distribution<int>(0, 255)(rng); };
    auto images = torch::empty({n, size, size, 3}, torch::kUInt8);
    for (int64_t i = 0; i < n; ++i) {
        auto img = images[i];
        for (int c = 0; c < 3; ++c)
            img.select(2, c).fill_(colour());
        for (int r = 0; r < 12; ++r) {
            std::uniform_int_distribution<int64_t> pos(0, size - 4);
            const int64_t y = pos(rng), x = pos(rng);
            const int64_t h = std::uniform_int_distribution<int64_t>(4, std::min<int64_t>(12, size - y))(rng);
            const int64_t w = std::uniform_int_distribution<int64_t>(4, std::min<int64_t>(12, size - x))(rng);
            for (int c = 0; c < 3; ++c)
                img.narrow(0, y, h).narrow(1, x, w).select(2, c).fill_(colour());
        }
    }
    return images;
}

demo::VaeTrainOptions quick_options(int steps) {
    demo::VaeTrainOptions o;
    o.steps = steps;
    o.batch = 4;
    o.learning_rate = 1e-3;
    o.warmup_steps = 5;
    o.heldout_images = 2;
    o.log_every = 10;
    o.seed = 7;
    return o;
}

// [N, H, W, 3] uint8 -> [N, 3, H, W] fp32 in [0, 1] (the engine's encode input).
torch::Tensor unit_rgb(const torch::Tensor& u8) {
    return u8.permute({0, 3, 1, 2}).to(torch::kFloat32).div(255.0);
}

} // namespace

TEST(DemoVae, AFewDozenStepsLowerTheHeldOutReconstructionError) {
    const auto images = block_images(12, 32, 1);
    const auto o = quick_options(40);
    std::vector<int> reported;
    auto result = demo::train_demo_vae(images, demo::demo_vae_config(), o, [&](int step, int total, double loss) {
        EXPECT_EQ(total, 40);
        EXPECT_TRUE(std::isfinite(loss));
        reported.push_back(step);
    });
    const auto& r = result.report;
    EXPECT_EQ(reported, (std::vector<int>{10, 20, 30, 40}));
    ASSERT_EQ(r.losses.size(), 40u);
    ASSERT_EQ(r.reconstruction.size(), 40u);
    ASSERT_EQ(r.kl.size(), 40u);
    for (size_t i = 0; i < r.losses.size(); ++i) {
        // The loss is its parts' weighted sum (fp32 arithmetic on the device).
        EXPECT_NEAR(r.losses[i], r.reconstruction[i] + o.kl_weight * r.kl[i], 1e-6 * (1 + r.losses[i])) << i;
        EXPECT_GE(r.kl[i], 0.0) << i;
    }
    EXPECT_EQ(r.train_images, 10);
    EXPECT_EQ(r.heldout_images, 2);
    EXPECT_EQ(r.stats_images, 10);
    // From scratch on a CPU, 40 steps of batch 4 on 10 images only start the fit (0.28 -> 0.24 here); the GPU run's
    // thousands of steps do the rest. The margin is well above step-to-step noise of the seeded run.
    EXPECT_LT(r.heldout_l1_after, 0.9 * r.heldout_l1_before) << r.heldout_l1_before << " -> " << r.heldout_l1_after;
    EXPECT_GT(r.heldout_psnr_after, r.heldout_psnr_before);
    EXPECT_EQ(result.vae->config().scaling_factor, result.config.scaling_factor);
    EXPECT_EQ(result.vae->config().shift_factor, result.config.shift_factor);
}

TEST(DemoVae, ScaleAndShiftAreTheTrainingLatentsStatistics) {
    const auto images = block_images(10, 32, 2);
    auto o = quick_options(6);
    auto result = demo::train_demo_vae(images, demo::demo_vae_config(), o);
    const auto& cfg = result.config;
    EXPECT_EQ(cfg.shift_factor, result.report.latent_mean);
    EXPECT_EQ(cfg.scaling_factor, 1.0 / result.report.latent_std);

    // Recomputed here over every training image (stats_images exceeds them): the posterior means' mean and std.
    torch::NoGradGuard no_grad;
    const auto train = images.narrow(0, 0, 8);
    const auto mean = result.vae->encoder_forward(unit_rgb(train) * 2.0 - 1.0)
                          .narrow(1, 0, cfg.latent_channels)
                          .to(torch::kDouble); // [8, 16, 4, 4]
    const double m = mean.mean().item<double>();
    const double sd = mean.std(/*unbiased=*/false).item<double>();
    // fp32 latents summed in a different order: a few fp32 ulps of the magnitude.
    EXPECT_NEAR(cfg.shift_factor, m, 1e-5 * (std::abs(m) + sd));
    EXPECT_NEAR(cfg.scaling_factor, 1.0 / sd, 1e-5 / sd);
    // So the engine's normalised latents of the same images have mean 0 and std 1.
    const auto z = result.vae->encode(unit_rgb(train)).to(torch::kDouble);
    EXPECT_NEAR(z.mean().item<double>(), 0.0, 1e-5);
    EXPECT_NEAR(z.std(false).item<double>(), 1.0, 1e-5);
}

TEST(DemoVae, TheWrittenFolderLoadsThroughTheEngineLoaderAndReconstructsLikeTheModel) {
    const auto images = block_images(10, 32, 3);
    auto result = demo::train_demo_vae(images, demo::demo_vae_config(), quick_options(8));
    const fs::path dir = fresh_dir("write");
    demo::write_demo_vae(dir.string(), result.vae, result.config);
    { // the official folder's index, as the demo model folder has one
        std::ofstream(dir / "model_index.json") << R"({"_class_name": "NewbiePipeline"})";
    }
    ASSERT_TRUE(fs::exists(dir / "vae" / "config.json"));
    ASSERT_TRUE(fs::exists(dir / "vae" / "diffusion_pytorch_model.safetensors"));

    const auto files = engine::locate_model(dir.string(), engine::Require::Vae);
    EXPECT_FALSE(files.vae_bfl);
    engine::RuntimeOptions ro;
    ro.device = "cpu";
    ro.dtype = "fp32";
    auto loaded = engine::load_vae(files.vae, files.vae_bfl, engine::make_runtime(ro));
    const auto& lc = loaded->config();
    EXPECT_EQ(lc.block_out_channels, result.config.block_out_channels);
    EXPECT_EQ(lc.norm_num_groups, result.config.norm_num_groups);
    EXPECT_EQ(lc.scaling_factor, result.config.scaling_factor); // JSON numbers round-trip exactly
    EXPECT_EQ(lc.shift_factor, result.config.shift_factor);

    // Stored in bf16: every loaded weight is exactly the in-memory weight rounded to bf16.
    const auto loaded_params = loaded->named_parameters(true);
    const auto trained_params = result.vae->named_parameters(true);
    ASSERT_EQ(loaded_params.size(), trained_params.size());
    for (const auto& p : trained_params) {
        const auto* q = loaded_params.find(p.key());
        ASSERT_NE(q, nullptr) << p.key();
        EXPECT_TRUE(torch::equal(*q, p.value().to(torch::kBFloat16).to(torch::kFloat32))) << p.key();
    }

    // So the loaded model's encode -> decode equals the in-memory model's with bf16-rounded weights to fp32
    // precision, and the unrounded model's to within bf16 precision (2^-8) on average.
    const auto x = unit_rgb(images.narrow(0, 8, 2)); // [2, 3, 32, 32]
    const auto round_trip = loaded->decode(loaded->encode(x));
    const auto reference = result.vae->decode(result.vae->encode(x));
    engine::AutoencoderKL rounded(result.config, torch::TensorOptions().dtype(torch::kFloat32));
    {
        torch::NoGradGuard no_grad;
        for (auto& p : rounded->named_parameters(true))
            p.value().copy_(trained_params[p.key()].to(torch::kBFloat16).to(torch::kFloat32));
    }
    const auto rounded_trip = rounded->decode(rounded->encode(x));
    EXPECT_LE((round_trip - rounded_trip).abs().max().item<double>(), 1e-5);
    EXPECT_LE((round_trip - reference).abs().mean().item<double>(), std::ldexp(1.0, -8));
    fs::remove_all(dir);
}

TEST(DemoVae, TheSameSeedGivesTheSameWeights) {
    const auto images = block_images(8, 32, 4);
    auto o = quick_options(3);
    o.heldout_images = 1;
    auto a = demo::train_demo_vae(images, demo::demo_vae_config(), o);
    auto b = demo::train_demo_vae(images, demo::demo_vae_config(), o);
    o.seed += 1;
    auto c = demo::train_demo_vae(images, demo::demo_vae_config(), o);
    const auto pa = a.vae->named_parameters(true), pb = b.vae->named_parameters(true),
               pc = c.vae->named_parameters(true);
    bool any_differs = false;
    for (const auto& p : pa) {
        EXPECT_TRUE(torch::equal(p.value(), pb[p.key()])) << p.key();
        any_differs = any_differs || !torch::equal(p.value(), pc[p.key()]);
    }
    EXPECT_TRUE(any_differs);
    EXPECT_EQ(a.report.losses, b.report.losses);
    EXPECT_EQ(a.config.scaling_factor, b.config.scaling_factor);
}

TEST(DemoVae, RefusesBadImagesAndOptionsNamingThem) {
    const auto images = block_images(4, 32, 5);
    auto o = quick_options(1);
    auto message = [&](const torch::Tensor& imgs, const demo::VaeTrainOptions& opts) {
        try {
            demo::train_demo_vae(imgs, demo::demo_vae_config(), opts);
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_NE(message(images.to(torch::kFloat32), o).find("uint8"), std::string::npos);
    EXPECT_NE(message(images.narrow(1, 0, 28), o).find("multiple of"), std::string::npos);
    o.heldout_images = 4;
    EXPECT_NE(message(images, o).find("heldout_images"), std::string::npos);
    o.heldout_images = 1;
    o.crop = 12;
    EXPECT_NE(message(images, o).find("crop"), std::string::npos);

    auto trained = demo::train_demo_vae(images, demo::demo_vae_config(), quick_options(1));
    auto other = trained.config;
    other.block_out_channels = {32, 64, 128, 256};
    const fs::path dir = fresh_dir("refuse");
    try {
        demo::write_demo_vae(dir.string(), trained.vae, other);
        ADD_FAILURE() << "a config of another architecture was written";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("block_out_channels"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(dir / "vae"));
    fs::remove_all(dir);
}
