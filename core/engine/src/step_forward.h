#pragma once
// The transformer forward of a sampling loop, replayed as a CUDA graph where it can be.
#include "nextdit.h"

#include <memory>

namespace charaforge::engine {

// Runs model->forward(x, t, caps, pooled) for the steps of one sampling loop. With a CUDA build of LibTorch 2.x
// and x on a CUDA device, the first call for a new key (the shapes and dtypes of x, t and pooled, and the caption
// encoding `caps` by identity) runs eagerly on the runner's own stream (the warm-up: handles and workspaces of that
// stream exist before any capture), the second captures the forward as a CUDA graph with static inputs, and every
// later call copies its inputs into them and replays the graph: the same kernels on the same data, without the
// launch overhead and the gaps between kernels. Results are identical to the eager forward's. A new key replaces
// the graph (one warm-up and one capture again). Elsewhere, with CHARAFORGE_CUDA_GRAPHS=0, or after a capture
// failed (the reason is printed once to stderr), every call is the eager forward.
// The graph's memory (the forward's activations) stays reserved until the runner is destroyed or reset().
// One runner per sampling loop and thread; not thread-safe.
class StepForward {
public:
    explicit StepForward(NextDiT model);
    ~StepForward();
    StepForward(const StepForward&) = delete;
    StepForward& operator=(const StepForward&) = delete;

    // As NextDiT::forward with encoded captions; the result is the caller's own tensor.
    torch::Tensor operator()(const torch::Tensor& x, const torch::Tensor& t, NextDiTCaptions& caps,
                             const torch::Tensor& pooled);

    // Frees the graph and its memory (the next call starts with a warm-up).
    void reset();

    int captures() const; // graphs captured so far
    int replays() const;  // calls answered by a replay

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Whether CUDA graphs are built in (CUDA LibTorch 2.x) and not turned off by CHARAFORGE_CUDA_GRAPHS=0 (read once).
bool cuda_graphs_enabled();

} // namespace charaforge::engine
