// Ref: NewBie-image-Exp0.1 demo.py (noise, sampling, VAE decode), models/model.py forward_with_cfg.
#include "charaforge/engine/pipeline.h"

#include "charaforge/engine/error.h"
#include "flow_sampler.h"
#include "model_folder.h"
#include "pipeline_internal.h"
#include "text_conditioning.h"

#include <map>
#include <tuple>

namespace charaforge::engine {

struct Pipeline::Impl {
    Runtime rt;
    ModelFiles files;
    ModelInfo info;
    RuntimeOptions options;
    NextDiT transformer{nullptr};
    AutoencoderKL vae{nullptr};
    std::unique_ptr<TextEncoders> text; // null when the model folder has no text encoders
};

Pipeline::Pipeline() : impl_(std::make_unique<Impl>()) {}
Pipeline::~Pipeline() = default;

std::unique_ptr<Pipeline> Pipeline::open(const std::string& path, const RuntimeOptions& options) {
    std::unique_ptr<Pipeline> p(new Pipeline());
    auto& s = *p->impl_;
    s.options = options;
    if (s.options.max_batch < 1)
        throw EngineError("pipeline: max_batch must be at least 1");
    s.rt = make_runtime(options);
    s.files = locate_model(path);
    c10::InferenceMode guard;
    s.transformer = load_transformer(s.files.transformer, s.rt);
    s.vae = load_vae(s.files.vae, s.files.vae_bfl, s.rt);
    if (!s.files.text_encoder.weights.empty() || !s.files.clip.weights.empty()) {
        s.text = std::make_unique<TextEncoders>(s.files, s.rt, options.offload_text_encoders);
        const auto& cfg = s.transformer->config();
        if (s.text->feature_dim() != cfg.cap_feat_dim || s.text->pooled_dim() != cfg.clip_text_dim)
            throw EngineError("pipeline: the text encoders give " + std::to_string(s.text->feature_dim()) + "/" +
                              std::to_string(s.text->pooled_dim()) + "-wide features, the transformer expects " +
                              std::to_string(cfg.cap_feat_dim) + "/" + std::to_string(cfg.clip_text_dim));
    }
    s.info.root = s.files.root;
    s.info.layout = s.files.layout;
    s.info.transformer_file = s.files.transformer.weights.front();
    s.info.vae_file = s.files.vae.weights.front();
    s.info.text_encoder_file = s.files.text_encoder.weights.empty() ? "" : s.files.text_encoder.weights.front();
    s.info.clip_file = s.files.clip.weights.empty() ? "" : s.files.clip.weights.front();
    s.info.summary = s.files.summary();
    return p;
}

const ModelInfo& Pipeline::info() const {
    return impl_->info;
}
std::string Pipeline::device_name() const {
    return impl_->rt.describe();
}

bool Pipeline::has_text_encoders() const {
    return impl_->text != nullptr;
}

std::pair<TextEmbedding, TextEmbedding> Pipeline::encode(const GenerationRequest& r) {
    if (!impl_->text)
        throw EngineError("pipeline: " + impl_->files.root + " has no text encoders (text_encoder/ and clip_model/)");
    c10::InferenceMode guard;
    return {impl_->text->encode(conditional_texts(r)), impl_->text->encode(unconditional_texts(r))};
}

std::pair<std::vector<int64_t>, std::vector<int64_t>> Pipeline::tokenize(const std::string& text) const {
    if (!impl_->text)
        throw EngineError("pipeline: " + impl_->files.root + " has no text encoders (text_encoder/ and clip_model/)");
    return {impl_->text->gemma_tokenizer().encode(text).ids, impl_->text->jina_tokenizer().encode(text).ids};
}

torch::Tensor initial_noise(uint64_t seed, int64_t channels, int64_t height, int64_t width) {
    // A private CPU generator per request: the noise depends on seed and size only, never on the
    // batch it is sampled in or on the device.
    auto gen = at::detail::createCPUGenerator(seed);
    return at::randn({1, channels, height, width}, gen, torch::kFloat32); // [1, C, h, w]
}

namespace {

struct Conditioning {
    torch::Tensor features; // [B, L, D], right-padded
    std::vector<int64_t> lens;
    torch::Tensor pooled; // [B, Dp]
};

Conditioning stack_embeddings(const std::vector<const TextEmbedding*>& items, const torch::Device& device) {
    Conditioning c;
    int64_t max_len = 0, dim = items.front()->dim;
    for (auto* e : items)
        max_len = std::max(max_len, e->length);
    c.features = torch::zeros({static_cast<int64_t>(items.size()), max_len, dim}, torch::kFloat32); // [B, L, D]
    std::vector<torch::Tensor> pooled;
    for (std::size_t i = 0; i < items.size(); ++i) {
        const auto* e = items[i];
        if (e->dim != dim || static_cast<int64_t>(e->features.size()) != e->length * e->dim || e->length < 1)
            throw EngineError("pipeline: malformed text embedding (length " + std::to_string(e->length) + ", dim " +
                              std::to_string(e->dim) + ", " + std::to_string(e->features.size()) + " values)");
        auto f = torch::from_blob(const_cast<float*>(e->features.data()), {e->length, e->dim}, torch::kFloat32);
        c.features[static_cast<int64_t>(i)].narrow(0, 0, e->length).copy_(f);
        c.lens.push_back(e->length);
        pooled.push_back(torch::from_blob(const_cast<float*>(e->pooled.data()),
                                          {static_cast<int64_t>(e->pooled.size())}, torch::kFloat32)
                             .clone());
    }
    c.features = c.features.to(device);
    c.pooled = torch::stack(pooled).to(device); // [B, Dp]
    return c;
}

Image to_image(const torch::Tensor& rgb01) { // [3, H, W] fp32 in [0, 1]
    auto u8 =
        (rgb01 * 255.0).round().clamp(0, 255).to(torch::kUInt8).permute({1, 2, 0}).contiguous().cpu(); // [H, W, 3]
    Image img;
    img.height = static_cast<int>(u8.size(0));
    img.width = static_cast<int>(u8.size(1));
    img.rgb.assign(u8.data_ptr<uint8_t>(), u8.data_ptr<uint8_t>() + u8.numel());
    return img;
}

} // namespace

std::vector<Image> Pipeline::generate(const std::vector<GenerationRequest>& input, const Callbacks& callbacks) {
    auto& s = *impl_;
    c10::InferenceMode guard;
    const auto& cfg = s.transformer->config();
    const int64_t spatial = 8 * cfg.patch_size; // VAE factor times patch size
    for (std::size_t i = 0; i < input.size(); ++i) {
        const auto& r = input[i];
        const std::string where = "pipeline: request " + std::to_string(i) + ": ";
        if (r.width < spatial || r.height < spatial || r.width % spatial || r.height % spatial)
            throw EngineError(where + "size " + std::to_string(r.width) + "x" + std::to_string(r.height) +
                              " must be a positive multiple of " + std::to_string(spatial));
        if (r.steps < 1 || r.steps > 1000)
            throw EngineError(where + "steps must be between 1 and 1000");
    }

    // Text prompts become embeddings first (cached per encoder and exact text).
    std::vector<GenerationRequest> requests = input;
    for (std::size_t i = 0; i < requests.size(); ++i) {
        auto& r = requests[i];
        if (r.cond && (r.uncond || r.guidance == 1.0f))
            continue;
        if (!s.text)
            throw EngineError("pipeline: request " + std::to_string(i) + ": the prompt needs text encoders, and " +
                              s.files.root + " has none (text_encoder/ and clip_model/)");
        std::vector<std::string> warnings;
        if (!r.cond)
            r.cond = s.text->encode(conditional_texts(r), &warnings);
        if (!r.uncond && r.guidance != 1.0f)
            r.uncond = s.text->encode(unconditional_texts(r), &warnings);
        if (callbacks.on_warning)
            for (const auto& w : warnings)
                callbacks.on_warning(i, w);
    }
    if (s.text)
        s.text->release_device_memory();

    // Group compatible requests (they can share one forward pass), keeping first-appearance order.
    using Key = std::tuple<int, int, int, int, float>;
    std::vector<std::pair<Key, std::vector<std::size_t>>> groups;
    for (std::size_t i = 0; i < requests.size(); ++i) {
        const auto& r = requests[i];
        Key key{r.width, r.height, r.steps, static_cast<int>(r.solver), r.shift};
        auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == key; });
        if (it == groups.end())
            groups.push_back({key, {i}});
        else
            it->second.push_back(i);
    }

    std::vector<Image> images(requests.size());
    for (const auto& [key, members] : groups) {
        for (std::size_t start = 0; start < members.size(); start += static_cast<std::size_t>(s.options.max_batch)) {
            const std::size_t end = std::min(members.size(), start + static_cast<std::size_t>(s.options.max_batch));
            std::vector<std::size_t> idx(members.begin() + static_cast<long>(start),
                                         members.begin() + static_cast<long>(end));
            sample_batch(s.transformer, s.vae, s.rt, requests, idx, callbacks, images);
        }
    }
    return images;
}

void sample_batch(NextDiT& transformer, AutoencoderKL& vae, const Runtime& rt,
                  const std::vector<GenerationRequest>& requests, const std::vector<std::size_t>& idx,
                  const Callbacks& callbacks, std::vector<Image>& images) {
    const auto& first = requests[idx.front()];
    const int64_t B = static_cast<int64_t>(idx.size());
    const int64_t C = transformer->config().in_channels, h = first.height / 8, w = first.width / 8;

    std::vector<const TextEmbedding*> cond_items, uncond_items;
    std::vector<float> scales, truncs, renorms;
    for (auto i : idx) {
        cond_items.push_back(&*requests[i].cond);
        uncond_items.push_back(requests[i].uncond ? &*requests[i].uncond : &*requests[i].cond);
        scales.push_back(requests[i].guidance);
        truncs.push_back(requests[i].cfg_trunc);
        renorms.push_back(requests[i].renorm_cfg);
    }
    auto cond = stack_embeddings(cond_items, rt.device);
    auto uncond = stack_embeddings(uncond_items, rt.device);

    std::vector<torch::Tensor> noise;
    for (auto i : idx)
        noise.push_back(initial_noise(requests[i].seed, C, h, w));
    auto x = torch::cat(noise).to(rt.device); // [B, C, h, w] fp32
    if (rt.dtype != torch::kFloat32)
        x = x.to(rt.dtype).to(torch::kFloat32); // the reference draws the noise, then casts it to the model dtype

    auto velocity = [&](const torch::Tensor& xt, float t) {
        // Unconditional rows only for the requests that still guide at this t.
        std::vector<int64_t> guided;
        for (int64_t b = 0; b < B; ++b)
            if (scales[b] != 1.0f && t < truncs[b])
                guided.push_back(b);
        auto gidx = torch::tensor(guided, torch::kInt64).to(rt.device);
        const int64_t G = static_cast<int64_t>(guided.size());
        auto x_in = G ? torch::cat({xt, xt.index_select(0, gidx)}) : xt; // [B + G, C, h, w]
        auto t_in = torch::full({B + G}, t, torch::TensorOptions().device(rt.device).dtype(torch::kFloat32));
        std::vector<int64_t> lens = cond.lens;
        torch::Tensor feats = cond.features, pooled = cond.pooled;
        if (G) {
            for (auto g : guided)
                lens.push_back(uncond.lens[g]);
            auto uf = uncond.features.index_select(0, gidx);
            const int64_t L = std::max(feats.size(1), uf.size(1));
            auto pad = [&](const torch::Tensor& f) {
                return f.size(1) == L ? f : torch::constant_pad_nd(f, {0, 0, 0, L - f.size(1)}); // [*, L, D]
            };
            feats = torch::cat({pad(feats), pad(uf)});                          // [B + G, L, D]
            pooled = torch::cat({pooled, uncond.pooled.index_select(0, gidx)}); // [B + G, Dp]
        }
        auto v = transformer->forward(x_in, t_in, feats, lens, pooled).to(torch::kFloat32); // [B + G, C, h, w]
        auto v_cond = v.narrow(0, 0, B).clone();
        for (int64_t j = 0; j < G; ++j) {
            const int64_t b = guided[j];
            auto scale = torch::full({1}, scales[b], torch::TensorOptions().device(rt.device));
            v_cond[b].copy_(guide(v.narrow(0, b, 1), v.narrow(0, B + j, 1), scale, renorms[b])[0]);
        }
        return v_cond;
    };

    const auto grid = shifted_time_grid(first.steps, first.shift);
    const Solver solver = first.solver == SolverKind::Midpoint ? Solver::Midpoint : Solver::Euler;
    auto check_abort = [&] {
        if (callbacks.should_abort && callbacks.should_abort())
            throw Cancelled();
    };
    check_abort();
    x = integrate_flow(solver, x, grid, velocity, [&](int64_t step, int64_t total, const torch::Tensor&) {
        if (callbacks.on_step)
            callbacks.on_step(StepProgress{idx.front(), idx.size(), static_cast<int>(step), static_cast<int>(total)});
        check_abort();
    });

    for (int64_t b = 0; b < B; ++b) {
        auto rgb = vae->decode(x.narrow(0, b, 1).to(rt.vae_dtype)); // [1, 3, H, W] in [0, 1]
        images[idx[b]] = to_image(rgb[0]);
        if (callbacks.on_image)
            callbacks.on_image(idx[b], images[idx[b]]);
    }
}

} // namespace charaforge::engine
