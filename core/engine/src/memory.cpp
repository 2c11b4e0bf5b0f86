// Ref: c10/cuda/CUDACachingAllocator.h (DeviceStats, emptyCache), CUDA runtime cudaMemGetInfo,
//      proc(5) (/proc/self/statm, /proc/meminfo).
#include "memory.h"

#include "charaforge/engine/error.h"
#include "charaforge/engine/pipeline.h"

#if CHARAFORGE_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <cuda_runtime_api.h>
#endif

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <new>

namespace charaforge::engine {
namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

std::string message_of(const std::exception& e) {
    if (const auto* err = dynamic_cast<const c10::Error*>(&e))
        return err->what_without_backtrace(); // the backtrace's function names are not the message
    return e.what();
}

// "MemTotal:       16303404 kB" -> bytes; 0 when the key is missing.
int64_t meminfo_bytes(const char* key) {
    std::FILE* f = std::fopen("/proc/meminfo", "r");
    if (!f)
        return 0;
    char line[256];
    int64_t bytes = 0;
    const std::size_t n = std::strlen(key);
    while (std::fgets(line, sizeof line, f)) {
        if (std::strncmp(line, key, n) == 0 && line[n] == ':') {
            long long kb = 0;
            if (std::sscanf(line + n + 1, "%lld", &kb) == 1)
                bytes = static_cast<int64_t>(kb) * 1024;
            break;
        }
    }
    std::fclose(f);
    return bytes;
}

int64_t resident_bytes() {
    std::FILE* f = std::fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    long long size = 0, resident = 0;
    const int got = std::fscanf(f, "%lld %lld", &size, &resident);
    std::fclose(f);
    return got == 2 ? static_cast<int64_t>(resident) * sysconf(_SC_PAGESIZE) : 0;
}

void fill_cpu(MemoryReport& r) {
    r.device = "cpu";
    r.process_resident = resident_bytes();
    r.total = meminfo_bytes("MemTotal");
    r.free = meminfo_bytes("MemAvailable");
    const int64_t page = sysconf(_SC_PAGESIZE);
    if (r.total == 0)
        r.total = static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * page;
    if (r.free == 0)
        r.free = static_cast<int64_t>(sysconf(_SC_AVPHYS_PAGES)) * page;
}

// Fills a CUDA report; false when this build or machine has no such device.
bool fill_cuda([[maybe_unused]] MemoryReport& r, [[maybe_unused]] int index) {
#if CHARAFORGE_WITH_CUDA
    if (index < 0 || index >= cuda_device_count())
        return false;
    const auto di = static_cast<c10::DeviceIndex>(index);
    // The allocator's per-device state exists once CUDA is initialised (getDeviceStats would fail before);
    // creating an empty tensor initialises it and allocates nothing.
    (void)torch::empty({0}, torch::TensorOptions().device(torch::kCUDA, di));
    // DeviceStats lives in another namespace in LibTorch 2.x; index 0 of every StatArray is the aggregate
    // over pool types in both versions.
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(di);
    r.allocated = stats.allocated_bytes[0].current;
    r.reserved = stats.reserved_bytes[0].current;
    r.peak_allocated = stats.allocated_bytes[0].peak;
    r.peak_reserved = stats.reserved_bytes[0].peak;
    {
        c10::cuda::CUDAGuard guard(di);
        std::size_t free_bytes = 0, total_bytes = 0;
        if (cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess) {
            r.free = static_cast<int64_t>(free_bytes);
            r.total = static_cast<int64_t>(total_bytes);
        } else {
            (void)cudaGetLastError(); // clear the sticky-free error state for the worker thread's next call
        }
    }
    r.device = "cuda:" + std::to_string(index) + " " + at::cuda::getDeviceProperties(di)->name;
    r.gpu = true;
    r.process_resident = resident_bytes();
    return true;
#else
    return false;
#endif
}

} // namespace

bool is_out_of_memory(const std::exception& e) {
    if (dynamic_cast<const std::bad_alloc*>(&e) || dynamic_cast<const c10::OutOfMemoryError*>(&e))
        return true;
    if (!dynamic_cast<const c10::Error*>(&e))
        return false;
    const std::string msg = lower(message_of(e));
    for (const char* needle : {"out of memory", "can't allocate memory", "not enough memory",
                               "cublas_status_alloc_failed", "cudnn_status_alloc_failed"})
        if (msg.find(needle) != std::string::npos)
            return true;
    return false;
}

std::string allocation_detail(const std::exception& e) {
    const std::string msg = message_of(e);
    const std::string key = "tried to allocate ";
    const auto at = lower(msg).find(key);
    if (at == std::string::npos)
        return {};
    const std::size_t from = at + key.size();
    std::size_t to = msg.find_first_of("\n(", from);
    if (const auto stop = msg.find(". ", from); stop < to)
        to = stop;
    std::string size =
        msg.substr(from, std::min<std::size_t>(to == std::string::npos ? msg.size() : to, from + 40) - from);
    while (!size.empty() && (size.back() == '.' || size.back() == ' '))
        size.pop_back();
    return size;
}

std::string out_of_memory_message(const std::string& device, BatchStage stage, std::size_t images, int width,
                                  int height, int steps, bool suggest_offload, const std::string& detail) {
    const bool sampling = stage == BatchStage::Sampling;
    std::string m = "pipeline: out of memory on " + device + (sampling ? " sampling " : " decoding ") +
                    std::to_string(images) + (images == 1 ? " image" : " images") + " at " + std::to_string(width) +
                    "x" + std::to_string(height);
    std::vector<std::string> notes;
    if (sampling)
        notes.push_back(std::to_string(steps) + " steps");
    if (!detail.empty())
        notes.push_back("tried to allocate " + detail);
    for (std::size_t i = 0; i < notes.size(); ++i)
        m += (i == 0 ? " (" : "; ") + notes[i] + (i + 1 == notes.size() ? ")" : "");
    m += sampling ? ": lower the batch size or the resolution" : ": lower the resolution";
    if (suggest_offload)
        m += ", or enable text-encoder offload";
    return m;
}

MemoryReport memory_report(const std::string& device) {
    MemoryReport r;
    r.device = device;
    try {
        std::string d = device;
        if (d == "auto")
            d = cuda_device_count() > 0 ? "cuda:0" : "cpu";
        if (d == "cpu") {
            fill_cpu(r);
        } else if (d == "cuda" || d.rfind("cuda:", 0) == 0) {
            int index = 0;
            if (d != "cuda") {
                const std::string n = d.substr(5);
                if (n.empty() || n.size() > 3 ||
                    !std::all_of(n.begin(), n.end(), [](unsigned char c) { return std::isdigit(c) != 0; }))
                    return r;
                index = std::stoi(n);
            }
            if (!fill_cuda(r, index))
                r = MemoryReport{device};
        }
    } catch (...) {
        // Never throws (the monitor polls from its own thread): what could not be read stays 0.
    }
    return r;
}

int cuda_device_count() {
    try {
        return static_cast<int>(torch::cuda::device_count());
    } catch (...) {
        return 0;
    }
}

int64_t module_bytes(const torch::nn::Module& module) {
    int64_t bytes = 0;
    for (const auto& t : module.parameters(true))
        bytes += t.numel() * static_cast<int64_t>(t.element_size());
    for (const auto& t : module.buffers(true))
        bytes += t.numel() * static_cast<int64_t>(t.element_size());
    return bytes;
}

void release_cached_device_memory() {
#if CHARAFORGE_WITH_CUDA
    try {
        if (cuda_device_count() > 0)
            c10::cuda::CUDACachingAllocator::emptyCache();
    } catch (...) {
        // Best effort: the caller is already reporting the failure that made it release memory.
    }
#endif
}

void reset_peak_device_memory([[maybe_unused]] const torch::Device& device) {
#if CHARAFORGE_WITH_CUDA
    try {
        if (device.is_cuda() && cuda_device_count() > 0)
            c10::cuda::CUDACachingAllocator::resetPeakStats(
                static_cast<c10::DeviceIndex>(device.has_index() ? device.index() : 0));
    } catch (...) {
        // Statistics only.
    }
#endif
}

int64_t available_device_bytes(const torch::Device& device) {
    if (device.is_cpu())
        return memory_report("cpu").free;
    const auto r = memory_report("cuda:" + std::to_string(device.has_index() ? device.index() : 0));
    return r.gpu ? r.free + std::max<int64_t>(0, r.reserved - r.allocated) : 0;
}

int64_t transformer_request_bytes(int width, int height, bool guidance, const NextDiTConfig& cfg, int64_t element_bytes,
                                  int64_t caption_tokens) {
    const int64_t cell = 8 * cfg.patch_size; // VAE factor times patch size
    const int64_t tokens = (int64_t{height} / cell) * (int64_t{width} / cell) + caption_tokens;
    const int64_t per_token = (3 * cfg.ffn_hidden + 8 * cfg.dim) * element_bytes;
    return tokens * per_token * (guidance ? 2 : 1);
}

int64_t transformer_batch_bytes(int batch, int width, int height, bool guidance, const NextDiTConfig& cfg,
                                int64_t element_bytes, int64_t caption_tokens) {
    return kSamplingBatchBytes +
           std::max(1, batch) * transformer_request_bytes(width, height, guidance, cfg, element_bytes, caption_tokens);
}

int64_t vae_decode_reserve_bytes(int width, int height, const VaeConfig& cfg) {
    const int64_t pixels = int64_t{width} * height;
    const int64_t channels = 2 * cfg.block_out_channels.front();
    constexpr int64_t kLiveTensors = 6;
    constexpr int64_t kWorkspace = int64_t{256} << 20; // convolution and cuBLAS workspaces
    return kLiveTensors * channels * pixels * static_cast<int64_t>(sizeof(float)) + kWorkspace;
}

int64_t vae_tiled_decode_bytes(int width, int height, int64_t tile, const VaeConfig& cfg) {
    constexpr int64_t f32 = sizeof(float);
    const auto& ch = cfg.block_out_channels;
    const auto levels = static_cast<int64_t>(ch.size());
    const int64_t factor = int64_t{1} << (levels - 1);
    const int64_t pixels = int64_t{width} * height;
    const int64_t widest_in = levels > 1 ? ch[1] : ch[0]; // the last level's input (the level above's output)
    const int64_t stored = (widest_in + ch[0]) * pixels * f32;
    const int64_t tile_pixels = std::min(pixels, (factor * tile) * (factor * tile));
    const int64_t tile_temps = widest_in * tile_pixels * f32;
    constexpr int64_t kWorkspace = int64_t{64} << 20;
    return stored * 8 / 5 + tile_temps + kWorkspace;
}

int64_t text_encoder_activation_bytes(int64_t tokens, int64_t hidden, int64_t intermediate, int64_t element_bytes) {
    return tokens * (4 * intermediate + 12 * hidden) * element_bytes;
}

void set_device_memory_fraction([[maybe_unused]] double fraction, [[maybe_unused]] const torch::Device& device) {
#if CHARAFORGE_WITH_CUDA
    if (device.is_cuda() && cuda_device_count() > 0)
        c10::cuda::CUDACachingAllocator::setMemoryFraction(
            fraction, static_cast<c10::DeviceIndex>(device.has_index() ? device.index() : 0));
#endif
}

int batch_that_fits(int64_t available, int64_t per_request, int64_t reserve, int max_batch) {
    const int64_t cap = std::max(1, max_batch);
    if (per_request <= 0)
        return static_cast<int>(cap);
    const int64_t fits = (available - reserve) / per_request;
    return static_cast<int>(std::clamp<int64_t>(fits, 1, cap));
}

} // namespace charaforge::engine
