#pragma once
// LaMa inpainting (big-lama) behind a torch-free interface: RGB tiles and binary masks in, RGB out.
// The caller pads each tile to a multiple of size_multiple() (core/imaging does IOPaint's mirror padding);
// the engine runs the generator and the wrapper's composite, and converts to uint8 like IOPaint
// (x * 255, clipped, truncated).
#include "charaforge/engine/lama_tile.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace charaforge::engine {

struct LamaOptions {
    std::string device = "auto"; // "auto" (CUDA if available), "cpu", "cuda", "cuda:N"
    bool verify_md5 = true;      // a .pt must be one of the published big-lama files
    int max_batch = 8;           // tiles per forward at most (suggest_batch() never exceeds it)
};

// The published TorchScript files (IOPaint's pinned values).
inline constexpr const char* kBigLamaMd5 = "e3aa4aaa15225a33ec84f9f4bc47e500";
inline constexpr const char* kAnimeBigLamaMd5 = "29f284f36a0a510bcacf39ecf4c4d54f";

class LamaInpainter {
public:
    // `path`: big-lama.pt (TorchScript archive; its tensors are read, its code is never run) or a
    // safetensors file of the generator (`lama convert`). Throws EngineError naming the file.
    static std::unique_ptr<LamaInpainter> load(const std::string& path, const LamaOptions& options = {});
    ~LamaInpainter();
    LamaInpainter(const LamaInpainter&) = delete;
    LamaInpainter& operator=(const LamaInpainter&) = delete;

    // One forward for tiles of one size (sides multiples of size_multiple(), at least twice it). Results are
    // the same as running each tile alone. Throws EngineError on bad input, OutOfMemory when the device ran out.
    std::vector<LamaOutput> inpaint(const std::vector<const LamaTile*>& tiles) const;

    int size_multiple() const;
    std::string device() const;
    // Tiles of this size that fit in the device's free memory now, in [1, max_batch].
    int suggest_batch(int width, int height) const;

private:
    struct Impl;
    explicit LamaInpainter(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// Writes the generator of `pt_path` (big-lama.pt) as safetensors, keys without the "model.generator." prefix.
// Returns the number of tensors written.
int convert_lama_to_safetensors(const std::string& pt_path, const std::string& out_path, bool verify_md5 = true);

// Writes a tiny random big-lama generator (the real key names, seeded) for tests: a TorchScript archive laid
// out like big-lama.pt, or safetensors when `path` ends in .safetensors.
void write_lama_test_model(const std::string& path, uint64_t seed = 7);

// Activation bytes one tile of width x height needs at the peak of an fp32 forward (measured: about 1 KiB
// per input pixel for big-lama on an H200, spec lama.md 4.1), with a margin.
int64_t lama_tile_bytes(int width, int height);

} // namespace charaforge::engine
