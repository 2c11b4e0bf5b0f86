#pragma once
// Device and dtype are chosen once here and passed down; nothing else guesses them.
#include "charaforge/engine/pipeline.h"

#include <torch/torch.h>

namespace charaforge::engine {

struct Runtime {
    torch::Device device{torch::kCPU};
    torch::Dtype dtype = torch::kFloat32; // transformer and text encoders
    torch::Dtype vae_dtype = torch::kFloat32;

    torch::TensorOptions options() const { return torch::TensorOptions().device(device).dtype(dtype); }
    std::string describe() const;
};

Runtime make_runtime(const RuntimeOptions& options);
torch::Dtype parse_dtype(const std::string& name); // "bf16", "fp16", "fp32"

} // namespace charaforge::engine
