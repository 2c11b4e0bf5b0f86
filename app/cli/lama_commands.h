#pragma once
// charaforge-cli's LaMa commands: `lama convert` (big-lama.pt to safetensors), `lama make-test-model` (a tiny
// random generator, for tests) and `erase` (one image or many, through the batched erase scheduler).
#include "cli_options.h"

#include <string>
#include <utility>
#include <vector>

namespace charaforge::cli {

void add_lama_commands(CLI::App& app, Action& chosen);

// --lama (--model), --image, --mask and --strategy of `erase` and `queue add-erase`.
void add_erase_input_options(CLI::App* sub, std::string& lama, std::vector<std::string>& images,
                             std::vector<std::string>& masks, std::string& strategy);

// (image, mask) pairs of --image and --mask values, as `erase` and `queue add-erase` take them: files or folders
// of PNGs; masks one per image, one for all, or a folder of masks named as the images (IOPaint's batch pairing).
// Throws std::invalid_argument naming the option and the file.
std::vector<std::pair<std::string, std::string>> pair_erase_inputs(const std::vector<std::string>& images,
                                                                   const std::vector<std::string>& masks);

} // namespace charaforge::cli
