// Ref: diffusers src/diffusers/models/autoencoders/autoencoder_kl.py (tiled_decode, tiled_encode: overlapping
//      tiles); multidiffusion-upscaler-for-automatic1111 tile/vae.py (GroupNorm statistics gathered over all tiles).
#include "vae_tiling.h"

#include "charaforge/engine/error.h"

#include <algorithm>
#include <vector>

namespace charaforge::engine {
namespace {

[[noreturn]] void tiling_error(const std::string& what) {
    throw EngineError("vae: tiling: " + what);
}

// One axis of a tile at the current level: the data held [a, b) (every value in it equals the untiled one) and
// the core [c0, c1) that this tile contributes to the output. Cores partition [0, n).
struct Span {
    int64_t a = 0, b = 0, c0 = 0, c1 = 0;
};

struct Tile {
    torch::Tensor t; // [B, C, y.b - y.a, x.b - x.a]
    Span y, x;
};

struct Tiled {
    std::vector<Tile> tiles;
    int64_t ny = 0, nx = 0; // the image's size at this level
};

// Cores of about `tile` over [0, n), equal in size, their bounds multiples of `align` (n and tile are).
std::vector<std::pair<int64_t, int64_t>> cores(int64_t n, int64_t tile, int64_t align) {
    const int64_t units = n / align, per = std::max<int64_t>(1, tile / align);
    const int64_t k = std::max<int64_t>(1, (units + per - 1) / per);
    std::vector<std::pair<int64_t, int64_t>> out;
    for (int64_t i = 0; i < k; ++i)
        out.emplace_back(i * units / k * align, (i + 1) * units / k * align);
    return out;
}

Tiled split(const torch::Tensor& x, int64_t tile, int64_t halo, int64_t align) { // x [B, C, H, W]
    Tiled out;
    out.ny = x.size(2);
    out.nx = x.size(3);
    for (const auto& [y0, y1] : cores(out.ny, tile, align))
        for (const auto& [x0, x1] : cores(out.nx, tile, align)) {
            Tile t;
            t.y = {std::max<int64_t>(0, y0 - halo), std::min(out.ny, y1 + halo), y0, y1};
            t.x = {std::max<int64_t>(0, x0 - halo), std::min(out.nx, x1 + halo), x0, x1};
            t.t = x.narrow(2, t.y.a, t.y.b - t.y.a).narrow(3, t.x.a, t.x.b - t.x.a).contiguous(); // [B, C, h, w]
            out.tiles.push_back(std::move(t));
        }
    return out;
}

torch::Tensor core_of(const Tile& t) {
    return t.t.narrow(2, t.y.c0 - t.y.a, t.y.c1 - t.y.c0).narrow(3, t.x.c0 - t.x.a, t.x.c1 - t.x.c0);
}

torch::Tensor assemble(const Tiled& x) {
    const auto& first = x.tiles.front().t;
    auto out = torch::empty({first.size(0), first.size(1), x.ny, x.nx}, first.options()); // [B, C, H, W]
    for (const auto& t : x.tiles)
        out.narrow(2, t.y.c0, t.y.c1 - t.y.c0).narrow(3, t.x.c0, t.x.c1 - t.x.c0).copy_(core_of(t));
    return out;
}

// Restricts a tile's tensor to the spans (y, x), which lie inside its current ones.
void crop(Tile& t, const Span& y, const Span& x) {
    t.t = t.t.narrow(2, y.a - t.y.a, y.b - y.a).narrow(3, x.a - t.x.a, x.b - x.a);
    t.y = y;
    t.x = x;
}

// After a stride-1 convolution with zero padding p, the p values next to a data edge read zeros instead of their
// neighbours, except at the image border where the zeros are the untiled padding too.
Span after_conv(Span s, int64_t p, int64_t n) {
    if (s.a > 0)
        s.a += p;
    if (s.b < n)
        s.b -= p;
    if (s.a > s.c0 || s.b < s.c1)
        tiling_error("the tile overlap no longer covers the core (the halo is too small)");
    return s;
}

void conv(Tiled& x, nn::Conv2dImpl& c) {
    for (auto& t : x.tiles) {
        t.t = c.forward(t.t);
        crop(t, after_conv(t.y, c.padding, x.ny), after_conv(t.x, c.padding, x.nx));
    }
}

// GroupNorm over the whole image: each tile's core gives its group means and variances (fp32), combined across
// tiles in fp64 (Chan et al.'s pairwise update); then every tile is normalised with the image's statistics.
void group_norm(Tiled& x, const nn::GroupNormImpl& gn) {
    const int64_t B = x.tiles.front().t.size(0), C = x.tiles.front().t.size(1), G = gn.groups;
    torch::Tensor mean, m2, count;
    for (const auto& t : x.tiles) {
        auto core = core_of(t).to(torch::kFloat32).reshape({B, G, -1}); // [B, G, n]
        const double n = static_cast<double>(core.size(2));
        auto [var_t, mean_t] = torch::var_mean(core, {2}, /*unbiased=*/false); // [B, G]
        auto tm = mean_t.to(torch::kFloat64), tm2 = var_t.to(torch::kFloat64) * n;
        if (!mean.defined()) {
            mean = tm, m2 = tm2, count = torch::full({1}, n, tm.options());
            continue;
        }
        auto total = count + n;
        auto delta = tm - mean;
        mean = mean + delta * (n / total);
        m2 = m2 + tm2 + delta * delta * (count * n / total);
        count = total;
    }
    auto rstd = torch::rsqrt(m2 / count + gn.eps).to(torch::kFloat32).view({B, G, 1}); // [B, G, 1]
    auto mu = mean.to(torch::kFloat32).view({B, G, 1});                                // [B, G, 1]
    auto w = gn.weight.to(torch::kFloat32).view({1, C, 1, 1}), b = gn.bias.to(torch::kFloat32).view({1, C, 1, 1});
    for (auto& t : x.tiles) {
        const auto dtype = t.t.scalar_type();
        auto f = t.t.to(torch::kFloat32);
        auto n = ((f.reshape({B, G, -1}) - mu) * rstd).view(f.sizes()); // [B, C, h, w]
        t.t = (n * w + b).to(dtype);
    }
}

void silu(Tiled& x) {
    for (auto& t : x.tiles)
        t.t = torch::silu(t.t);
}

// GN -> SiLU -> conv, as every resnet half and the output head compute it.
void norm_silu_conv(Tiled& x, const nn::GroupNormImpl& gn, nn::Conv2dImpl& c) {
    group_norm(x, gn);
    silu(x);
    conv(x, c);
}

void resnet(Tiled& x, VaeResnetBlockImpl& r) {
    Tiled h = x;
    norm_silu_conv(h, *r.norm1, *r.conv1);
    norm_silu_conv(h, *r.norm2, *r.conv2);
    for (std::size_t i = 0; i < x.tiles.size(); ++i) {
        auto& t = x.tiles[i];
        crop(t, h.tiles[i].y, h.tiles[i].x); // the shortcut is pointwise: its valid region is the input's
        t.t = (r.conv_shortcut ? r.conv_shortcut(t.t) : t.t) + h.tiles[i].t;
    }
}

void upsample(Tiled& x, VaeUpsampleImpl& u) {
    auto twice = [](Span s) { return Span{2 * s.a, 2 * s.b, 2 * s.c0, 2 * s.c1}; };
    for (auto& t : x.tiles) {
        const int64_t B = t.t.size(0), C = t.t.size(1), H = t.t.size(2), W = t.t.size(3);
        t.t = t.t.view({B, C, H, 1, W, 1}).expand({B, C, H, 2, W, 2}).reshape({B, C, 2 * H, 2 * W}); // [B, C, 2H, 2W]
        t.y = twice(t.y);
        t.x = twice(t.x);
    }
    x.ny *= 2;
    x.nx *= 2;
    conv(x, *u.conv);
}

// Downsample2D: zero-pad right and bottom by one, conv3x3 stride 2. Output i reads inputs 2i..2i+2, so a tile
// first starts at an even position; only a tile at the right/bottom border gets the zero padding.
void downsample(Tiled& x, VaeDownsampleImpl& d) {
    for (auto& t : x.tiles) {
        Span y = t.y, xs = t.x;
        y.a += y.a % 2;
        xs.a += xs.a % 2;
        crop(t, y, xs);
        const int64_t pad_y = t.y.b == x.ny ? 1 : 0, pad_x = t.x.b == x.nx ? 1 : 0;
        t.t = d.conv(torch::constant_pad_nd(t.t, {0, pad_x, 0, pad_y}, 0.0)); // [B, C, h', w']
        auto half = [](Span s, int64_t len) {
            Span o{s.a / 2, s.a / 2 + len, s.c0 / 2, s.c1 / 2};
            if (o.a > o.c0 || o.b < o.c1)
                tiling_error("the tile overlap no longer covers the core (the halo is too small)");
            return o;
        };
        t.y = half(t.y, t.t.size(2));
        t.x = half(t.x, t.t.size(3));
    }
    x.ny /= 2;
    x.nx /= 2;
}

} // namespace

int64_t decoder_tile_halo(const VaeConfig& cfg) {
    // Backwards from conv_out: each 3x3 conv widens the needed context by one pixel of its level, a nearest x2
    // upsample halves it (rounded up).
    const auto n = static_cast<int64_t>(cfg.block_out_channels.size());
    int64_t need = 1;
    for (int64_t k = n - 1; k >= 0; --k) {
        need += 2 * (cfg.layers_per_block + 1);
        if (k > 0)
            need = (need + 1 + 1) / 2; // the upsampler's conv, then the x2
    }
    return need;
}

int64_t encoder_tile_halo(const VaeConfig& cfg) {
    // Backwards from the last down block: 3x3 convs widen by one pixel, a stride-2 downsample doubles the context
    // and adds its third tap plus one for the even start.
    const auto n = static_cast<int64_t>(cfg.block_out_channels.size());
    int64_t need = 0;
    for (int64_t k = n - 1; k >= 0; --k) {
        need += 2 * cfg.layers_per_block;
        if (k > 0)
            need = 2 * need + 2;
    }
    need += 1; // conv_in
    const int64_t f = int64_t{1} << (n - 1);
    return (need + f - 1) / f * f;
}

torch::Tensor tiled_decoder_forward(VaeDecoderImpl& d, const VaeConfig& cfg, const torch::Tensor& z, int64_t tile,
                                    int64_t halo) {
    if (tile < 1)
        tiling_error("tile size must be at least 1 latent pixel, got " + std::to_string(tile));
    if (tile >= std::max(z.size(2), z.size(3)))
        return d.forward(z);
    auto h = d.mid_block(d.conv_in(z)); // [B, C_last, h, w]: latent resolution, untiled (global attention)
    Tiled x = split(h, tile, halo < 0 ? decoder_tile_halo(cfg) : halo, 1);
    h = torch::Tensor();
    for (const auto& m : *d.up_blocks) {
        auto* block = m->as<VaeUpBlockImpl>();
        for (const auto& r : *block->resnets)
            resnet(x, *r->as<VaeResnetBlockImpl>());
        for (const auto& u : *block->upsamplers)
            upsample(x, *u->as<VaeUpsampleImpl>());
    }
    norm_silu_conv(x, *d.conv_norm_out, *d.conv_out);
    return assemble(x); // [B, out, f h, f w]
}

torch::Tensor tiled_encoder_forward(VaeEncoderImpl& e, const VaeConfig& cfg, const torch::Tensor& img, int64_t tile,
                                    int64_t halo) {
    if (tile < 1)
        tiling_error("tile size must be at least 1 latent pixel, got " + std::to_string(tile));
    const int64_t f = int64_t{1} << (cfg.block_out_channels.size() - 1);
    if (tile * f >= std::max(img.size(2), img.size(3)))
        return e.forward(img);
    Tiled x = split(img, tile * f, halo < 0 ? encoder_tile_halo(cfg) : halo, f);
    conv(x, *e.conv_in);
    for (const auto& m : *e.down_blocks) {
        auto* block = m->as<VaeDownBlockImpl>();
        for (const auto& r : *block->resnets)
            resnet(x, *r->as<VaeResnetBlockImpl>());
        for (const auto& d : *block->downsamplers)
            downsample(x, *d->as<VaeDownsampleImpl>());
    }
    auto h = e.mid_block(assemble(x)); // [B, C_last, h, w]: latent resolution, untiled
    return e.conv_out(torch::silu(e.conv_norm_out(h)));
}

} // namespace charaforge::engine
