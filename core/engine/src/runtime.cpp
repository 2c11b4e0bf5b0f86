#include "runtime.h"

#include "charaforge/engine/error.h"
#include "charaforge/engine/tools.h"

#include <torch/version.h>

namespace charaforge::engine {

torch::Dtype parse_dtype(const std::string& name) {
    if (name == "bf16" || name == "bfloat16")
        return torch::kBFloat16;
    if (name == "fp16" || name == "float16")
        return torch::kFloat16;
    if (name == "fp32" || name == "float32")
        return torch::kFloat32;
    throw EngineError("runtime: unknown dtype '" + name + "' (use bf16, fp16 or fp32)");
}

Runtime make_runtime(const RuntimeOptions& options) {
    Runtime rt;
    if (options.device == "auto") {
        rt.device = torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
    } else {
        try {
            rt.device = torch::Device(options.device);
        } catch (const std::exception&) {
            throw EngineError("runtime: unknown device '" + options.device + "' (use auto, cpu, cuda or cuda:N)");
        }
        if (rt.device.is_cuda() && !torch::cuda::is_available())
            throw EngineError("runtime: device '" + options.device + "' requested but no CUDA device is available");
    }
    if (options.dtype == "auto")
        rt.dtype = rt.device.is_cuda() ? torch::kBFloat16 : torch::kFloat32;
    else
        rt.dtype = parse_dtype(options.dtype);
    // The VAE runs in fp32 (diffusers force_upcast for the FLUX VAE).
    rt.vae_dtype = torch::kFloat32;
    return rt;
}

std::string Runtime::describe() const {
    std::string d = device.str();
    std::string t = dtype == torch::kBFloat16 ? "bf16" : dtype == torch::kFloat16 ? "fp16" : "fp32";
    return d + " " + t;
}

std::string torch_version() {
    return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
           std::to_string(TORCH_VERSION_PATCH);
}

} // namespace charaforge::engine
