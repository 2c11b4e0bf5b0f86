#pragma once
// What a model folder says it is: its own charaforge.json (written by charaforge-demo-train for the demo model
// that ships with the app, issue 14), and from that and the test-model marker the kind of model. Plain C++ (no
// Qt, no torch) so that the engine-only charaforge-cli reads it too.
#include <optional>
#include <string>

namespace charaforge::app {

// FOLDER/charaforge.json: {"name": ..., "kind": "demo", "licence": ..., "training_data": ...,
// "native_resolution": 256, ...}. Other keys are ignored.
struct ModelCard {
    std::string name;
    std::string kind; // "demo" for the demo model
    std::string licence;
    std::string trainingData;
    int nativeResolution = 0; // the side the model was trained at; 0 when the card does not say
};

// The card of `folder`; std::nullopt when it has none or it cannot be used (not a regular file, over 64 KiB, not
// JSON, not an object, a field of the wrong type, a native_resolution that is no image side), with why in
// `problem` (naming the file and the field; "" when there is no card). Never throws.
std::optional<ModelCard> readModelCard(const std::string& folder, std::string* problem = nullptr);

// True when `folder` has a card whose kind is "demo". A bad or missing card is not the demo model.
bool isDemoModel(const std::string& folder);

enum class ModelKind {
    Demo,  // the demo model (its card says so; before the test-model marker, which a stand-in may also carry)
    Test,  // the random test model (engine::is_test_model)
    Other, // a user's model (NewBie-image)
};
ModelKind modelKind(const std::string& folder);

// What the CLI says after a model's folder: " (the CharaForge demo model: ...)", " (test model: ...)" or "".
std::string modelRemark(const std::string& folder);

// The side a model's images default to: its card's native_resolution, else NewBie's 1024.
inline constexpr int kNewBieSide = 1024;
int modelDefaultSide(const std::string& folder);

} // namespace charaforge::app
