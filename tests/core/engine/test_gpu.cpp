// Tests that need a CUDA device; skipped elsewhere. Labelled `gpu`.
#include "charaforge/engine/pipeline.h"
#include "core/engine/test_util.h"
#include "nextdit.h"
#include "test_model.h"
#include "torch_compat.h"

#include <gtest/gtest.h>

using namespace charaforge::engine;

namespace {
bool have_cuda() {
    return torch::cuda::is_available();
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
    make_test_model(dir.str(), 5);
    RuntimeOptions o;
    o.device = "cuda";
    o.dtype = "bf16";
    auto p = Pipeline::open(dir.str(), o);
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
