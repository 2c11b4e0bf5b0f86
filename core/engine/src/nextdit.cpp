// Ref: NewBieAI-Lab/NewBie-image-Exp0.1 models/model.py (NextDiT, NextDiT_CLIP, JointTransformerBlock,
//      JointAttention, FeedForward, FinalLayer, TimestepEmbedder, RopeEmbedder); models/components.py RMSNorm.
#include "nextdit.h"

#include "charaforge/engine/error.h"
#include "config_json.h"
#include "fused_ops.h"
#include "torch_compat.h"
#include "weights.h"

#include <cmath>
#include <regex>

namespace charaforge::engine {
namespace {

[[noreturn]] void config_error(const std::string& what) {
    throw EngineError("nextdit: " + what);
}

std::vector<int64_t> shape_of(const TensorShapes& shapes, const std::string& key, int rank) {
    return required_shape(shapes, key, "nextdit", "NewBie NextDiT transformer", rank);
}

int64_t count_blocks(const std::map<std::string, std::vector<int64_t>>& shapes, const std::string& prefix) {
    int64_t n = 0;
    while (shapes.count(prefix + "." + std::to_string(n) + ".attention.qkv.weight"))
        ++n;
    return n;
}

torch::Tensor modulate(const torch::Tensor& x, const torch::Tensor& scale) {
    return x * (1 + scale.unsqueeze(1)); // [B, L, D] * [B, 1, D]
}

} // namespace

NextDiTConfig NextDiTConfig::from_weights(const std::map<std::string, std::vector<int64_t>>& shapes,
                                          const std::string& config_json, const std::string& config_file) {
    NextDiTConfig c;
    const ConfigJson j("nextdit", config_file, config_json);
    // Every shape read here is checked for rank (and positive sizes) before it is indexed.
    const auto xe = shape_of(shapes, "x_embedder.weight", 2);                // [D, p*p*C]
    const auto qn = shape_of(shapes, "layers.0.attention.q_norm.weight", 1); // [Dh]
    const auto qkv = shape_of(shapes, "layers.0.attention.qkv.weight", 2);   // [(Hq + 2 Hkv) Dh, D]
    c.dim = xe[0];
    c.patch_size = j.integer("patch_size", 2, 1, 16);
    const int64_t patch_area = c.patch_size * c.patch_size;
    if (xe[1] % patch_area != 0)
        config_error("x_embedder.weight has " + std::to_string(xe[1]) +
                     " inputs, not a multiple of patch_size^2 = " + std::to_string(patch_area) + " (" + config_file +
                     ": 'patch_size' = " + std::to_string(c.patch_size) + ")");
    c.in_channels = j.integer("in_channels", xe[1] / patch_area, 1, 4096);
    if (c.in_channels * patch_area != xe[1])
        j.fail("in_channels", "is " + std::to_string(c.in_channels) + " but x_embedder.weight has " +
                                  std::to_string(xe[1]) + " = patch_size^2 x " + std::to_string(xe[1] / patch_area) +
                                  " inputs");
    const int64_t head_dim = qn[0];
    if (c.dim % head_dim != 0)
        config_error("head dim " + std::to_string(head_dim) +
                     " (layers.0.attention.q_norm.weight) does not divide dim " + std::to_string(c.dim) +
                     " (x_embedder.weight)");
    c.n_heads = c.dim / head_dim;
    if (qkv[1] != c.dim || qkv[0] % head_dim != 0 || qkv[0] / head_dim <= c.n_heads ||
        (qkv[0] / head_dim - c.n_heads) % 2 != 0)
        config_error("layers.0.attention.qkv.weight has shape [" + std::to_string(qkv[0]) + ", " +
                     std::to_string(qkv[1]) + "], expected [(" + std::to_string(c.n_heads) + " + 2 n_kv_heads) x " +
                     std::to_string(head_dim) + ", " + std::to_string(c.dim) + "]");
    c.n_kv_heads = (qkv[0] / head_dim - c.n_heads) / 2;
    c.n_layers = count_blocks(shapes, "layers");
    c.n_refiner_layers = count_blocks(shapes, "noise_refiner");
    c.ffn_hidden = shape_of(shapes, "layers.0.feed_forward.w1.weight", 2)[0];
    c.cap_feat_dim = shape_of(shapes, "cap_embedder.1.weight", 2)[1];
    c.clip_text_dim = shape_of(shapes, "clip_text_pooled_proj.1.weight", 2)[0];
    c.t_freq_dim = shape_of(shapes, "t_embedder.mlp.0.weight", 2)[1];
    if (c.t_freq_dim % 2 != 0)
        config_error("t_embedder.mlp.0.weight has " + std::to_string(c.t_freq_dim) +
                     " inputs, expected an even number (cos and sin halves)");
    // Architecture fields in config.json must agree with the weights.
    j.check_agrees("dim", c.dim);
    j.check_agrees("n_heads", c.n_heads);
    j.check_agrees("n_kv_heads", c.n_kv_heads);
    j.check_agrees("n_layers", c.n_layers);
    j.check_agrees("n_refiner_layers", c.n_refiner_layers);
    j.check_agrees("cap_feat_dim", c.cap_feat_dim);
    j.check_agrees("clip_text_dim", c.clip_text_dim);
    if (auto dims = j.integers("axes_dims", 3, 2, head_dim)) {
        for (int a = 0; a < 3; ++a)
            c.axes_dims[a] = (*dims)[a];
        if (c.axes_dims[0] + c.axes_dims[1] + c.axes_dims[2] != head_dim || c.axes_dims[0] % 2 || c.axes_dims[1] % 2 ||
            c.axes_dims[2] % 2)
            j.fail("axes_dims", "must be three even numbers summing to the head dim " + std::to_string(head_dim));
    } else {
        for (int a = 0; a < 3; ++a)
            c.axes_dims[a] = head_dim / 3; // the released model: 96 = 32 + 32 + 32
    }
    if (auto lens = j.integers("axes_lens", 3, 1, int64_t{1} << 20))
        for (int a = 0; a < 3; ++a)
            c.axes_lens[a] = (*lens)[a];
    c.norm_eps = j.number("norm_eps", c.norm_eps, 0.0, 1.0, true);
    c.rope_theta = j.number("rope_theta", c.rope_theta, 0.0, 1e12, true);
    c.validate();
    return c;
}

void NextDiTConfig::validate() const {
    if (dim <= 0 || n_heads <= 0 || dim % n_heads != 0)
        config_error("dim " + std::to_string(dim) + " is not a multiple of n_heads " + std::to_string(n_heads));
    if (n_kv_heads <= 0 || n_heads % n_kv_heads != 0)
        config_error("n_heads " + std::to_string(n_heads) + " is not a multiple of n_kv_heads " +
                     std::to_string(n_kv_heads));
    if (axes_dims[0] + axes_dims[1] + axes_dims[2] != head_dim())
        config_error("axes_dims do not sum to the head dim " + std::to_string(head_dim()));
    for (auto d : axes_dims)
        if (d % 2 != 0)
            config_error("axes_dims must be even");
    if (n_layers < 1)
        config_error("no transformer layers found");
    if (patch_size < 1 || in_channels < 1)
        config_error("patch_size and in_channels must be positive");
    if (!(rope_theta > 0) || !std::isfinite(rope_theta))
        config_error("rope_theta must be a positive finite number");
    if (!(norm_eps > 0) || !std::isfinite(norm_eps))
        config_error("norm_eps must be a positive finite number");
}

std::vector<std::string> nextdit_expected_keys(const NextDiTConfig& cfg) {
    std::vector<std::string> keys = {"x_embedder.weight",
                                     "x_embedder.bias",
                                     "t_embedder.mlp.0.weight",
                                     "t_embedder.mlp.0.bias",
                                     "t_embedder.mlp.2.weight",
                                     "t_embedder.mlp.2.bias",
                                     "cap_embedder.0.weight",
                                     "cap_embedder.1.weight",
                                     "cap_embedder.1.bias",
                                     "clip_text_pooled_proj.0.weight",
                                     "clip_text_pooled_proj.1.weight",
                                     "clip_text_pooled_proj.1.bias",
                                     "time_text_embed.1.weight",
                                     "time_text_embed.1.bias",
                                     "norm_final.weight",
                                     "final_layer.linear.weight",
                                     "final_layer.linear.bias",
                                     "final_layer.adaLN_modulation.1.weight",
                                     "final_layer.adaLN_modulation.1.bias"};
    auto block = [&](const std::string& p, bool modulated) {
        for (const char* s :
             {"attention.qkv.weight", "attention.out.weight", "attention.q_norm.weight", "attention.k_norm.weight",
              "feed_forward.w1.weight", "feed_forward.w2.weight", "feed_forward.w3.weight", "attention_norm1.weight",
              "attention_norm2.weight", "ffn_norm1.weight", "ffn_norm2.weight"})
            keys.push_back(p + "." + s);
        if (modulated) {
            keys.push_back(p + ".adaLN_modulation.1.weight");
            keys.push_back(p + ".adaLN_modulation.1.bias");
        }
    };
    for (int64_t i = 0; i < cfg.n_layers; ++i)
        block("layers." + std::to_string(i), true);
    for (int64_t i = 0; i < cfg.n_refiner_layers; ++i) {
        block("noise_refiner." + std::to_string(i), true);
        block("context_refiner." + std::to_string(i), false);
    }
    std::sort(keys.begin(), keys.end());
    return keys;
}

torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
    // Pairs (2k, 2k+1) are one complex number (GPT-J convention), rotated in x's dtype (bf16 on the GPU:
    // the reference's fp32 rotation differs by about one bf16 rounding) without a stacked temporary.
    auto c = cos.to(x.scalar_type()).unsqueeze(2), s = sin.to(x.scalar_type()).unsqueeze(2); // [B, L, 1, Dh/2]
    auto xp = x.unflatten(-1, {-1, 2});                                                      // [B, L, H, Dh/2, 2]
    auto x0 = xp.select(-1, 0), x1 = xp.select(-1, 1);                                       // [B, L, H, Dh/2]
    if (torch::GradMode::is_enabled() && (x.requires_grad() || cos.requires_grad() || sin.requires_grad())) {
        // Training (tools/demo_model): the out= products below have no autograd formula.
        return torch::stack({x0 * c - x1 * s, x0 * s + x1 * c}, -1).flatten(-2); // [B, L, H, Dh]
    }
    auto out = torch::empty(x.sizes(), x.options());   // [B, L, H, Dh]
    auto op = out.unflatten(-1, {-1, 2});              // [B, L, H, Dh/2, 2]
    auto o0 = op.select(-1, 0), o1 = op.select(-1, 1); // [B, L, H, Dh/2]
    at::mul_out(o0, x0, c).addcmul_(x1, s, -1);        // x0 cos - x1 sin
    at::mul_out(o1, x0, s).addcmul_(x1, c);            // x0 sin + x1 cos
    return out;
}

JointAttentionImpl::JointAttentionImpl(const NextDiTConfig& cfg, const torch::TensorOptions& opts)
    : n_heads(cfg.n_heads), n_kv_heads(cfg.n_kv_heads), head_dim(cfg.head_dim()) {
    qkv = register_module("qkv", nn::Linear(cfg.dim, (n_heads + 2 * n_kv_heads) * head_dim, false, opts));
    out = register_module("out", nn::Linear(n_heads * head_dim, cfg.dim, false, opts));
    q_norm = register_module("q_norm", nn::RMSNorm(head_dim, cfg.qk_norm_eps, opts));
    k_norm = register_module("k_norm", nn::RMSNorm(head_dim, cfg.qk_norm_eps, opts));
}

torch::Tensor JointAttentionImpl::forward(const torch::Tensor& x, const std::vector<int64_t>& valid_lens,
                                          const torch::Tensor& cos, const torch::Tensor& sin) {
    const int64_t B = x.size(0), L = x.size(1);
    // q/k RMSNorm + rotation (+ the V copy) in one pass over the projection where the CUDA kernel applies.
    const auto qkv_heads =
        fused::qk_norm_rope(qkv(x), q_norm->weight, k_norm->weight, q_norm->eps, cos, sin, n_heads, n_kv_heads);
    const auto &q = qkv_heads[0], &k = qkv_heads[1], &v = qkv_heads[2]; // [B, L, Hq, Dh], [B, L, Hkv, Dh] x 2
    const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
    const bool all_valid =
        valid_lens.empty() || std::all_of(valid_lens.begin(), valid_lens.end(), [&](int64_t l) { return l == L; });
    if (all_valid) {
        auto o =
            compat::attention_gqa(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), scale); // [B, Hq, L, Dh]
        return out(o.transpose(1, 2).reshape({B, L, n_heads * head_dim}));                         // [B, L, D]
    }
    if (torch::GradMode::is_enabled()) {
        // Training (autograd records this pass): one masked call over the batch, whose samples' lengths mostly all
        // differ, instead of a call per run below. The valid rows get the same values; padded query rows attend over
        // the valid keys instead of being zeros, and nothing reads them.
        const auto lens = torch::tensor(valid_lens, torch::kInt64).to(x.device());               // [B]
        const auto key_mask = torch::arange(L, lens.options()).unsqueeze(0) < lens.unsqueeze(1); // [B, L]
        const int64_t rep = n_heads / n_kv_heads;
        auto kr = rep > 1 ? k.repeat_interleave(rep, 2) : k; // [B, L, Hq, Dh]
        auto vr = rep > 1 ? v.repeat_interleave(rep, 2) : v;
        auto o = compat::attention(q.transpose(1, 2), kr.transpose(1, 2), vr.transpose(1, 2), key_mask,
                                   scale);                                 // [B, Hq, L, Dh]
        return out(o.transpose(1, 2).reshape({B, L, n_heads * head_dim})); // [B, L, D]
    }
    // Right-padded samples: instead of a padding mask (which rules out the fastest kernels and computes
    // the padded keys), each run of consecutive samples with the same valid length attends over its valid
    // prefix only. Padded query rows get zeros; nothing reads them.
    auto o = torch::zeros({B, L, n_heads, head_dim}, q.options()); // [B, L, Hq, Dh]
    for (int64_t b0 = 0; b0 < B;) {
        const int64_t len = valid_lens[b0];
        int64_t n = 1;
        while (b0 + n < B && valid_lens[b0 + n] == len)
            ++n;
        auto part = [&](const torch::Tensor& t) { return t.narrow(0, b0, n).narrow(1, 0, len).contiguous(); };
        auto og = compat::attention_gqa(part(q).transpose(1, 2), part(k).transpose(1, 2), part(v).transpose(1, 2),
                                        scale);                         // [n, Hq, len, Dh]
        o.narrow(0, b0, n).narrow(1, 0, len).copy_(og.transpose(1, 2)); // [n, len, Hq, Dh]
        b0 += n;
    }
    return out(o.view({B, L, n_heads * head_dim})); // [B, L, D]
}

FeedForwardImpl::FeedForwardImpl(const NextDiTConfig& cfg, const torch::TensorOptions& opts) {
    w1 = register_module("w1", nn::Linear(cfg.dim, cfg.ffn_hidden, false, opts));
    w2 = register_module("w2", nn::Linear(cfg.ffn_hidden, cfg.dim, false, opts));
    w3 = register_module("w3", nn::Linear(cfg.dim, cfg.ffn_hidden, false, opts));
}

torch::Tensor FeedForwardImpl::forward(const torch::Tensor& x) {
    return w2(fused::silu_mul(w1(x), w3(x)));
}

JointTransformerBlockImpl::JointTransformerBlockImpl(const NextDiTConfig& cfg, bool modulation_,
                                                     const torch::TensorOptions& opts)
    : modulation(modulation_) {
    attention = register_module("attention", JointAttention(cfg, opts));
    feed_forward = register_module("feed_forward", FeedForward(cfg, opts));
    attention_norm1 = register_module("attention_norm1", nn::RMSNorm(cfg.dim, cfg.norm_eps, opts));
    ffn_norm1 = register_module("ffn_norm1", nn::RMSNorm(cfg.dim, cfg.norm_eps, opts));
    attention_norm2 = register_module("attention_norm2", nn::RMSNorm(cfg.dim, cfg.norm_eps, opts));
    ffn_norm2 = register_module("ffn_norm2", nn::RMSNorm(cfg.dim, cfg.norm_eps, opts));
    if (modulation)
        adaLN_modulation = register_module(
            "adaLN_modulation",
            torch::nn::Sequential(torch::nn::SiLU(), nn::Linear(cfg.adaln_dim(), 4 * cfg.dim, true, opts)));
}

torch::Tensor JointTransformerBlockImpl::forward(const torch::Tensor& x_in, const std::vector<int64_t>& valid_lens,
                                                 const torch::Tensor& cos, const torch::Tensor& sin,
                                                 const torch::Tensor& adaln) {
    // RMSNorm + adaLN scale, and the tanh-gated residual with its RMSNorm, each one pass over [B, L, D] where the
    // CUDA kernels apply. Blocks without modulation (context refiner) get undefined scales and gates.
    torch::Tensor scale_msa, gate_msa, scale_mlp, gate_mlp;
    if (modulation) {
        auto mods = adaLN_modulation->forward(adaln).chunk(4, 1); // 4 x [B, D]
        scale_msa = mods[0], gate_msa = mods[1], scale_mlp = mods[2], gate_mlp = mods[3];
    }
    auto h = fused::rms_norm_modulate(x_in, attention_norm1->weight, attention_norm1->eps, scale_msa); // [B, L, D]
    auto x = fused::gated_residual_rms_norm(x_in, attention(h, valid_lens, cos, sin), attention_norm2->weight,
                                            attention_norm2->eps, gate_msa); // [B, L, D]
    h = fused::rms_norm_modulate(x, ffn_norm1->weight, ffn_norm1->eps, scale_mlp);
    return fused::gated_residual_rms_norm(x, feed_forward(h), ffn_norm2->weight, ffn_norm2->eps, gate_mlp);
}

TimestepEmbedderImpl::TimestepEmbedderImpl(const NextDiTConfig& cfg, const torch::TensorOptions& opts) {
    mlp = register_module("mlp", torch::nn::Sequential(nn::Linear(cfg.t_freq_dim, cfg.adaln_dim(), true, opts),
                                                       torch::nn::SiLU(),
                                                       nn::Linear(cfg.adaln_dim(), cfg.adaln_dim(), true, opts)));
}

FinalLayerImpl::FinalLayerImpl(const NextDiTConfig& cfg, const torch::TensorOptions& opts) {
    linear = register_module("linear", nn::Linear(cfg.dim, cfg.patch_dim(), true, opts));
    adaLN_modulation = register_module(
        "adaLN_modulation", torch::nn::Sequential(torch::nn::SiLU(), nn::Linear(cfg.adaln_dim(), cfg.dim, true, opts)));
}

torch::Tensor FinalLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& adaln) {
    auto scale = adaLN_modulation->forward(adaln); // [B, D]
    // The reference runs under autocast, where layer_norm and the modulation stay in fp32.
    auto normed = torch::layer_norm(x.to(torch::kFloat32), {x.size(-1)}, {}, {}, 1e-6); // [B, L, D]
    return linear(modulate(normed, scale.to(torch::kFloat32)));
}

NextDiTImpl::NextDiTImpl(const NextDiTConfig& cfg, const torch::TensorOptions& opts) : cfg_(cfg) {
    cfg_.validate();
    x_embedder = register_module("x_embedder", nn::Linear(cfg.patch_dim(), cfg.dim, true, opts));
    noise_refiner = register_module("noise_refiner", torch::nn::ModuleList());
    context_refiner = register_module("context_refiner", torch::nn::ModuleList());
    for (int64_t i = 0; i < cfg.n_refiner_layers; ++i) {
        noise_refiner->push_back(JointTransformerBlock(cfg, true, opts));
        context_refiner->push_back(JointTransformerBlock(cfg, false, opts));
    }
    t_embedder = register_module("t_embedder", TimestepEmbedder(cfg, opts));
    cap_embedder =
        register_module("cap_embedder", torch::nn::Sequential(nn::RMSNorm(cfg.cap_feat_dim, cfg.norm_eps, opts),
                                                              nn::Linear(cfg.cap_feat_dim, cfg.dim, true, opts)));
    layers = register_module("layers", torch::nn::ModuleList());
    for (int64_t i = 0; i < cfg.n_layers; ++i)
        layers->push_back(JointTransformerBlock(cfg, true, opts));
    norm_final = register_module("norm_final", nn::RMSNorm(cfg.dim, cfg.norm_eps, opts));
    final_layer = register_module("final_layer", FinalLayer(cfg, opts));
    time_text_embed = register_module(
        "time_text_embed", torch::nn::Sequential(torch::nn::SiLU(), nn::Linear(cfg.adaln_dim() + cfg.clip_text_dim,
                                                                               cfg.adaln_dim(), true, opts)));
    clip_text_pooled_proj = register_module(
        "clip_text_pooled_proj", torch::nn::Sequential(nn::RMSNorm(cfg.clip_text_dim, cfg.clip_norm_eps, opts),
                                                       nn::Linear(cfg.clip_text_dim, cfg.clip_text_dim, true, opts)));
    for (int a = 0; a < 3; ++a) {
        // omega_j = theta^(-2j/d), built in float64 as the reference does.
        auto j = torch::arange(0, cfg.axes_dims[a], 2, torch::kFloat64);
        axis_freqs_.push_back(1.0 / torch::pow(cfg.rope_theta, j / static_cast<double>(cfg.axes_dims[a])));
    }
}

torch::Tensor NextDiTImpl::timestep_embedding(const torch::Tensor& t) const {
    const int64_t half = cfg_.t_freq_dim / 2;
    auto freqs = torch::exp(-std::log(cfg_.t_max_period) *
                            torch::arange(half, torch::TensorOptions().dtype(torch::kFloat32).device(t.device())) /
                            static_cast<double>(half)); // [half], made on the device (no host copy per step)
    auto args = t.to(torch::kFloat32).unsqueeze(1) * freqs.unsqueeze(0); // [B, half]
    return torch::cat({torch::cos(args), torch::sin(args)}, -1);         // [B, 2 half]
}

std::pair<torch::Tensor, torch::Tensor> NextDiTImpl::rope(const torch::Tensor& pos) const {
    if (axis_freqs_dev_.empty() || axis_freqs_dev_[0].device() != pos.device()) {
        axis_freqs_dev_.clear();
        for (const auto& f : axis_freqs_)
            axis_freqs_dev_.push_back(f.to(pos.device()));
    }
    std::vector<torch::Tensor> angles;
    for (int a = 0; a < 3; ++a) {
        auto p = pos.select(-1, a).to(torch::kFloat64).unsqueeze(-1); // [B, L, 1]
        auto ang = (p * axis_freqs_dev_[a]).to(torch::kFloat32);      // [B, L, d_a/2]
        angles.push_back(ang);
    }
    auto ang = torch::cat(angles, -1); // [B, L, Dh/2]
    return {torch::cos(ang), torch::sin(ang)};
}

NextDiTCaptions NextDiTImpl::encode_captions(const torch::Tensor& cap, const std::vector<int64_t>& cap_lens) {
    const int64_t B = cap.size(0), Lc = cap.size(1);
    TORCH_CHECK(static_cast<int64_t>(cap_lens.size()) == B, "nextdit: ", cap_lens.size(), " caption lengths for ", B,
                " captions");
    NextDiTCaptions c;
    for (auto len : cap_lens) {
        TORCH_CHECK(len >= 1 && len <= Lc, "nextdit: caption length ", len, " outside 1..", Lc);
        TORCH_CHECK(len < cfg_.axes_lens[0], "nextdit: caption of ", len, " tokens exceeds the model's limit of ",
                    cfg_.axes_lens[0] - 1);
        c.max_len = std::max(c.max_len, len);
    }
    const auto dev = cap.device();
    const auto dtype = x_embedder->weight.scalar_type();
    auto i64 = torch::TensorOptions().dtype(torch::kInt64).device(dev);
    c.cap_lens = cap_lens;
    c.lens = torch::tensor(cap_lens, torch::kInt64).to(dev); // [B]
    c.capx = cap_embedder->forward(cap.to(dtype));           // [B, Lc, D]

    // Caption positions (j, 0, 0); padded slots get a zero rotation (q, k zeroed) as in the reference.
    auto j = torch::arange(Lc, i64);                      // [Lc]
    auto cap_mask = j.unsqueeze(0) < c.lens.unsqueeze(1); // [B, Lc]
    c.cap_pos = torch::zeros({B, Lc, 3}, i64);            // [B, Lc, 3]
    c.cap_pos.select(-1, 0).copy_(j.unsqueeze(0).expand({B, Lc}));
    auto [cap_cos, cap_sin] = rope(c.cap_pos);               // [B, Lc, Dh/2] fp32
    auto valid = cap_mask.unsqueeze(-1).to(torch::kFloat32); // [B, Lc, 1]
    cap_cos = cap_cos * valid;
    cap_sin = cap_sin * valid;
    for (const auto& m : *context_refiner)
        c.capx = m->as<JointTransformerBlock>()->forward(c.capx, cap_lens, cap_cos, cap_sin, {});
    return c;
}

torch::Tensor NextDiTImpl::forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& cap,
                                   const std::vector<int64_t>& cap_lens, const torch::Tensor& pooled) {
    TORCH_CHECK(static_cast<int64_t>(cap_lens.size()) == x.size(0) && cap.size(0) == x.size(0),
                "nextdit: batch sizes of latent, time, caption and pooled embedding differ");
    auto caps = encode_captions(cap, cap_lens);
    return forward(x, t, caps, pooled);
}

namespace {

// The joint sequence of each sample, [caption (its first lens[b] rows of cap), image (all N rows of img)], right-padded
// with zeros to L rows, in one gather: cap [B, Lc, F], img [B, N, F], lens [B] int64 -> [B, L, F].
torch::Tensor gather_joint(const torch::Tensor& cap, const torch::Tensor& img, const torch::Tensor& lens, int64_t L) {
    const int64_t B = cap.size(0), Lc = cap.size(1), N = img.size(1), F = cap.size(2);
    const auto src = torch::cat({cap, img, torch::zeros({B, 1, F}, cap.options())}, 1); // [B, Lc + N + 1, F]
    const auto j = torch::arange(L, lens.options()).view({1, L});                       // [1, L]
    const auto len = lens.view({B, 1});                                                 // [B, 1]
    const auto from = torch::where(j < len, j, torch::where(j < len + N, j - len + Lc, torch::full_like(j, Lc + N)));
    return src.gather(1, from.unsqueeze(-1).expand({B, L, F})); // [B, L, F]
}

} // namespace

void NextDiTImpl::prepare_grid(NextDiTCaptions& caps, int64_t Ht, int64_t Wt) const {
    if (caps.grid_h == Ht && caps.grid_w == Wt)
        return;
    const auto& cap_lens = caps.cap_lens;
    const int64_t B = static_cast<int64_t>(cap_lens.size()), n_img = Ht * Wt, L = caps.max_len + n_img;
    const auto dev = caps.capx.device();
    // Rotary tables of this grid: image positions (len_i, row, col), then the joint sequence
    // [caption (len_i), image (N)] right-padded to max_len + N. Made once per batch and grid.
    auto i64 = torch::TensorOptions().dtype(torch::kInt64).device(dev);
    auto row = torch::arange(Ht, i64).view({Ht, 1}).expand({Ht, Wt}).reshape({n_img}); // [N]
    auto col = torch::arange(Wt, i64).view({1, Wt}).expand({Ht, Wt}).reshape({n_img}); // [N]
    caps.img_pos = torch::stack({caps.lens.view({B, 1}).expand({B, n_img}), row.unsqueeze(0).expand({B, n_img}),
                                 col.unsqueeze(0).expand({B, n_img})},
                                -1); // [B, N, 3]
    std::tie(caps.img_cos, caps.img_sin) = rope(caps.img_pos);
    if (torch::GradMode::is_enabled()) {
        caps.joint_pos = gather_joint(caps.cap_pos, caps.img_pos, caps.lens, L); // training: one pass
    } else {
        caps.joint_pos = torch::zeros({B, L, 3}, i64); // [B, L, 3]
        for (int64_t b = 0; b < B; ++b) {
            const int64_t len = cap_lens[b];
            caps.joint_pos[b].narrow(0, 0, len).copy_(caps.cap_pos[b].narrow(0, 0, len));
            caps.joint_pos[b].narrow(0, len, n_img).copy_(caps.img_pos[b]);
        }
    }
    std::tie(caps.cos, caps.sin) = rope(caps.joint_pos);
    caps.grid_h = Ht;
    caps.grid_w = Wt;
}

torch::Tensor NextDiTImpl::forward(const torch::Tensor& x, const torch::Tensor& t, NextDiTCaptions& caps,
                                   const torch::Tensor& pooled) {
    const int64_t B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), p = cfg_.patch_size;
    TORCH_CHECK(C == cfg_.in_channels, "nextdit: latent has ", C, " channels, the model expects ", cfg_.in_channels);
    TORCH_CHECK(H % p == 0 && W % p == 0, "nextdit: latent size ", H, "x", W, " is not a multiple of the patch size");
    const auto& cap_lens = caps.cap_lens;
    TORCH_CHECK(static_cast<int64_t>(cap_lens.size()) == B && caps.capx.size(0) == B && pooled.size(0) == B &&
                    t.size(0) == B,
                "nextdit: batch sizes of latent, time, caption and pooled embedding differ");
    const int64_t Ht = H / p, Wt = W / p, n_img = Ht * Wt;
    TORCH_CHECK(Ht < cfg_.axes_lens[1] && Wt < cfg_.axes_lens[2], "nextdit: image of ", Ht, "x", Wt,
                " patches exceeds the rotary table");
    const auto dtype = x_embedder->weight.scalar_type();
    const int64_t L = caps.max_len + n_img;

    prepare_grid(caps, Ht, Wt);

    // Conditioning: timestep embedding fused with the pooled CLIP text embedding.
    auto t_emb = t_embedder->mlp->forward(timestep_embedding(t).to(dtype));   // [B, A]
    auto clip_emb = clip_text_pooled_proj->forward(pooled.to(dtype));         // [B, Dclip]
    auto adaln = time_text_embed->forward(torch::cat({t_emb, clip_emb}, -1)); // [B, A]

    // Image tokens: patch vectors ordered (py, px, c), c fastest; tokens row-major.
    auto patches =
        x.view({B, C, Ht, p, Wt, p}).permute({0, 2, 4, 3, 5, 1}).reshape({B, n_img, p * p * C}); // [B, N, ppC]
    auto img = x_embedder(patches);                                                              // [B, N, D]
    for (const auto& m : *noise_refiner)
        img = m->as<JointTransformerBlock>()->forward(img, {}, caps.img_cos, caps.img_sin, adaln);

    // Joint sequence per sample: [caption (len_i), image (N)], right-padded to max_len + N.
    // Training (autograd records this pass) gathers each in one pass instead of a copy per sample.
    const bool training = torch::GradMode::is_enabled();
    torch::Tensor joint;
    if (training) {
        joint = gather_joint(caps.capx, img, caps.lens, L); // [B, L, D]
    } else {
        joint = torch::zeros({B, L, cfg_.dim}, img.options()); // [B, L, D]
        for (int64_t b = 0; b < B; ++b) {
            const int64_t len = cap_lens[b];
            joint[b].narrow(0, 0, len).copy_(caps.capx[b].narrow(0, 0, len));
            joint[b].narrow(0, len, n_img).copy_(img[b]);
        }
    }
    std::vector<int64_t> joint_lens; // valid tokens of each sample's joint sequence
    for (auto len : cap_lens)
        joint_lens.push_back(len + n_img);
    for (const auto& m : *layers)
        joint = m->as<JointTransformerBlock>()->forward(joint, joint_lens, caps.cos, caps.sin, adaln);
    auto y = final_layer(joint, adaln); // [B, L, ppC]

    // Unpatchify each sample's image tokens.
    torch::Tensor tokens; // [B, N, ppC]
    if (training) {
        const auto rows = caps.lens.view({B, 1}) + torch::arange(n_img, caps.lens.options()).view({1, n_img}); // [B, N]
        tokens = y.gather(1, rows.unsqueeze(-1).expand({B, n_img, y.size(2)}));
    } else {
        std::vector<torch::Tensor> outs;
        for (int64_t b = 0; b < B; ++b)
            outs.push_back(y[b].narrow(0, cap_lens[b], n_img)); // [N, ppC]
        tokens = torch::stack(outs);
    }
    return tokens.view({B, Ht, Wt, p, p, C}).permute({0, 5, 1, 3, 2, 4}).reshape({B, C, H, W}); // [B, C, H, W]
}

} // namespace charaforge::engine
