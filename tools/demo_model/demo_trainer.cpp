// Ref: NewBie-image-Exp0.1 finetune.py (training loop: flow-matching loss, caption dropout) and transport/path.py
//      ICPlan (x_t = t x1 + (1 - t) x0, target x1 - x0), per spec newbie-model.md §5.1 and §3.1; the time shift
//      t' = s t / (1 + (s - 1) t) of §5.2 applied to the training times.
#include "demo_trainer.h"

#include "character_renderer.h"
#include "file_util.h"
#include "model_folder.h"
#include "runtime.h"
#include "safetensors.h"
#include "test_model.h"
#include "text_conditioning.h"
#include "text_test_models.h"
#include "vae_trainer.h"
#include "weights.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <stdexcept>
#include <thread>

namespace charaforge::demo {
namespace {

namespace fs = std::filesystem;
namespace eng = charaforge::engine;
using nlohmann::ordered_json;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr const char* kFrozenNote =
    "CharaForge demo model: random weights (seeded), frozen; the transformer learned to read its features";

using Caption = DemoCaptionLine;

} // namespace

std::vector<DemoCaptionLine> read_demo_captions(const std::string& path, int max_images) {
    std::ifstream f(path);
    if (!f) {
        throw std::invalid_argument("--captions: " + path + ": cannot read");
    }
    std::vector<Caption> out;
    std::string line;
    for (int n = 1; std::getline(f, line); ++n) {
        if (line.empty()) {
            continue;
        }
        const auto j = nlohmann::json::parse(line, nullptr, false);
        const std::string where = path + ":" + std::to_string(n);
        if (j.is_discarded() || !j.is_object()) {
            throw std::invalid_argument(where + ": not a JSON object");
        }
        auto field = [&](const char* name) -> const nlohmann::json& {
            if (!j.contains(name)) {
                throw std::invalid_argument(where + ": no \"" + std::string(name) + "\"");
            }
            return j[name];
        };
        Caption c;
        const auto& index = field("index");
        const auto& seed = field("seed");
        const auto& size = field("size");
        const auto& caption = field("caption");
        if (!index.is_number_unsigned() || !seed.is_number_unsigned()) {
            throw std::invalid_argument(where + ": \"index\" and \"seed\" must be non-negative integers");
        }
        if (!size.is_number_integer() || size.get<int64_t>() < 16 || size.get<int64_t>() > 1024 ||
            size.get<int64_t>() % 16 != 0) {
            throw std::invalid_argument(where + ": \"size\" must be a multiple of 16 in 16..1024");
        }
        if (!caption.is_string() || caption.get<std::string>().empty()) {
            throw std::invalid_argument(where + ": \"caption\" must be a non-empty string");
        }
        c.index = index.get<uint64_t>();
        c.seed = seed.get<uint64_t>();
        c.size = size.get<int>();
        c.text = caption.get<std::string>();
        if (!out.empty() && c.size != out.front().size) {
            throw std::invalid_argument(where + ": size " + std::to_string(c.size) + ", the file's first is " +
                                        std::to_string(out.front().size) + " (one size per training run)");
        }
        out.push_back(std::move(c));
        if (max_images > 0 && static_cast<int>(out.size()) == max_images) {
            break;
        }
    }
    if (out.empty()) {
        throw std::invalid_argument("--captions: " + path + ": no captions");
    }
    return out;
}

namespace {

// Every image of `captions` rendered into [N, H, W, 3] uint8 (CPU): image i by thread i % threads, each writing its
// own rows, so the result does not depend on the thread count.
torch::Tensor render_all(const std::vector<Caption>& captions, int threads) {
    const int64_t n = static_cast<int64_t>(captions.size());
    const int size = captions.front().size;
    auto images = torch::empty({n, size, size, 3}, torch::kUInt8); // [N, H, W, 3]
    uint8_t* base = images.data_ptr<uint8_t>();
    const size_t bytes = static_cast<size_t>(size) * static_cast<size_t>(size) * 3;
    const int count = std::max(1, std::min<int>(threads, static_cast<int>(n)));
    std::vector<std::thread> pool;
    std::vector<std::string> errors(static_cast<size_t>(count));
    for (int w = 0; w < count; ++w) {
        pool.emplace_back([&, w] {
            try {
                for (int64_t i = w; i < n; i += count) {
                    const auto& c = captions[static_cast<size_t>(i)];
                    const DemoImage img = render_demo_image(c.seed, c.index, c.size);
                    std::copy(img.rgb.begin(), img.rgb.end(), base + static_cast<size_t>(i) * bytes);
                }
            } catch (const std::exception& e) {
                errors[static_cast<size_t>(w)] = e.what();
            }
        });
    }
    for (auto& t : pool) {
        t.join();
    }
    for (const auto& e : errors) {
        if (!e.empty()) {
            throw std::invalid_argument("rendering: " + e);
        }
    }
    return images;
}

// The tokenizers' corpus: the distinct captions (first occurrence order, at most `limit`) and both system prompts.
std::vector<std::string> tokenizer_corpus(const std::vector<Caption>& captions, size_t limit) {
    std::vector<std::string> corpus{eng::kXmlSystemPrompt, eng::kTagSystemPrompt};
    std::set<std::string> seen;
    for (const auto& c : captions) {
        if (corpus.size() >= limit + 2) {
            break;
        }
        if (seen.insert(c.text).second) {
            corpus.push_back(c.text);
        }
    }
    return corpus;
}

// The caption vocabulary as whole tokenizer pieces: every XML element name (<appearance>, </character_1>) and
// every tag (the text between elements and commas made only of a-z, 0-9 and '_'), sorted.
std::vector<std::string> caption_pieces(const std::vector<Caption>& captions) {
    std::set<std::string> pieces;
    auto is_tag = [](const std::string& t) {
        return !t.empty() && std::all_of(t.begin(), t.end(), [](char ch) {
            return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
        });
    };
    for (const auto& c : captions) {
        const std::string& text = c.text;
        std::string item;
        auto flush = [&] {
            const auto first = item.find_first_not_of(' ');
            const auto last = item.find_last_not_of(' ');
            const std::string t = first == std::string::npos ? "" : item.substr(first, last - first + 1);
            if (t.size() >= 2 && is_tag(t)) {
                pieces.insert(t);
            }
            item.clear();
        };
        for (size_t i = 0; i < text.size(); ++i) {
            const char ch = text[i];
            if (ch == '<') {
                flush();
                const size_t close = text.find('>', i);
                if (close == std::string::npos) {
                    break;
                }
                const std::string element = text.substr(i, close - i + 1);
                const std::string name =
                    element.substr(element[1] == '/' ? 2 : 1, element.size() - (element[1] == '/' ? 3 : 2));
                if (is_tag(name)) {
                    pieces.insert(element);
                }
                i = close;
            } else if (ch == ',' || ch == '\n') {
                flush();
            } else {
                item += ch;
            }
        }
        flush();
    }
    return {pieces.begin(), pieces.end()};
}

// The card (charaforge.json) of an --init-from model: the step counts carried on. Hostile input: named errors.
struct EarlierRun {
    int vae_steps = 0;
    int dit_steps = 0;
    std::string text_encoders; // its description of the text encoders (they are copied unchanged)
};

// `option` (--init-from, --vae-from) names the folder's option in the messages.
EarlierRun read_earlier_run(const fs::path& dir, const std::string& option) {
    const fs::path card = dir / "charaforge.json";
    std::ifstream f(card);
    if (!f) {
        throw std::invalid_argument(option + ": " + card.string() + ": cannot read (not a folder this program wrote)");
    }
    const auto j = nlohmann::json::parse(f, nullptr, false);
    auto count = [&](const char* field) {
        if (!j.is_object() || !j.contains(field) || !j[field].is_number_unsigned() ||
            j[field].get<uint64_t>() > 100000000) {
            throw std::invalid_argument(option + ": " + card.string() + ": \"" + field +
                                        "\" must be a non-negative step count");
        }
        return static_cast<int>(j[field].get<uint64_t>());
    };
    if (!j.is_object() || !j.contains("kind") || j["kind"] != "demo") {
        throw std::invalid_argument(option + ": " + card.string() + ": \"kind\" is not \"demo\"");
    }
    if (!j.contains("text_encoders") || !j["text_encoders"].is_string()) {
        throw std::invalid_argument(option + ": " + card.string() + ": \"text_encoders\" must be a string");
    }
    return {count("vae_steps"), count("transformer_steps"), j["text_encoders"].get<std::string>()};
}

// Copies the component folder `part` (vae, text_encoder, ...) of `from` into `to`, unchanged; a `from` without it is
// refused naming `option`, the option that gave `from`.
void copy_part(const fs::path& from, const fs::path& to, const char* part, const std::string& option) {
    if (!fs::is_directory(from / part)) {
        throw std::invalid_argument(option + ": " + (from / part).string() + ": no such folder");
    }
    fs::create_directories(to / part);
    fs::copy(from / part, to / part, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
}

// Copies the weights of the transformer in `dir` into `model`, which must have the same parameters and shapes.
void load_dit_weights(eng::NextDiT& model, const std::string& dir, const eng::Runtime& rt) {
    const eng::ModelFiles files = eng::locate_model(dir, eng::Require::Transformer);
    eng::NextDiT earlier = eng::load_transformer(files.transformer, rt);
    torch::NoGradGuard no_grad;
    const auto theirs = earlier->named_parameters(true);
    auto ours = model->named_parameters(true);
    if (theirs.size() != ours.size()) {
        throw std::invalid_argument("--init-from: " + dir + ": its transformer has " + std::to_string(theirs.size()) +
                                    " weights, this run's architecture " + std::to_string(ours.size()) +
                                    " (another architecture)");
    }
    for (auto& p : ours) {
        const torch::Tensor* t = theirs.find(p.key());
        if (t == nullptr || !t->sizes().equals(p.value().sizes())) {
            throw std::invalid_argument("--init-from: " + dir + ": its transformer's " + p.key() +
                                        (t == nullptr ? " is missing" : " has another shape") +
                                        " (another architecture)");
        }
        p.value().copy_(*t);
    }
}

eng::Gemma3TextConfig gemma_config(const DemoArchitecture& a) {
    eng::Gemma3TextConfig c;
    c.hidden_size = a.gemma_hidden;
    c.intermediate_size = a.gemma_intermediate;
    c.num_layers = a.gemma_layers;
    c.output_layer = a.gemma_layers - 2; // hidden_states[-2], as NewBie reads Gemma3-4B
    c.num_heads = a.gemma_heads;
    c.num_kv_heads = a.gemma_kv_heads;
    c.head_dim = a.gemma_head_dim;
    c.sliding_window = a.gemma_window;
    c.sliding_window_pattern = 2;
    c.query_pre_attn_scalar = a.gemma_head_dim;
    c.vocab_size = 0; // the tokenizer's pieces + 64
    return c;
}

eng::JinaTextConfig jina_config(const DemoArchitecture& a) {
    eng::JinaTextConfig c;
    c.hidden_size = a.jina_hidden;
    c.num_layers = a.jina_layers;
    c.num_heads = a.jina_heads;
    c.intermediate_size = a.jina_intermediate;
    c.vocab_size = 0; // the tokenizer's pieces
    return c;
}

eng::NextDiTConfig dit_config(const DemoArchitecture& a) {
    eng::NextDiTConfig c;
    c.dim = a.dit_dim;
    c.n_layers = a.dit_layers;
    c.n_refiner_layers = a.dit_refiner_layers;
    c.n_heads = a.dit_heads;
    c.n_kv_heads = a.dit_kv_heads;
    c.ffn_hidden = a.dit_ffn;
    c.cap_feat_dim = a.gemma_hidden;
    c.clip_text_dim = a.jina_hidden;
    c.axes_dims = {a.dit_axes[0], a.dit_axes[1], a.dit_axes[2]};
    c.validate();
    return c;
}

eng::VaeConfig vae_config(const DemoArchitecture& a) {
    eng::VaeConfig c;
    c.block_out_channels.assign(a.vae_channels.begin(), a.vae_channels.end());
    c.layers_per_block = a.vae_layers_per_block;
    c.norm_num_groups = a.vae_groups;
    return c;
}

// A DiT's seeded initial weights, drawn on the CPU (the same on every device): N(0, 0.02) matrices, unit norm
// weights, zero biases, and zero adaLN modulations and output projection (adaLN-Zero: every modulated block starts
// as the identity and the prediction as 0).
void init_dit(eng::NextDiTImpl& model, uint64_t seed) {
    torch::NoGradGuard no_grad;
    auto gen = at::detail::createCPUGenerator(seed);
    for (auto& p : model.named_parameters(true)) {
        const std::string& name = p.key();
        torch::Tensor value;
        if (name.find("adaLN_modulation") != std::string::npos || name.starts_with("final_layer.linear")) {
            value = torch::zeros(p.value().sizes());
        } else if (p.value().dim() == 1) {
            value = name.ends_with(".weight") ? torch::ones(p.value().sizes()) : torch::zeros(p.value().sizes());
        } else {
            value = at::normal(0.0, 0.02, p.value().sizes(), gen);
        }
        p.value().copy_(value);
    }
}

void unfreeze(torch::nn::Module& m) { // the engine registers its weights frozen (inference only)
    for (auto& p : m.parameters()) {
        p.set_requires_grad(true);
    }
}

// Clips the gradients' global norm to `max_norm` without reading anything back to the host.
void clip_gradients(const std::vector<torch::Tensor>& params, double max_norm) {
    std::vector<torch::Tensor> norms;
    for (const auto& p : params) {
        if (p.grad().defined()) {
            norms.push_back(p.grad().norm());
        }
    }
    const auto total = torch::stack(norms).norm();                         // []
    const auto coef = (max_norm / (total + 1e-6)).clamp_max(1.0).detach(); // []
    for (const auto& p : params) {
        if (p.grad().defined()) {
            p.grad().mul_(coef);
        }
    }
}

void set_lr(torch::optim::Optimizer& opt, double lr) {
    for (auto& group : opt.param_groups()) {
        static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    }
}

double schedule(int step, int total, int warmup, double peak) { // step 1-based
    if (step <= warmup) {
        return peak * step / warmup;
    }
    const double progress = static_cast<double>(step - warmup) / std::max(1, total - warmup);
    return peak * (0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * progress)));
}

// Reads the device-side loss buffer back from `from` (0-based) to `to`.
void drain(const torch::Tensor& buffer, int from, int to, std::vector<double>& out) {
    if (to <= from) {
        return;
    }
    const auto cpu = buffer.narrow(0, from, to - from).to(torch::kCPU, torch::kFloat64).contiguous();
    out.insert(out.end(), cpu.data_ptr<double>(), cpu.data_ptr<double>() + (to - from));
}

// The VAE stage: vae_trainer's train_demo_vae on the training images (the held-out ones last, as it expects), written
// with write_demo_vae.
struct VaeStage {
    std::vector<double> losses;
    double eval = 0;
};

VaeStage train_and_write_vae(const torch::Tensor& images_u8, int64_t held_out, const DemoTrainOptions& o,
                             const DemoTrainProgress& progress) {
    eng::VaeConfig cfg = demo_vae_config();
    cfg.block_out_channels.assign(o.arch.vae_channels.begin(), o.arch.vae_channels.end());
    cfg.layers_per_block = o.arch.vae_layers_per_block;
    cfg.norm_num_groups = o.arch.vae_groups;
    VaeTrainOptions vo;
    vo.steps = o.vae_steps;
    vo.batch = o.vae_batch;
    vo.learning_rate = o.vae_learning_rate;
    vo.warmup_steps = std::min(100, o.vae_steps / 10);
    vo.heldout_images = static_cast<int>(held_out);
    vo.stats_images = static_cast<int>(std::min<int64_t>(512, images_u8.size(0) - held_out));
    vo.log_every = o.loss_every;
    vo.seed = o.seed + 11;
    vo.device = o.device;
    VaeTrainResult result = train_demo_vae(images_u8, cfg, vo, [&](int step, int total, double loss) {
        if (progress) {
            progress("vae", step, total, loss);
        }
    });
    write_demo_vae(o.out_dir, result.vae, result.config);
    return {result.report.losses, result.report.heldout_l1_after};
}

// The flow-matching loss of `model` on latents x1 [B, C, h, w] with noise x0 and times t [B].
torch::Tensor flow_loss(eng::NextDiT& model, const torch::Tensor& x1, const torch::Tensor& x0, const torch::Tensor& t,
                        const torch::Tensor& features, const std::vector<int64_t>& lens, const torch::Tensor& pooled) {
    const auto tb = t.view({-1, 1, 1, 1});   // [B, 1, 1, 1]
    const auto xt = tb * x1 + (1 - tb) * x0; // [B, C, h, w]
    const auto v = model->forward(xt, t, features, lens, pooled).to(torch::kFloat32);
    return torch::mse_loss(v, x1 - x0);
}

int64_t folder_bytes(const fs::path& dir) {
    int64_t total = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        if (e.is_regular_file()) {
            total += static_cast<int64_t>(e.file_size());
        }
    }
    return total;
}

void validate(const DemoTrainOptions& o) {
    auto need = [](bool ok, const std::string& what) {
        if (!ok) {
            throw std::invalid_argument("demo training: " + what);
        }
    };
    need(!o.captions.empty(), "no captions file");
    need(!o.out_dir.empty(), "no output folder");
    need(o.vae_steps >= 1 && o.dit_steps >= 1, "vae and transformer steps must be >= 1");
    need(o.vae_batch >= 1 && o.dit_batch >= 1, "batch sizes must be >= 1");
    need(o.learning_rate > 0 && o.vae_learning_rate > 0, "learning rates must be > 0");
    need(o.caption_dropout >= 0 && o.caption_dropout <= 1, "the caption dropout must be in [0, 1]");
    need(o.time_shift > 0, "the time shift must be > 0");
    need(o.warmup_steps >= 0 && o.grad_clip > 0 && o.weight_decay >= 0, "warm-up >= 0, clip > 0, decay >= 0");
    need(o.dit_time_limit >= 0, "the time limit must be >= 0");
    need(o.eval_samples >= 1 && o.loss_every >= 1 && o.max_images >= 0 && o.threads >= 0,
         "eval samples and loss interval >= 1, max images and threads >= 0");
    need(o.arch.gemma_layers >= 2, "the Gemma encoder needs >= 2 layers (features from layer n - 2)");
    need(o.ema_decay >= 0 && o.ema_decay < 1, "the EMA decay must be in [0, 1)");
    need(o.init_from.empty() || o.vae_from.empty(), "--init-from copies the VAE: no --vae-from with it");
    need(o.init_from.empty() || fs::weakly_canonical(o.init_from) != fs::weakly_canonical(o.out_dir),
         "--init-from and --out must be different folders");
}

class StageClock {
public:
    explicit StageClock(DemoTrainReport& r) : report_(r), start_(std::chrono::steady_clock::now()) {}
    void lap(const std::string& stage) {
        const auto now = std::chrono::steady_clock::now();
        report_.timings.push_back({stage, std::chrono::duration<double>(now - start_).count()});
        start_ = now;
    }

private:
    DemoTrainReport& report_;
    std::chrono::steady_clock::time_point start_;
};

} // namespace

DemoArchitecture demo_architecture() {
    return {};
}

int64_t demo_parameter_count(const DemoArchitecture& arch) {
    torch::NoGradGuard no_grad;
    const auto opts = torch::TensorOptions().dtype(torch::kFloat32);
    auto count = [](const torch::nn::Module& m) {
        int64_t total = 0;
        for (const auto& p : m.parameters()) {
            total += p.numel();
        }
        return total;
    };
    auto gemma = gemma_config(arch);
    gemma.vocab_size = arch.gemma_vocab + 64;
    gemma.output_layer = gemma.num_layers - 1; // the file holds every layer
    auto jina = jina_config(arch);
    jina.vocab_size = arch.xlmr_vocab;
    return count(*eng::NextDiT(dit_config(arch), opts)) + count(*eng::AutoencoderKL(vae_config(arch), opts)) +
           count(*eng::Gemma3TextModel(gemma, opts)) + count(*eng::JinaTextModel(jina, opts));
}

void write_loss_csv(const std::string& path, const std::vector<double>& losses) {
    std::ofstream csv(path);
    csv << "step,loss\n";
    csv.precision(9);
    for (size_t i = 0; i < losses.size(); ++i) {
        csv << i + 1 << "," << losses[i] << "\n";
    }
    if (!csv.flush()) {
        throw std::runtime_error(path + ": cannot write");
    }
}

DemoTrainReport train_demo_model(const DemoTrainOptions& o, const DemoTrainProgress& progress) {
    validate(o);
    // The engine's fused CUDA kernels have no backward: the ATen compositions, which autograd differentiates.
    ::setenv("CHARAFORGE_FUSED", "0", 1);
    const std::vector<Caption> captions = read_demo_captions(o.captions, o.max_images);
    const auto n = static_cast<int64_t>(captions.size());
    const int64_t held_out = std::min<int64_t>(o.eval_samples, n / 4);
    if (held_out < 1) {
        throw std::invalid_argument("--captions: " + o.captions + ": " + std::to_string(n) +
                                    " captions; at least 4 are needed (a quarter at most is held out)");
    }
    const int64_t n_train = n - held_out;
    eng::RuntimeOptions runtime_options;
    runtime_options.device = o.device;
    runtime_options.dtype = "fp32";
    const eng::Runtime rt = eng::make_runtime(runtime_options);
    const torch::Device dev = rt.device;
    if (dev.is_cuda()) {
        at::globalContext().setAllowTF32CuBLAS(true);
        at::globalContext().setAllowTF32CuDNN(true);
    }
    c10::InferenceMode inference_off(false);
    DemoTrainReport report;
    report.images = static_cast<int>(n_train);
    report.held_out = static_cast<int>(held_out);
    StageClock clock(report);
    const fs::path out(o.out_dir);
    fs::create_directories(out);

    // 1. Images from their seeds.
    const int threads = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const torch::Tensor images_cpu = render_all(captions, threads); // [N, H, W, 3] uint8
    const torch::Tensor images = images_cpu.to(dev);
    const int size = captions.front().size;
    if (progress) {
        progress("render", static_cast<int>(n), static_cast<int>(n), kNaN);
    }
    clock.lap("render");

    // 2. Tokenizers on the caption corpus, frozen random encoders in the official layout (or both, and the VAE, as
    // the --init-from model has them).
    const EarlierRun earlier = o.init_from.empty() ? EarlierRun{} : read_earlier_run(o.init_from, "--init-from");
    const int vae_steps = !o.init_from.empty()  ? earlier.vae_steps
                          : !o.vae_from.empty() ? read_earlier_run(o.vae_from, "--vae-from").vae_steps
                                                : o.vae_steps;
    report.earlier_dit_steps = earlier.dit_steps;
    if (!o.init_from.empty()) {
        for (const char* part : {"text_encoder", "clip_model", "vae"}) { // tokenizers, text encoders, VAE
            copy_part(o.init_from, out, part, "--init-from");
        }
    } else {
        const auto corpus = tokenizer_corpus(captions, 4000);
        const std::vector<std::string> pieces = o.whole_tags ? caption_pieces(captions) : std::vector<std::string>{};
        const std::string gemma_spm = eng::train_gemma_style_tokenizer(corpus, o.arch.gemma_vocab, true, pieces);
        const std::string xlmr_spm = eng::train_xlmr_style_tokenizer(corpus, o.arch.xlmr_vocab, pieces);
        eng::write_random_gemma(out.string(), gemma_config(o.arch), o.seed + 1, torch::kCPU, gemma_spm, kFrozenNote);
        eng::write_random_jina(out.string(), jina_config(o.arch), o.seed + 2, torch::kCPU, xlmr_spm, kFrozenNote);
    }
    if (progress) {
        progress(o.init_from.empty() ? "text encoders" : "text encoders and VAE from " + o.init_from, 1, 1, kNaN);
    }
    clock.lap("tokenizers and text encoders");

    // 3. The VAE, then every image's latent once (posterior mean, normalised as the sampler's latents are).
    if (!o.vae_from.empty()) {
        copy_part(o.vae_from, out, "vae", "--vae-from");
    } else if (o.init_from.empty()) {
        const VaeStage vae_stage = train_and_write_vae(images_cpu, held_out, o, progress);
        report.vae_losses = vae_stage.losses;
        report.vae_eval = vae_stage.eval;
    }
    clock.lap("vae training");
    const eng::ModelFiles files = eng::locate_model(out.string(), eng::Require::Nothing);
    torch::Tensor latents; // [N, 16, h, w] on dev
    {
        torch::NoGradGuard no_grad;
        eng::AutoencoderKL vae = eng::load_vae(files.vae, files.vae_bfl, rt);
        vae->eval();
        std::vector<torch::Tensor> parts;
        for (int64_t from = 0; from < n; from += 64) {
            const auto rgb = images.narrow(0, from, std::min<int64_t>(64, n - from))
                                 .permute({0, 3, 1, 2})
                                 .to(torch::kFloat32)
                                 .div(255); // [b, 3, H, W]
            parts.push_back(vae->encode(rgb));
        }
        latents = torch::cat(parts);
    }
    if (progress) {
        progress("latents", static_cast<int>(n), static_cast<int>(n), kNaN);
    }
    clock.lap("latents");

    // 4. Caption embeddings once, through the pipeline's conditioning (system prompt + caption for Gemma, the caption
    // for Jina), and the unconditional branch ("" for both) as the last row.
    eng::TextEmbeddingBatch emb;
    {
        eng::TextEncoders encoders(files, rt, false);
        std::vector<eng::EncoderTexts> texts;
        for (const auto& c : captions) {
            eng::GenerationRequest r;
            r.prompt = c.text;
            texts.push_back(eng::conditional_texts(r));
        }
        texts.push_back(eng::unconditional_texts(eng::GenerationRequest{}));
        emb = encoders.encode_many(texts, 512);
    }
    const int64_t uncond_row = n;
    for (int64_t i = 0; i < n; ++i) {
        report.caption_tokens += static_cast<double>(emb.lengths[static_cast<size_t>(i)]) / static_cast<double>(n);
    }
    if (progress) {
        progress("captions (" + std::to_string(static_cast<int>(std::lround(report.caption_tokens))) +
                     " Gemma tokens on average)",
                 static_cast<int>(n), static_cast<int>(n), kNaN);
    }
    clock.lap("caption embeddings");

    // 5. The transformer from a seeded random init.
    const eng::NextDiTConfig cfg = dit_config(o.arch);
    eng::NextDiT model(cfg, torch::TensorOptions().dtype(torch::kFloat32).device(dev));
    init_dit(*model, o.seed + 3);
    if (!o.init_from.empty()) {
        load_dit_weights(model, o.init_from, rt);
    }
    unfreeze(*model);
    model->train();
    const auto params = model->parameters();
    torch::optim::AdamW optimiser(
        params,
        torch::optim::AdamWOptions(o.learning_rate).weight_decay(o.weight_decay).betas(std::make_tuple(0.9, 0.99)));
    const auto batch_of = [&](const std::vector<int64_t>& rows) {
        std::vector<int64_t> lens;
        int64_t max_len = 1;
        for (auto r : rows) {
            lens.push_back(emb.lengths[static_cast<size_t>(r)]);
            max_len = std::max(max_len, lens.back());
        }
        const auto index = torch::tensor(rows, torch::kInt64).to(dev);
        return std::make_tuple(emb.features.index_select(0, index).narrow(1, 0, max_len), lens,
                               emb.pooled.index_select(0, index));
    };
    const auto shifted = [&](const torch::Tensor& u) { return o.time_shift * u / (1 + (o.time_shift - 1) * u); };

    // The fixed held-out evaluation set: the last captions, their own noise, stratified times, conditioned.
    std::vector<int64_t> eval_rows;
    for (int64_t i = n_train; i < n; ++i) {
        eval_rows.push_back(i);
    }
    auto eval_gen = at::detail::createCPUGenerator(o.seed ^ 0x5eedULL);
    const auto eval_x1 = latents.narrow(0, n_train, held_out);
    const auto eval_x0 = at::randn(eval_x1.sizes(), eval_gen).to(dev);
    const auto eval_t =
        shifted((torch::arange(held_out, torch::kFloat32) + 0.5) / static_cast<double>(held_out)).to(dev);
    torch::Tensor eval_feat, eval_pooled;
    std::vector<int64_t> eval_lens;
    std::tie(eval_feat, eval_lens, eval_pooled) = batch_of(eval_rows);
    auto evaluate = [&] {
        torch::NoGradGuard no_grad;
        model->eval();
        double total = 0;
        for (int64_t from = 0; from < held_out; from += 32) {
            const int64_t k = std::min<int64_t>(32, held_out - from);
            const std::vector<int64_t> lens(eval_lens.begin() + from, eval_lens.begin() + from + k);
            const int64_t max_len = *std::max_element(lens.begin(), lens.end());
            total += flow_loss(model, eval_x1.narrow(0, from, k), eval_x0.narrow(0, from, k), eval_t.narrow(0, from, k),
                               eval_feat.narrow(0, from, k).narrow(1, 0, max_len), lens, eval_pooled.narrow(0, from, k))
                         .item<double>() *
                     static_cast<double>(k);
        }
        model->train();
        return total / static_cast<double>(held_out);
    };
    report.eval_before = evaluate();

    // The weights' moving average (EMA), updated on the device after every step.
    std::vector<torch::Tensor> average;
    if (o.ema_decay > 0) {
        for (const auto& p : params) {
            average.push_back(p.detach().clone());
        }
    }
    // A continued run draws other batches and noise than the run it continues.
    const uint64_t stream = o.seed + static_cast<uint64_t>(earlier.dit_steps) * 7919;
    auto gen = at::detail::createCPUGenerator(stream + 4); // batches, dropout and times (host side)
    torch::manual_seed(stream + 5);                        // the noise, drawn on the device
    const int batch = o.dit_batch;
    auto buffer = torch::zeros({o.dit_steps}, torch::TensorOptions().dtype(torch::kFloat32).device(dev));
    int drained = 0;
    const auto dit_start = std::chrono::steady_clock::now();
    for (int step = 1; step <= o.dit_steps; ++step) {
        const auto index = at::randint(n_train, {batch}, gen, torch::kLong); // [B]
        const auto drop = at::rand({batch}, gen);                            // [B]
        const auto u = at::rand({batch}, gen);                               // [B]
        std::vector<int64_t> rows(static_cast<size_t>(batch));
        const auto* ip = index.data_ptr<int64_t>();
        const auto* dp = drop.data_ptr<float>();
        for (int b = 0; b < batch; ++b) {
            rows[static_cast<size_t>(b)] = dp[b] < o.caption_dropout ? uncond_row : ip[b];
        }
        const auto [feat, lens, pooled] = batch_of(rows);
        const auto x1 = latents.index_select(0, index.to(dev)); // [B, C, h, w]
        const auto x0 = torch::randn(x1.sizes(), x1.options()); // [B, C, h, w]
        const auto t = shifted(u).to(dev);                      // [B]
        set_lr(optimiser, schedule(step, o.dit_steps, std::min(o.warmup_steps, o.dit_steps), o.learning_rate));
        optimiser.zero_grad();
        auto loss = flow_loss(model, x1, x0, t, feat, lens, pooled);
        loss.backward();
        clip_gradients(params, o.grad_clip);
        optimiser.step();
        if (!average.empty()) {
            torch::NoGradGuard no_grad;
            const double decay = std::min(o.ema_decay, (1.0 + step) / (10.0 + step));
            for (size_t i = 0; i < average.size(); ++i) {
                average[i].lerp_(params[i].detach(), 1 - decay);
            }
        }
        buffer.narrow(0, step - 1, 1).copy_(loss.detach().view({1}));
        if (step % o.loss_every == 0 || step == o.dit_steps) {
            drain(buffer, drained, step, report.dit_losses);
            drained = step;
            if (progress) {
                progress("transformer", step, o.dit_steps, report.dit_losses.back());
            }
            const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - dit_start).count();
            if (o.dit_time_limit > 0 && elapsed > o.dit_time_limit && step < o.dit_steps) {
                if (progress) {
                    progress("transformer stopped at the time limit", step, o.dit_steps, report.dit_losses.back());
                }
                break;
            }
        }
    }
    const int steps_done = static_cast<int>(report.dit_losses.size());
    report.eval_after_raw = evaluate();
    if (!average.empty()) {
        torch::NoGradGuard no_grad;
        for (size_t i = 0; i < average.size(); ++i) {
            params[i].detach().copy_(average[i]);
        }
        report.eval_after = evaluate();
    } else {
        report.eval_after = report.eval_after_raw;
    }
    model->eval();
    clock.lap("transformer training");

    // 6. The folder: transformer (bf16), model_index.json, charaforge.json.
    fs::create_directories(out / "transformer");
    eng::write_safetensors((out / "transformer" / "diffusion_pytorch_model.safetensors").string(),
                           eng::to_blobs(*model, torch::kBFloat16));
    eng::write_file_atomic((out / "transformer" / "config.json").string(), eng::nextdit_config_json(cfg, false));
    eng::write_file_atomic((out / "model_index.json").string(), eng::model_index_json(false, ""));
    const ordered_json about = {
        {"name", "CharaForge demo model"},
        {"kind", "demo"},
        {"licence", "CharaForge's own (trained by the project)"},
        {"training_data", "procedural (charaforge-demo-data: drawn characters and their captions)"},
        {"native_resolution", size},
        {"images", n_train},
        {"seed", o.seed},
        {"vae_steps", vae_steps},
        {"transformer_steps", earlier.dit_steps + steps_done},
        {"transformer_batch", o.dit_batch},
        {"transformer_ema", o.ema_decay},
        {"text_encoders",
         !o.init_from.empty()
             ? earlier.text_encoders
             : std::string("frozen random (seeded) Gemma3 and Jina XLM-R of the official architectures, tokenizers "
                           "trained on the caption corpus") +
                   (o.whole_tags ? " (every tag and XML element one piece)" : "") +
                   ": a fixed random text encoder keeps each caption's tokens apart, and the transformer learns to "
                   "read its features"},
        {"evaluation_loss", {{"before", report.eval_before}, {"after", report.eval_after}}}};
    eng::write_file_atomic((out / "charaforge.json").string(), about.dump(2));
    clock.lap("write");
    return report;
}

} // namespace charaforge::demo
