#pragma once
// Memory of the engine's device: reports for the monitor, out-of-memory classification and messages, and
// the batch-size estimate behind Pipeline::suggest_batch.
#include "nextdit.h"
#include "vae.h"

#include <exception>
#include <string>

namespace charaforge::engine {

// True when `e` is an allocation failure: std::bad_alloc, c10::OutOfMemoryError, or a c10::Error whose
// message is the CUDA allocator's or runtime's ("out of memory", cuBLAS/cuDNN ALLOC_FAILED) or the CPU
// allocator's ("can't allocate memory", "not enough memory"). Our own EngineErrors are never allocation
// failures, whatever their text.
bool is_out_of_memory(const std::exception& e);

// The size the allocator was asked for ("20.00 MiB", "281474976710656 bytes"), or "" when the message of
// `e` does not say.
std::string allocation_detail(const std::exception& e);

// What a batch was doing when it ran out.
enum class BatchStage { Sampling, Decoding };

// "pipeline: out of memory on cuda:0 sampling 4 images at 1024x1024 (28 steps; tried to allocate 2.00 GiB):
// lower the batch size or the resolution, or enable text-encoder offload".
std::string out_of_memory_message(const std::string& device, BatchStage stage, std::size_t images, int width,
                                  int height, int steps, bool suggest_offload, const std::string& detail);

// Bytes of a module's parameters and buffers (its weights as loaded, in their dtype).
int64_t module_bytes(const torch::nn::Module& module);

// Returns the CUDA caching allocator's unused blocks to the driver (nothing to do without CUDA).
void release_cached_device_memory();

// Starts the CUDA allocator's peak_allocated afresh from what is allocated now (nothing to do on the CPU).
void reset_peak_device_memory(const torch::Device& device);

// Bytes that new tensors on `device` can take now: on CUDA the driver's free memory plus what the caching
// allocator holds unused; on the CPU the available physical memory. 0 when unknown.
int64_t available_device_bytes(const torch::Device& device);

// --- The batch-size estimate (an estimate: activation sizes depend on kernels, allocator rounding and the
// caption lengths; it is meant to avoid obvious out-of-memory failures, not to pack the device tightly).

// Caption tokens assumed per request: the system prompt plus a long XML prompt.
inline constexpr int64_t kEstimatedCaptionTokens = 300;

// Activation bytes that one request keeps alive at the peak of a transformer forward (both CFG branches
// when guided). Inference frees each block's buffers before the next block, so the peak is one block's:
// inside the feed-forward the fused w1/w3 product (2 ffn_hidden) and silu(w1 x) * w3 x (1 ffn_hidden) are alive
// together (3 ffn_hidden per token); the residual stream, its normalised copy, q/k/v, the attention output and
// the norms' temporaries come to about 8 dim per token. Measured with LibTorch 2.11 on an H200 (released widths,
// bf16): 859 MiB for one guided 1024x1024 request in isolation (Gpu.TheTransformerEstimateCoversAMeasuredForward);
// in the pipeline, mode low, batch 4, at most 1.90 / 3.05 / 6.30 GB above the weights at 768 / 1024 / 1536
// (tools/gpu/results/2026-12-04-h200-memory), against 2.19 / 3.51 / 7.29 GB from this and the per-batch part.
int64_t transformer_request_bytes(int width, int height, bool guidance, const NextDiTConfig& cfg, int64_t element_bytes,
                                  int64_t caption_tokens = kEstimatedCaptionTokens);
// A batch's sampling activations: `batch` requests plus what a batch holds once whatever its size (rope tables,
// the padded caption batch, the CUDA graph's static buffers, cuBLAS workspace): kSamplingBatchBytes.
inline constexpr int64_t kSamplingBatchBytes = int64_t{256} << 20;
int64_t transformer_batch_bytes(int batch, int width, int height, bool guidance, const NextDiTConfig& cfg,
                                int64_t element_bytes, int64_t caption_tokens = kEstimatedCaptionTokens);

// Bytes reserved for decoding one image (the VAE decodes one image at a time, in fp32): at full resolution
// the last up blocks hold about six tensors of 2 x block_out_channels[0] channels at once (upsampled input,
// convolution output, GroupNorm's fp32 temporaries and output, SiLU output), plus convolution workspace.
// Measured with LibTorch 2.11 on an H200 (released widths, 1024x1024): 5129 MiB at the peak, reserve 6400 MiB.
int64_t vae_decode_reserve_bytes(int width, int height, const VaeConfig& cfg);

// The tiled decode (vae_tiling.h) at `tile` latent pixels: the full-resolution tensors a resnet of the last level
// keeps alive (its input, widest_in = block_out_channels[1] channels, and its first conv's output, C0 channels),
// times 1.6 for the GroupNorm'd and activated copies that overlap them over part of the image, one tile's
// temporaries (one fp32 tensor of widest_in at the tile's pixels) and 64 MiB of workspace. Calibrated on an H200
// (mode low, one image, FLUX widths, tile 32): the peak above what was allocated before grew by 1.59 / 2.71 /
// 5.94 GB at 768 / 1024 / 1536 pixels square; this gives 1.58 / 2.71 / 5.93 GB.
int64_t vae_tiled_decode_bytes(int width, int height, int64_t tile, const VaeConfig& cfg);

// Tile side (latent pixels) of the tiled decode when a mode asks for it: 256 x 256 image pixels per tile keeps a
// tile's temporaries at ~256 MiB with FLUX's widths.
inline constexpr int64_t kDefaultVaeTile = 32;

// Activation bytes of a text encoder's forward over `tokens` (per token as the transformer's: the MLP's hidden
// tensors alive together plus the residual stream, q/k/v and norms).
int64_t text_encoder_activation_bytes(int64_t tokens, int64_t hidden, int64_t intermediate, int64_t element_bytes);

// The caching allocator on `device` refuses to grow past `fraction` of the device's memory (an emulated
// smaller card); nothing on the CPU or without CUDA.
void set_device_memory_fraction(double fraction, const torch::Device& device);

// floor((available - reserve) / per_request) clamped to [1, max_batch].
int batch_that_fits(int64_t available, int64_t per_request, int64_t reserve, int max_batch);

} // namespace charaforge::engine
