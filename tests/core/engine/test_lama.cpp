// LaMa generator, TorchScript reading, MD5 and strict loading, on tiny FFC configs with the real key
// names. Golden values come from the references (RFC 1321 vectors, the spec's exact big-lama key census) or from
// properties (folded == unfolded BatchNorm, batch == singles, round trips).
#include "charaforge/engine/error.h"
#include "lama_ffc.h"
#include "lama_test_util.h"
#include "lama_torchscript.h"
#include "md5.h"
#include "safetensors.h"
#include "weights.h"

#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

using namespace charaforge::engine;
using namespace charaforge::engine::test;

TEST(LamaMd5, Rfc1321TestSuite) {
    auto md5 = [](const std::string& s) { return md5_hex({reinterpret_cast<const uint8_t*>(s.data()), s.size()}); };
    EXPECT_EQ(md5(""), "d41d8cd98f00b204e9800998ecf8427e");
    EXPECT_EQ(md5("a"), "0cc175b9c0f1b6a831c399e269772661");
    EXPECT_EQ(md5("abc"), "900150983cd24fb0d6963f7d28e17f72");
    EXPECT_EQ(md5("message digest"), "f96b697d7cb7938d525a2f31aaf161d0");
    EXPECT_EQ(md5("abcdefghijklmnopqrstuvwxyz"), "c3fcd3d76192e4007dfb496cca67e13b");
    EXPECT_EQ(md5("12345678901234567890123456789012345678901234567890123456789012345678901234567890"),
              "57edf4a22be3c955ac49da2e2107b67a");
    const auto path = temp_path("md5.txt");
    std::ofstream(path, std::ios::binary) << "message digest";
    EXPECT_EQ(md5_file_hex(path), "f96b697d7cb7938d525a2f31aaf161d0");
}

TEST(LamaGenerator, BigLamaKeysAndShapesMatchTheReleasedCheckpoint) {
    // spec lama.md 1.5 [M]: 989 entries, 50,975,875 parameters, 81,304 buffer elements.
    LamaGenerator g(LamaConfig{}, torch::TensorOptions().dtype(torch::kFloat32));
    const auto state = state_of(*g);
    EXPECT_EQ(state.size(), 989u);
    int64_t params = 0, buffers = 0;
    for (const auto& p : g->named_parameters(true))
        params += p.value().numel();
    for (const auto& b : g->named_buffers(true))
        buffers += b.value().numel();
    EXPECT_EQ(params, 50975875);
    EXPECT_EQ(buffers, 81304);
    auto shape = [&](const std::string& k) { return state.at(k).sizes().vec(); };
    EXPECT_EQ(shape("model.1.ffc.convl2l.weight"), (std::vector<int64_t>{64, 4, 7, 7}));
    EXPECT_EQ(shape("model.4.ffc.convl2l.weight"), (std::vector<int64_t>{128, 256, 3, 3}));
    EXPECT_EQ(shape("model.4.ffc.convl2g.weight"), (std::vector<int64_t>{384, 256, 3, 3}));
    EXPECT_EQ(shape("model.22.conv2.ffc.convg2l.weight"), (std::vector<int64_t>{128, 384, 3, 3}));
    EXPECT_EQ(shape("model.5.conv1.ffc.convg2g.conv1.0.weight"), (std::vector<int64_t>{192, 384, 1, 1}));
    EXPECT_EQ(shape("model.5.conv1.ffc.convg2g.conv1.1.running_var"), (std::vector<int64_t>{192}));
    EXPECT_EQ(shape("model.5.conv1.ffc.convg2g.fu.conv_layer.weight"), (std::vector<int64_t>{384, 384, 1, 1}));
    EXPECT_EQ(shape("model.5.conv1.ffc.convg2g.fu.bn.weight"), (std::vector<int64_t>{384}));
    EXPECT_EQ(shape("model.5.conv1.ffc.convg2g.conv2.weight"), (std::vector<int64_t>{384, 192, 1, 1}));
    EXPECT_EQ(shape("model.5.conv1.bn_g.num_batches_tracked"), (std::vector<int64_t>{}));
    EXPECT_EQ(shape("model.24.weight"), (std::vector<int64_t>{512, 256, 3, 3}));
    EXPECT_EQ(shape("model.25.running_mean"), (std::vector<int64_t>{256}));
    EXPECT_EQ(shape("model.30.weight"), (std::vector<int64_t>{128, 64, 3, 3}));
    EXPECT_EQ(shape("model.34.weight"), (std::vector<int64_t>{3, 64, 7, 7}));
    EXPECT_EQ(shape("model.34.bias"), (std::vector<int64_t>{3}));
    for (const auto& [k, t] : state)
        EXPECT_TRUE(k.find("lfu") == std::string::npos && k.find("gate") == std::string::npos) << k;

    TensorShapes shapes;
    for (const auto& [k, t] : state)
        shapes[k] = t.sizes().vec();
    const auto cfg = LamaConfig::from_weights(shapes);
    EXPECT_EQ(cfg.ngf, 64);
    EXPECT_EQ(cfg.n_downsampling, 3);
    EXPECT_EQ(cfg.n_blocks, 18);
    EXPECT_EQ(cfg.global_channels(), 384);
    EXPECT_EQ(cfg.final_conv(), 34);
}

TEST(LamaGenerator, SpectrumIsInterleavedPerChannelAndInverts) {
    auto y = torch::randn({2, 3, 6, 5}); // odd width: irfftn needs the explicit size
    auto z = lama_spectrum(y);
    ASSERT_EQ(z.sizes().vec(), (std::vector<int64_t>{2, 6, 6, 3}));
    auto f = torch::fft::rfftn(y.select(1, 1), c10::nullopt, std::vector<int64_t>{-2, -1}, "ortho");
    EXPECT_TRUE(torch::allclose(z.select(1, 2), torch::real(f)));
    EXPECT_TRUE(torch::allclose(z.select(1, 3), torch::imag(f)));
    EXPECT_LT((lama_inverse_spectrum(z, 6, 5) - y).abs().max().item<float>(), 1e-5);
}

TEST(LamaGenerator, FoldedBatchNormEqualsUnfolded) {
    torch::NoGradGuard no_grad;
    auto g = tiny_generator();
    auto x = torch::rand({2, 4, 32, 48});
    const auto ref = g->forward_unfolded(x);
    g->fold_batchnorm();
    const auto out = g->forward(x);
    ASSERT_EQ(out.sizes(), ref.sizes());
    EXPECT_GT(ref.std().item<float>(), 1e-3); // the output is not a constant
    // fp32: the folding reorders a few products per element; outputs are O(1).
    EXPECT_LT((out - ref).abs().max().item<float>(), 2e-5);
}

TEST(LamaGenerator, ChannelsLastEqualsContiguous) {
    torch::NoGradGuard no_grad;
    auto g = tiny_generator();
    g->fold_batchnorm();
    auto x = torch::rand({2, 4, 32, 48});
    const auto ref = g->forward(x);
    g->set_channels_last(true);
    const auto out = g->forward(x);
    EXPECT_TRUE(out.is_contiguous()); // callers get the default layout back
    // fp32, outputs in (0, 1): only the summation order of the convolutions differs.
    EXPECT_LT((out - ref).abs().max().item<float>(), 1e-5);
    g->set_channels_last(false);
    EXPECT_TRUE(torch::equal(g->forward(x), ref));
}

TEST(LamaGenerator, NarrowComputeFollowsFp32WithinItsPrecision) {
    torch::NoGradGuard no_grad;
    auto g = tiny_generator();
    g->fold_batchnorm();
    auto x = torch::rand({2, 4, 32, 48});
    const auto ref = g->forward(x);
    // bf16 runs on every CPU; fp16 convolutions need the GPU (tests/core/engine/test_gpu.cpp).
    g->set_compute_dtype(torch::kBFloat16);
    EXPECT_EQ(g->compute_dtype(), torch::kBFloat16);
    const auto out = g->forward(x);
    EXPECT_EQ(out.scalar_type(), torch::kFloat32);
    EXPECT_TRUE(out.is_contiguous());
    // bf16 keeps 8 significant bits: each rounding moves a value by at most u = 2^-8 of itself. About a dozen
    // roundings in a chain (L = 12 layers) add up like a random walk to sqrt(L) u relative error before the sigmoid;
    // the sigmoid's slope is at most 1/4, and the pre-sigmoid values are about 4 std(out) here (outputs near 0.5),
    // so the output error is about sqrt(L) u std(out). Twice that is the bound; a wrong branch would err by ~std(out).
    const double rms = (out - ref).pow(2).mean().sqrt().item<double>();
    const double scale = ref.std().item<double>();
    EXPECT_GT(scale, 1e-3);
    EXPECT_LT(rms, 2 * std::sqrt(12.0) * std::ldexp(1.0, -8) * scale) << "rms " << rms << ", std " << scale;
    EXPECT_GT(rms, 0.0); // the narrow path ran
    // Back to fp32 from the parameters: bit-identical to the first run, no double rounding left behind.
    g->set_compute_dtype(torch::kFloat32);
    EXPECT_TRUE(torch::equal(g->forward(x), ref));
    EXPECT_THROW(g->set_compute_dtype(torch::kInt32), c10::Error);
}

TEST(LamaGenerator, BatchEqualsSingles) {
    torch::NoGradGuard no_grad;
    auto g = tiny_generator();
    g->fold_batchnorm();
    auto image = torch::rand({3, 3, 32, 40});
    auto mask = (torch::rand({3, 1, 32, 40}) > 0.7).to(torch::kFloat32);
    const auto batch = g->inpaint(image, mask);
    for (int64_t b = 0; b < 3; ++b) {
        const auto one = g->inpaint(image.narrow(0, b, 1), mask.narrow(0, b, 1));
        EXPECT_LT((batch.narrow(0, b, 1) - one).abs().max().item<float>(), 1e-6) << b;
    }
    // The wrapper's composite: known pixels are the input.
    const auto known = (1 - mask).expand_as(image).to(torch::kBool);
    EXPECT_TRUE(torch::equal(batch.masked_select(known), image.masked_select(known)));
}

TEST(LamaGenerator, RejectsSidesThatAreNotMultiplesOfEight) {
    auto g = tiny_generator();
    g->fold_batchnorm();
    EXPECT_THROW(g->forward(torch::rand({1, 4, 36, 40})), c10::Error);
}

TEST(LamaTorchScript, ReadsTensorsOfAnArchiveWrittenByLibTorch) {
    auto g = tiny_generator(11);
    const auto state = state_of(*g);
    const auto path = temp_path("tiny-lama.pt");
    save_torchscript(state, path);

    const auto all = read_torchscript_tensors(path);
    // Independent truth: LibTorch's own loader (which does compile the archive's code).
    auto loaded = torch::jit::load(path);
    std::size_t n = 0;
    for (const auto& p : loaded.named_parameters(true)) {
        ASSERT_TRUE(all.count(p.name)) << p.name;
        EXPECT_TRUE(torch::equal(all.at(p.name), p.value)) << p.name;
        ++n;
    }
    EXPECT_EQ(all.size(), n);
    EXPECT_TRUE(all.count("model.discriminator.weight"));
    for (const auto& [k, t] : state)
        EXPECT_TRUE(torch::equal(all.at("model.generator." + k), t)) << k;
}

TEST(LamaTorchScript, RefusesGlobalsOtherThanModuleState) {
    // protocol 2: GLOBAL 'os system', a string argument tuple, REDUCE, STOP
    const std::string evil = std::string("\x80\x02") + "cos\nsystem\n" + "X\x02\x00\x00\x00id" + "\x85R.";
    RecordReader none = [](const std::string& name) -> std::string { throw EngineError("no record " + name); };
    try {
        unpickle_module_tensors({reinterpret_cast<const uint8_t*>(evil.data()), evil.size()}, none, "evil.pt");
        FAIL() << "accepted os.system";
    } catch (const EngineError& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("evil.pt"), std::string::npos) << msg;
        EXPECT_NE(msg.find("os.system"), std::string::npos) << msg;
    }
}

TEST(LamaTorchScript, HostileArchivesGiveErrorsNamingTheFile) {
    const auto good = temp_path("good.pt");
    save_torchscript(state_of(*tiny_generator()), good);
    std::string bytes;
    {
        std::ifstream in(good, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    const auto trunc = temp_path("truncated.pt");
    std::ofstream(trunc, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    const auto junk = temp_path("junk.pt");
    std::ofstream(junk, std::ios::binary) << "not a zip at all";
    for (const auto& p : {trunc, junk}) {
        try {
            read_torchscript_tensors(p);
            FAIL() << p;
        } catch (const EngineError& e) {
            EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
        }
    }
    // Every truncation of data.pkl is an error, never a crash.
    auto archive = caffe2::serialize::PyTorchStreamReader(good);
    auto [ptr, size] = archive.getRecord("data.pkl");
    const auto* pkl = static_cast<const uint8_t*>(ptr.get());
    RecordReader records = [&](const std::string& name) {
        auto [p, s] = archive.getRecord(name);
        return std::string(static_cast<const char*>(p.get()), s);
    };
    for (std::size_t cut = 0; cut < size; cut += std::max<std::size_t>(1, size / 97))
        EXPECT_THROW(unpickle_module_tensors({pkl, cut}, records, "cut.pt"), EngineError) << cut;
}

TEST(LamaWeights, StrictLoadNamesTheFileAndTheKey) {
    auto state = state_of(*tiny_generator());
    auto missing = state;
    missing.erase("model.5.conv1.ffc.convg2g.fu.bn.running_var");
    try {
        auto g = tiny_generator();
        load_strict(*g, missing, "lama", "tiny.safetensors");
        FAIL();
    } catch (const EngineError& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("tiny.safetensors"), std::string::npos) << msg;
        EXPECT_NE(msg.find("model.5.conv1.ffc.convg2g.fu.bn.running_var"), std::string::npos) << msg;
    }
    auto wrong = state;
    wrong["model.6.conv2.ffc.convl2g.weight"] = torch::zeros({24, 8, 1, 1});
    auto g = tiny_generator();
    EXPECT_THROW(load_strict(*g, wrong, "lama", "tiny.safetensors"), EngineError);
}
