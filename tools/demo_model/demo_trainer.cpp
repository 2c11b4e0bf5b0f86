// Ref: NewBie-image-Exp0.1 finetune.py (training loop: flow-matching loss, caption dropout) and transport/path.py
//      ICPlan (x_t = t x1 + (1 - t) x0, target x1 - x0), per spec newbie-model.md §5.1 and §3.1.
#include "demo_trainer.h"

#include "charaforge/engine/pipeline.h"
#include "charaforge/imaging/png_io.h"
#include "file_util.h"
#include "model_folder.h"
#include "runtime.h"
#include "safetensors.h"
#include "weights.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace charaforge::demo {
namespace {

namespace fs = std::filesystem;
namespace eng = charaforge::engine;

struct Sample {
    std::string image;
    std::string caption;
};

std::vector<Sample> read_manifest(const std::string& dir, int max_images) {
    const fs::path manifest = fs::path(dir) / "manifest.jsonl";
    std::ifstream f(manifest);
    if (!f) {
        throw std::invalid_argument("--data: " + manifest.string() + ": cannot read");
    }
    std::vector<Sample> out;
    std::string line;
    for (int n = 1; std::getline(f, line); ++n) {
        if (line.empty()) {
            continue;
        }
        const auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object() || !j.contains("image") || !j["image"].is_string() ||
            !j.contains("caption") || !j["caption"].is_string()) {
            throw std::invalid_argument(manifest.string() + ":" + std::to_string(n) +
                                        ": not a {\"image\": ..., \"caption\": ...} record");
        }
        out.push_back({(fs::path(dir) / j["image"].get<std::string>()).string(),
                       (fs::path(dir) / j["caption"].get<std::string>()).string()});
        if (max_images > 0 && static_cast<int>(out.size()) == max_images) {
            break;
        }
    }
    if (out.empty()) {
        throw std::invalid_argument(manifest.string() + ": no images");
    }
    return out;
}

std::string read_text(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) {
        throw std::invalid_argument(path + ": cannot read the caption");
    }
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// The padded caption batch of `items` (as the pipeline stacks them).
struct Captions {
    torch::Tensor features; // [B, L, D]
    std::vector<int64_t> lens;
    torch::Tensor pooled; // [B, Dp]
};

Captions stack(const std::vector<const eng::TextEmbedding*>& items, const torch::Device& device) {
    Captions c;
    int64_t max_len = 0;
    for (const auto* e : items) {
        max_len = std::max(max_len, e->length);
    }
    const int64_t dim = items.front()->dim;
    c.features = torch::zeros({static_cast<int64_t>(items.size()), max_len, dim}); // [B, L, D]
    std::vector<torch::Tensor> pooled;
    for (size_t i = 0; i < items.size(); ++i) {
        const auto* e = items[i];
        c.features[static_cast<int64_t>(i)]
            .narrow(0, 0, e->length)
            .copy_(torch::from_blob(const_cast<float*>(e->features.data()), {e->length, e->dim}, torch::kFloat32));
        c.lens.push_back(e->length);
        pooled.push_back(torch::from_blob(const_cast<float*>(e->pooled.data()),
                                          {static_cast<int64_t>(e->pooled.size())}, torch::kFloat32)
                             .clone());
    }
    c.features = c.features.to(device);
    c.pooled = torch::stack(pooled).to(device); // [B, Dp]
    return c;
}

// The flow-matching loss of `model` on latents x1 [B, C, h, w] with noise x0 and times t [B].
torch::Tensor flow_loss(eng::NextDiT& model, const torch::Tensor& x1, const torch::Tensor& x0, const torch::Tensor& t,
                        const Captions& caps) {
    const auto tb = t.view({-1, 1, 1, 1});   // [B, 1, 1, 1]
    const auto xt = tb * x1 + (1 - tb) * x0; // [B, C, h, w]
    const auto v = model->forward(xt, t, caps.features, caps.lens, caps.pooled).to(torch::kFloat32);
    return torch::mse_loss(v, x1 - x0);
}

void copy_component(const fs::path& from, const fs::path& to) {
    std::error_code ec;
    fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::overwrite_existing, ec);
    if (ec) {
        throw std::runtime_error("demo training: cannot copy " + from.string() + " to " + to.string() + ": " +
                                 ec.message());
    }
}

void write_model(const DemoTrainOptions& o, const eng::ModelFiles& base, eng::NextDiT& model, int size) {
    const fs::path out(o.out_dir);
    fs::create_directories(out / "transformer");
    for (const char* part : {"text_encoder", "clip_model", "vae"}) {
        copy_component(fs::path(base.root) / part, out / part);
    }
    eng::write_safetensors((out / "transformer" / "diffusion_pytorch_model.safetensors").string(),
                           eng::to_blobs(*model, torch::kFloat32));
    // The base's transformer config with the architecture, without the test-model marker.
    auto config = nlohmann::ordered_json::parse(eng::read_file(base.transformer.config_json));
    config.erase("charaforge_test_model");
    eng::write_file_atomic((out / "transformer" / "config.json").string(), config.dump(2));
    for (const char* part : {"vae/config.json"}) {
        auto j = nlohmann::ordered_json::parse(eng::read_file((out / part).string()));
        j.erase("charaforge_test_model");
        eng::write_file_atomic((out / part).string(), j.dump(2));
    }
    const nlohmann::ordered_json index = {{"_class_name", "NewbiePipeline"},
                                          {"transformer", {"newbie", "NextDiT_CLIP"}},
                                          {"vae", {"diffusers", "AutoencoderKL"}},
                                          {"text_encoder", {"transformers", "Gemma3ForConditionalGeneration"}},
                                          {"clip_model", {"transformers", "AutoModel"}}};
    eng::write_file_atomic((out / "model_index.json").string(), index.dump(2));
    const nlohmann::ordered_json about = {{"name", "CharaForge demo model"},
                                          {"licence", "CharaForge's own (trained by the project)"},
                                          {"training_data", "procedural (charaforge-demo-data)"},
                                          {"native_resolution", size},
                                          {"steps", o.steps},
                                          {"seed", o.seed}};
    eng::write_file_atomic((out / "charaforge.json").string(), about.dump(2));
}

} // namespace

DemoTrainReport train_demo_model(const DemoTrainOptions& o, const DemoTrainProgress& progress) {
    if (o.steps < 1 || o.batch < 1 || !(o.learning_rate > 0) || o.caption_dropout < 0 || o.caption_dropout > 1) {
        throw std::invalid_argument("demo training: steps and batch must be >= 1, the learning rate > 0 and the "
                                    "caption dropout in [0, 1]");
    }
    // The engine's fused CUDA kernels have no backward: the ATen compositions, which autograd differentiates.
    ::setenv("CHARAFORGE_FUSED", "0", 1);
    const std::vector<Sample> samples = read_manifest(o.data_dir, o.max_images);
    const eng::ModelFiles base = eng::locate_model(o.base_model, eng::Require::Everything);
    eng::RuntimeOptions runtime_options;
    runtime_options.device = o.device;
    runtime_options.dtype = "fp32";
    const eng::Runtime rt = eng::make_runtime(runtime_options);
    const torch::Device dev = rt.device;

    // Captions through the base's own text encoders (the pipeline's conditioning, frozen).
    const auto pipeline = eng::Pipeline::open(o.base_model, runtime_options);
    std::vector<eng::TextEmbedding> cond;
    eng::TextEmbedding uncond;
    for (const auto& s : samples) {
        eng::GenerationRequest r;
        r.prompt = read_text(s.caption);
        auto [c, u] = pipeline->encode(r);
        cond.push_back(std::move(c));
        uncond = std::move(u); // "" for both encoders: the same for every caption
    }

    // Images through the frozen VAE encoder, once.
    c10::InferenceMode inference_off(false);
    eng::AutoencoderKL vae = eng::load_vae(base.vae, base.vae_bfl, rt);
    std::vector<torch::Tensor> latents;
    int size = 0;
    {
        torch::NoGradGuard no_grad;
        for (const auto& s : samples) {
            const imaging::RgbImage img = imaging::read_png(s.image);
            if (size == 0) {
                size = img.width;
            }
            if (img.width != size || img.height != size) {
                throw std::invalid_argument(s.image + ": " + std::to_string(img.width) + "x" +
                                            std::to_string(img.height) + ", the set's images are " +
                                            std::to_string(size) + "x" + std::to_string(size));
            }
            auto rgb = torch::from_blob(const_cast<uint8_t*>(img.rgb.data()), {img.height, img.width, 3}, torch::kUInt8)
                           .permute({2, 0, 1})
                           .to(torch::kFloat32)
                           .div(255)
                           .unsqueeze(0); // [1, 3, H, W]
            latents.push_back(vae->encode(rgb.to(dev)).clone());
        }
    }
    const auto data = torch::cat(latents); // [N, C, h, w]
    const int64_t n = data.size(0);

    eng::NextDiT model = eng::load_transformer(base.transformer, rt);
    model->train();
    for (auto& p : model->parameters()) { // the engine registers its weights frozen (inference only)
        p.set_requires_grad(true);
    }
    torch::optim::AdamW optimiser(model->parameters(),
                                  torch::optim::AdamWOptions(o.learning_rate).weight_decay(o.weight_decay));
    auto gen = at::detail::createCPUGenerator(o.seed);

    // Random numbers come from CPU generators (then moved): the same seed gives the same batches, noise and times
    // on every device.
    // A fixed evaluation set: every image (up to 8) with its own noise and time, conditioned.
    const int64_t eval_n = std::min<int64_t>(n, 8);
    auto eval_gen = at::detail::createCPUGenerator(o.seed ^ 0x5eedULL);
    const auto eval_x1 = data.narrow(0, 0, eval_n);
    const auto eval_x0 = at::randn(eval_x1.sizes(), eval_gen).to(dev);
    const auto eval_t = at::rand({eval_n}, eval_gen).to(dev);
    std::vector<const eng::TextEmbedding*> eval_items;
    for (int64_t i = 0; i < eval_n; ++i) {
        eval_items.push_back(&cond[static_cast<size_t>(i)]);
    }
    const Captions eval_caps = stack(eval_items, dev);
    auto evaluate = [&] {
        torch::NoGradGuard no_grad;
        model->eval();
        const double loss = flow_loss(model, eval_x1, eval_x0, eval_t, eval_caps).item<double>();
        model->train();
        return loss;
    };

    DemoTrainReport report;
    report.images = static_cast<int>(n);
    report.eval_before = evaluate();
    for (int step = 1; step <= o.steps; ++step) {
        const auto index = at::randint(n, {o.batch}, gen, torch::kLong); // [B]
        const auto drop = at::rand({o.batch}, gen);                      // [B]
        std::vector<const eng::TextEmbedding*> items;
        for (int64_t b = 0; b < o.batch; ++b) {
            const bool dropped = drop[b].item<double>() < o.caption_dropout;
            items.push_back(dropped ? &uncond : &cond[static_cast<size_t>(index[b].item<int64_t>())]);
        }
        const auto x1 = data.index_select(0, index.to(dev)); // [B, C, h, w]
        const auto x0 = at::randn(x1.sizes(), gen).to(dev);
        const auto t = at::rand({o.batch}, gen).to(dev); // [B], uniform in [0, 1) as ICPlan samples it
        optimiser.zero_grad();
        auto loss = flow_loss(model, x1, x0, t, stack(items, dev));
        loss.backward();
        optimiser.step();
        report.losses.push_back(loss.item<double>());
        if (progress) {
            progress(step, o.steps, report.losses.back());
        }
    }
    report.eval_after = evaluate();
    model->eval();
    write_model(o, base, model, size);
    return report;
}

} // namespace charaforge::demo
