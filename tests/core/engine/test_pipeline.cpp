#include "charaforge/engine/error.h"
#include "charaforge/engine/model_check.h"
#include "charaforge/engine/pipeline.h"
#include "charaforge/engine/request_validation.h"
#include "charaforge/engine/tools.h"
#include "core/engine/test_util.h"
#include "file_util.h"
#include "flow_sampler.h"
#include "latent_preview.h"
#include "model_folder.h"
#include "pipeline_internal.h"
#include "safetensors.h"
#include "test_model.h"
#include "weights.h"

#include <gtest/gtest.h>
#include <torch/version.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <thread>

using namespace charaforge::engine;
using charaforge::test::TempDir;

namespace {

TextEmbedding random_embedding(int64_t len, int64_t dim, int64_t pooled_dim, uint64_t seed) {
    auto gen = at::detail::createCPUGenerator(seed);
    auto f = at::randn({len, dim}, gen);
    auto p = at::randn({pooled_dim}, gen);
    TextEmbedding e;
    e.length = len;
    e.dim = dim;
    e.features.assign(f.data_ptr<float>(), f.data_ptr<float>() + f.numel());
    e.pooled.assign(p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
    return e;
}

class PipelineTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new TempDir();
        make_test_model(dir_->str(), 11);
        RuntimeOptions o;
        o.device = "cpu";
        o.max_batch = 4;
        pipeline_ = Pipeline::open(dir_->str(), o).release();
    }
    static void TearDownTestSuite() {
        delete pipeline_;
        delete dir_;
    }
    GenerationRequest request(uint64_t seed, int64_t cond_len = 4) const {
        const auto c = tiny_nextdit_config();
        GenerationRequest r;
        r.width = 64;
        r.height = 48;
        r.steps = 3;
        r.seed = seed;
        r.cond = random_embedding(cond_len, c.cap_feat_dim, c.clip_text_dim, 100 + cond_len);
        r.uncond = random_embedding(1, c.cap_feat_dim, c.clip_text_dim, 7);
        return r;
    }
    static int max_diff(const Image& a, const Image& b) {
        int d = 0;
        for (std::size_t i = 0; i < a.rgb.size(); ++i)
            d = std::max(d, std::abs(int(a.rgb[i]) - int(b.rgb[i])));
        return d;
    }
    static inline TempDir* dir_ = nullptr;
    static inline Pipeline* pipeline_ = nullptr;
};

} // namespace

TEST_F(PipelineTest, InitialNoiseDependsOnlyOnSeedAndSize) {
    auto a = initial_noise(42, 16, 6, 8);
    auto b = initial_noise(42, 16, 6, 8);
    auto c = initial_noise(43, 16, 6, 8);
    EXPECT_TRUE(torch::equal(a, b));
    EXPECT_FALSE(torch::equal(a, c));
    EXPECT_NEAR(a.std().item<double>(), 1.0, 0.15);
}

namespace {

// What generate hands out for one request: the image, every preview and every checkpoint.
struct Delivered {
    Image image;
    std::vector<Image> previews;
    std::vector<SamplerState> states;
};

std::vector<Delivered> generate_watched(Pipeline& pipeline, const std::vector<GenerationRequest>& requests) {
    std::vector<Delivered> out(requests.size());
    Callbacks cb;
    cb.preview_every = 1;
    cb.on_preview = [&](std::size_t i, int, const Image& img) { out.at(i).previews.push_back(img); };
    cb.checkpoint_every = 1;
    cb.on_checkpoint = [&](std::size_t i, const SamplerState& s) { out.at(i).states.push_back(s); };
    const auto images = pipeline.generate(requests, cb);
    for (std::size_t i = 0; i < images.size(); ++i)
        out[i].image = images[i];
    return out;
}

void expect_same_delivery(const Delivered& alone, const Delivered& in_batch) {
    EXPECT_EQ(alone.image.rgb, in_batch.image.rgb);
    ASSERT_EQ(alone.previews.size(), in_batch.previews.size());
    for (std::size_t k = 0; k < alone.previews.size(); ++k)
        EXPECT_EQ(alone.previews[k].rgb, in_batch.previews[k].rgb) << "preview " << k;
    ASSERT_EQ(alone.states.size(), in_batch.states.size());
    for (std::size_t k = 0; k < alone.states.size(); ++k)
        EXPECT_EQ(alone.states[k].latent, in_batch.states[k].latent) << "checkpoint " << k;
}

} // namespace

TEST_F(PipelineTest, ASeedGivesTheSameImageAloneAndInsideABatchOfFour) {
    // On the CPU each request runs its own transformer forward, with the rows and shapes it has alone
    // (sample_batch): its image, previews and checkpoints are bit-identical alone and inside any batch, whatever
    // BLAS LibTorch multiplies with (OpenBLAS rounds a row of a larger product otherwise).
    auto seeded = request(5);
    seeded.steps = 4;
    seeded.cfg_trunc = 0.1f; // Lumina t of the 4 evaluations: 0, 0.053, 0.14, 0.33: guided, guided, plain, plain
    seeded.renorm_cfg = 1.0f;
    auto plain = request(1, 2);
    plain.guidance = 1.0f; // no uncond row
    auto long_negative = request(2, 6);
    long_negative.uncond = random_embedding(9, tiny_nextdit_config().cap_feat_dim, tiny_nextdit_config().clip_text_dim,
                                            8); // longer than every cond: pads the others' captions in a batch
    auto early_stop = request(3, 3);
    early_stop.cfg_trunc = 0.01f; // guided at the first evaluation only
    for (auto* r : {&plain, &long_negative, &early_stop})
        r->steps = 4;

    const auto alone = generate_watched(*pipeline_, {seeded});
    ASSERT_EQ(alone.size(), 1u);
    EXPECT_EQ(alone[0].image.width, 64);
    EXPECT_EQ(alone[0].image.height, 48);
    EXPECT_EQ(alone[0].previews.size(), 4u);
    EXPECT_EQ(alone[0].states.size(), 3u); // none after the last step
    for (std::size_t at = 0; at < 4; ++at) {
        SCOPED_TRACE("at position " + std::to_string(at));
        std::vector<GenerationRequest> batch{plain, long_negative, early_stop};
        batch.insert(batch.begin() + static_cast<long>(at), seeded);
        const auto out = generate_watched(*pipeline_, batch);
        ASSERT_EQ(out.size(), 4u);
        expect_same_delivery(alone[0], out[at]);
        EXPECT_NE(out[at].image.rgb, out[(at + 1) % 4].image.rgb); // other seeds, other images
    }

    // Resumed from its checkpoint inside a batch of resumed requests: the uninterrupted image.
    auto resumed = seeded;
    resumed.resume = alone[0].states[1]; // after step 2
    auto mate = long_negative;
    mate.resume = alone[0].states[1];
    const auto out = pipeline_->generate({mate, resumed});
    EXPECT_EQ(out[1].rgb, alone[0].image.rgb);
}

// Text prompts of other lengths in the batch change nothing either: each text is encoded alone ([1, its tokens]).
// Two fresh pipelines, so that no embedding comes from the other run's cache.
TEST(PipelinePrompts, APromptGivesTheSameImageAloneAndInsideABatchOfPrompts) {
    TempDir dir;
    make_test_model(dir.str(), 13);
    RuntimeOptions o;
    o.device = "cpu";
    o.max_batch = 4;
    auto prompted = [](const std::string& prompt, const std::string& negative, uint64_t seed) {
        GenerationRequest r;
        r.width = r.height = 32;
        r.steps = 2;
        r.seed = seed;
        r.prompt = prompt;
        r.negative_prompt = negative;
        return r;
    };
    const auto r = prompted("1girl, red hair", "lowres", 3);
    const auto alone = Pipeline::open(dir.str(), o)->generate({r});
    const auto batch =
        Pipeline::open(dir.str(), o)
            ->generate({prompted("<character_1><gender>1boy</gender><appearance>short hair, blue eyes</appearance>"
                                 "</character_1>",
                                 "", 1),
                        prompted("sky", "lowres, bad hands, blurry, watermark, signature, text", 2), r,
                        prompted("two cats on a long windowsill at night", "", 4)});
    ASSERT_EQ(batch.size(), 4u);
    EXPECT_EQ(batch[2].rgb, alone[0].rgb);
    EXPECT_NE(batch[1].rgb, alone[0].rgb);
}

TEST_F(PipelineTest, GenerationIsDeterministicAndSeedsDiffer) {
    auto a = pipeline_->generate({request(9)});
    auto b = pipeline_->generate({request(9)});
    auto c = pipeline_->generate({request(10)});
    EXPECT_EQ(a[0].rgb, b[0].rgb);
    EXPECT_NE(a[0].rgb, c[0].rgb);
}

TEST_F(PipelineTest, CfgTruncationZeroEqualsNoGuidance) {
    auto trunc = request(4);
    trunc.cfg_trunc = 0.0f; // t < 0 never holds: the conditional branch alone
    auto plain = request(4);
    plain.guidance = 1.0f;
    auto guided = request(4);
    auto out = pipeline_->generate({trunc, plain, guided});
    EXPECT_EQ(out[0].rgb, out[1].rgb);
    EXPECT_NE(out[0].rgb, out[2].rgb);
}

TEST_F(PipelineTest, DpmSolverRequestsSampleOnTheirOwnGridWithOneEvaluationPerStep) {
    auto dpm = request(11);
    dpm.solver = SolverKind::DpmMultistep;
    dpm.steps = 6;
    auto euler = dpm;
    euler.solver = SolverKind::Euler;
    std::vector<int> progress;
    Callbacks cb;
    cb.on_step = [&](const StepProgress& p) { progress.push_back(p.step); };
    const auto a = pipeline_->generate({dpm}, cb);
    EXPECT_EQ(progress, (std::vector<int>{1, 2, 3, 4, 5, 6}));
    const auto b = pipeline_->generate({dpm});
    const auto e = pipeline_->generate({euler});
    EXPECT_EQ(a[0].rgb, b[0].rgb);
    EXPECT_GT(max_diff(a[0], e[0]), 0); // another integrator on another grid
}

TEST_F(PipelineTest, MixedSizesAreGroupedAndReturnedInOrder) {
    auto a = request(1);
    auto b = request(2);
    b.width = 32;
    b.height = 80;
    auto c = request(3);
    std::vector<std::size_t> finished;
    Callbacks cb;
    cb.on_image = [&](std::size_t i, const Image&) { finished.push_back(i); };
    auto out = pipeline_->generate({a, b, c}, cb);
    EXPECT_EQ(out[1].width, 32);
    EXPECT_EQ(out[1].height, 80);
    EXPECT_EQ(out[0].width, 64);
    EXPECT_EQ(finished.size(), 3u);
    // Same image as when sampled alone.
    EXPECT_EQ(out[1].rgb, pipeline_->generate({b})[0].rgb);
}

TEST_F(PipelineTest, ProgressIsReportedAndCancelStopsBetweenSteps) {
    auto r = request(1);
    r.steps = 5;
    int steps = 0;
    Callbacks cb;
    cb.on_step = [&](const StepProgress& p) {
        ++steps;
        EXPECT_EQ(p.total_steps, 5);
    };
    pipeline_->generate({r}, cb);
    EXPECT_EQ(steps, 5);
    steps = 0;
    cb.should_abort = [&] { return steps >= 2; };
    EXPECT_THROW(pipeline_->generate({r}, cb), Cancelled);
    EXPECT_EQ(steps, 2);
}

TEST_F(PipelineTest, BadRequestsAreRejectedWithTheirIndex) {
    auto r = request(1);
    r.width = 50;
    try {
        pipeline_->generate({request(1), r});
        FAIL();
    } catch (const EngineError& e) {
        EXPECT_NE(std::string(e.what()).find("request 1"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("multiple of 16"), std::string::npos) << e.what();
    }
}

TEST_F(PipelineTest, PromptsAreEncodedAndGiveTheSameImageAsTheirEmbeddings) {
    GenerationRequest r;
    r.width = r.height = 32;
    r.steps = 2;
    r.seed = 8;
    r.prompt = "<character_1>\n<gender>1girl</gender>\n</character_1>";
    r.negative_prompt = "lowres";
    std::vector<std::string> warnings;
    Callbacks cb;
    cb.on_warning = [&](std::size_t, const std::string& w) { warnings.push_back(w); };
    auto from_text = pipeline_->generate({r}, cb);
    auto [cond, uncond] = pipeline_->encode(r);
    EXPECT_EQ(cond.dim, tiny_nextdit_config().cap_feat_dim);
    EXPECT_GT(cond.length, 5); // system prompt + XML
    auto pre = r;
    pre.cond = cond;
    pre.uncond = uncond;
    pre.prompt = "ignored when embeddings are given";
    EXPECT_EQ(pipeline_->generate({pre})[0].rgb, from_text[0].rgb);
    EXPECT_TRUE(warnings.empty());
    // A prompt longer than Gemma's 512-token limit is cut, and the user is told.
    auto longer = r;
    for (int i = 0; i < 400; ++i)
        longer.prompt += " long_hair, blue_eyes";
    pipeline_->generate({longer}, cb);
    ASSERT_FALSE(warnings.empty());
    EXPECT_NE(warnings.front().find("512 Gemma tokens"), std::string::npos) << warnings.front();
    auto [g, j] = pipeline_->tokenize("1girl");
    EXPECT_EQ(g.front(), 2); // <bos>
    EXPECT_EQ(j.front(), 0); // <s>
    EXPECT_EQ(j.back(), 2);  // </s>
}

TEST(ModelFolder, PromptsNeedTextEncoders) {
    TempDir dir;
    make_test_model(dir.str(), 1);
    charaforge::test::remove_tree(dir.path() / "text_encoder");
    charaforge::test::remove_tree(dir.path() / "clip_model");
    RuntimeOptions o;
    o.device = "cpu";
    auto p = Pipeline::open(dir.str(), o);
    EXPECT_FALSE(p->has_text_encoders());
    GenerationRequest r;
    r.width = r.height = 32;
    r.steps = 1;
    r.prompt = "1girl";
    try {
        p->generate({r});
        FAIL();
    } catch (const EngineError& e) {
        EXPECT_NE(std::string(e.what()).find("text encoders"), std::string::npos) << e.what();
    }
}

TEST(ModelFolder, MissingComponentsAreListedWithWhereWeLooked) {
    TempDir dir;
    std::filesystem::create_directories(dir.path() / "transformer");
    try {
        Pipeline::open(dir.str());
        FAIL();
    } catch (const EngineError& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("transformer weights"), std::string::npos) << msg;
        EXPECT_NE(msg.find("VAE weights"), std::string::npos) << msg;
        EXPECT_NE(msg.find(dir.str()), std::string::npos) << msg;
    }
    EXPECT_THROW(Pipeline::open(dir.file("nope")), EngineError);
}

// The studio checks a folder before it replaces a working model: every missing part is named with where it
// was looked for (the text encoders and tokenizers too, which prompts need), and no weights are loaded.
TEST(ModelFolder, TheCheckNamesEveryPartPromptsNeed) {
    TempDir dir;
    make_test_model(dir.str(), 1);
    EXPECT_EQ(check_model_folder(dir.str()), "");
    charaforge::test::remove_tree(dir.path() / "clip_model");
    std::remove((dir.path() / "text_encoder" / "tokenizer.model").c_str());
    write_file_atomic((dir.path() / "text_encoder" / "tokenizer.json").string(), "{}");
    const std::string msg = check_model_folder(dir.str());
    EXPECT_NE(msg.find("Jina CLIP v2 text encoder: no .safetensors in " + (dir.path() / "clip_model").string()),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find("Jina CLIP v2 tokenizer"), std::string::npos) << msg;
    EXPECT_NE(msg.find("Gemma3 tokenizer: no tokenizer.model"), std::string::npos) << msg;
    EXPECT_NE(msg.find("tokenizer.json is there"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("transformer weights"), std::string::npos) << msg;
    EXPECT_NO_THROW(locate_model(dir.str())) << "the pipeline's own check still allows embeddings-only folders";

    TempDir empty;
    std::filesystem::create_directories(empty.path() / "transformer");
    const std::string none = check_model_folder(empty.str());
    for (const char* part : {"transformer weights", "VAE weights", "Gemma3 text encoder", "Jina CLIP v2 text encoder"})
        EXPECT_NE(none.find(part), std::string::npos) << part << " in " << none;
    EXPECT_NE(check_model_folder(empty.file("nope")).find("does not exist"), std::string::npos);
}

TEST(ModelFolder, ComfyUiSingleFilesAreFoundByTheirKeys) {
    TempDir src, comfy;
    make_test_model(src.str(), 3);
    std::filesystem::create_directories(comfy.path() / "diffusion_models");
    std::filesystem::create_directories(comfy.path() / "vae");
    auto copy = [](const std::filesystem::path& from, const std::filesystem::path& to) {
        write_file_atomic(to.string(), read_file(from.string()));
    };
    copy(src.path() / "transformer" / "diffusion_pytorch_model.safetensors",
         comfy.path() / "diffusion_models" / "NewBie-Image-Exp0.1-bf16.safetensors");
    copy(src.path() / "vae" / "diffusion_pytorch_model.safetensors", comfy.path() / "vae" / "flux_vae.safetensors");
    auto info = inspect_checkpoint(comfy.str());
    EXPECT_NE(info.find("comfyui-files"), std::string::npos) << info;
    EXPECT_NE(info.find("NewBie-Image-Exp0.1-bf16.safetensors"), std::string::npos) << info;
    auto tensors =
        inspect_checkpoint((comfy.path() / "diffusion_models" / "NewBie-Image-Exp0.1-bf16.safetensors").string());
    EXPECT_NE(tensors.find("kind: NewBie NextDiT transformer"), std::string::npos);
    EXPECT_NE(tensors.find("cap_embedder.1.weight\tBF16\t[48, 32]"), std::string::npos) << tensors;
    RuntimeOptions o;
    o.device = "cpu";
    EXPECT_NO_THROW(Pipeline::open(comfy.str(), o));
}

TEST(ModelFolder, TestModelIsMarked) {
    TempDir dir;
    EXPECT_FALSE(is_test_model(dir.str()));
    make_test_model(dir.str(), 0);
    EXPECT_TRUE(is_test_model(dir.str()));
}

// --- Resume, checkpoints, previews ---------------------------------------------------------------------

namespace {

struct Recorded {
    std::size_t index;
    SamplerState state;
};

} // namespace

TEST_F(PipelineTest, ResumingFromAnAbortCheckpointGivesTheUninterruptedImage) {
    for (auto solver : {SolverKind::Euler, SolverKind::Midpoint}) {
        SCOPED_TRACE(solver == SolverKind::Euler ? "euler" : "midpoint");
        std::vector<GenerationRequest> batch{request(21), request(22, 6)};
        for (auto& r : batch) {
            r.steps = 5;
            r.solver = solver;
        }
        const auto uninterrupted = pipeline_->generate(batch);

        // Checkpoints every 2 steps; the user cancels during step 3.
        std::vector<Recorded> saved;
        int steps = 0;
        Callbacks cb;
        cb.checkpoint_every = 2;
        cb.on_checkpoint = [&](std::size_t i, const SamplerState& s) { saved.push_back({i, s}); };
        cb.on_step = [&](const StepProgress&) { ++steps; };
        cb.should_abort = [&] { return steps >= 3; };
        std::size_t delivered = 0;
        cb.on_image = [&](std::size_t, const Image&) { ++delivered; };
        EXPECT_THROW(pipeline_->generate(batch, cb), Cancelled);
        EXPECT_EQ(delivered, 0u);
        // The periodic checkpoint of step 2, then the abort checkpoint of step 3, for both requests.
        ASSERT_EQ(saved.size(), 4u);
        const std::vector<std::pair<std::size_t, int>> expected{{0, 2}, {1, 2}, {0, 3}, {1, 3}};
        for (std::size_t k = 0; k < saved.size(); ++k) {
            EXPECT_EQ(saved[k].index, expected[k].first) << k;
            EXPECT_EQ(saved[k].state.step, expected[k].second) << k;
            EXPECT_EQ(saved[k].state.channels, 16);
            EXPECT_EQ(saved[k].state.height, 6);
            EXPECT_EQ(saved[k].state.width, 8);
            EXPECT_EQ(saved[k].state.latent.size(), 16u * 6u * 8u);
        }
        EXPECT_NE(saved[0].state.latent, saved[2].state.latent); // the abort state is one step further

        // Resuming from either checkpoint finishes with the uninterrupted images, byte for byte (same batch
        // size, so the same kernels).
        for (std::size_t from : {std::size_t{0}, std::size_t{2}}) {
            auto resumed = batch;
            resumed[0].resume = saved[from].state;
            resumed[1].resume = saved[from + 1].state;
            std::vector<int> progress;
            Callbacks rcb;
            rcb.on_step = [&](const StepProgress& p) { progress.push_back(p.step); };
            const auto out = pipeline_->generate(resumed, rcb);
            ASSERT_EQ(out.size(), 2u);
            EXPECT_EQ(out[0].rgb, uninterrupted[0].rgb) << "from step " << saved[from].state.step;
            EXPECT_EQ(out[1].rgb, uninterrupted[1].rgb) << "from step " << saved[from].state.step;
            EXPECT_EQ(progress.front(), saved[from].state.step + 1); // progress counts on from the resume point
            EXPECT_EQ(progress.back(), 5);
        }
    }
}

TEST_F(PipelineTest, ResumedRequestsAreSampledApartFromFreshOnesAndGiveTheirImages) {
    auto a = request(31), b = request(32, 5), c = request(33), d = request(34, 2);
    for (auto* r : {&a, &b, &c, &d})
        r->steps = 4;
    // b and d were each sampled alone and saved after every step.
    auto states_of = [&](const GenerationRequest& r) {
        std::vector<SamplerState> states;
        Callbacks cb;
        cb.checkpoint_every = 1;
        cb.on_checkpoint = [&](std::size_t, const SamplerState& s) { states.push_back(s); };
        auto img = pipeline_->generate({r}, cb);
        EXPECT_EQ(states.size(), 3u); // steps 1, 2, 3: none after the final step
        return std::make_pair(img[0], states);
    };
    const auto [b_image, b_states] = states_of(b);
    const auto [d_image, d_states] = states_of(d);
    const auto ac = pipeline_->generate({a, c});
    auto b_resumed = b, d_resumed = d;
    b_resumed.resume = b_states[1]; // after step 2
    d_resumed.resume = d_states[2]; // after step 3

    std::vector<StepProgress> progress;
    Callbacks cb;
    cb.on_step = [&](const StepProgress& p) { progress.push_back(p); };
    const auto out = pipeline_->generate({a, b_resumed, c, d_resumed}, cb);
    ASSERT_EQ(out.size(), 4u);
    EXPECT_EQ(out[0].rgb, ac[0].rgb);
    EXPECT_EQ(out[2].rgb, ac[1].rgb);
    EXPECT_EQ(out[1].rgb, b_image.rgb);
    EXPECT_EQ(out[3].rgb, d_image.rgb);
    // Three batches: {a, c} 4 steps from 0, {b} 2 steps from 2, {d} 1 step from 3.
    ASSERT_EQ(progress.size(), 4u + 2u + 1u);
    EXPECT_EQ(progress[0].first_request, 0u);
    EXPECT_EQ(progress[0].request_count, 2u);
    EXPECT_EQ(progress[4].first_request, 1u);
    EXPECT_EQ(progress[4].request_count, 1u);
    EXPECT_EQ(progress[4].step, 3);
    EXPECT_EQ(progress[6].first_request, 3u);
    EXPECT_EQ(progress[6].step, 4);
}

TEST_F(PipelineTest, AnAbortBeforeTheFirstStepCheckpointsTheStartingState) {
    auto fresh = request(41);
    auto resumed = request(42);
    SamplerState st;
    st.step = 1;
    st.channels = 16;
    st.height = 6;
    st.width = 8;
    for (int i = 0; i < 16 * 6 * 8; ++i)
        st.latent.push_back(0.01f * static_cast<float>(i % 97) - 0.5f);
    resumed.resume = st;
    std::vector<Recorded> saved;
    Callbacks cb;
    cb.should_abort = [] { return true; };
    cb.on_checkpoint = [&](std::size_t i, const SamplerState& s) { saved.push_back({i, s}); };
    EXPECT_THROW(pipeline_->generate({fresh, resumed}, cb), Cancelled);
    // Only the first batch ran (the fresh request, step 0): its state is the seed's noise (fp32 runtime).
    ASSERT_EQ(saved.size(), 1u);
    EXPECT_EQ(saved[0].index, 0u);
    EXPECT_EQ(saved[0].state.step, 0);
    auto noise = initial_noise(41, 16, 6, 8).contiguous();
    EXPECT_EQ(saved[0].state.latent,
              std::vector<float>(noise.data_ptr<float>(), noise.data_ptr<float>() + noise.numel()));
    saved.clear();
    EXPECT_THROW(pipeline_->generate({resumed}, cb), Cancelled);
    ASSERT_EQ(saved.size(), 1u);
    EXPECT_EQ(saved[0].state.step, 1);
    EXPECT_EQ(saved[0].state.latent, st.latent);
}

TEST_F(PipelineTest, AnAbortAfterTheFinalStepStillDeliversTheImages) {
    auto r = request(43);
    r.steps = 4;
    const auto plain = pipeline_->generate({r});
    int steps = 0;
    std::vector<int> checkpoint_steps;
    Callbacks cb;
    cb.on_step = [&](const StepProgress&) { ++steps; };
    cb.should_abort = [&] { return steps >= 4; };
    cb.checkpoint_every = 2;
    cb.on_checkpoint = [&](std::size_t, const SamplerState& s) { checkpoint_steps.push_back(s.step); };
    const auto out = pipeline_->generate({r}, cb);
    EXPECT_EQ(out[0].rgb, plain[0].rgb);
    EXPECT_EQ(checkpoint_steps, std::vector<int>{2}); // none for step 4: nothing is left to resume
}

TEST_F(PipelineTest, BadResumeStatesAreRejectedWithTheirIndex) {
    SamplerState good;
    good.step = 1;
    good.channels = 16;
    good.height = 6; // 48 / 8
    good.width = 8;  // 64 / 8
    good.latent.assign(16 * 6 * 8, 0.0f);
    auto with = [&](auto change) {
        auto r = request(1);
        r.resume = good;
        change(*r.resume);
        return r;
    };
    EXPECT_NO_THROW(pipeline_->generate({request(1), with([](SamplerState&) {})}));
    const std::vector<std::pair<std::string, GenerationRequest>> bad{
        {"channels", with([](SamplerState& s) { s.channels = 4; })},
        {"height", with([](SamplerState& s) { s.height = 8; })},
        {"width", with([](SamplerState& s) { s.width = 6; })},
        {"values", with([](SamplerState& s) { s.latent.pop_back(); })},
        {"step = steps", with([](SamplerState& s) { s.step = 3; })},
        {"negative step", with([](SamplerState& s) { s.step = -1; })},
    };
    for (const auto& [what, r] : bad) {
        try {
            pipeline_->generate({request(1), request(2), request(3), r});
            ADD_FAILURE() << what << " was accepted";
        } catch (const EngineError& e) {
            EXPECT_NE(std::string(e.what()).find("pipeline: request 3: resume state"), std::string::npos)
                << what << ": " << e.what();
        }
    }
}

TEST_F(PipelineTest, PreviewsComeAtTheirStepsAtLatentResolution) {
    std::vector<GenerationRequest> batch{request(51), request(52)};
    for (auto& r : batch)
        r.steps = 5;
    std::vector<std::tuple<std::size_t, int, Image>> previews;
    Callbacks cb;
    cb.preview_every = 2;
    cb.on_preview = [&](std::size_t i, int step, const Image& img) { previews.emplace_back(i, step, img); };
    const auto images = pipeline_->generate(batch, cb);
    ASSERT_EQ(previews.size(), 4u);
    const std::vector<std::pair<std::size_t, int>> expected{{0, 2}, {1, 2}, {0, 4}, {1, 4}};
    for (std::size_t k = 0; k < previews.size(); ++k) {
        const auto& [i, step, img] = previews[k];
        EXPECT_EQ(i, expected[k].first);
        EXPECT_EQ(step, expected[k].second);
        EXPECT_EQ(img.width, 8);
        EXPECT_EQ(img.height, 6);
        EXPECT_EQ(img.rgb.size(), 8u * 6u * 3u);
    }
    EXPECT_NE(std::get<2>(previews[0]).rgb, std::get<2>(previews[2]).rgb);
    // Previews only watch: the images are those of a run without them.
    const auto plain = pipeline_->generate(batch);
    EXPECT_EQ(images[0].rgb, plain[0].rgb);
    EXPECT_EQ(images[1].rgb, plain[1].rgb);
}

TEST_F(PipelineTest, APreviewIsTheProjectedDenoisedEstimateOfItsStep) {
    // Euler: x_3 = x_2 + (t_3 - t_2) v_2, so the velocity of step 3 and the denoised estimate
    // x_2 + (1 - t_2) v_2 follow from the checkpoints of steps 2 and 3 (spec §5.1).
    auto r = request(61);
    r.steps = 4;
    std::map<int, SamplerState> states;
    Image preview;
    Callbacks cb;
    cb.checkpoint_every = 1;
    cb.on_checkpoint = [&](std::size_t, const SamplerState& s) { states[s.step] = s; };
    cb.preview_every = 3;
    cb.on_preview = [&](std::size_t, int step, const Image& img) {
        EXPECT_EQ(step, 3);
        preview = img;
    };
    pipeline_->generate({r}, cb);
    ASSERT_EQ(preview.rgb.size(), 8u * 6u * 3u);
    auto latent = [&](int step) {
        return torch::from_blob(states.at(step).latent.data(), {1, 16, 6, 8}, torch::kFloat32);
    };
    const auto grid = shifted_time_grid(4, r.shift);
    const auto x1 = latent(2) + (1.0f - grid[2]) / (grid[3] - grid[2]) * (latent(3) - latent(2)); // [1, 16, 6, 8]
    c10::InferenceMode guard;
    AutoencoderKL vae(tiny_vae_config(), torch::TensorOptions().dtype(torch::kFloat32));
    nn::init_random(*vae, 12, 0.05); // the fixture's VAE (stored in fp32, so the same weights)
    auto expected = (project_latent_rgb(fit_latent_rgb_projection(vae), x1).clamp(0, 1)[0] * 255.0)
                        .round()
                        .permute({1, 2, 0})
                        .contiguous(); // [6, 8, 3]
    auto got = torch::from_blob(preview.rgb.data(), {6, 8, 3}, torch::kUInt8).to(torch::kFloat32);
    // The reconstruction above rounds differently from the sampler's own arithmetic: within one level.
    EXPECT_LE((got - expected).abs().max().item<float>(), 1.0f);
    EXPECT_GT(expected.std().item<float>(), 5.0f); // not a flat image, where anything would match
}

TEST(PipelinePreview, TheLeastSquaresFitRecoversAnAffineMap) {
    torch::manual_seed(5);
    auto w = torch::randn({3, 16}), b = torch::randn({3});
    auto z = torch::randn({2, 16, 8, 8});
    auto rgb = at::conv2d(z, w.view({3, 16, 1, 1}), b); // [2, 3, 8, 8]
    const auto p = fit_projection(z, rgb);
    EXPECT_TRUE(torch::allclose(p.weight, w, 1e-4, 1e-4));
    EXPECT_TRUE(torch::allclose(p.bias, b, 1e-4, 1e-4));
    EXPECT_TRUE(torch::allclose(project_latent_rgb(p, z), rgb, 1e-4, 1e-4));
}

TEST(PipelinePreview, TheFittedProjectionPredictsThePooledDecodeOfHeldOutLatents) {
    c10::InferenceMode guard;
    AutoencoderKL vae(tiny_vae_config(), torch::TensorOptions().dtype(torch::kFloat32));
    nn::init_random(*vae, 12, 0.05); // the VAE of the fixture's test model
    const auto p = fit_latent_rgb_projection(vae);
    ASSERT_EQ(p.weight.sizes(), (std::vector<int64_t>{3, 16}));
    ASSERT_EQ(p.bias.sizes(), (std::vector<int64_t>{3}));
    // Held-out latents: another seed, another coarseness.
    const auto z = smooth_latents(4, 16, 24, 4242, 3);
    const auto target = pooled_decode(vae, z); // [4, 3, 24, 24]
    const double sse = (project_latent_rgb(p, z) - target).pow(2).sum().item<double>();
    // The best any affine map can do on these very latents (fitted on them: an oracle).
    const double sse_oracle = (project_latent_rgb(fit_projection(z, target), z) - target).pow(2).sum().item<double>();
    const double sse_mean = (target - target.mean({0, 2, 3}, true)).pow(2).sum().item<double>();
    const double sse_zero = target.pow(2).sum().item<double>();
    std::printf("preview fit on held-out latents: R^2 %.3f, oracle affine R^2 %.3f; residual %.4g, mean-colour "
                "predictor %.4g, zero predictor %.4g\n",
                1 - sse / sse_mean, 1 - sse_oracle / sse_mean, sse, sse_mean, sse_zero);
    // The random tiny VAE is far from affine (the oracle explains 40% of the variance; a trained VAE is much
    // closer). Measured: R^2 0.33, residual 1.11 x the oracle's, a tenth of the zero predictor's.
    EXPECT_LT(sse, 0.8 * sse_mean);
    EXPECT_LT(sse, 1.25 * sse_oracle);
    EXPECT_LT(sse, 0.2 * sse_zero);
}

// --- Out of memory -------------------------------------------------------------------------------------

TEST(PipelineOutOfMemory, AllocationFailuresAreRecognised) {
    auto caught = [](auto&& fn) -> std::exception_ptr {
        try {
            fn();
        } catch (...) {
            return std::current_exception();
        }
        return nullptr;
    };
    auto classify = [](std::exception_ptr p) {
        try {
            std::rethrow_exception(p);
        } catch (const std::exception& e) {
            return is_out_of_memory(e);
        }
    };
    auto detail = [](std::exception_ptr p) {
        try {
            std::rethrow_exception(p);
        } catch (const std::exception& e) {
            return allocation_detail(e);
        }
    };
    const auto cuda = caught([] {
        TORCH_CHECK(false, "CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 79.10 GiB");
    });
    EXPECT_TRUE(classify(cuda));
    EXPECT_EQ(detail(cuda), "2.00 GiB");
    const auto typed = caught([] { TORCH_CHECK_WITH(OutOfMemoryError, false, "allocation on device 0 failed"); });
    EXPECT_TRUE(classify(typed));
    const auto cpu = caught([] {
        TORCH_CHECK(false, "DefaultCPUAllocator: can't allocate memory: you tried to allocate 281474976710656 "
                           "bytes. Error code 12 (Cannot allocate memory)");
    });
    EXPECT_TRUE(classify(cpu));
    EXPECT_EQ(detail(cpu), "281474976710656 bytes");
    EXPECT_TRUE(classify(
        caught([] { TORCH_CHECK(false, "DefaultCPUAllocator: not enough memory: you tried to allocate 64 bytes."); })));
    EXPECT_TRUE(classify(caught([] { TORCH_CHECK(false, "CUDA error: out of memory"); })));
    EXPECT_TRUE(classify(caught([] { TORCH_CHECK(false, "CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling"); })));
    EXPECT_TRUE(classify(caught([] { throw std::bad_alloc(); })));
    // Not allocation failures: other torch errors, and errors that merely mention memory.
    EXPECT_FALSE(classify(caught([] { TORCH_CHECK(false, "shape '[2, 3]' is invalid for input of size 5"); })));
    EXPECT_FALSE(classify(caught([] { throw EngineError("pipeline: out of memory (already converted)"); })));
    EXPECT_FALSE(classify(caught([] { throw std::runtime_error("out of memory"); })));
    EXPECT_EQ(detail(caught([] { TORCH_CHECK(false, "CUDA error: out of memory"); })), "");
}

TEST(PipelineOutOfMemory, TheMessageSaysWhatRanOutAndWhatToLower) {
    EXPECT_EQ(out_of_memory_message("cuda:0", BatchStage::Sampling, 4, 1024, 1024, 28, true, "2.00 GiB"),
              "pipeline: out of memory on cuda:0 sampling 4 images at 1024x1024 (28 steps; tried to allocate 2.00 "
              "GiB): lower the batch size or the resolution, or enable text-encoder offload");
    EXPECT_EQ(out_of_memory_message("cpu", BatchStage::Decoding, 1, 512, 768, 28, false, ""),
              "pipeline: out of memory on cpu decoding 1 image at 512x768: lower the resolution");
}

TEST_F(PipelineTest, AHostAllocationFailureBecomesOutOfMemoryAndThePipelineRecovers) {
    // 2^46 fp32 values are 256 TiB: more than x86-64's user address space, so LibTorch's CPU allocator fails at
    // once whatever the overcommit policy, without touching any memory. Requests are limited to 8192 pixels a
    // side (validate_request), so the failing allocation is made during a sampler step, where the sampler's
    // own would fail.
    Callbacks cb;
    cb.on_step = [](const StepProgress&) { (void)torch::empty({int64_t{1} << 46}, torch::kFloat32); };
    try {
        pipeline_->generate({request(71)}, cb);
        FAIL() << "no exception";
    } catch (const OutOfMemory& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("pipeline: out of memory on cpu sampling 1 image at 64x48 (3 steps"), std::string::npos)
            << msg;
        EXPECT_NE(msg.find("lower the batch size or the resolution"), std::string::npos) << msg;
    }
    // A size past the limit is refused before any allocation.
    auto huge = request(71);
    huge.width = huge.height = 16777216;
    EXPECT_THROW(pipeline_->generate({huge}), EngineError);
    // Nothing of the failed batch is left behind: the next run works and gives the usual image.
    const auto again = pipeline_->generate({request(72)});
    EXPECT_EQ(again[0].rgb.size(), 64u * 48u * 3u);
    EXPECT_EQ(again[0].rgb, pipeline_->generate({request(72)})[0].rgb);
}

// A decode that runs out of memory is retried after the allocator's cache is freed; it is never a reason to
// split the batch, and when it fails for good the error says it was the decode of one image.
TEST_F(PipelineTest, ADecodeOutOfMemoryIsRetriedAndNeverBlamedOnTheBatch) {
    const auto reference = pipeline_->generate({request(81), request(82)});
    inject_decode_out_of_memory_for_tests(1);
    const auto retried = pipeline_->generate({request(81), request(82)});
    ASSERT_EQ(retried.size(), 2u);
    EXPECT_EQ(retried[0].rgb, reference[0].rgb);
    EXPECT_EQ(retried[1].rgb, reference[1].rgb);

    // Twice in a row for one image, on the CPU (no GPU to fall back from): OutOfMemory marked as a decode
    // failure of one image, after the first image of the batch was delivered.
    std::vector<std::size_t> delivered;
    Callbacks cb;
    cb.on_image = [&](std::size_t i, const Image&) { delivered.push_back(i); };
    bool threw = false;
    try {
        cb.on_image = [&](std::size_t i, const Image&) {
            delivered.push_back(i);
            inject_decode_out_of_memory_for_tests(2); // the next image's decode fails twice
        };
        pipeline_->generate({request(81), request(82)}, cb);
    } catch (const OutOfMemory& e) {
        threw = true;
        EXPECT_TRUE(e.during_decoding());
        const std::string msg = e.what();
        EXPECT_NE(msg.find("out of memory on cpu decoding 1 image at 64x48"), std::string::npos) << msg;
        EXPECT_NE(msg.find("lower the resolution"), std::string::npos) << msg;
        EXPECT_EQ(msg.find("batch size"), std::string::npos) << msg;
    }
    inject_decode_out_of_memory_for_tests(0);
    EXPECT_TRUE(threw);
    EXPECT_EQ(delivered, (std::vector<std::size_t>{0}));
    // A sampling failure is still one of the batch.
    try {
        Callbacks huge;
        huge.on_step = [](const StepProgress&) { (void)torch::empty({int64_t{1} << 46}, torch::kFloat32); };
        pipeline_->generate({request(81)}, huge);
        FAIL() << "no exception";
    } catch (const OutOfMemory& e) {
        EXPECT_FALSE(e.during_decoding());
    }
}

// --- Memory reports and batch estimate --------------------------------------------------------------------

TEST(PipelineMemory, TheCpuReportSeesThisProcessGrow) {
    const auto before = memory_report("cpu");
    EXPECT_EQ(before.device, "cpu");
    EXPECT_FALSE(before.gpu);
    EXPECT_GT(before.total, int64_t{64} << 20);
    EXPECT_GT(before.free, 0);
    EXPECT_LE(before.free, before.total);
    EXPECT_GT(before.process_resident, 0);
    // 256 MiB written (so resident, not just reserved) show up in the process's resident set.
    auto block = torch::ones({int64_t{64} << 20}, torch::kFloat32);
    const auto after = memory_report("cpu");
    EXPECT_GE(after.process_resident - before.process_resident, int64_t{200} << 20);
    EXPECT_GT(block.sum().item<double>(), 0.0);
}

TEST(PipelineMemory, UnknownDevicesGiveAnEmptyReportNamedAsAsked) {
    for (const std::string d : {"tpu", "cuda:x", "cuda:", "cuda:99", ""}) {
        const auto r = memory_report(d);
        EXPECT_EQ(r.device, d);
        EXPECT_FALSE(r.gpu);
        EXPECT_EQ(r.total, 0) << d;
        EXPECT_EQ(r.allocated, 0) << d;
    }
    EXPECT_EQ(cuda_device_count(), static_cast<int>(torch::cuda::device_count()));
    if (cuda_device_count() == 0) {
        EXPECT_EQ(memory_report("cuda").device, "cuda");
        EXPECT_EQ(memory_report("auto").device, "cpu");
    }
}

TEST_F(PipelineTest, TheMemoryReportCanBeReadWhileAnotherThreadSamples) {
    std::atomic<bool> done{false};
    std::atomic<int> reads{0}, bad{0};
    std::thread monitor([&] {
        while (!done) {
            const auto r = memory_report(pipeline_->device());
            if (r.total <= 0 || r.process_resident <= 0)
                ++bad;
            (void)pipeline_->component_bytes();
            ++reads;
        }
    });
    auto r = request(81);
    r.steps = 6;
    pipeline_->generate({r, request(82)});
    done = true;
    monitor.join();
    EXPECT_GT(reads.load(), 0);
    EXPECT_EQ(bad.load(), 0);
}

TEST_F(PipelineTest, ComponentBytesAreTheLoadedWeights) {
    EXPECT_EQ(pipeline_->device(), "cpu");
    // On the CPU every component is fp32: 4 bytes for each value stored in its file.
    auto values_in = [](const std::filesystem::path& file) {
        int64_t n = 0;
        const SafetensorsFile f(file.string());
        for (const auto& t : f.tensors())
            n += t.numel();
        return n;
    };
    std::map<std::string, int64_t> bytes;
    for (const auto& [name, b] : pipeline_->component_bytes())
        bytes[name] = b;
    ASSERT_EQ(bytes.size(), 4u);
    EXPECT_EQ(bytes["transformer"],
              4 * values_in(dir_->path() / "transformer" / "diffusion_pytorch_model.safetensors"));
    EXPECT_EQ(bytes["vae"], 4 * values_in(dir_->path() / "vae" / "diffusion_pytorch_model.safetensors"));
    EXPECT_GT(bytes["text_encoder"], 0);
    EXPECT_GT(bytes["clip_model"], 0);
    // On the CPU the batch is the user's choice: max_batch whatever the size.
    EXPECT_EQ(pipeline_->suggest_batch(4096, 4096, true), 4);
    EXPECT_NO_THROW(pipeline_->release_cached_memory());
}

TEST(PipelineMemory, TheBatchEstimateScalesWithSizeAndGuidanceAndIsClamped) {
    const NextDiTConfig released; // the released 3.5B transformer
    const int64_t one = transformer_request_bytes(1024, 1024, false, released, 2);
    EXPECT_EQ(transformer_request_bytes(1024, 1024, true, released, 2), 2 * one);  // two CFG branches
    EXPECT_EQ(transformer_request_bytes(1024, 1024, false, released, 4), 2 * one); // fp32 activations
    // Four times the pixels: four times the image tokens, the caption tokens stay.
    const int64_t big = transformer_request_bytes(2048, 2048, false, released, 2);
    const int64_t per_token = one / (64 * 64 + kEstimatedCaptionTokens);
    EXPECT_EQ(big - one, 3 * 64 * 64 * per_token);
    // Order of magnitude of a 1024x1024 guided request in bf16: between 0.25 and 4 GiB.
    EXPECT_GT(2 * one, int64_t{1} << 28);
    EXPECT_LT(2 * one, int64_t{4} << 30);
    const VaeConfig flux;
    EXPECT_GT(vae_decode_reserve_bytes(2048, 2048, flux), 3 * vae_decode_reserve_bytes(1024, 1024, flux));

    EXPECT_EQ(batch_that_fits(10'000, 1'000, 2'500, 16), 7);
    EXPECT_EQ(batch_that_fits(10'000, 1'000, 2'500, 4), 4); // capped by max_batch
    EXPECT_EQ(batch_that_fits(1'000, 1'000, 2'500, 4), 1);  // at least one, even when nothing fits
    EXPECT_EQ(batch_that_fits(0, 0, 0, 3), 3);              // no estimate: max_batch
}

TEST(RequestValidation, Utf8IsCheckedStrictly) {
    EXPECT_EQ(first_invalid_utf8("plain ascii"), std::string_view::npos);
    EXPECT_EQ(first_invalid_utf8("桜 😊 é"), std::string_view::npos);
    EXPECT_EQ(first_invalid_utf8("ab\xff"), 2u);           // never a UTF-8 byte
    EXPECT_EQ(first_invalid_utf8("a\x80"), 1u);            // continuation without a lead
    EXPECT_EQ(first_invalid_utf8("\xe6\xa1"), 0u);         // truncated sequence
    EXPECT_EQ(first_invalid_utf8("x\xc0\xaf"), 1u);        // overlong '/'
    EXPECT_EQ(first_invalid_utf8("\xed\xa0\x80"), 0u);     // UTF-16 surrogate U+D800
    EXPECT_EQ(first_invalid_utf8("\xf4\x90\x80\x80"), 0u); // above U+10FFFF
}

TEST(RequestValidation, SolverNamesRoundTrip) {
    for (auto solver : {SolverKind::Euler, SolverKind::Midpoint, SolverKind::DpmMultistep})
        EXPECT_EQ(solver_from_name(solver_name(solver)), solver);
    EXPECT_EQ(solver_name(SolverKind::DpmMultistep), "dpm");
    EXPECT_EQ(solver_from_name("midpoint"), SolverKind::Midpoint);
    for (const char* other : {"", "Euler", "dpm++", "heun", "dpm "})
        EXPECT_FALSE(solver_from_name(other).has_value()) << other;
}

TEST(RequestValidation, EveryProblemIsNamed) {
    GenerationRequest ok;
    EXPECT_TRUE(request_problems(ok).empty());
    ok.seed = kMaxSeed;
    ok.width = kMaxImageSize;
    ok.height = kMinImageSize;
    EXPECT_TRUE(request_problems(ok).empty());

    struct Case {
        std::function<void(GenerationRequest&)> spoil;
        const char* field;
    };
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    for (const auto& c : std::vector<Case>{
             {[](GenerationRequest& r) { r.prompt = "girl \xff"; }, "prompt: invalid UTF-8 at byte 5"},
             {[](GenerationRequest& r) { r.negative_prompt = "\xc3"; }, "negative prompt: invalid UTF-8"},
             {[](GenerationRequest& r) { r.system_prompt = "\x80"; }, "system prompt: invalid UTF-8"},
             {[&](GenerationRequest& r) { r.guidance = nan; }, "guidance: nan"},
             {[&](GenerationRequest& r) { r.guidance = inf; }, "guidance: inf"},
             {[&](GenerationRequest& r) { r.shift = nan; }, "shift: nan"},
             {[](GenerationRequest& r) { r.shift = 0.0f; }, "shift: 0"},
             {[&](GenerationRequest& r) { r.cfg_trunc = -inf; }, "cfg_trunc: -inf"},
             {[&](GenerationRequest& r) { r.renorm_cfg = nan; }, "renorm_cfg: nan"},
             {[](GenerationRequest& r) { r.width = 64 + 8192; }, "width: 8256"},
             {[](GenerationRequest& r) { r.height = 100000; }, "height: 100000"},
             {[](GenerationRequest& r) { r.height = 40; }, "height: 40 must be a multiple of 16"},
             {[](GenerationRequest& r) { r.width = 0; }, "width: 0"},
             {[](GenerationRequest& r) { r.steps = 0; }, "steps: 0"},
             {[](GenerationRequest& r) { r.steps = 1001; }, "steps: 1001"},
             {[](GenerationRequest& r) { r.seed = kMaxSeed + 1; }, "seed: 4294967296"},
             {[&](GenerationRequest& r) {
                  r.cond = TextEmbedding{{1.0f, nan}, 1, 2, {0.0f}};
              },
              "cond: the embedding holds non-finite values"},
         }) {
        GenerationRequest r;
        c.spoil(r);
        const auto problems = request_problems(r);
        ASSERT_EQ(problems.size(), 1u) << c.field;
        EXPECT_EQ(problems[0].rfind(c.field, 0), 0u) << problems[0];
        try {
            validate_request(r, "job 7");
            FAIL() << c.field;
        } catch (const EngineError& e) {
            EXPECT_EQ(std::string(e.what()).rfind(std::string("job 7: ") + c.field, 0), 0u) << e.what();
        }
    }
}

TEST_F(PipelineTest, InvalidRequestsFailBeforeAnyWork) {
    // Before: invalid UTF-8 was found after sampling (finished images were lost), --cfg nan gave rc 0 and a
    // black image, seed N + 2^32 silently gave seed N's image.
    int steps = 0;
    Callbacks cb;
    cb.on_step = [&](const StepProgress&) { ++steps; };
    auto bad_text = request(1);
    bad_text.cond.reset();
    bad_text.prompt = "ok \xfe";
    auto nan_cfg = request(2);
    nan_cfg.guidance = std::numeric_limits<float>::quiet_NaN();
    auto big_seed = request(3);
    big_seed.seed = (uint64_t{1} << 32) + 3;
    for (const auto& bad : {bad_text, nan_cfg, big_seed}) {
        try {
            pipeline_->generate({request(1), bad}, cb);
            FAIL() << "accepted";
        } catch (const EngineError& e) {
            EXPECT_NE(std::string(e.what()).find("request 1: "), std::string::npos) << e.what();
        }
    }
    EXPECT_EQ(steps, 0);
}

TEST(PipelineNonFinite, NanWeightsFailTheJobInsteadOfABlackImage) {
    TempDir dir;
    make_test_model(dir.str(), 5);
    // Poison one transformer weight with NaN (the file is rewritten with the same keys).
    const auto path = (dir.path() / "transformer" / "diffusion_pytorch_model.safetensors").string();
    std::vector<TensorBlob> blobs;
    {
        SafetensorsFile file(path);
        for (const auto& info : file.tensors()) {
            auto t = read_tensor(file, info).to(torch::kFloat32);
            if (info.name == "final_layer.linear.bias")
                t.fill_(std::numeric_limits<float>::quiet_NaN());
            blobs.push_back(to_blob(info.name, t, torch::kBFloat16));
        }
    }
    write_safetensors(path, blobs);
    RuntimeOptions o;
    o.device = "cpu";
    auto p = Pipeline::open(dir.str(), o);
    const auto c = tiny_nextdit_config();
    GenerationRequest r;
    r.width = r.height = 32;
    r.steps = 2;
    r.cond = random_embedding(3, c.cap_feat_dim, c.clip_text_dim, 1);
    r.uncond = random_embedding(1, c.cap_feat_dim, c.clip_text_dim, 2);
    int images = 0;
    Callbacks cb;
    cb.on_image = [&](std::size_t, const Image&) { ++images; };
    try {
        p->generate({r}, cb);
        FAIL() << "NaN weights gave an image";
    } catch (const EngineError& e) {
        EXPECT_NE(std::string(e.what()).find("non-finite"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("step 1"), std::string::npos) << e.what();
    }
    EXPECT_EQ(images, 0);
}

TEST_F(PipelineTest, ATorchErrorReachesTheCallerAsOneLine) {
    // Before: the c10::Error itself escaped, with its 15-25 lines of C++ backtrace.
    auto r = request(5);
    const auto c = tiny_nextdit_config();
    r.cond = random_embedding(4, c.cap_feat_dim, c.clip_text_dim + 3, 9); // a pooled vector of the wrong width
    r.uncond = random_embedding(1, c.cap_feat_dim, c.clip_text_dim + 3, 10);
    try {
        pipeline_->generate({r});
        FAIL() << "no exception";
    } catch (const EngineError& e) {
        const std::string msg = e.what();
        EXPECT_EQ(msg.rfind("pipeline: LibTorch error: ", 0), 0u) << msg;
        EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
}

// Help → About and --version show it: the version LibTorch states of itself, in "major.minor.patch".
TEST(EngineVersion, TorchVersionIsTheLibTorchOneBuiltAgainst) {
    EXPECT_EQ(charaforge::engine::torch_version(), std::string(TORCH_VERSION));
}
