#pragma once
// fp8 mode of the transformer (issue 12): the blocks' large linear layers with e4m3 weights and per-channel scales.
#include "nextdit.h"

#include <string>

namespace charaforge::engine {

// "" when `device` can run the fp8 mode (LibTorch with _scaled_mm, a CUDA GPU of compute capability 8.9 or
// later), else why not.
std::string fp8_unsupported_reason(const torch::Device& device);

// Quantises one linear layer's weight to e4m3 with one scale per output channel (scale = row amax / 448), used by
// its forward from then on. keep_original false frees the weight. Returns the bytes of the fp8 weight and scales.
int64_t quantize_linear_fp8(nn::LinearImpl& linear, bool keep_original, bool fast_accum);

// Quantises the weights of every block's qkv, out, w1, w2 and w3 (layers, noise refiner, context refiner) to e4m3
// with one scale per output channel (scale = row amax / 448). keep_original false frees the bf16 weights (the
// model can then no longer run without fp8); true keeps them (comparisons). Returns the bytes of fp8 weights.
int64_t quantize_nextdit_fp8(NextDiT& model, bool keep_original, bool fast_accum);

// Memory mode low: the same blocks' linears stored as e4m3 with per-output-channel scales and upcast to their dtype
// for each matmul (no fp8 tensor cores needed). The model may sit on the CPU: each weight is quantised on `device`
// and its original freed, so the device never holds the whole model in its original dtype. Returns the bytes of
// fp8 weights and scales. Throws (compat::kNoFp8) on a LibTorch without the e4m3 dtype.
int64_t store_nextdit_linears_fp8(NextDiT& model, const torch::Device& device);

// Back to the original weights (only after quantize_nextdit_fp8 with keep_original).
void drop_nextdit_fp8(NextDiT& model);

} // namespace charaforge::engine
