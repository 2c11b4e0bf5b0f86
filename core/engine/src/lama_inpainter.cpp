// Ref: Sanster/IOPaint iopaint/model/lama.py (LaMa.forward: norm_img, mask > 0, clip(x * 255).astype(uint8)).
#include "charaforge/engine/lama.h"

#include "charaforge/engine/error.h"
#include "lama_weights.h"
#include "memory.h"

#include <cstring>

namespace charaforge::engine {

struct LamaInpainter::Impl {
    LamaGenerator gen{nullptr};
    torch::Device device{torch::kCPU};
    LamaOptions options;
};

LamaInpainter::LamaInpainter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LamaInpainter::~LamaInpainter() = default;

std::unique_ptr<LamaInpainter> LamaInpainter::load(const std::string& path, const LamaOptions& options) {
    auto impl = std::make_unique<Impl>();
    impl->options = options;
    if (options.device == "auto") {
        impl->device = torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
    } else {
        try {
            impl->device = torch::Device(options.device);
        } catch (const std::exception&) {
            throw EngineError("lama: unknown device '" + options.device + "' (use auto, cpu, cuda or cuda:N)");
        }
        if (impl->device.is_cuda() && !torch::cuda::is_available())
            throw EngineError("lama: device '" + options.device + "' requested but no CUDA device is available");
    }
    c10::InferenceMode guard;
    impl->gen = make_lama_generator(read_lama_weights(path, options.verify_md5), path, impl->device);
    return std::unique_ptr<LamaInpainter>(new LamaInpainter(std::move(impl)));
}

int LamaInpainter::size_multiple() const {
    return static_cast<int>(impl_->gen->config().size_multiple());
}

std::string LamaInpainter::device() const {
    return impl_->device.str();
}

int64_t lama_tile_bytes(int width, int height) {
    return int64_t{width} * height * 1280; // 1.0 KiB per pixel measured, 25% margin
}

int LamaInpainter::suggest_batch(int width, int height) const {
    if (!impl_->device.is_cuda())
        return impl_->options.max_batch;
    return batch_that_fits(available_device_bytes(impl_->device), lama_tile_bytes(width, height), int64_t{256} << 20,
                           impl_->options.max_batch);
}

std::vector<LamaOutput> LamaInpainter::inpaint(const std::vector<const LamaTile*>& tiles) const {
    if (tiles.empty())
        return {};
    const int w = tiles[0]->width, h = tiles[0]->height, m = size_multiple();
    if (w < 2 * m || h < 2 * m || w % m != 0 || h % m != 0)
        throw EngineError("lama: tile " + std::to_string(w) + "x" + std::to_string(h) + " must have sides that are " +
                          "multiples of " + std::to_string(m) + " and at least " + std::to_string(2 * m));
    const auto B = static_cast<int64_t>(tiles.size());
    auto rgb = torch::empty({B, h, w, 3}, torch::kUInt8);
    auto mask = torch::empty({B, h, w, 1}, torch::kUInt8);
    for (int64_t b = 0; b < B; ++b) {
        const auto& t = *tiles[b];
        if (t.width != w || t.height != h)
            throw EngineError("lama: a batch holds tiles of one size (" + std::to_string(w) + "x" + std::to_string(h) +
                              "), got " + std::to_string(t.width) + "x" + std::to_string(t.height));
        const auto px = static_cast<std::size_t>(w) * h;
        if (t.rgb.size() != px * 3 || t.mask.size() != px)
            throw EngineError("lama: tile buffers do not match " + std::to_string(w) + "x" + std::to_string(h));
        std::memcpy(rgb[b].data_ptr(), t.rgb.data(), px * 3);
        std::memcpy(mask[b].data_ptr(), t.mask.data(), px);
    }
    torch::Tensor out;
    try {
        c10::InferenceMode guard;
        const auto dev = impl_->device;
        auto image = rgb.to(dev).permute({0, 3, 1, 2}).to(torch::kFloat32) / 255.0; // [B, 3, H, W] in [0, 1]
        auto hole = mask.to(dev).permute({0, 3, 1, 2}).gt(0).to(torch::kFloat32);   // [B, 1, H, W] in {0, 1}
        auto result = impl_->gen->inpaint(image, hole);                             // [B, 3, H, W]
        // IOPaint: np.clip(x * 255, 0, 255).astype(uint8), i.e. truncation.
        out = (result * 255.0).clamp(0, 255).to(torch::kUInt8).permute({0, 2, 3, 1}).contiguous().cpu(); // [B,H,W,3]
    } catch (const std::exception& e) {
        if (is_out_of_memory(e))
            throw OutOfMemory("lama: out of memory on " + impl_->device.str() + " inpainting " + std::to_string(B) +
                              " tiles of " + std::to_string(w) + "x" + std::to_string(h) + " (" + allocation_detail(e) +
                              "): lower the batch size");
        throw;
    }
    std::vector<LamaOutput> outputs(tiles.size());
    for (int64_t b = 0; b < B; ++b) {
        outputs[b].width = w;
        outputs[b].height = h;
        outputs[b].rgb.resize(static_cast<std::size_t>(w) * h * 3);
        std::memcpy(outputs[b].rgb.data(), out[b].data_ptr(), outputs[b].rgb.size());
    }
    return outputs;
}

} // namespace charaforge::engine
