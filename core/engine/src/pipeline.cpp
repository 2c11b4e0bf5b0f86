// Ref: NewBie-image-Exp0.1 demo.py (noise, sampling, VAE decode), models/model.py forward_with_cfg.
#include "charaforge/engine/pipeline.h"

#include "charaforge/engine/error.h"
#include "charaforge/engine/request_validation.h"
#include "flow_sampler.h"
#include "fp8_linear.h"
#include "model_folder.h"
#include "pipeline_internal.h"
#include "step_forward.h"
#include "text_conditioning.h"
#include "torch_compat.h"

#include <algorithm>
#include <atomic>
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
    std::unique_ptr<TextEncoders> text;         // null when the model folder has no text encoders
    std::optional<LatentRgbProjection> preview; // fitted on the first preview
    int64_t transformer_bytes = 0;              // weights, counted once at open (the monitor polls them)
    int64_t vae_bytes = 0;
    MemoryMode mode = MemoryMode::High; // resolved
    std::vector<std::string> memory_notes;

    // Tile side for decoding a batch of this size: forced by the options, always in mode low, in mode balanced
    // when the untiled decode is predicted not to fit beside the resident weights; 0 untiled.
    int64_t vae_tile(int width, int height) const;
    int64_t budget() const;
    // The prediction with `held`: what the device holds beyond the weights counted (read from the allocator once by
    // the caller, who may predict many batch sizes).
    MemoryPrediction predict(int batch, int width, int height, bool guidance, int caption_tokens, int64_t held) const;
    int64_t held_bytes() const;
};

int64_t Pipeline::Impl::budget() const {
    if (!rt.device.is_cuda())
        return 0;
    const auto r = memory_report("cuda:" + std::to_string(rt.device.has_index() ? rt.device.index() : 0));
    // What this process already holds (weights, cached blocks) is ours to reuse, plus what the driver has free.
    return r.gpu ? r.free + r.reserved : 0;
}

int64_t Pipeline::Impl::vae_tile(int width, int height) const {
    if (options.vae_tile > 0)
        return options.vae_tile;
    if (mode == MemoryMode::Low)
        return kDefaultVaeTile;
    if (mode == MemoryMode::Balanced && rt.device.is_cuda()) {
        const int64_t need = transformer_bytes + vae_bytes + vae_decode_reserve_bytes(width, height, vae->config());
        if (need > budget())
            return kDefaultVaeTile;
    }
    return 0;
}

namespace {

// A LibTorch error as our one-line EngineError: the message without the C++ backtrace (15-25 lines of frames
// that mean nothing to a user), first line only.
[[noreturn]] void throw_torch_error(const c10::Error& e, const std::string& where) {
    std::string msg = e.what_without_backtrace();
    if (const auto nl = msg.find('\n'); nl != std::string::npos)
        msg.resize(nl);
    throw EngineError(where + "LibTorch error: " + msg);
}

} // namespace

Pipeline::Pipeline() : impl_(std::make_unique<Impl>()) {}
Pipeline::~Pipeline() = default;

std::unique_ptr<Pipeline> Pipeline::open(const std::string& path, const RuntimeOptions& options) try {
    std::unique_ptr<Pipeline> p(new Pipeline());
    auto& s = *p->impl_;
    s.options = options;
    if (s.options.max_batch < 1)
        throw EngineError("pipeline: max_batch must be at least 1");
    if (s.options.vae_tile < 0)
        throw EngineError("pipeline: vae_tile must not be negative");
    s.rt = make_runtime(options);
    s.files = locate_model(path);
    s.mode = options.memory_mode;
    if (s.mode == MemoryMode::Auto)
        s.mode = auto_memory_mode(s.rt.device.is_cuda(), memory_report(p->device()).total);
    c10::InferenceMode guard;
    int64_t fp8_bytes = 0;
    if (s.mode == MemoryMode::Low && compat::kHasFp8) {
        // Loaded in host memory and quantised one linear at a time on the device: the device never holds the
        // transformer in its original dtype.
        Runtime host = s.rt;
        host.device = torch::kCPU;
        s.transformer = load_transformer(s.files.transformer, host);
        fp8_bytes = store_nextdit_linears_fp8(s.transformer, s.rt.device);
        s.transformer->to(s.rt.device);
    } else {
        if (s.mode == MemoryMode::Low)
            s.memory_notes.push_back(std::string("memory mode low: ") + compat::kNoFp8 +
                                     ", so the transformer keeps its " + s.rt.describe() + " weights");
        s.transformer = load_transformer(s.files.transformer, s.rt);
    }
    s.vae = load_vae(s.files.vae, s.files.vae_bfl, s.rt);
    if (!s.files.text_encoder.weights.empty() || !s.files.clip.weights.empty()) {
        Runtime text_rt = s.rt;
        if (s.mode == MemoryMode::Low)
            text_rt.device = torch::kCPU; // the text encoders never come to the device in mode low
        const bool offload = options.offload_text_encoders || s.mode == MemoryMode::Balanced;
        s.text = std::make_unique<TextEncoders>(s.files, text_rt, offload);
        const auto& cfg = s.transformer->config();
        if (s.text->feature_dim() != cfg.cap_feat_dim || s.text->pooled_dim() != cfg.clip_text_dim)
            throw EngineError("pipeline: the text encoders give " + std::to_string(s.text->feature_dim()) + "/" +
                              std::to_string(s.text->pooled_dim()) + "-wide features, the transformer expects " +
                              std::to_string(cfg.cap_feat_dim) + "/" + std::to_string(cfg.clip_text_dim));
    }
    s.transformer_bytes = module_bytes(*s.transformer) + fp8_bytes;
    s.vae_bytes = module_bytes(*s.vae);
    s.info.root = s.files.root;
    s.info.layout = s.files.layout;
    s.info.transformer_file = s.files.transformer.weights.front();
    s.info.vae_file = s.files.vae.weights.front();
    s.info.text_encoder_file = s.files.text_encoder.weights.empty() ? "" : s.files.text_encoder.weights.front();
    s.info.clip_file = s.files.clip.weights.empty() ? "" : s.files.clip.weights.front();
    s.info.summary = s.files.summary();
    return p;
} catch (const c10::Error& e) {
    throw_torch_error(e, "pipeline: opening " + path + ": ");
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

// The requests of a batch that share one transformer forward: rows [begin, begin + count) of the batch, their
// conditioning, and their captions encoded (caption embedder + context refiner) for the set of guided rows they were
// last made for: they do not depend on t, and the set changes only where a request's CFG truncation starts.
struct ForwardRows {
    int64_t begin = 0, count = 0;
    Conditioning cond, uncond;
    std::vector<int64_t> enc_guided{-1}; // rows (within these) whose uncond row `enc` holds; {-1}: none made yet
    NextDiTCaptions enc;
    torch::Tensor gidx;      // [G] the guided rows
    torch::Tensor pooled_in; // [count + G, Dp]
};

// The resume state must be one this request's sampler could have saved.
void check_resume_state(const SamplerState& st, const GenerationRequest& r, int64_t channels,
                        const std::string& where) {
    const int64_t h = r.height / 8, w = r.width / 8;
    auto shape = [](int64_t c, int64_t hh, int64_t ww) {
        return std::to_string(c) + "x" + std::to_string(hh) + "x" + std::to_string(ww);
    };
    if (st.channels != channels || st.height != h || st.width != w)
        throw EngineError(where + "resume state is a " + shape(st.channels, st.height, st.width) +
                          " latent, the request needs " + shape(channels, h, w) + " (channels x height/8 x width/8)");
    if (static_cast<int64_t>(st.latent.size()) != channels * h * w)
        throw EngineError(where + "resume state holds " + std::to_string(st.latent.size()) + " values, a " +
                          shape(channels, h, w) + " latent has " + std::to_string(channels * h * w));
    if (st.step < 0 || st.step >= r.steps)
        throw EngineError(where + "resume state is at step " + std::to_string(st.step) + ", outside 0.." +
                          std::to_string(r.steps - 1) + " of " + std::to_string(r.steps) + " steps");
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

std::vector<Image> Pipeline::generate(const std::vector<GenerationRequest>& input, const Callbacks& callbacks) try {
    auto& s = *impl_;
    c10::InferenceMode guard;
    const auto& cfg = s.transformer->config();
    const int64_t spatial = 8 * cfg.patch_size; // VAE factor times patch size
    for (std::size_t i = 0; i < input.size(); ++i) {
        const auto& r = input[i];
        const std::string where = "pipeline: request " + std::to_string(i) + ": ";
        validate_request(r, "pipeline: request " + std::to_string(i));
        if (r.width < spatial || r.height < spatial || r.width % spatial || r.height % spatial)
            throw EngineError(where + "size " + std::to_string(r.width) + "x" + std::to_string(r.height) +
                              " must be a positive multiple of " + std::to_string(spatial));
        if (r.steps < 1 || r.steps > 1000)
            throw EngineError(where + "steps must be between 1 and 1000");
        if (r.resume)
            check_resume_state(*r.resume, r, cfg.in_channels, where);
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

    // Group compatible requests (they can share one forward pass), keeping first-appearance order. Requests
    // resuming from different steps cannot share one: the batch integrates one time grid from one step.
    using Key = std::tuple<int, int, int, int, float, int>;
    std::vector<std::pair<Key, std::vector<std::size_t>>> groups;
    for (std::size_t i = 0; i < requests.size(); ++i) {
        const auto& r = requests[i];
        Key key{r.width, r.height, r.steps, static_cast<int>(r.solver), r.shift, r.resume ? r.resume->step : 0};
        auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == key; });
        if (it == groups.end())
            groups.push_back({key, {i}});
        else
            it->second.push_back(i);
    }

    std::vector<Image> images(requests.size());
    for (const auto& [key, members] : groups) {
        const BatchModels models{s.transformer, s.vae, s.rt, s.preview, s.vae_tile(std::get<0>(key), std::get<1>(key))};
        for (std::size_t start = 0; start < members.size(); start += static_cast<std::size_t>(s.options.max_batch)) {
            const std::size_t end = std::min(members.size(), start + static_cast<std::size_t>(s.options.max_batch));
            std::vector<std::size_t> idx(members.begin() + static_cast<long>(start),
                                         members.begin() + static_cast<long>(end));
            BatchStage stage = BatchStage::Sampling;
            try {
                sample_batch(models, requests, idx, callbacks, images, stage);
            } catch (const EngineError&) {
                throw; // Cancelled and our own errors, unchanged
            } catch (const std::exception& e) {
                if (!is_out_of_memory(e))
                    throw;
                // The batch's tensors died with sample_batch's frame; hand their blocks back to the driver so
                // that a retry (or another process) finds the memory free.
                release_cached_device_memory();
                const auto& r = requests[idx.front()];
                const bool offload_helps = s.rt.device.is_cuda() && s.text && !s.options.offload_text_encoders;
                // Decoding runs one image at a time, so its failure is not the batch's size: say so, and
                // the caller does not split the batch for it.
                const bool decoding = stage == BatchStage::Decoding;
                throw OutOfMemory(out_of_memory_message(device(), stage, decoding ? 1 : idx.size(), r.width, r.height,
                                                        r.steps, offload_helps, allocation_detail(e)),
                                  decoding);
            }
        }
    }
    return images;
} catch (const c10::Error& e) {
    throw_torch_error(e, "pipeline: ");
}

std::vector<std::pair<std::string, int64_t>> Pipeline::component_bytes() const {
    const auto& s = *impl_;
    std::vector<std::pair<std::string, int64_t>> out{{"transformer", s.transformer_bytes}, {"vae", s.vae_bytes}};
    if (s.text) {
        // Offloaded encoders are in host memory except while they encode; in mode low they never leave it.
        const bool resident = s.text->on_device() && s.mode != MemoryMode::Low;
        out.emplace_back("text_encoder", resident ? s.text->gemma_device_bytes() : 0);
        out.emplace_back("clip_model", resident ? s.text->jina_device_bytes() : 0);
    }
    return out;
}

std::string Pipeline::device() const {
    const auto& d = impl_->rt.device;
    // "cuda" means the current device, which the engine never changes: the first one.
    return d.is_cuda() ? "cuda:" + std::to_string(d.has_index() ? d.index() : 0) : d.str();
}

int Pipeline::suggest_batch(int width, int height, bool guidance) const {
    const auto& s = *impl_;
    if (!s.rt.device.is_cuda())
        return s.options.max_batch; // host memory is the user's to manage; the batch only costs time there
    const int64_t budget = s.budget(), held = s.held_bytes();
    int n = 1;
    while (n < s.options.max_batch &&
           s.predict(n + 1, width, height, guidance, static_cast<int>(kEstimatedCaptionTokens), held).peak <= budget)
        ++n;
    return n;
}

MemoryMode Pipeline::memory_mode() const {
    return impl_->mode;
}

std::vector<std::string> Pipeline::memory_notes() const {
    return impl_->memory_notes;
}

int64_t Pipeline::memory_budget() const {
    return impl_->budget();
}

MemoryPrediction Pipeline::predict_memory(int batch, int width, int height, bool guidance, int caption_tokens) const {
    return impl_->predict(batch, width, height, guidance, caption_tokens, impl_->held_bytes());
}

int64_t Pipeline::Impl::held_bytes() const {
    // What the device already holds beyond the weights counted (CUDA graphs' static buffers and pools kept for the
    // sizes sampled before, cuBLAS workspaces, another model of this process): resident through every phase.
    if (!rt.device.is_cuda())
        return 0;
    int64_t counted = transformer_bytes + vae_bytes;
    if (text && text->on_gpu())
        counted += text->gemma_device_bytes() + text->jina_device_bytes();
    const auto index = rt.device.has_index() ? rt.device.index() : 0;
    return std::max<int64_t>(0, memory_report("cuda:" + std::to_string(index)).allocated - counted);
}

MemoryPrediction Pipeline::Impl::predict(int batch, int width, int height, bool guidance, int caption_tokens,
                                         int64_t held) const {
    ComponentBytes w{transformer_bytes, vae_bytes, 0, 0, held};
    int64_t encoding = 0;
    if (text) {
        // What comes to the device to encode (offloaded encoders keep their token tables in host memory).
        w.text_encoder = text->gemma_device_bytes();
        w.clip = text->jina_device_bytes();
        // Gemma3's MLP is 4 x hidden wide; Jina's activations are smaller than Gemma's.
        const int64_t hidden = text->feature_dim();
        encoding = text_encoder_activation_bytes(caption_tokens, hidden, 4 * hidden, torch::elementSize(rt.dtype));
    }
    const int64_t sampling = transformer_batch_bytes(batch, width, height, guidance, transformer->config(),
                                                     torch::elementSize(rt.dtype), caption_tokens);
    const int64_t tile = vae_tile(width, height);
    const int64_t decoding = tile > 0 ? vae_tiled_decode_bytes(width, height, tile, vae->config())
                                      : vae_decode_reserve_bytes(width, height, vae->config());
    auto p = predict_peak(mode, w, encoding, sampling, decoding);
    p.vae_tiled = tile > 0;
    return p;
}

void Pipeline::release_cached_memory() {
    release_cached_device_memory();
}

namespace {

// The batch's latents as SamplerStates: x [B, C, h, w] fp32 after `step` steps.
std::vector<SamplerState> sampler_states(const torch::Tensor& x, int step) {
    auto host = x.to(torch::kCPU, torch::kFloat32).contiguous(); // [B, C, h, w]
    std::vector<SamplerState> states(static_cast<std::size_t>(host.size(0)));
    for (int64_t b = 0; b < host.size(0); ++b) {
        auto& st = states[static_cast<std::size_t>(b)];
        st.step = step;
        st.channels = host.size(1);
        st.height = host.size(2);
        st.width = host.size(3);
        const float* p = host[b].data_ptr<float>();
        st.latent.assign(p, p + host[b].numel());
    }
    return states;
}

} // namespace

namespace {

std::atomic<int> g_decode_faults{0};

// Throws what the allocator throws when the test hook asks for it.
void maybe_injected_fault() {
    for (int n = g_decode_faults.load(); n > 0;)
        if (g_decode_faults.compare_exchange_weak(n, n - 1))
            throw std::bad_alloc();
}

} // namespace

void inject_decode_out_of_memory_for_tests(int count) {
    g_decode_faults = count;
}

torch::Tensor decode_one(const BatchModels& m, const torch::Tensor& latent,
                         const std::function<void(const std::string&)>& warn) {
    const auto& rt = m.rt;
    auto attempt = [&] {
        maybe_injected_fault();
        return m.vae->decode(latent.to(rt.vae_dtype), m.vae_tile);
    };
    auto out_of_memory = [](const std::exception& e) {
        return !dynamic_cast<const EngineError*>(&e) && is_out_of_memory(e);
    };
    try {
        return attempt();
    } catch (const std::exception& e) {
        if (!out_of_memory(e))
            throw;
    }
    // The sampler's activations are gone by now, but their blocks may still sit in the caching allocator.
    release_cached_device_memory();
    try {
        return attempt();
    } catch (const std::exception& e) {
        if (!out_of_memory(e) || !rt.device.is_cuda())
            throw;
    }
    if (m.vae_tile == 0) {
        // Over tiles the decoder keeps a fraction of the full-resolution activations alive (same image).
        release_cached_device_memory();
        try {
            maybe_injected_fault();
            auto rgb = m.vae->decode(latent.to(rt.vae_dtype), kDefaultVaeTile);
            warn("decoding ran out of GPU memory: decoded over tiles instead");
            return rgb;
        } catch (const std::exception& e) {
            if (!out_of_memory(e))
                throw;
        }
    }
    // Still no room on the GPU for one image's decoder activations (another process holds the memory, or the
    // image is very large): decode this one on the CPU, in fp32, rather than lose a finished latent or
    // retry the whole batch. The VAE goes back to the GPU afterwards.
    release_cached_device_memory();
    warn("decoding ran out of GPU memory even for one image: decoded on the CPU instead (slower)");
    m.vae->to(torch::kCPU, torch::kFloat32);
    torch::Tensor rgb;
    try {
        maybe_injected_fault();
        rgb = m.vae->decode(latent.to(torch::kCPU, torch::kFloat32));
    } catch (...) {
        m.vae->to(rt.device, rt.vae_dtype);
        throw;
    }
    m.vae->to(rt.device, rt.vae_dtype);
    return rgb;
}

void sample_batch(const BatchModels& m, const std::vector<GenerationRequest>& requests,
                  const std::vector<std::size_t>& idx, const Callbacks& callbacks, std::vector<Image>& images,
                  BatchStage& stage) {
    auto& transformer = m.transformer;
    const auto& rt = m.rt;
    stage = BatchStage::Sampling;
    const auto& first = requests[idx.front()];
    const int64_t B = static_cast<int64_t>(idx.size());
    const int64_t C = transformer->config().in_channels, h = first.height / 8, w = first.width / 8;
    const int64_t first_step = first.resume ? first.resume->step : 0; // the same for the whole batch

    std::vector<float> scales, truncs, renorms;
    for (auto i : idx) {
        scales.push_back(requests[i].guidance);
        truncs.push_back(requests[i].cfg_trunc);
        renorms.push_back(requests[i].renorm_cfg);
    }
    // The requests that share one transformer forward. On a GPU the whole batch does: that is what batching is
    // for. On the CPU each request runs its own, with exactly the rows and shapes it has alone (its cond row, its
    // uncond row while it guides, captions padded to its own pair only): CPU BLAS libraries choose kernels and
    // blocking by a product's size (OpenBLAS rounds a request's rows inside a batch of 4 otherwise than alone), so
    // a seed's image would depend on its batch mates. Every other step of the path works per request already
    // (noise, the elementwise solver, guidance, previews below, decode), so the images are bit-identical alone and
    // in any batch, under any BLAS. The CPU does the same arithmetic either way, in smaller products.
    const int64_t per_forward = rt.device.is_cpu() ? 1 : B;
    std::vector<ForwardRows> forwards;
    for (int64_t begin = 0; begin < B; begin += per_forward) {
        std::vector<const TextEmbedding*> cond_items, uncond_items;
        for (int64_t b = begin; b < begin + per_forward; ++b) {
            const auto& r = requests[idx[static_cast<std::size_t>(b)]];
            cond_items.push_back(&*r.cond);
            uncond_items.push_back(r.uncond ? &*r.uncond : &*r.cond);
        }
        ForwardRows& f = forwards.emplace_back();
        f.begin = begin;
        f.count = per_forward;
        f.cond = stack_embeddings(cond_items, rt.device);
        f.uncond = stack_embeddings(uncond_items, rt.device);
    }

    std::vector<torch::Tensor> start;
    for (auto i : idx) {
        const auto& r = requests[i];
        if (r.resume) {
            // Exactly the state the interrupted sampler held (already past the noise quantisation below).
            start.push_back(torch::from_blob(const_cast<float*>(r.resume->latent.data()), {1, C, h, w},
                                             torch::kFloat32)
                                .clone()
                                .to(rt.device)); // [1, C, h, w]
        } else {
            auto n = initial_noise(r.seed, C, h, w).to(rt.device); // [1, C, h, w]
            if (rt.dtype != torch::kFloat32)
                n = n.to(rt.dtype).to(
                    torch::kFloat32); // the reference draws the noise, then casts it to the model dtype
            start.push_back(n);
        }
    }
    auto x = torch::cat(start); // [B, C, h, w] fp32
    start.clear();

    const bool want_preview = callbacks.on_preview && callbacks.preview_every > 0;
    const bool want_checkpoint = callbacks.on_checkpoint && callbacks.checkpoint_every > 0;
    if (want_preview && !m.preview)
        m.preview = fit_latent_rgb_projection(m.vae);

    // The last velocity evaluation, for the preview's denoised estimate.
    torch::Tensor last_x, last_v;
    float last_t = 0.0f;

    // The forward replayed as a CUDA graph from the second step on (on CUDA; eager elsewhere): one graph per
    // set of guided rows, freed before the decode.
    StepForward step_forward(transformer);
    // The velocity of f's requests, xt [n, C, h, w] fp32 -> [n, C, h, w] fp32, guided.
    auto forward_velocity = [&](ForwardRows& f, const torch::Tensor& xt, float t) {
        // Unconditional rows only for the requests that still guide at this t.
        std::vector<int64_t> guided;
        for (int64_t b = 0; b < f.count; ++b)
            if (scales[f.begin + b] != 1.0f && t < truncs[f.begin + b])
                guided.push_back(b);
        const int64_t n = f.count, G = static_cast<int64_t>(guided.size());
        if (guided != f.enc_guided) {
            f.gidx = torch::tensor(guided, torch::kInt64).to(rt.device);
            std::vector<int64_t> lens = f.cond.lens;
            torch::Tensor feats = f.cond.features;
            f.pooled_in = f.cond.pooled;
            if (G) {
                for (auto g : guided)
                    lens.push_back(f.uncond.lens[g]);
                auto uf = f.uncond.features.index_select(0, f.gidx);
                const int64_t L = std::max(feats.size(1), uf.size(1));
                auto pad = [&](const torch::Tensor& x) {
                    return x.size(1) == L ? x : torch::constant_pad_nd(x, {0, 0, 0, L - x.size(1)}); // [*, L, D]
                };
                feats = torch::cat({pad(feats), pad(uf)});                                        // [n + G, L, D]
                f.pooled_in = torch::cat({f.pooled_in, f.uncond.pooled.index_select(0, f.gidx)}); // [n + G, Dp]
            }
            f.enc = transformer->encode_captions(feats, lens);
            f.enc_guided = guided;
        }
        auto x_in = G ? torch::cat({xt, xt.index_select(0, f.gidx)}) : xt; // [n + G, C, h, w]
        auto t_in = torch::full({n + G}, t, torch::TensorOptions().device(rt.device).dtype(torch::kFloat32));
        auto v = step_forward(x_in, t_in, f.enc, f.pooled_in).to(torch::kFloat32); // [n + G, C, h, w]
        auto v_cond = v.narrow(0, 0, n).clone();
        for (int64_t j = 0; j < G; ++j) {
            const int64_t b = guided[j];
            auto scale = torch::full({1}, scales[f.begin + b], torch::TensorOptions().device(rt.device));
            v_cond[b].copy_(guide(v.narrow(0, b, 1), v.narrow(0, n + j, 1), scale, renorms[f.begin + b])[0]);
        }
        return v_cond;
    };
    auto velocity = [&](const torch::Tensor& xt, float t) {
        torch::Tensor v_cond; // [B, C, h, w]
        if (forwards.size() == 1) {
            v_cond = forward_velocity(forwards.front(), xt, t);
        } else {
            std::vector<torch::Tensor> parts;
            for (auto& f : forwards)
                parts.push_back(forward_velocity(f, xt.narrow(0, f.begin, f.count), t)); // [n, C, h, w]
            v_cond = torch::cat(parts);
        }
        if (want_preview) {
            last_x = xt;
            last_v = v_cond;
            last_t = t;
        }
        return v_cond;
    };

    auto checkpoint = [&](const torch::Tensor& state, int64_t step) {
        auto states = sampler_states(state, static_cast<int>(step));
        for (int64_t b = 0; b < B; ++b)
            callbacks.on_checkpoint(idx[b], states[static_cast<std::size_t>(b)]);
    };
    // Stops the batch when asked, handing out where every request got to (a resume point) first.
    auto check_abort = [&](const torch::Tensor& state, int64_t step) {
        if (!callbacks.should_abort || !callbacks.should_abort())
            return;
        if (callbacks.on_checkpoint)
            checkpoint(state, step);
        throw Cancelled();
    };

    const Solver solver = first.solver == SolverKind::Midpoint       ? Solver::Midpoint
                          : first.solver == SolverKind::DpmMultistep ? Solver::DpmMultistep
                                                                     : Solver::Euler;
    const auto grid = time_grid(solver, first.steps, first.shift);
    check_abort(x, first_step);
    x = integrate_flow(
        solver, x, grid, velocity,
        [&](int64_t step, int64_t total, const torch::Tensor& state) {
            if (callbacks.on_step)
                callbacks.on_step(
                    StepProgress{idx.front(), idx.size(), static_cast<int>(step), static_cast<int>(total)});
            if (want_preview && step % callbacks.preview_every == 0) {
                auto x1 = predict_data(last_x, last_v, last_t); // [B, C, h, w]
                // Projected as the forwards ran (one request at a time on the CPU), so that a preview too is
                // the one the request has alone.
                std::vector<torch::Tensor> parts;
                for (const auto& f : forwards)
                    parts.push_back(project_latent_rgb(*m.preview, x1.narrow(0, f.begin, f.count))); // [n, 3, h, w]
                auto rgb = torch::cat(parts).clamp(0.0, 1.0).cpu();                                  // [B, 3, h, w]
                for (int64_t b = 0; b < B; ++b)
                    callbacks.on_preview(idx[b], static_cast<int>(step), to_image(rgb[b]));
            }
            // NaN weights or settings poison the latent for good: stop at the first such step rather than
            // decode an all-black image and call it done.
            if (!torch::isfinite(state).all().item<bool>()) {
                auto finite_rows = torch::isfinite(state).flatten(1).all(1).cpu(); // [B]
                int64_t bad = 0;
                while (bad + 1 < B && finite_rows[bad].item<bool>())
                    ++bad;
                throw EngineError("pipeline: request " + std::to_string(idx[bad]) +
                                  ": the latent became non-finite (NaN or inf) at step " + std::to_string(step) +
                                  " of " + std::to_string(total) +
                                  ": the model's weights or the request's settings give no finite result");
            }
            // After the last step the batch only has to be decoded: no resume point, and no abort that
            // would throw the finished latents away.
            if (step == total)
                return;
            if (want_checkpoint && step % callbacks.checkpoint_every == 0)
                checkpoint(state, step);
            check_abort(state, step);
        },
        first_step);
    last_x = last_v = torch::Tensor();
    step_forward.reset();

    stage = BatchStage::Decoding;
    for (int64_t b = 0; b < B; ++b) {
        auto rgb = decode_one(m, x.narrow(0, b, 1), [&](const std::string& w) {
            if (callbacks.on_warning)
                callbacks.on_warning(idx[b], w);
        }); // [1, 3, H, W] in [0, 1]
        images[idx[b]] = to_image(rgb[0]);
        if (callbacks.on_image)
            callbacks.on_image(idx[b], images[idx[b]]);
    }
}

} // namespace charaforge::engine
