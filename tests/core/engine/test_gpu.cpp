// Tests that need a CUDA device; skipped elsewhere. Labelled `gpu`.
#include "charaforge/engine/error.h"
#include "charaforge/engine/pipeline.h"
#include "core/engine/test_util.h"
#include "fp8_linear.h"
#include "fused_ops.h"
#include "lama_ffc.h"
#include "lama_weights.h"
#include "memory.h"
#include "model_folder.h"
#include "nextdit.h"
#include "pipeline_internal.h"
#include "runtime.h"
#include "step_forward.h"
#include "test_model.h"
#include "text_conditioning.h"
#include "torch_compat.h"
#include "vae.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>

using namespace charaforge::engine;

namespace {
bool have_cuda() {
    return torch::cuda::is_available();
}

// The tiny test model written to `dir` and opened on CUDA in bf16.
std::unique_ptr<Pipeline> open_test_model_on_cuda(const charaforge::test::TempDir& dir, uint64_t seed) {
    make_test_model(dir.str(), seed);
    RuntimeOptions o;
    o.device = "cuda";
    o.dtype = "bf16";
    return Pipeline::open(dir.str(), o);
}
} // namespace

TEST(Gpu, FusedAttentionMatchesTheExplicitFormula) {
    if (!have_cuda())
        GTEST_SKIP() << "no CUDA device";
    torch::manual_seed(0);
    auto opts = torch::TensorOptions().device(torch::kCUDA).dtype(torch::kFloat32);
    auto q = torch::randn({2, 3, 17, 16}, opts), k = torch::randn({2, 3, 17, 16}, opts),
         v = torch::randn({2, 3, 17, 16}, opts);
    auto mask = torch::ones({2, 17}, opts.dtype(torch::kBool));
    mask[1].narrow(0, 10, 7).fill_(false);
    auto got = compat::attention(q, k, v, mask, 0.25);
    auto scores = torch::matmul(q, k.transpose(-2, -1)) * 0.25;
    scores = scores.masked_fill(mask.logical_not().view({2, 1, 1, 17}), -INFINITY);
    auto ref = torch::matmul(torch::softmax(scores, -1), v);
    EXPECT_LT((got - ref).abs().max().item<float>(), 1e-4);
}

TEST(Gpu, TinyTransformerOnCudaMatchesCpu) {
    if (!have_cuda())
        GTEST_SKIP() << "no CUDA device";
    torch::NoGradGuard ng;
    auto cfg = tiny_nextdit_config();
    NextDiT cpu(cfg, torch::TensorOptions().dtype(torch::kFloat32));
    nn::init_random(*cpu, 2, 0.05);
    NextDiT gpu(cfg, torch::TensorOptions().dtype(torch::kFloat32).device(torch::kCUDA));
    auto src = cpu->named_parameters(true);
    for (auto& p : gpu->named_parameters(true))
        p.value().copy_(src[p.key()]);
    torch::manual_seed(1);
    auto x = torch::randn({2, 16, 8, 8});
    auto t = torch::tensor({0.2f, 0.9f});
    auto cap = torch::randn({2, 5, cfg.cap_feat_dim});
    auto pooled = torch::randn({2, cfg.clip_text_dim});
    auto a = cpu->forward(x, t, cap, {5, 3}, pooled);
    auto b = gpu->forward(x.cuda(), t.cuda(), cap.cuda(), {5, 3}, pooled.cuda()).cpu();
    EXPECT_LT((a - b).abs().max().item<float>(), 1e-3);
}

TEST(Gpu, TestModelGeneratesOnCudaInBf16) {
    if (!have_cuda())
        GTEST_SKIP() << "no CUDA device";
    charaforge::test::TempDir dir;
    auto p = open_test_model_on_cuda(dir, 5);
    GenerationRequest r;
    r.width = r.height = 64;
    r.steps = 4;
    const auto cfg = tiny_nextdit_config();
    r.cond = TextEmbedding{std::vector<float>(3 * cfg.cap_feat_dim, 0.5f), 3, cfg.cap_feat_dim,
                           std::vector<float>(cfg.clip_text_dim, 0.1f)};
    r.uncond = TextEmbedding{std::vector<float>(cfg.cap_feat_dim, 0.0f), 1, cfg.cap_feat_dim,
                             std::vector<float>(cfg.clip_text_dim, 0.0f)};
    auto img = p->generate({r, r});
    ASSERT_EQ(img.size(), 2u);
    EXPECT_EQ(img[0].rgb.size(), 64u * 64u * 3u);
    EXPECT_EQ(img[0].rgb, img[1].rgb);
}

namespace {

GenerationRequest tiny_request(int size, int steps, uint64_t seed) {
    const auto cfg = tiny_nextdit_config();
    GenerationRequest r;
    r.width = r.height = size;
    r.steps = steps;
    r.seed = seed;
    r.cond = TextEmbedding{std::vector<float>(3 * cfg.cap_feat_dim, 0.5f), 3, cfg.cap_feat_dim,
                           std::vector<float>(cfg.clip_text_dim, 0.1f)};
    r.uncond = TextEmbedding{std::vector<float>(cfg.cap_feat_dim, 0.0f), 1, cfg.cap_feat_dim,
                             std::vector<float>(cfg.clip_text_dim, 0.0f)};
    return r;
}

int max_diff(const Image& a, const Image& b) {
    int d = 0;
    for (std::size_t i = 0; i < a.rgb.size() && i < b.rgb.size(); ++i)
        d = std::max(d, std::abs(int(a.rgb[i]) - int(b.rgb[i])));
    return d;
}

constexpr int64_t kMiB = int64_t{1} << 20;
constexpr int64_t kGiB = int64_t{1} << 30;

} // namespace

TEST(Gpu, TheMemoryReportSeesAnAllocationAndTheCacheRelease) {
    if (!have_cuda())
        GTEST_SKIP() << "no CUDA device";
    EXPECT_EQ(cuda_device_count(), static_cast<int>(torch::cuda::device_count()));
    release_cached_device_memory();
    const auto before = memory_report("cuda:0");
    // gpu = false here means the engine was built without CHARAFORGE_WITH_CUDA against a CUDA LibTorch.
    ASSERT_TRUE(before.gpu) << before.device;
    EXPECT_EQ(before.device.rfind("cuda:0 ", 0), 0u) << before.device;
    EXPECT_GT(before.total, kGiB);
    EXPECT_GT(before.free, 0);
    EXPECT_LE(before.free, before.total);
    EXPECT_EQ(memory_report("auto").device, before.device);
    EXPECT_EQ(memory_report("cuda").device, before.device);
    int64_t cached_unused = 0;
    {
        auto block = torch::empty({kGiB}, torch::TensorOptions().device(torch::kCUDA).dtype(torch::kUInt8));
        const auto during = memory_report("cuda:0");
        EXPECT_GE(during.allocated - before.allocated, kGiB);
        EXPECT_GE(during.reserved, during.allocated);
        EXPECT_GE(during.peak_allocated, during.allocated);
        EXPECT_LE(during.free, before.free - kGiB + 64 * kMiB); // the driver gave the allocator a GiB
    }
    const auto cached = memory_report("cuda:0");
    cached_unused = cached.reserved - cached.allocated;
    EXPECT_GE(cached_unused, kGiB); // freed tensors stay with the caching allocator...
    release_cached_device_memory();
    const auto released = memory_report("cuda:0");
    EXPECT_LT(released.reserved, cached.reserved - kGiB / 2); // ...until it is told to give them back
    EXPECT_GT(released.free, cached.free + kGiB / 2);
    EXPECT_EQ(memory_report("cuda:" + std::to_string(cuda_device_count())).device,
              "cuda:" + std::to_string(cuda_device_count())); // one past the last device: unknown
}

TEST(Gpu, ACudaOutOfMemoryErrorIsRecognised) {
    if (!have_cuda())
        GTEST_SKIP() << "no CUDA device";
    try {
        auto t = torch::empty({int64_t{1} << 50}, torch::TensorOptions().device(torch::kCUDA).dtype(torch::kUInt8));
        FAIL() << "a PiB was allocated";
    } catch (const c10::Error& e) {
        EXPECT_TRUE(is_out_of_memory(e)) << e.what_without_backtrace();
        EXPECT_FALSE(allocation_detail(e).empty()) << e.what_without_backtrace();
        std::printf("CUDA out of memory: detail '%s'\n", allocation_detail(e).c_str());
    }
    release_cached_device_memory();
}

TEST(Gpu, APipelineOutOfDeviceMemoryThrowsOutOfMemoryAndRecovers) {
    if (!have_cuda())
        GTEST_SKIP() << "no CUDA device";
    charaforge::test::TempDir dir;
    make_test_model(dir.str(), 5);
    RuntimeOptions o;
    o.device = "cuda";
    o.max_batch = 4;
    auto p = Pipeline::open(dir.str(), o);
    EXPECT_EQ(p->device(), "cuda:0");
    const auto r = tiny_request(1024, 2, 3);
    const auto ok = p->generate({r});                 // also creates the cuBLAS/cuDNN handles and workspaces
    EXPECT_EQ(p->suggest_batch(1024, 1024, true), 4); // the tiny model fits many times over
    p->release_cached_memory();
    // Take all but 32 MiB of the device: a 1024x1024 decode needs a few hundred MiB.
    torch::Tensor hog;
    try {
        hog = torch::empty({memory_report(p->device()).free - 32 * kMiB},
                           torch::TensorOptions().device(torch::kCUDA).dtype(torch::kUInt8));
    } catch (const c10::Error& e) {
        GTEST_SKIP() << "could not take the device's free memory: " << e.what_without_backtrace();
    }
    EXPECT_EQ(p->suggest_batch(1024, 1024, true), 1);
    try {
        p->generate({r});
        ADD_FAILURE() << "no exception";
    } catch (const OutOfMemory& e) {
        const std::string msg = e.what();
        std::printf("%s\n", msg.c_str());
        EXPECT_EQ(msg.rfind("pipeline: out of memory on cuda:0 ", 0), 0u) << msg;
        EXPECT_NE(msg.find("image at 1024x1024"), std::string::npos) << msg;
    }
    // The pipeline emptied the allocator's cache before throwing.
    const auto after = memory_report(p->device());
    EXPECT_LT(after.reserved - after.allocated, 256 * kMiB);
    hog = torch::Tensor();
    p->release_cached_memory();
    const auto again = p->generate({r});
    EXPECT_EQ(again[0].rgb, ok[0].rgb);
}

// A decode that still has no room on the GPU after the cache is freed is done on the CPU (fp32), with a
// warning, instead of failing a finished image.
TEST(Gpu, ADecodeWithNoRoomOnTheGpuFallsBackToTheCpu) {
    if (!have_cuda())
        GTEST_SKIP() << "no CUDA device";
    charaforge::test::TempDir dir;
    auto p = open_test_model_on_cuda(dir, 5);
    const auto r = tiny_request(64, 4, 3);
    const auto reference = p->generate({r});
    std::vector<std::string> warnings;
    Callbacks cb;
    cb.on_warning = [&](std::size_t, const std::string& w) { warnings.push_back(w); };
    inject_decode_out_of_memory_for_tests(2);
    const auto fallback = p->generate({r}, cb);
    inject_decode_out_of_memory_for_tests(0);
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].find("decoded on the CPU"), std::string::npos) << warnings[0];
    // bf16 decode on the GPU against fp32 on the CPU, same bf16 weights: a few levels of 255.
    EXPECT_LE(max_diff(fallback[0], reference[0]), 8);
    // The VAE is back on the GPU: the next image decodes there and matches the first run exactly.
    EXPECT_EQ(p->generate({r})[0].rgb, reference[0].rgb);
}

TEST(Gpu, ResumeAndPreviewsWorkOnCudaInBf16) {
    if (!have_cuda())
        GTEST_SKIP() << "no CUDA device";
    charaforge::test::TempDir dir;
    auto p = open_test_model_on_cuda(dir, 6);
    std::vector<GenerationRequest> batch{tiny_request(128, 6, 1), tiny_request(128, 6, 2)};
    const auto plain = p->generate(batch);
    std::vector<SamplerState> saved;
    std::vector<int> preview_steps;
    int steps = 0;
    Callbacks cb;
    cb.on_step = [&](const StepProgress&) { ++steps; };
    cb.should_abort = [&] { return steps >= 4; };
    cb.on_checkpoint = [&](std::size_t, const SamplerState& s) { saved.push_back(s); };
    cb.preview_every = 2;
    cb.on_preview = [&](std::size_t, int step, const Image& img) {
        preview_steps.push_back(step);
        EXPECT_EQ(img.width, 16);
        EXPECT_EQ(img.height, 16);
    };
    EXPECT_THROW(p->generate(batch, cb), Cancelled);
    EXPECT_EQ(preview_steps, (std::vector<int>{2, 2, 4, 4}));
    ASSERT_EQ(saved.size(), 2u);
    EXPECT_EQ(saved[0].step, 4);
    batch[0].resume = saved[0];
    batch[1].resume = saved[1];
    const auto resumed = p->generate(batch);
    const int diff = std::max(max_diff(plain[0], resumed[0]), max_diff(plain[1], resumed[1]));
    std::printf("CUDA bf16: resumed vs uninterrupted max pixel difference %d\n", diff);
    EXPECT_LE(diff, 2);
}

TEST(Gpu, TheTransformerEstimateCoversAMeasuredForward) {
    if (!have_cuda())
        GTEST_SKIP() << "no CUDA device";
    c10::InferenceMode guard;
    NextDiTConfig cfg; // released widths; two joint layers are enough (inference holds one block at a time)
    cfg.n_layers = 2;
    const auto dev = torch::Device(torch::kCUDA, 0);
    NextDiT model(cfg, torch::TensorOptions().dtype(torch::kBFloat16).device(dev));
    nn::init_random(*model, 1, 0.02);
    // One guided 1024x1024 request: conditional and unconditional rows, captions of 300 and 120 tokens.
    auto f32 = torch::TensorOptions().device(dev).dtype(torch::kFloat32);
    auto x = torch::randn({2, 16, 128, 128}, f32);
    auto t = torch::full({2}, 0.3f, f32);
    auto cap = torch::randn({2, kEstimatedCaptionTokens, cfg.cap_feat_dim}, f32);
    auto pooled = torch::randn({2, cfg.clip_text_dim}, f32);
    torch::cuda::synchronize();
    const int64_t base = memory_report("cuda:0").allocated;
    reset_peak_device_memory(dev);
    auto v = model->forward(x, t, cap, {kEstimatedCaptionTokens, 120}, pooled);
    torch::cuda::synchronize();
    const int64_t peak = memory_report("cuda:0").peak_allocated - base;
    const int64_t estimate = transformer_batch_bytes(1, 1024, 1024, true, cfg, 2);
    std::printf("transformer 1024x1024 guided: measured peak %.1f MiB, estimate %.1f MiB (x%.2f)\n",
                double(peak) / kMiB, double(estimate) / kMiB, double(estimate) / double(peak));
    EXPECT_EQ(v.size(0), 2);
    EXPECT_GE(estimate, peak);
    EXPECT_LE(estimate, 3 * peak);
}

TEST(Gpu, OffloadedEncodersKeepTheirTokenTablesOnTheHostAndEncodeTheSame) {
    if (!have_cuda())
        GTEST_SKIP() << "no CUDA device";
    charaforge::test::TempDir dir;
    make_test_model(dir.str(), 9);
    const auto files = locate_model(dir.str(), Require::Everything);
    RuntimeOptions o;
    o.device = "cuda";
    o.dtype = "bf16";
    const auto rt = make_runtime(o);
    TextEncoders resident(files, rt, false), offloaded(files, rt, true);
    EXPECT_EQ(resident.gemma_device_bytes(), resident.gemma_bytes());
    EXPECT_LT(offloaded.gemma_device_bytes(), offloaded.gemma_bytes());
    EXPECT_LT(offloaded.jina_device_bytes(), offloaded.jina_bytes());
    for (const std::string prompt : {"<character_1><gender>1girl</gender><appearance>blue_hair</appearance>"
                                     "</character_1>",
                                     "1boy, red_hair, smile"}) {
        GenerationRequest r;
        r.prompt = prompt;
        const auto texts = conditional_texts(r);
        const auto a = resident.encode(texts), b = offloaded.encode(texts);
        EXPECT_TRUE(offloaded.on_device());
        // The same gather and the same bf16 arithmetic on either device: equal, not merely close.
        EXPECT_EQ(a.features, b.features) << prompt;
        EXPECT_EQ(a.pooled, b.pooled) << prompt;
        offloaded.release_device_memory();
        EXPECT_FALSE(offloaded.on_device());
    }
}

TEST(Gpu, TheVaeReserveCoversAMeasuredDecode) {
    if (!have_cuda())
        GTEST_SKIP() << "no CUDA device";
    c10::InferenceMode guard;
    VaeConfig cfg; // the released FLUX VAE's widths
    const auto dev = torch::Device(torch::kCUDA, 0);
    AutoencoderKL vae(cfg, torch::TensorOptions().dtype(torch::kFloat32).device(dev));
    nn::init_random(*vae, 2, 0.02);
    auto z = torch::randn({1, 16, 128, 128}, torch::TensorOptions().device(dev));
    torch::cuda::synchronize();
    const int64_t base = memory_report("cuda:0").allocated;
    reset_peak_device_memory(dev);
    auto rgb = vae->decode(z);
    torch::cuda::synchronize();
    const int64_t peak = memory_report("cuda:0").peak_allocated - base;
    const int64_t reserve = vae_decode_reserve_bytes(1024, 1024, cfg);
    std::printf("VAE decode 1024x1024: measured peak %.1f MiB, reserve %.1f MiB (x%.2f)\n", double(peak) / kMiB,
                double(reserve) / kMiB, double(reserve) / double(peak));
    EXPECT_EQ(rgb.size(2), 1024);
    EXPECT_GE(reserve, peak);
    EXPECT_LE(reserve, 3 * peak);
}

TEST(Gpu, FusedSiluMulMatchesTheComposition) {
    if (!have_cuda())
        GTEST_SKIP() << "no CUDA device";
    torch::manual_seed(5);
    // An odd element count exercises the kernel's scalar tail; values up to |x| ~ 8 cover silu's both ends.
    auto opts = torch::TensorOptions().device(torch::kCUDA).dtype(torch::kBFloat16);
    for (int64_t n : {int64_t{7}, int64_t{4099}, int64_t{3} * 9216 * 33}) {
        auto a = (torch::randn({n}, opts) * 3), b = torch::randn({n}, opts);
        auto got = fused::silu_mul(a, b);
        auto exact = torch::silu(a.to(torch::kFloat64)) * b.to(torch::kFloat64); // the function itself
        auto comp = fused::silu_mul_reference(a, b);
        ASSERT_EQ(got.scalar_type(), torch::kBFloat16);
        ASSERT_FALSE(got.isnan().any().item<bool>());
        // One bf16 rounding: |got - exact| <= 2^-8 |exact| (+ a little for __expf); the composition rounds twice.
        auto err = (got.to(torch::kFloat64) - exact).abs();
        auto bound = exact.abs() * std::ldexp(1.0, -8) + 1e-6;
        EXPECT_TRUE((err <= bound).all().item<bool>()) << n << " max err " << err.max().item<double>();
        auto comp_err = (comp.to(torch::kFloat64) - exact).abs();
        EXPECT_LE(err.max().item<double>(), comp_err.max().item<double>() * 1.01 + 1e-6) << n;
    }
    EXPECT_EQ(fused::have_cuda_kernels(), true) << "the GPU build should have the CUDA kernels";
}

TEST(Gpu, GroupedQueryAttentionMatchesRepeatedHeads) {
    if (!have_cuda())
        GTEST_SKIP() << "no CUDA device";
    torch::manual_seed(6);
    auto opts = torch::TensorOptions().device(torch::kCUDA).dtype(torch::kBFloat16);
    // [B, L, H, Dh] storage seen as [B, H, L, Dh], as the transformer hands it over.
    auto q = torch::randn({2, 300, 24, 96}, opts).transpose(1, 2);
    auto k = torch::randn({2, 300, 8, 96}, opts).transpose(1, 2);
    auto v = torch::randn({2, 300, 8, 96}, opts).transpose(1, 2);
    const double scale = 1.0 / std::sqrt(96.0);
    auto got = compat::attention_gqa(q, k, v, scale).to(torch::kFloat64); // [2, 24, 300, 96]
    auto kr = k.to(torch::kFloat64).repeat_interleave(3, 1), vr = v.to(torch::kFloat64).repeat_interleave(3, 1);
    auto p = torch::softmax(torch::matmul(q.to(torch::kFloat64), kr.transpose(-2, -1)) * scale, -1);
    auto ref = torch::matmul(p, vr);
    const double rel = ((got - ref).norm() / ref.norm()).item<double>();
    EXPECT_LT(rel, std::ldexp(1.0, -6)) << rel; // bf16 inputs and output: ~2^-8 per element
}

namespace {
// Leaves NaNs in the caching allocator's free blocks, so that an output the kernel failed to write shows.
void poison_cache(int64_t bytes) {
    auto p = torch::full({bytes / 2}, std::numeric_limits<float>::quiet_NaN(),
                         torch::TensorOptions().device(torch::kCUDA).dtype(torch::kBFloat16));
    torch::cuda::synchronize();
}

// Every element of `got` (bf16) within one bf16 rounding of `exact` (fp64), 2^-8 relative to the element, plus
// `abs_tol` for the fp32 arithmetic; and no worse than the ATen composition's largest error.
void expect_one_rounding(const torch::Tensor& got, const torch::Tensor& comp, const torch::Tensor& exact,
                         double abs_tol, const std::string& what) {
    ASSERT_EQ(got.sizes(), exact.sizes()) << what;
    ASSERT_FALSE(got.isnan().any().item<bool>()) << what;
    auto err = (got.to(torch::kFloat64) - exact).abs();
    auto bound = exact.abs() * std::ldexp(1.0, -8) + abs_tol;
    EXPECT_TRUE((err <= bound).all().item<bool>()) << what << " max err " << err.max().item<double>();
    auto comp_err = (comp.to(torch::kFloat64) - exact).abs();
    EXPECT_LE(err.max().item<double>(), comp_err.max().item<double>() * 1.01 + abs_tol) << what;
}

torch::Tensor rms_exact(const torch::Tensor& x, const torch::Tensor& w, double eps) { // fp64
    auto x64 = x.to(torch::kFloat64);
    return x64 * torch::rsqrt(x64.pow(2).mean(-1, true) + eps) * w.to(torch::kFloat64);
}
} // namespace

TEST(Gpu, FusedRmsNormModulateMatchesTheComposition) {
    if (!have_cuda())
        GTEST_SKIP() << "no CUDA device";
    torch::manual_seed(7);
    auto opts = torch::TensorOptions().device(torch::kCUDA).dtype(torch::kBFloat16);
    // The released width (2304: 288 threads of 8) and the tiny model's (48: one partial warp).
    for (int64_t D : {int64_t{2304}, int64_t{48}}) {
        auto x = torch::randn({3, 37, D}, opts) * 3;
        auto w = 1 + 0.1 * torch::randn({D}, opts);
        auto mods = (torch::randn({3, 4 * D}, opts) * 0.5).chunk(4, 1); // strided [3, D] views, as the block's
        for (const auto& scale : {mods[2], torch::Tensor()}) {
            poison_cache(x.numel() * 4);
            auto got = fused::rms_norm_modulate(x, w, 1e-5, scale);
            auto comp = fused::rms_norm_modulate_reference(x, w, 1e-5, scale);
            auto exact = rms_exact(x, w, 1e-5);
            if (scale.defined())
                exact = exact * (1 + scale.to(torch::kFloat64).unsqueeze(1));
            expect_one_rounding(got, comp, exact, 1e-5, "D " + std::to_string(D) + (scale.defined() ? " mod" : ""));
        }
    }
}

TEST(Gpu, FusedGatedResidualRmsNormMatchesTheComposition) {
    if (!have_cuda())
        GTEST_SKIP() << "no CUDA device";
    torch::manual_seed(8);
    auto opts = torch::TensorOptions().device(torch::kCUDA).dtype(torch::kBFloat16);
    for (int64_t D : {int64_t{2304}, int64_t{48}}) {
        auto res = torch::randn({2, 41, D}, opts) * 4, y = torch::randn({2, 41, D}, opts) * 0.3;
        auto w = 1 + 0.1 * torch::randn({D}, opts);
        auto mods = (torch::randn({2, 4 * D}, opts) * 2).chunk(4, 1);
        for (const auto& gate : {mods[1], torch::Tensor()}) {
            poison_cache(res.numel() * 4);
            auto got = fused::gated_residual_rms_norm(res, y, w, 1e-5, gate);
            auto comp = fused::gated_residual_rms_norm_reference(res, y, w, 1e-5, gate);
            auto n = rms_exact(y, w, 1e-5);
            if (gate.defined())
                n = n * gate.to(torch::kFloat64).tanh().unsqueeze(1);
            auto exact = res.to(torch::kFloat64) + n;
            // One rounding of the sum; the absolute term covers fp32 tanh and product on terms of scale ~1.
            expect_one_rounding(got, comp, exact, std::ldexp(1.0, -14),
                                "D " + std::to_string(D) + (gate.defined() ? " gated" : ""));
        }
    }
}

TEST(Gpu, FusedQkNormRopeMatchesTheComposition) {
    if (!have_cuda())
        GTEST_SKIP() << "no CUDA device";
    torch::manual_seed(9);
    auto opts = torch::TensorOptions().device(torch::kCUDA).dtype(torch::kBFloat16);
    const int64_t B = 2, L = 301, hq = 24, hkv = 8;
    for (int64_t dh : {int64_t{96}, int64_t{64}}) {
        auto qkv = torch::randn({B, L, (hq + 2 * hkv) * dh}, opts) * 2;
        auto qw = 1 + 0.1 * torch::randn({dh}, opts), kw = 1 + 0.1 * torch::randn({dh}, opts);
        auto ang = torch::rand({B, L, dh / 2}, opts.dtype(torch::kFloat32)) * 200; // many turns
        auto cos = torch::cos(ang), sin = torch::sin(ang);
        poison_cache(qkv.numel() * 4);
        auto got = fused::qk_norm_rope(qkv, qw, kw, 1e-5, cos, sin, hq, hkv);
        auto comp = fused::qk_norm_rope_reference(qkv, qw, kw, 1e-5, cos, sin, hq, hkv);
        auto parts = qkv.split({hq * dh, hkv * dh, hkv * dh}, -1);
        auto rot = [&](const torch::Tensor& part, int64_t h, const torch::Tensor& w) { // fp64 reference
            auto n = rms_exact(part.reshape({B, L, h, dh}), w, 1e-5).unflatten(-1, {-1, 2});
            auto a = n.select(-1, 0), b = n.select(-1, 1);
            auto c = cos.to(torch::kFloat64).unsqueeze(2), s = sin.to(torch::kFloat64).unsqueeze(2);
            return torch::stack({a * c - b * s, a * s + b * c}, -1).flatten(-2); // [B, L, h, dh]
        };
        // The rotation mixes two normalised values of scale ~1: 2^-16 absolute covers fp32 cancellation to ~0.
        expect_one_rounding(got[0], comp[0], rot(parts[0], hq, qw), std::ldexp(1.0, -16), "q dh " + std::to_string(dh));
        expect_one_rounding(got[1], comp[1], rot(parts[1], hkv, kw), std::ldexp(1.0, -16),
                            "k dh " + std::to_string(dh));
        EXPECT_TRUE(torch::equal(got[2], parts[2].reshape({B, L, hkv, dh}))) << "v is a copy";
        EXPECT_TRUE(got[0].is_contiguous() && got[1].is_contiguous() && got[2].is_contiguous());
    }
}

// The sampler's step forward replayed as a CUDA graph gives the eager forward's result at every step, captures once
// per key (shapes, captions), and hands out tensors that later replays do not overwrite.
TEST(Gpu, TheGraphedStepForwardEqualsTheEagerForward) {
    if (!have_cuda())
        GTEST_SKIP() << "no CUDA device";
    if (!cuda_graphs_enabled())
        GTEST_SKIP() << "CUDA graphs are not in this build or turned off";
    c10::InferenceMode im;
    auto cfg = tiny_nextdit_config();
    auto opts = torch::TensorOptions().device(torch::kCUDA).dtype(torch::kBFloat16);
    NextDiT m(cfg, opts);
    nn::init_random(*m, 3, 0.05);
    m->eval();
    torch::manual_seed(4);
    auto f32 = torch::TensorOptions().device(torch::kCUDA).dtype(torch::kFloat32);
    auto cap = torch::randn({2, 6, cfg.cap_feat_dim}, f32);
    auto pooled = torch::randn({2, cfg.clip_text_dim}, f32);
    // Captions of different lengths: the forward's per-length attention path is captured too.
    auto caps = m->encode_captions(cap, {6, 2});
    StepForward step(m);
    // bf16 bound: the graph replays the eager kernels, so any difference is at most a few roundings of the output.
    auto check = [&](const torch::Tensor& got, const torch::Tensor& want, const std::string& what) {
        const double scale = want.abs().max().item<double>();
        const double diff = (got.to(torch::kFloat64) - want.to(torch::kFloat64)).abs().max().item<double>();
        EXPECT_LE(diff, 4 * std::ldexp(1.0, -8) * scale) << what << ": max abs diff " << diff << " of " << scale;
    };
    torch::Tensor first_out, first_want;
    for (int i = 0; i < 5; ++i) {
        auto x = torch::randn({2, 16, 8, 8}, f32);
        auto t = torch::rand({2}, f32);
        auto want = m->forward(x, t, caps, pooled);
        auto got = step(x, t, caps, pooled);
        check(got, want, "step " + std::to_string(i));
        if (i == 2) { // the first replay's output, kept while later steps replay
            first_out = got;
            first_want = want;
        }
    }
    check(first_out, first_want, "an output kept across later replays");
    EXPECT_EQ(step.captures(), 1);
    EXPECT_EQ(step.replays(), 4); // warm-up, then capture + replay, replay, replay, replay

    // New captions (another set of guided rows): a new graph.
    auto caps2 = m->encode_captions(torch::randn({2, 6, cfg.cap_feat_dim}, f32), {3, 5});
    for (int i = 0; i < 3; ++i) {
        auto x = torch::randn({2, 16, 8, 8}, f32);
        auto t = torch::rand({2}, f32);
        check(step(x, t, caps2, pooled), m->forward(x, t, caps2, pooled), "new captions, step " + std::to_string(i));
    }
    EXPECT_EQ(step.captures(), 2);
    // Another latent size with the same captions: the rotary tables and the graph follow.
    for (int i = 0; i < 3; ++i) {
        auto x = torch::randn({2, 16, 12, 8}, f32);
        auto t = torch::rand({2}, f32);
        check(step(x, t, caps2, pooled), m->forward(x, t, caps2, pooled), "new size, step " + std::to_string(i));
    }
    EXPECT_EQ(step.captures(), 3);
    step.reset();
    auto x = torch::randn({2, 16, 12, 8}, f32);
    auto t = torch::rand({2}, f32);
    check(step(x, t, caps2, pooled), m->forward(x, t, caps2, pooled), "after reset (warm-up again)");
    EXPECT_EQ(step.captures(), 3);
}

// The fp8 linear: per-row activation scales and per-channel weight scales make its error that of e4m3's 3-bit
// mantissa (relative rounding 2^-4 per factor), not of its range: a weight row and an input row 1000x larger than
// the others do not swamp the rest. Checked against the fp64 product of the same bf16 tensors.
TEST(Gpu, TheFp8LinearIsWithinE4m3RoundingOfTheExactProduct) {
    if (!have_cuda())
        GTEST_SKIP() << "no CUDA device";
    const std::string why = fp8_unsupported_reason(torch::Device(torch::kCUDA, 0));
    if (!why.empty())
        GTEST_SKIP() << why;
    c10::InferenceMode im;
    torch::manual_seed(11);
    auto opts = torch::TensorOptions().device(torch::kCUDA).dtype(torch::kBFloat16);
    const int64_t M = 100, K = 256, N = 384; // M not a multiple of 16, as a mixed-caption batch gives
    auto x = torch::randn({M, K}, opts);
    auto w = torch::randn({N, K}, opts) * 0.02;
    x[3].mul_(1000);
    w[5].mul_(1000);
    nn::Linear lin(K, N, false, opts);
    lin->weight.copy_(w);
    auto exact = torch::matmul(x.to(torch::kFloat64), w.to(torch::kFloat64).t()); // [M, N]
    auto bf = lin->forward(x);
    quantize_linear_fp8(*lin, true, false);
    for (const bool fast : {false, true}) {
        lin->fp8_fast_accum = fast;
        auto y = lin->forward(x);
        ASSERT_EQ(y.sizes(), bf.sizes());
        ASSERT_EQ(y.scalar_type(), torch::kBFloat16);
        // Per output element, relative to |x_i| |w_j| (2-norms): by Cauchy-Schwarz the two e4m3 roundings (unit
        // roundoff 2^-4 each) give at most 2^-4 |x_i| |w_j| each; the bf16 output rounding is far below.
        auto scale = torch::outer(x.to(torch::kFloat64).norm(2, 1), w.to(torch::kFloat64).norm(2, 1)); // [M, N]
        auto rel = ((y.to(torch::kFloat64) - exact).abs() / scale).max().item<double>();
        auto rel_bf = ((bf.to(torch::kFloat64) - exact).abs() / scale).max().item<double>();
        EXPECT_LE(rel, 2 * std::ldexp(1.0, -4)) << (fast ? "fast" : "exact") << " accumulation";
        EXPECT_GT(rel, rel_bf) << "fp8 cannot be more exact than bf16 here";
    }
}

TEST(Gpu, LamaOnCudaMatchesCpu) {
    if (!have_cuda())
        GTEST_SKIP() << "no CUDA device";
    // The CUDA path pads and concatenates in one kernel and runs cuDNN's fused convolution + bias (+ residual) +
    // ReLU; the CPU path composes ATen ops. Strict fp32 on both sides (TF32 off), outputs in (0, 1).
    torch::NoGradGuard no_grad;
    LamaGenerator cpu(tiny_lama_config(), torch::TensorOptions().dtype(torch::kFloat32));
    init_lama_random(*cpu, 7);
    cpu->eval();
    LamaGenerator gpu(tiny_lama_config(), torch::TensorOptions().dtype(torch::kFloat32).device(torch::kCUDA));
    auto src = cpu->named_parameters(true);
    for (auto& p : gpu->named_parameters(true))
        p.value().copy_(src[p.key()]);
    auto bufs = cpu->named_buffers(true);
    for (auto& b : gpu->named_buffers(true))
        b.value().copy_(bufs[b.key()]);
    gpu->eval();
    cpu->fold_batchnorm();
    gpu->fold_batchnorm();
    at::globalContext().setAllowTF32CuDNN(false);
    for (const auto& [h, w] : {std::pair<int64_t, int64_t>{32, 48}, std::pair<int64_t, int64_t>{40, 24}}) {
        const auto x = torch::rand({3, 4, h, w});
        const auto a = cpu->forward(x);
        const auto b = gpu->forward(x.cuda()).cpu();
        ASSERT_EQ(a.sizes(), b.sizes());
        EXPECT_GT(a.std().item<double>(), 1e-3);
        // fp32: only the summation order of the convolutions differs (about 2^-24 per term, a few hundred terms).
        EXPECT_LT((a - b).abs().max().item<double>(), 1e-5) << h << "x" << w;
    }
    at::globalContext().setAllowTF32CuDNN(true);
}

TEST(Gpu, LamaHalfPrecisionFollowsFp32WithinItsPrecision) {
    if (!have_cuda())
        GTEST_SKIP() << "no CUDA device";
    torch::NoGradGuard no_grad;
    LamaGenerator g(tiny_lama_config(), torch::TensorOptions().dtype(torch::kFloat32).device(torch::kCUDA));
    init_lama_random(*g, 7);
    g->eval();
    g->fold_batchnorm();
    at::globalContext().setAllowTF32CuDNN(false);
    const auto x = torch::rand({2, 4, 32, 48}).cuda();
    const auto ref = g->forward(x);
    for (const auto dtype : {torch::kHalf, torch::kBFloat16}) {
        g->set_compute_dtype(dtype);
        const auto out = g->forward(x);
        ASSERT_EQ(out.scalar_type(), torch::kFloat32);
        const double rms = (out - ref).pow(2).mean().sqrt().item<double>();
        // The bound of the CPU test (NarrowComputeFollowsFp32WithinItsPrecision) with the unit roundoff of the
        // type: 2^-11 for fp16, 2^-8 for bf16.
        const double u = std::ldexp(1.0, dtype == torch::kHalf ? -11 : -8);
        EXPECT_LT(rms, 2 * std::sqrt(12.0) * u * ref.std().item<double>()) << dtype << ": rms " << rms;
        EXPECT_TRUE(torch::isfinite(out).all().item<bool>()) << dtype;
    }
    at::globalContext().setAllowTF32CuDNN(true);
}
