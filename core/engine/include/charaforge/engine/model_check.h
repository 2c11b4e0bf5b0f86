#pragma once
// Checking a model folder before it replaces a working model (torch-free, for the GUI).
#include <string>

namespace charaforge::engine {

// Empty when `dir` holds everything text-to-image generation needs: the transformer, the VAE and both text
// encoders with their tokenizers. Otherwise the model locator's error, one line per missing part naming the
// file and the place looked in. Reads file headers only: no weights are loaded.
std::string check_model_folder(const std::string& dir);

} // namespace charaforge::engine
