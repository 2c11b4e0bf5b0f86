#pragma once
// One call of a function under the Kineto profiler (CPU ops and CUDA kernels), for the benchmark programs. The
// Chrome trace it writes is summarised by tools/gpu/profile_summary.py. Needs LibTorch 2; with 1.13 the
// programs refuse --profile before calling this.
#include <torch/torch.h>
#include <torch/version.h>
#if TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/autograd/profiler_kineto.h>
#endif

#include <cstdio>
#include <set>
#include <string>

namespace charaforge::bench {

inline constexpr bool kHaveKineto = TORCH_VERSION_MAJOR >= 2;

template <typename Fn> void profile_once(const torch::Device& dev, const std::string& path, Fn&& fn) {
#if TORCH_VERSION_MAJOR >= 2
    namespace prof = torch::profiler::impl;
    const prof::ProfilerConfig config(prof::ProfilerState::KINETO);
    const std::set<prof::ActivityType> activities{prof::ActivityType::CPU, prof::ActivityType::CUDA};
    if (dev.is_cuda())
        torch::cuda::synchronize();
    torch::autograd::profiler::prepareProfiler(config, activities);
    torch::autograd::profiler::enableProfiler(config, activities);
    fn();
    if (dev.is_cuda())
        torch::cuda::synchronize();
    auto result = torch::autograd::profiler::disableProfiler();
    result->save(path);
    std::printf("profile written to %s\n", path.c_str());
#else
    (void)dev, (void)path, (void)fn;
#endif
}

} // namespace charaforge::bench
