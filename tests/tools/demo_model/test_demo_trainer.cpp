// The demo trainer on CPU at a tiny scale: 30 steps on a handful of rendered images reduce the flow-matching loss,
// and the model folder it writes opens with the normal loader and generates.
#include "demo_data_set.h"
#include "demo_trainer.h"

#include "charaforge/engine/model_check.h"
#include "charaforge/engine/pipeline.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace charaforge;

namespace {

fs::path fresh_dir(const std::string& name) {
    const fs::path dir =
        fs::temp_directory_path() / ("charaforge-demo-trainer-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    return dir;
}

double mean(const std::vector<double>& v, size_t from, size_t to) {
    return std::accumulate(v.begin() + static_cast<long>(from), v.begin() + static_cast<long>(to), 0.0) /
           static_cast<double>(to - from);
}

} // namespace

TEST(DemoTrainer, ThirtyStepsReduceTheLossAndWriteALoadableModel) {
    const fs::path base = fresh_dir("base");
    const fs::path data = fresh_dir("data");
    const fs::path out = fresh_dir("out");
    engine::make_test_model(base.string(), 3);
    demo::write_demo_set(data.string(), 4, 11, 64);

    demo::DemoTrainOptions o;
    o.data_dir = data.string();
    o.base_model = base.string();
    o.out_dir = out.string();
    o.steps = 30;
    o.batch = 4;
    o.learning_rate = 2e-3;
    o.seed = 5;
    int calls = 0;
    const demo::DemoTrainReport report = demo::train_demo_model(o, [&](int step, int total, double loss) {
        EXPECT_EQ(step, ++calls);
        EXPECT_EQ(total, 30);
        EXPECT_TRUE(std::isfinite(loss));
    });
    ASSERT_EQ(report.losses.size(), 30u);
    EXPECT_EQ(report.images, 4);
    EXPECT_LT(report.eval_after, 0.8 * report.eval_before) << report.eval_before << " -> " << report.eval_after;
    EXPECT_LT(mean(report.losses, 20, 30), mean(report.losses, 0, 10));

    // The official layout, no test-model marker, the demo description; the normal loader opens and samples it.
    for (const char* f :
         {"model_index.json", "transformer/config.json", "transformer/diffusion_pytorch_model.safetensors",
          "vae/config.json", "text_encoder/tokenizer.model", "clip_model/sentencepiece.bpe.model", "charaforge.json"}) {
        EXPECT_TRUE(fs::exists(out / f)) << f;
    }
    EXPECT_FALSE(engine::is_test_model(out.string()));
    EXPECT_TRUE(engine::check_model_folder(out.string()).empty());
    auto pipeline = engine::Pipeline::open(out.string());
    engine::GenerationRequest r;
    std::ifstream caption(data / "000000.txt");
    r.prompt.assign(std::istreambuf_iterator<char>(caption), std::istreambuf_iterator<char>());
    r.width = 64;
    r.height = 64;
    r.steps = 2;
    const auto images = pipeline->generate({r});
    ASSERT_EQ(images.size(), 1u);
    EXPECT_EQ(images[0].width, 64);
    EXPECT_EQ(images[0].rgb.size(), 64u * 64u * 3u);

    // Deterministic from the seed: a second run repeats the first steps' losses exactly.
    const fs::path again = fresh_dir("again");
    o.out_dir = again.string();
    o.steps = 3;
    const demo::DemoTrainReport repeat = demo::train_demo_model(o);
    ASSERT_EQ(repeat.losses.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(repeat.losses[i], report.losses[i]) << "step " << i + 1;
    }
    EXPECT_EQ(repeat.eval_before, report.eval_before);

    fs::remove_all(base);
    fs::remove_all(data);
    fs::remove_all(out);
    fs::remove_all(again);
}

TEST(DemoTrainer, RefusesBadOptionsAndData) {
    demo::DemoTrainOptions o;
    o.data_dir = "/nonexistent/charaforge-demo";
    o.base_model = "/nonexistent/base";
    o.out_dir = "/nonexistent/out";
    try {
        demo::train_demo_model(o);
        FAIL() << "trained without data";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent/charaforge-demo/manifest.jsonl"), std::string::npos)
            << e.what();
    }
    o.steps = 0;
    EXPECT_THROW(demo::train_demo_model(o), std::invalid_argument);
    const fs::path data = fresh_dir("bad");
    fs::create_directories(data);
    std::ofstream(data / "manifest.jsonl") << "{\"image\": 3}\n";
    o.steps = 1;
    o.data_dir = data.string();
    try {
        demo::train_demo_model(o);
        FAIL() << "trained on a malformed manifest";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("manifest.jsonl:1"), std::string::npos) << e.what();
    }
    fs::remove_all(data);
}
