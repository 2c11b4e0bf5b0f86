// The demo model that ships with the app (issue 14): its card (charaforge.json, hostile input), what kind of
// model a folder is, and where the app finds the demo model (the override, the build tree's source folder).
#include "demo_stand_in.h"
#include "model/demo_model.h"
#include "model/model_card.h"
#include "test_util.h"

#include "charaforge/engine/model_check.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using namespace charaforge;
namespace fs = std::filesystem;

namespace {

void writeCard(const fs::path& folder, const std::string& text) {
    fs::create_directories(folder);
    std::ofstream(folder / "charaforge.json", std::ios::binary) << text;
}

} // namespace

TEST(ModelCard, ReadsTheFieldsOfAGoodCard) {
    test::TempDir tmp;
    writeCard(tmp.path(), R"({"name": "CharaForge demo model", "kind": "demo", "licence": "ours",
                              "training_data": "procedural", "native_resolution": 256, "steps": 9000})");
    std::string problem = "stale";
    const auto card = app::readModelCard(tmp.path().string(), &problem);
    ASSERT_TRUE(card) << problem;
    EXPECT_EQ(problem, "");
    EXPECT_EQ(card->name, "CharaForge demo model");
    EXPECT_EQ(card->kind, "demo");
    EXPECT_EQ(card->licence, "ours");
    EXPECT_EQ(card->trainingData, "procedural");
    EXPECT_EQ(card->nativeResolution, 256);
    EXPECT_TRUE(app::isDemoModel(tmp.path().string()));
}

TEST(ModelCard, AMissingCardIsNotTheDemoModelAndNoProblem) {
    test::TempDir tmp;
    std::string problem = "stale";
    EXPECT_FALSE(app::readModelCard(tmp.path().string(), &problem));
    EXPECT_EQ(problem, "");
    EXPECT_FALSE(app::isDemoModel(tmp.path().string()));
    EXPECT_FALSE(app::isDemoModel((tmp.path() / "no such folder").string()));
    EXPECT_FALSE(app::isDemoModel(""));
}

// Every bad card is refused with the file and the field named, and is not the demo model.
TEST(ModelCard, ABadCardIsNotTheDemoModelAndSaysWhy) {
    const struct {
        const char* text;
        const char* says;
    } cases[] = {
        {"", "not valid JSON"},
        {"{\"kind\": \"demo\"", "not valid JSON"},
        {"\xff\xfe{\"kind\": \"demo\"}", "not valid JSON"},
        {"[\"kind\", \"demo\"]", "not a JSON object"},
        {"\"demo\"", "not a JSON object"},
        {"{\"kind\": 1}", "kind: not a string"},
        {"{\"kind\": [\"demo\"]}", "kind: not a string"},
        {"{\"kind\": \"demo\", \"name\": {}}", "name: not a string"},
        {"{\"kind\": \"demo\", \"licence\": null}", "licence: not a string"},
        {"{\"kind\": \"demo\", \"native_resolution\": \"256\"}", "native_resolution: \"256\" is not an image side"},
        {"{\"kind\": \"demo\", \"native_resolution\": 250}", "native_resolution: 250 is not an image side"},
        {"{\"kind\": \"demo\", \"native_resolution\": 256.5}", "native_resolution: 256.5 is not an image side"},
        {"{\"kind\": \"demo\", \"native_resolution\": -256}", "native_resolution: -256 is not an image side"},
        {"{\"kind\": \"demo\", \"native_resolution\": 0}", "native_resolution: 0 is not an image side"},
        {"{\"kind\": \"demo\", \"native_resolution\": 18446744073709551615}", "is not an image side"},
        {"{\"kind\": \"demo\", \"native_resolution\": 1e400}", "not valid JSON"},
    };
    for (const auto& c : cases) {
        test::TempDir tmp;
        writeCard(tmp.path(), c.text);
        std::string problem;
        EXPECT_FALSE(app::readModelCard(tmp.path().string(), &problem)) << c.text;
        EXPECT_NE(problem.find((tmp.path() / "charaforge.json").string()), std::string::npos) << problem;
        EXPECT_NE(problem.find(c.says), std::string::npos) << c.text << " -> " << problem;
        EXPECT_FALSE(app::isDemoModel(tmp.path().string())) << c.text;
        EXPECT_EQ(app::modelDefaultSide(tmp.path().string()), app::kNewBieSide) << c.text;
    }
}

TEST(ModelCard, ACardThatIsNoRegularFileOrTooLargeIsRefused) {
    test::TempDir tmp;
    fs::create_directories(tmp.path() / "folder" / "charaforge.json");
    std::string problem;
    EXPECT_FALSE(app::readModelCard((tmp.path() / "folder").string(), &problem));
    EXPECT_NE(problem.find("not a regular file"), std::string::npos) << problem;
    EXPECT_FALSE(app::isDemoModel((tmp.path() / "folder").string()));

    // 100 KiB of a valid object (kind "demo" first): a card is never that large.
    std::string big = "{\"kind\": \"demo\", \"padding\": \"" + std::string(100 * 1024, 'x') + "\"}";
    writeCard(tmp.path() / "big", big);
    EXPECT_FALSE(app::readModelCard((tmp.path() / "big").string(), &problem));
    EXPECT_NE(problem.find("over 64 KiB"), std::string::npos) << problem;
    EXPECT_FALSE(app::isDemoModel((tmp.path() / "big").string()));
}

TEST(ModelCard, AnotherKindIsNotTheDemoModel) {
    test::TempDir tmp;
    writeCard(tmp.path(), R"({"kind": "Demo"})");
    EXPECT_TRUE(app::readModelCard(tmp.path().string()));
    EXPECT_FALSE(app::isDemoModel(tmp.path().string()));
    writeCard(tmp.path(), R"({"name": "CharaForge demo model"})");
    EXPECT_FALSE(app::isDemoModel(tmp.path().string())) << "the name does not make it the demo model";
}

// The card decides before the test-model marker: the stand-in (a test model with a demo card) is the demo model.
TEST(ModelCard, TheKindOfAFolderAndItsDefaultSide) {
    test::TempDir tmp;
    const auto demo = test::make_demo_stand_in((tmp.path() / "demo").string(), 192);
    engine::make_test_model((tmp.path() / "test").string());
    const auto user = test::make_user_model((tmp.path() / "user").string());
    EXPECT_EQ(app::modelKind(demo), app::ModelKind::Demo);
    EXPECT_EQ(app::modelKind((tmp.path() / "test").string()), app::ModelKind::Test);
    EXPECT_EQ(app::modelKind(user), app::ModelKind::Other);
    EXPECT_EQ(app::modelKind((tmp.path() / "none").string()), app::ModelKind::Other);
    EXPECT_EQ(app::modelDefaultSide(demo), 192);
    EXPECT_EQ(app::modelDefaultSide((tmp.path() / "test").string()), 1024);
    EXPECT_EQ(app::modelDefaultSide(user), 1024);
    EXPECT_NE(app::modelRemark(demo).find("demo model"), std::string::npos);
    EXPECT_NE(app::modelRemark((tmp.path() / "test").string()).find("test model"), std::string::npos);
    EXPECT_EQ(app::modelRemark(user), "");
}

TEST(DemoModel, TheOverrideFindsAStandIn) {
    test::TempDir tmp;
    const auto demo = test::make_demo_stand_in((tmp.path() / "demo").string());
    test::DemoModelEnv env(demo);
    ASSERT_EQ(app::demoModelCandidates(), std::vector<std::string>{demo});
    std::string problem = "stale";
    EXPECT_EQ(app::demoModelFolder(&problem), demo);
    EXPECT_EQ(problem, "");
}

TEST(DemoModel, AnIncompleteOrUnmarkedFolderIsNotTheDemoModel) {
    test::TempDir tmp;
    const auto incomplete = test::make_demo_stand_in((tmp.path() / "incomplete").string());
    test::remove_tree(fs::path(incomplete) / "clip_model");
    {
        test::DemoModelEnv env(incomplete);
        std::string problem;
        EXPECT_EQ(app::demoModelFolder(&problem), "");
        EXPECT_NE(problem.find(incomplete + " is not a usable demo model"), std::string::npos) << problem;
        EXPECT_NE(problem.find("Jina CLIP v2 text encoder"), std::string::npos) << problem;
    }
    // A complete model without a demo card (the test model, a user's model) is not the demo model either.
    engine::make_test_model((tmp.path() / "test").string());
    {
        test::DemoModelEnv env((tmp.path() / "test").string());
        std::string problem;
        EXPECT_EQ(app::demoModelFolder(&problem), "");
        EXPECT_NE(problem.find("charaforge.json: missing"), std::string::npos) << problem;
    }
    const auto bad = test::make_demo_stand_in((tmp.path() / "bad").string());
    writeCard(bad, "{\"kind\": \"demo\", \"native_resolution\": 7}");
    {
        test::DemoModelEnv env(bad);
        std::string problem;
        EXPECT_EQ(app::demoModelFolder(&problem), "");
        EXPECT_NE(problem.find("native_resolution: 7"), std::string::npos) << problem;
    }
    // A folder that is not there is not a problem worth a word (a build without the demo model).
    test::DemoModelEnv env((tmp.path() / "absent").string());
    std::string problem = "stale";
    EXPECT_EQ(app::demoModelFolder(&problem), "");
    EXPECT_EQ(problem, "");
}

TEST(DemoModel, AnEmptyOverrideMeansNone) {
    test::DemoModelEnv env(std::string{});
    EXPECT_TRUE(app::demoModelCandidates().empty());
    EXPECT_EQ(app::demoModelFolder(), "");
}

// Without the override a program of the build tree (this test) looks in the installed place beside its bin/ and
// then in the source tree's resources/demo-model, which it uses once the trained model is committed there.
TEST(DemoModel, TheBuildTreeUsesTheSourceTreesFolder) {
    test::DemoModelEnv env(std::nullopt);
    const std::string source = std::string(CHARAFORGE_TEST_SOURCE_DIR) + "/resources/demo-model";
    const auto candidates = app::demoModelCandidates();
    ASSERT_EQ(candidates.size(), 2u);
    EXPECT_TRUE(candidates[0].ends_with("/share/charaforge/demo-model")) << candidates[0];
    EXPECT_EQ(candidates[1], source);
    const bool shipped = fs::exists(source + "/charaforge.json");
    std::string problem;
    EXPECT_EQ(app::demoModelFolder(&problem), shipped ? source : "") << problem;
    if (shipped) { // the committed folder is the demo model, complete, at its native size
        EXPECT_TRUE(app::isDemoModel(source));
        EXPECT_EQ(engine::check_model_folder(source), "");
        EXPECT_FALSE(engine::is_test_model(source)) << "the demo model is no random test model";
        const int side = app::modelDefaultSide(source);
        EXPECT_GE(side, 192);
        EXPECT_LE(side, 320);
    }
}
