#pragma once
// The demo model's training (issue 14), skeleton: the engine's own NextDiT trained with LibTorch autograd on
// images and captions written by charaforge-demo-data. The text encoders and the VAE of a base model folder
// (e.g. charaforge-cli make-test-model) are used frozen; the transformer starts from the base's weights.
// Flow matching in the sampler's convention (spec newbie-model.md §5.1): x_t = t x_data + (1 - t) noise,
// t = 0 noise, target v = x_data - noise, MSE; AdamW; caption dropout to the sampler's unconditional branch
// ("" for both encoders). Writes a model folder in the official layout that Pipeline::open loads.
// Torch-free header.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace charaforge::demo {

struct DemoTrainOptions {
    std::string data_dir;   // charaforge-demo-data output (manifest.jsonl, PNGs, captions)
    std::string base_model; // model folder: frozen text encoders and VAE, the transformer's starting point
    std::string out_dir;    // the model folder written (new or empty)
    int steps = 1000;
    int batch = 8;
    double learning_rate = 1e-3;
    double weight_decay = 0.01;
    double caption_dropout = 0.1; // probability that a sample is trained unconditionally (for CFG)
    uint64_t seed = 0;
    int max_images = 0;         // 0: every image of the manifest
    std::string device = "cpu"; // "cpu", "cuda", "cuda:N" (as RuntimeOptions::device); fp32 weights everywhere
};

struct DemoTrainReport {
    std::vector<double> losses; // the training loss of every step
    double eval_before = 0;     // loss on a fixed set of (image, noise, t) before the first step
    double eval_after = 0;      // the same after the last step
    int images = 0;
};

// Called after each step (1-based) with the step's loss.
using DemoTrainProgress = std::function<void(int step, int total, double loss)>;

// Trains and writes `out_dir`. Throws std::invalid_argument for bad options or data (naming the file or field),
// std::runtime_error for I/O failures.
DemoTrainReport train_demo_model(const DemoTrainOptions& options, const DemoTrainProgress& progress = {});

} // namespace charaforge::demo
