#pragma once
// What charaforge-bench's modes share: random weights, random transformer inputs, device synchronisation.
#include "nextdit.h"
#include "nn.h"
#include "runtime.h"

#include <torch/torch.h>

#include <algorithm>
#include <string>
#include <vector>

namespace charaforge::bench {

using engine::NextDiTConfig;
using engine::Runtime;

inline void sync(const torch::Device& dev) {
    if (dev.is_cuda())
        torch::cuda::synchronize(dev.index());
}

// Random weights: N(0, 0.02), norm weights 1 + N(0, 0.1) (as the parity script), drawn on the device.
inline void randomise(torch::nn::Module& m, uint64_t seed) {
    engine::nn::init_random_on_device(m, seed);
}

struct Inputs {
    torch::Tensor x, t, cap, pooled;
    std::vector<int64_t> lens;
};

inline Inputs make_inputs(const NextDiTConfig& c, const Runtime& rt, int64_t side, const std::vector<int64_t>& lens) {
    const int64_t B = static_cast<int64_t>(lens.size()), h = side / 8;
    const int64_t L = *std::max_element(lens.begin(), lens.end());
    auto o = rt.options();
    Inputs in;
    in.x = torch::randn({B, c.in_channels, h, h}, o);
    in.t = torch::full({B}, 0.5f, o.dtype(torch::kFloat32));
    in.cap = torch::randn({B, L, c.cap_feat_dim}, o);
    in.pooled = torch::randn({B, c.clip_text_dim}, o);
    in.lens = lens;
    return in;
}

} // namespace charaforge::bench
