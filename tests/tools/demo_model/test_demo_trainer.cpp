// The demo trainer on the CPU at a tiny scale: one run from a captions file renders, trains the tokenizers, the VAE
// and the transformer, lowers the held-out flow loss, and writes a folder that the normal loader opens and samples;
// the same seed writes the same files. The shipped architecture fits the size budget.
#include "demo_data_set.h"
#include "demo_trainer.h"

#include "charaforge/engine/model_check.h"
#include "charaforge/engine/pipeline.h"
#include "model_folder.h"
#include "nn.h"
#include "test_model.h"
#include "text_conditioning.h"
#include "tokenizer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
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

std::string read_bytes(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

std::map<std::string, std::string> folder_files(const fs::path& dir) {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        if (e.is_regular_file()) {
            out[fs::relative(e.path(), dir).string()] = read_bytes(e.path());
        }
    }
    return out;
}

// Some thousand times smaller than the shipped model: seconds per run on two cores.
demo::DemoArchitecture tiny_architecture() {
    demo::DemoArchitecture a;
    a.gemma_vocab = 1000; // long pieces keep the captions short: attention over them is most of a step
    a.xlmr_vocab = 1000;
    a.gemma_hidden = 32;
    a.gemma_layers = 4;
    a.gemma_heads = 2;
    a.gemma_kv_heads = 1;
    a.gemma_head_dim = 16;
    a.gemma_intermediate = 64;
    a.gemma_window = 8;
    a.jina_hidden = 24;
    a.jina_layers = 2;
    a.jina_heads = 2;
    a.jina_intermediate = 48;
    a.dit_dim = 64;
    a.dit_layers = 2;
    a.dit_refiner_layers = 1;
    a.dit_heads = 2;
    a.dit_kv_heads = 1;
    a.dit_ffn = 128;
    a.dit_axes[0] = 8;
    a.dit_axes[1] = 12;
    a.dit_axes[2] = 12;
    a.vae_channels = {8, 8, 16, 16};
    a.vae_layers_per_block = 1;
    a.vae_groups = 8;
    return a;
}

demo::DemoTrainOptions tiny_options(const fs::path& captions, const fs::path& out) {
    demo::DemoTrainOptions o;
    o.captions = captions.string();
    o.out_dir = out.string();
    o.arch = tiny_architecture();
    o.seed = 5;
    o.threads = 2;
    o.vae_steps = 12;
    o.vae_batch = 8;
    o.dit_steps = 30;
    o.dit_batch = 4;
    o.learning_rate = 2e-3;
    o.warmup_steps = 5;
    o.eval_samples = 8;
    o.loss_every = 7;
    return o;
}

std::string about_text(const fs::path& dir) {
    return nlohmann::json::parse(read_bytes(dir / "charaforge.json")).at("text_encoders").get<std::string>();
}

} // namespace

TEST(DemoTrainer, OneRunWritesALoadableModelThatLearnedAndRepeatsForTheSameSeed) {
    const fs::path data = fresh_dir("data");
    const fs::path out = fresh_dir("out");
    demo::write_demo_captions(data.string(), 32, 11, 64);
    const fs::path captions = data / "captions.jsonl";

    std::map<std::string, int> progress_calls;
    const demo::DemoTrainReport report = demo::train_demo_model(
        tiny_options(captions, out), [&](const std::string& stage, int step, int total, double loss) {
            ++progress_calls[stage];
            EXPECT_LE(step, total) << stage;
            if (stage == "transformer" || stage == "vae") {
                EXPECT_TRUE(std::isfinite(loss)) << stage << " " << step;
            }
        });
    // Every step's loss is kept though the device is read only every loss_every steps.
    ASSERT_EQ(report.dit_losses.size(), 30u);
    ASSERT_EQ(report.vae_losses.size(), 12u);
    EXPECT_EQ(progress_calls["transformer"], 5); // steps 7, 14, 21, 28 and the last
    EXPECT_EQ(report.images, 24);
    EXPECT_EQ(report.held_out, 8);
    EXPECT_LT(report.eval_after, report.eval_before) << report.eval_before << " -> " << report.eval_after;
    EXPECT_LT(report.vae_losses.back(), report.vae_losses.front());
    for (const auto& t : report.timings) {
        std::cout << "stage " << t.stage << ": " << t.seconds << " s\n";
    }
    std::cout << report.caption_tokens << " Gemma tokens per caption\n";
    ASSERT_FALSE(report.timings.empty());
    EXPECT_EQ(report.timings.front().stage, "render");

    // The official layout with the demo description; the normal loader opens and samples it.
    for (const char* f :
         {"model_index.json", "transformer/config.json", "transformer/diffusion_pytorch_model.safetensors",
          "vae/config.json", "vae/diffusion_pytorch_model.safetensors", "text_encoder/config.json",
          "text_encoder/model.safetensors", "text_encoder/tokenizer.model", "clip_model/config.json",
          "clip_model/model.safetensors", "clip_model/sentencepiece.bpe.model", "charaforge.json"}) {
        EXPECT_TRUE(fs::exists(out / f)) << f;
    }
    const auto about = nlohmann::json::parse(read_bytes(out / "charaforge.json"));
    EXPECT_EQ(about.at("name"), "CharaForge demo model");
    EXPECT_EQ(about.at("kind"), "demo");
    EXPECT_EQ(about.at("native_resolution"), 64);
    EXPECT_EQ(about.at("seed"), 5);
    EXPECT_NE(about.at("text_encoders").get<std::string>().find("frozen random"), std::string::npos);
    EXPECT_FALSE(engine::is_test_model(out.string()));
    EXPECT_TRUE(engine::check_model_folder(out.string()).empty());
    int64_t bytes = 0;
    for (const auto& [name, content] : folder_files(out)) {
        bytes += static_cast<int64_t>(content.size());
    }
    EXPECT_LE(bytes, 40'000'000);

    auto pipeline = engine::Pipeline::open(out.string());
    engine::GenerationRequest r;
    std::ifstream first(captions);
    std::string line;
    std::getline(first, line);
    r.prompt = nlohmann::json::parse(line).at("caption").get<std::string>();
    r.width = 64;
    r.height = 64;
    r.steps = 2;
    const auto images = pipeline->generate({r});
    ASSERT_EQ(images.size(), 1u);
    EXPECT_EQ(images[0].width, 64);
    EXPECT_EQ(images[0].rgb.size(), 64u * 64u * 3u);

    // Deterministic from the seed: two short runs write the same files and losses.
    const fs::path once = fresh_dir("once");
    const fs::path again = fresh_dir("again");
    demo::DemoTrainOptions shorter = tiny_options(captions, once);
    shorter.vae_steps = 3;
    shorter.dit_steps = 3;
    const demo::DemoTrainReport first_run = demo::train_demo_model(shorter);
    shorter.out_dir = again.string();
    const demo::DemoTrainReport repeat = demo::train_demo_model(shorter);
    EXPECT_EQ(repeat.dit_losses, first_run.dit_losses);
    EXPECT_EQ(repeat.vae_losses, first_run.vae_losses);
    EXPECT_EQ(repeat.eval_after, first_run.eval_after);
    const auto a = folder_files(once), b = folder_files(again);
    ASSERT_EQ(a.size(), b.size());
    for (const auto& [name, content] : a) {
        ASSERT_TRUE(b.count(name)) << name;
        EXPECT_TRUE(b.at(name) == content) << name << " differs between two runs of one seed";
    }
    fs::remove_all(once);
    fs::remove_all(data);
    fs::remove_all(out);
    fs::remove_all(again);
}

TEST(DemoTrainer, TheShippedArchitectureFitsTheSizeBudget) {
    // bf16 weights of every part at the architecture's vocabulary sizes (the tokenizers' pieces are at most these,
    // Gemma's table has 64 rows more), plus 1 MB for tokenizers and configs.
    const int64_t params = demo::demo_parameter_count(demo::demo_architecture());
    EXPECT_GT(params, 5'000'000); // "a few million" in the transformer alone is the point of the demo
    EXPECT_LE(2 * params + 1'000'000, 40'000'000) << params << " parameters";
}

// The trainer's batched caption encoding gives what the pipeline's one-by-one encode gives (fp32 rounding of a
// different batch shape: a few ulps of the largest feature).
TEST(DemoTrainer, ManyCaptionsEncodeAsTheyDoOneByOne) {
    const fs::path dir = fresh_dir("encoders");
    engine::make_test_model(dir.string(), 3);
    const engine::ModelFiles files = engine::locate_model(dir.string(), engine::Require::Everything);
    engine::RuntimeOptions ro;
    ro.dtype = "fp32";
    const engine::Runtime rt = engine::make_runtime(ro);
    engine::TextEncoders encoders(files, rt, false);
    std::vector<engine::EncoderTexts> texts;
    for (const char* prompt :
         {"1girl, red hair", "1boy, blue eyes", "<character_1><gender>1girl</gender></character_1>", "1girl, red hair",
          "sky, night, two cats on a long windowsill"}) {
        engine::GenerationRequest r;
        r.prompt = prompt;
        texts.push_back(engine::conditional_texts(r));
    }
    texts.push_back(engine::unconditional_texts(engine::GenerationRequest{}));
    const engine::TextEmbeddingBatch batch = encoders.encode_many(texts, 2);
    ASSERT_EQ(batch.lengths.size(), texts.size());
    for (size_t i = 0; i < texts.size(); ++i) {
        const engine::TextEmbedding one = encoders.encode(texts[i]);
        ASSERT_EQ(batch.lengths[i], one.length) << i;
        const auto row = batch.features[static_cast<int64_t>(i)];
        const auto expected = torch::from_blob(const_cast<float*>(one.features.data()), {one.length, one.dim});
        const double scale = expected.abs().max().item<double>();
        EXPECT_LE((row.narrow(0, 0, one.length) - expected).abs().max().item<double>(), 1e-5 * scale) << i;
        if (row.size(0) > one.length) {
            EXPECT_EQ(row.narrow(0, one.length, row.size(0) - one.length).abs().max().item<double>(), 0.0) << i;
        }
        const auto pooled =
            torch::from_blob(const_cast<float*>(one.pooled.data()), {static_cast<int64_t>(one.pooled.size())});
        EXPECT_LE((batch.pooled[static_cast<int64_t>(i)] - pooled).abs().max().item<double>(),
                  1e-5 * pooled.abs().max().item<double>())
            << i;
    }
    fs::remove_all(dir);
}

// Training runs the attention of right-padded captions as one masked call; inference runs each run of equal lengths
// separately. The prediction is the same (fp32 rounding).
TEST(DemoTrainer, TheTrainingAttentionPathPredictsAsTheInferencePath) {
    engine::NextDiT model(engine::tiny_nextdit_config(), torch::TensorOptions().dtype(torch::kFloat32));
    engine::nn::init_random(*model, 7, 0.05);
    auto gen = at::detail::createCPUGenerator(8);
    const auto x = at::randn({3, 16, 8, 8}, gen);
    const auto t = torch::tensor({0.2f, 0.5f, 0.9f});
    const auto cap = at::randn({3, 6, model->config().cap_feat_dim}, gen);
    const auto pooled = at::randn({3, model->config().clip_text_dim}, gen);
    const std::vector<int64_t> lens{6, 2, 4};
    torch::Tensor inference;
    {
        torch::NoGradGuard no_grad;
        inference = model->forward(x, t, cap, lens, pooled);
    }
    for (auto& p : model->parameters()) {
        p.set_requires_grad(true);
    }
    const auto training = model->forward(x, t, cap, lens, pooled);
    ASSERT_TRUE(training.requires_grad());
    const double scale = inference.abs().max().item<double>();
    EXPECT_LE((training.detach() - inference).abs().max().item<double>(), 1e-5 * scale);
}

// The captions' tags and XML element names are whole tokenizer pieces (one token each in both tokenizers), unless
// whole_tags is off, when sentencepiece splits them into sub-word pieces as it likes.
TEST(DemoTrainer, TheCaptionsTagsAndElementsAreWholeTokenizerPieces) {
    const fs::path data = fresh_dir("pieces-data");
    demo::write_demo_captions(data.string(), 32, 11, 64);
    const fs::path whole = fresh_dir("pieces-whole");
    const fs::path split = fresh_dir("pieces-split");
    demo::DemoTrainOptions o = tiny_options(data / "captions.jsonl", whole);
    o.vae_steps = 1;
    o.dit_steps = 1;
    demo::train_demo_model(o);
    o.out_dir = split.string();
    o.whole_tags = false;
    demo::train_demo_model(o);
    // Tags of the 32 captions (write_demo_captions of seed 11 draws several hair colours and both genders).
    std::set<std::string> tags;
    for (const auto& line : demo::read_demo_captions((data / "captions.jsonl").string())) {
        for (const std::string tag :
             {"blue_hair", "red_hair", "1girl", "simple_background", "<appearance>", "</character_1>"}) {
            if (line.text.find(tag) != std::string::npos) {
                tags.insert(tag);
            }
        }
    }
    ASSERT_GE(tags.size(), 4u);
    const auto gemma = engine::GemmaTokenizer::from_folder((whole / "text_encoder").string());
    const auto xlmr = engine::XlmrTokenizer::from_folder((whole / "clip_model").string());
    const auto gemma_split = engine::GemmaTokenizer::from_folder((split / "text_encoder").string());
    // One of the text's tokens is the whole tag (a leading "▁" piece may come before it).
    auto one_piece = [](const auto& tokenizer, const std::string& tag) {
        for (const int64_t id : tokenizer.encode(tag).ids) {
            if (tokenizer.decode({id}) == tag) {
                return true;
            }
        }
        return false;
    };
    int split_somewhere = 0;
    for (const auto& tag : tags) {
        EXPECT_TRUE(one_piece(gemma, tag)) << tag;
        EXPECT_TRUE(one_piece(xlmr, tag)) << tag;
        split_somewhere += one_piece(gemma_split, tag) ? 0 : 1;
    }
    EXPECT_GT(split_somewhere, 0) << "without whole pieces some tag should take several pieces";
    EXPECT_NE(about_text(whole), about_text(split));
    fs::remove_all(data);
    fs::remove_all(whole);
    fs::remove_all(split);
}

// --init-from: the tokenizers, text encoders and VAE are the earlier folder's, unchanged; the transformer starts from
// its weights (the held-out loss starts where the earlier run ended, up to the bf16 rounding of the written weights)
// and the card counts both runs' steps. --vae-from copies only the VAE. EMA changes the written weights, not the
// training: the last weights' loss is the run without EMA's.
TEST(DemoTrainer, ARunContinuesFromAnEarlierFolderAndWritesItsAverage) {
    const fs::path data = fresh_dir("cont-data");
    demo::write_demo_captions(data.string(), 32, 11, 64);
    const fs::path first = fresh_dir("cont-first");
    const fs::path next = fresh_dir("cont-next");
    const fs::path averaged = fresh_dir("cont-ema");
    const fs::path vae_only = fresh_dir("cont-vae");
    demo::DemoTrainOptions o = tiny_options(data / "captions.jsonl", first);
    const demo::DemoTrainReport a = demo::train_demo_model(o);

    demo::DemoTrainOptions c = o;
    c.out_dir = next.string();
    c.init_from = first.string();
    c.dit_steps = 10;
    const demo::DemoTrainReport b = demo::train_demo_model(c);
    EXPECT_TRUE(b.vae_losses.empty()); // no VAE stage
    EXPECT_EQ(b.earlier_dit_steps, 30);
    const auto before = folder_files(first), after = folder_files(next);
    for (const char* part :
         {"vae/diffusion_pytorch_model.safetensors", "vae/config.json", "text_encoder/model.safetensors",
          "text_encoder/tokenizer.model", "clip_model/model.safetensors", "clip_model/sentencepiece.bpe.model"}) {
        ASSERT_TRUE(after.count(part)) << part;
        EXPECT_TRUE(after.at(part) == before.at(part)) << part << " was not copied unchanged";
    }
    // bf16 weights: the loss moves by a few parts in 2^8 of itself, far less than training moved it.
    EXPECT_NEAR(b.eval_before, a.eval_after, 4 * a.eval_after / 256) << a.eval_before;
    const auto card = nlohmann::json::parse(read_bytes(next / "charaforge.json"));
    EXPECT_EQ(card.at("transformer_steps"), 40);
    EXPECT_EQ(card.at("vae_steps"), 12);
    EXPECT_EQ(card.at("text_encoders"),
              nlohmann::json::parse(read_bytes(first / "charaforge.json")).at("text_encoders"));

    demo::DemoTrainOptions e = c;
    e.out_dir = averaged.string();
    e.ema_decay = 0.9;
    const demo::DemoTrainReport m = demo::train_demo_model(e);
    EXPECT_EQ(m.eval_after_raw, b.eval_after); // the same training
    EXPECT_EQ(b.eval_after_raw, b.eval_after); // without EMA the written weights are the last
    EXPECT_NE(m.eval_after, m.eval_after_raw); // with it they are the average
    EXPECT_FALSE(read_bytes(averaged / "transformer/diffusion_pytorch_model.safetensors") ==
                 read_bytes(next / "transformer/diffusion_pytorch_model.safetensors"));

    demo::DemoTrainOptions v = o;
    v.out_dir = vae_only.string();
    v.vae_from = first.string();
    v.dit_steps = 2;
    const demo::DemoTrainReport w = demo::train_demo_model(v);
    EXPECT_TRUE(w.vae_losses.empty());
    EXPECT_TRUE(read_bytes(vae_only / "vae/diffusion_pytorch_model.safetensors") ==
                before.at("vae/diffusion_pytorch_model.safetensors"));
    EXPECT_EQ(nlohmann::json::parse(read_bytes(vae_only / "charaforge.json")).at("vae_steps"), 12);
    EXPECT_TRUE(engine::check_model_folder(vae_only.string()).empty());

    // Refusals, each naming the option.
    auto refused = [](demo::DemoTrainOptions bad, const std::string& expected) {
        try {
            demo::train_demo_model(bad);
            ADD_FAILURE() << "trained with " << expected;
        } catch (const std::invalid_argument& err) {
            EXPECT_NE(std::string(err.what()).find(expected), std::string::npos) << err.what();
        }
    };
    demo::DemoTrainOptions same = c;
    same.out_dir = first.string();
    refused(same, "--init-from and --out must be different folders");
    demo::DemoTrainOptions both = c;
    both.out_dir = fresh_dir("cont-both").string();
    both.vae_from = first.string();
    refused(both, "no --vae-from with it");
    demo::DemoTrainOptions nothing = c;
    nothing.out_dir = fresh_dir("cont-nothing").string();
    nothing.init_from = data.string();
    refused(nothing, "charaforge.json: cannot read");
    demo::DemoTrainOptions other = c;
    other.out_dir = fresh_dir("cont-other").string();
    other.arch.dit_layers = 3;
    refused(other, "(another architecture)");
    demo::DemoTrainOptions no_card = v;
    no_card.out_dir = fresh_dir("cont-nocard").string();
    no_card.vae_from = data.string();
    refused(no_card, "--vae-from: " + (data / "charaforge.json").string() + ": cannot read");
    for (const auto& d : {data, first, next, averaged, vae_only}) {
        fs::remove_all(d);
    }
    for (const char* d : {"cont-both", "cont-nothing", "cont-other", "cont-nocard"}) {
        fs::remove_all(fresh_dir(d));
    }
}

TEST(DemoTrainer, RefusesBadOptionsAndData) {
    const fs::path data = fresh_dir("bad");
    fs::create_directories(data);
    demo::DemoTrainOptions o = tiny_options(data / "missing.jsonl", data / "out");
    try {
        demo::train_demo_model(o);
        FAIL() << "trained without captions";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("missing.jsonl: cannot read"), std::string::npos) << e.what();
    }
    o.dit_steps = 0;
    EXPECT_THROW(demo::train_demo_model(o), std::invalid_argument);
    o.dit_steps = 1;
    auto refused = [&](const std::string& content, const std::string& expected) {
        std::ofstream(data / "captions.jsonl") << content;
        o.captions = (data / "captions.jsonl").string();
        try {
            demo::train_demo_model(o);
            ADD_FAILURE() << "trained on " << content;
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
        }
    };
    refused("{\"index\": 0}\n", "captions.jsonl:1: no \"seed\"");
    refused("{\"index\": 0, \"seed\": 1, \"size\": 60, \"caption\": \"x\"}\n", "captions.jsonl:1: \"size\"");
    refused("{\"index\": 0, \"seed\": 1, \"size\": 64, \"caption\": \"x\"}\n"
            "{\"index\": 1, \"seed\": 1, \"size\": 128, \"caption\": \"x\"}\n",
            "captions.jsonl:2: size 128");
    refused("{\"index\": 0, \"seed\": 1, \"size\": 64, \"caption\": \"x\"}\n", "at least 4 are needed");
    EXPECT_FALSE(fs::exists(data / "out"));
    fs::remove_all(data);
}
