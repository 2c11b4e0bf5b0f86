#include "core/engine/test_util.h"
#include "model_folder.h"
#include "test_model.h"
#include "text_conditioning.h"

#include <gtest/gtest.h>

using namespace charaforge::engine;
using charaforge::test::TempDir;

TEST(TextConditioning, PromptKindChoosesTheTrainingSystemPrompt) {
    EXPECT_TRUE(is_xml_prompt("  \n<character_1><n>a</n></character_1>"));
    EXPECT_FALSE(is_xml_prompt("1girl, solo, <3"));
    EXPECT_FALSE(is_xml_prompt("a girl in a garden"));
    GenerationRequest r;
    r.prompt = "<general_tags><count>1girl</count></general_tags>";
    auto c = conditional_texts(r);
    EXPECT_EQ(c.gemma, std::string(kXmlSystemPrompt) + r.prompt);
    EXPECT_EQ(c.jina, r.prompt); // Jina reads the raw prompt
    r.prompt = "1girl, solo";
    EXPECT_EQ(conditional_texts(r).gemma, std::string(kTagSystemPrompt) + "1girl, solo");
    r.system_prompt = "";
    EXPECT_EQ(conditional_texts(r).gemma, "1girl, solo");
}

TEST(TextConditioning, UnconditionalBranchIsEmptyOrTheNegativePrompt) {
    GenerationRequest r;
    r.prompt = "1girl";
    auto u = unconditional_texts(r);
    EXPECT_EQ(u.gemma, "");
    EXPECT_EQ(u.jina, "");
    r.negative_prompt = "lowres, bad hands";
    u = unconditional_texts(r);
    EXPECT_EQ(u.gemma, std::string(kTagSystemPrompt) + "lowres, bad hands");
    EXPECT_EQ(u.jina, "lowres, bad hands");
}

TEST(TextConditioning, EmbeddingsAreCachedPerEncoderAndExactText) {
    TempDir dir;
    make_test_model(dir.str(), 2);
    Runtime rt;
    TextEncoders enc(locate_model(dir.str()), rt, false);
    auto a = enc.encode({"hello", "hello"});
    EXPECT_EQ(enc.encoder_runs(), 2u);
    auto b = enc.encode({"hello", "hello"});
    EXPECT_EQ(enc.encoder_runs(), 2u); // both from the cache
    EXPECT_EQ(a.features, b.features);
    EXPECT_EQ(a.pooled, b.pooled);
    auto c = enc.encode({"hello", "world"}); // Gemma text cached, Jina text new
    EXPECT_EQ(enc.encoder_runs(), 3u);
    EXPECT_EQ(c.features, a.features);
    EXPECT_NE(c.pooled, a.pooled);
    auto d = enc.encode({"", ""}); // the unconditional branch: <bos> alone for Gemma
    EXPECT_EQ(d.length, 1);
    EXPECT_EQ(static_cast<int64_t>(d.features.size()), d.dim);
    // Bounded: after many distinct texts the first one is encoded again.
    for (int i = 0; i < 70; ++i) {
        std::string text = std::to_string(i);
        text.append(" tags");
        enc.encode({text, "t"});
    }
    const auto runs = enc.encoder_runs();
    enc.encode({"hello", "t"});
    EXPECT_EQ(enc.encoder_runs(), runs + 1);
}
