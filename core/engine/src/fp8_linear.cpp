#include "fp8_linear.h"

#include "charaforge/engine/error.h"
#include "torch_compat.h"

#include <functional>

#if defined(CHARAFORGE_WITH_CUDA)
#include <ATen/cuda/CUDAContext.h>
#endif

namespace charaforge::engine {
namespace {

// Calls fn on each of the blocks' large linears.
void for_each_block_linear(NextDiT& model, const std::function<void(nn::LinearImpl&)>& fn) {
    for (auto* list : {&model->layers, &model->noise_refiner, &model->context_refiner})
        for (const auto& m : **list) {
            auto* block = m->as<JointTransformerBlockImpl>();
            for (auto* l : {block->attention->qkv.get(), block->attention->out.get(), block->feed_forward->w1.get(),
                            block->feed_forward->w2.get(), block->feed_forward->w3.get()})
                fn(*l);
        }
}

} // namespace

std::string fp8_unsupported_reason(const torch::Device& device) {
    if (!compat::kHasFp8)
        return compat::kNoFp8;
    if (!device.is_cuda())
        return "fp8 needs a CUDA GPU";
#if defined(CHARAFORGE_WITH_CUDA) && defined(CHARAFORGE_TORCH_HAS_RMS_NORM_AND_GQA)
    const auto* p = at::cuda::getDeviceProperties(device.index() < 0 ? at::cuda::current_device() : device.index());
    if (p->major * 10 + p->minor < 89)
        return "fp8 needs a GPU of compute capability 8.9 or later (this one has " + std::to_string(p->major) + "." +
               std::to_string(p->minor) + ")";
    return "";
#else
    return "this build has no CUDA";
#endif
}

int64_t quantize_linear_fp8(nn::LinearImpl& l, bool keep_original, bool fast_accum) {
#if defined(CHARAFORGE_TORCH_HAS_RMS_NORM_AND_GQA)
    torch::NoGradGuard ng;
    TORCH_CHECK(l.weight.is_cuda(), "fp8: the weights must be on a CUDA device");
    auto [q, s] = compat::quantize_rows_e4m3(l.weight); // [N, K] e4m3, [N, 1]
    l.fp8_weight = q;
    l.fp8_scale = s.view({-1}).contiguous(); // [N]
    l.fp8_fast_accum = fast_accum;
    if (!keep_original)
        l.weight.set_data(torch::empty({0}, l.weight.options()));
    return l.fp8_weight.numel() + l.fp8_scale.numel() * 4;
#else
    (void)l, (void)keep_original, (void)fast_accum;
    throw EngineError(std::string("fp8: ") + compat::kNoFp8);
#endif
}

int64_t quantize_nextdit_fp8(NextDiT& model, bool keep_original, bool fast_accum) {
    int64_t bytes = 0;
    for_each_block_linear(model,
                          [&](nn::LinearImpl& l) { bytes += quantize_linear_fp8(l, keep_original, fast_accum); });
    return bytes;
}

int64_t store_nextdit_linears_fp8(NextDiT& model, const torch::Device& device) {
#if defined(CHARAFORGE_TORCH_HAS_RMS_NORM_AND_GQA)
    torch::NoGradGuard ng;
    int64_t bytes = 0;
    for_each_block_linear(model, [&](nn::LinearImpl& l) {
        auto [q, s] = compat::quantize_rows_e4m3(l.weight.to(device)); // [N, K] e4m3, [N, 1]
        l.fp8_weight = q;
        l.fp8_scale = s.view({-1}).contiguous(); // [N]
        l.fp8_upcast = true;
        l.weight.set_data(torch::empty({0}, l.weight.options().device(device)));
        bytes += l.fp8_weight.numel() + l.fp8_scale.numel() * 4;
    });
    return bytes;
#else
    (void)model, (void)device;
    throw EngineError(std::string("fp8: ") + compat::kNoFp8);
#endif
}

void drop_nextdit_fp8(NextDiT& model) {
    for_each_block_linear(model, [&](nn::LinearImpl& l) {
        if (l.weight.numel() == 0)
            throw EngineError("fp8: the original weights were freed; reload the model");
        l.fp8_weight = l.fp8_scale = torch::Tensor();
        l.fp8_upcast = false;
    });
}

} // namespace charaforge::engine
