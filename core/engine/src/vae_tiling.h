#pragma once
// Tiled VAE decode and encode: the image is cut into tiles whose overlap (halo) covers the receptive field of the
// tiled layers, and every GroupNorm normalises with statistics over the whole image (gathered from the tiles'
// cores), so each output pixel is computed from the same inputs by the same operations as untiled: the tiles'
// cores are exact (up to floating-point summation order) and are copied out without blending, so no seam can
// show. The global layers (conv_in, the mid block with its attention, the encoder's tail) run untiled at latent
// resolution, where they are small; the tiling saves the full-resolution activations of the up/down blocks.
#include "vae.h"

namespace charaforge::engine {

// Halo in latent pixels that the decoder's up path needs around a tile core (13 for FLUX: 6 convs at latent
// resolution, 7 at each higher level, the last conv_out), and in image pixels for the encoder's down path
// (80 for FLUX, a multiple of the downscale factor).
int64_t decoder_tile_halo(const VaeConfig& cfg);
int64_t encoder_tile_halo(const VaeConfig& cfg);

// The decoder's raw forward over latent tiles of tile x tile cores: z [B, latent, h, w] -> [B, out, f h, f w], as
// VaeDecoderImpl::forward. tile >= max(h, w) (one tile) runs the untiled forward. halo < 0: decoder_tile_halo;
// a smaller halo than needed throws (the cores are checked against the receptive field at every layer).
torch::Tensor tiled_decoder_forward(VaeDecoderImpl& decoder, const VaeConfig& cfg, const torch::Tensor& z, int64_t tile,
                                    int64_t halo = -1);

// The encoder's raw forward over image tiles of (f tile) x (f tile) cores (f the downscale factor):
// img [B, in, H, W] (H, W multiples of f) -> moments [B, 2 latent, H/f, W/f], as VaeEncoderImpl::forward.
torch::Tensor tiled_encoder_forward(VaeEncoderImpl& encoder, const VaeConfig& cfg, const torch::Tensor& img,
                                    int64_t tile, int64_t halo = -1);

} // namespace charaforge::engine
