#include "model/model_card.h"

#include "charaforge/engine/pipeline.h"
#include "charaforge/engine/request_validation.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

namespace charaforge::app {

namespace fs = std::filesystem;

namespace {

constexpr std::uintmax_t kMaxCardBytes = 64 * 1024; // a card is a few lines; anything larger is not one

// `key` of the card as a string: "" when absent; false (with `problem`) when it is there and not a string.
bool stringField(const nlohmann::json& j, const char* key, std::string& to, const std::string& file,
                 std::string& problem) {
    const auto it = j.find(key);
    if (it == j.end())
        return true;
    if (!it->is_string()) {
        problem = file + ": " + key + ": not a string";
        return false;
    }
    to = it->get<std::string>();
    return true;
}

std::optional<ModelCard> parseCard(const std::string& file, std::string& problem) {
    std::error_code ec;
    if (!fs::exists(file, ec))
        return std::nullopt; // no card: not a problem
    if (!fs::is_regular_file(file, ec)) {
        problem = file + ": not a regular file";
        return std::nullopt;
    }
    const auto bytes = fs::file_size(file, ec);
    if (ec || bytes > kMaxCardBytes) {
        problem = file + (ec ? ": cannot be read" : ": over 64 KiB, not a model card");
        return std::nullopt;
    }
    std::ifstream in(file, std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) {
        problem = file + ": cannot be read";
        return std::nullopt;
    }
    const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
        problem = file + ": not valid JSON";
        return std::nullopt;
    }
    if (!j.is_object()) {
        problem = file + ": not a JSON object";
        return std::nullopt;
    }
    ModelCard card;
    if (!stringField(j, "name", card.name, file, problem) || !stringField(j, "kind", card.kind, file, problem) ||
        !stringField(j, "licence", card.licence, file, problem) ||
        !stringField(j, "training_data", card.trainingData, file, problem))
        return std::nullopt;
    if (const auto it = j.find("native_resolution"); it != j.end()) {
        const bool integer = it->is_number_integer() || it->is_number_unsigned();
        const auto side = integer ? it->get<std::int64_t>() : 0;
        if (!integer || side < engine::kMinImageSize || side > engine::kMaxImageSize ||
            side % engine::kImageSizeMultiple != 0) {
            problem = file + ": native_resolution: " + it->dump() + " is not an image side (a multiple of " +
                      std::to_string(engine::kImageSizeMultiple) + " in " + std::to_string(engine::kMinImageSize) +
                      ".." + std::to_string(engine::kMaxImageSize) + ")";
            return std::nullopt;
        }
        card.nativeResolution = static_cast<int>(side);
    }
    return card;
}

} // namespace

std::optional<ModelCard> readModelCard(const std::string& folder, std::string* problem) {
    std::string why;
    std::optional<ModelCard> card;
    try {
        card = parseCard((fs::path(folder) / "charaforge.json").string(), why);
    } catch (const std::exception& e) { // allocation, or a path the file system refuses
        why = folder + "/charaforge.json: " + e.what();
        card.reset();
    }
    if (problem)
        *problem = why;
    return card;
}

bool isDemoModel(const std::string& folder) {
    const auto card = readModelCard(folder);
    return card && card->kind == "demo";
}

ModelKind modelKind(const std::string& folder) {
    if (isDemoModel(folder))
        return ModelKind::Demo;
    return engine::is_test_model(folder) ? ModelKind::Test : ModelKind::Other;
}

std::string modelRemark(const std::string& folder) {
    switch (modelKind(folder)) {
    case ModelKind::Demo:
        return " (the CharaForge demo model: for real images give the NewBie model folder)";
    case ModelKind::Test:
        return " (test model: random weights, images are noise)";
    case ModelKind::Other:
        break;
    }
    return {};
}

int modelDefaultSide(const std::string& folder) {
    const auto card = readModelCard(folder);
    return card && card->nativeResolution > 0 ? card->nativeResolution : kNewBieSide;
}

} // namespace charaforge::app
