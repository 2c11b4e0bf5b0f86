#pragma once
// The demo model's training (issue 14), one call for the whole model: from a captions.jsonl written by
// `charaforge-demo-data --captions-only` it renders every image (render_demo_image, in threads), trains the two
// tokenizers on the caption corpus and writes tiny random Gemma3 and Jina encoders (frozen), trains the VAE on
// the images and encodes them once, encodes every caption once through the pipeline's own conditioning code,
// and trains a NextDiT from a seeded random init with flow matching in the sampler's convention (spec
// newbie-model.md §5.1): x_t = t x_data + (1 - t) noise, t = 0 noise, target v = x_data - noise, MSE; AdamW with a
// warm-up and a cosine decay, gradient clipping, caption dropout to the sampler's unconditional branch ("" for
// both encoders). Writes a model folder in the official layout that Pipeline::open loads. Torch-free header.
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace charaforge::demo {

// The sizes of the demo model's parts. demo_architecture() is the shipped model; tests use tiny ones.
struct DemoArchitecture {
    // Tokenizers (sentencepiece vocabulary sizes; XLM-R's is a soft limit).
    int gemma_vocab = 2048;
    int xlmr_vocab = 2048;
    // Gemma3 text encoder (features = hidden states of layer gemma_layers - 2, as NewBie's hidden_states[-2]).
    int gemma_hidden = 256;
    int gemma_layers = 4;
    int gemma_heads = 4;
    int gemma_kv_heads = 2;
    int gemma_head_dim = 64;
    int gemma_intermediate = 512;
    int gemma_window = 64;
    // Jina XLM-R text encoder (pooled = mean over tokens).
    int jina_hidden = 128;
    int jina_layers = 2;
    int jina_heads = 2;
    int jina_intermediate = 512;
    // NextDiT (head_dim = dim / heads = the sum of axes).
    int dit_dim = 256;
    int dit_layers = 6;
    int dit_refiner_layers = 1;
    int dit_heads = 4;
    int dit_kv_heads = 2;
    int dit_ffn = 1024;
    int dit_axes[3] = {16, 24, 24};
    // VAE (16 latent channels, 8x downsampling: four levels).
    std::vector<int> vae_channels{32, 64, 128, 128};
    int vae_layers_per_block = 1;
    int vae_groups = 16;
};
DemoArchitecture demo_architecture();
// The weights of every part of `arch` (tokenizers at their full vocabulary sizes, Gemma's table 64 rows more).
int64_t demo_parameter_count(const DemoArchitecture& arch);

struct DemoTrainOptions {
    std::string captions;       // captions.jsonl of charaforge-demo-data --captions-only
    std::string out_dir;        // the model folder written (new or empty)
    std::string device = "cpu"; // "cpu", "cuda", "cuda:N" (as RuntimeOptions::device); fp32 weights, TF32 on CUDA
    uint64_t seed = 0;
    int max_images = 0; // 0: every caption of the file
    int threads = 0;    // render threads; 0: the machine's cores
    DemoArchitecture arch = demo_architecture();
    // VAE stage.
    int vae_steps = 2000;
    int vae_batch = 32;
    double vae_learning_rate = 1e-3;
    // Transformer stage.
    int dit_steps = 5000;
    int dit_batch = 128;
    double learning_rate = 5e-4;
    double weight_decay = 0.01;
    int warmup_steps = 200;       // linear warm-up, then cosine decay to 10% of the learning rate
    double grad_clip = 1.0;       // global norm
    double caption_dropout = 0.1; // probability that a sample is trained unconditionally (for CFG)
    double time_shift = 3.0;      // t = s u / (1 + (s - 1) u) for u uniform: 1 = uniform (ICPlan), > 1 towards noise
    int eval_samples = 64;        // the fixed held-out evaluation set (captions at the end of the file)
    int loss_every = 50;          // the losses are read from the device every this many steps
    double dit_time_limit = 0;    // seconds; > 0: the transformer stops at the first loss read past it (a safety net
                                  // for a device call of bounded length; the steps done are reported)
    double ema_decay = 0;         // > 0: the written transformer is the exponential moving average of its weights
                                  // (decay min(ema_decay, (1 + step) / (10 + step))); 0: the last step's weights
    // The caption vocabulary's tags (blue_hair, 1girl, ...) and XML element names (<appearance>, </character_1>) are
    // whole tokenizer pieces, so a tag is one token whose features the transformer tells apart from its neighbours'
    // (with sub-word pieces "▁blue _ hair" the colour is a token of its own, shared with blue_eyes, and binding it
    // to the hair is left to the transformer). false: plain sentencepiece training.
    bool whole_tags = true;
    // A model folder this program wrote: its tokenizers, text encoders and VAE are copied unchanged (no VAE stage)
    // and its transformer's weights continue training (fresh AdamW state, the warm-up and schedule of this run).
    // The captions must be the ones it was trained on; its charaforge.json's step counts are carried on.
    std::string init_from;
    // A model folder this program wrote whose VAE (vae/) is copied instead of training one (no VAE stage); the
    // images must be of the size it was trained at. Not with init_from (which copies the VAE too).
    std::string vae_from;
};

struct StageTiming {
    std::string stage;
    double seconds = 0;
};

struct DemoTrainReport {
    std::vector<double> vae_losses;   // the VAE's training loss of every step
    std::vector<double> dit_losses;   // the transformer's training loss of every step (its size: the steps done)
    double eval_before = 0;           // flow loss on the held-out (caption, image, noise, t) set before training
    double eval_after = 0;            // the same after the last step, for the written weights (the average with EMA)
    double eval_after_raw = 0;        // the same for the last step's weights (= eval_after without EMA)
    int earlier_dit_steps = 0;        // the transformer steps of the --init-from model (0 without)
    double vae_eval = 0;              // the trained VAE's reconstruction error (mean abs, [0, 1] pixels) held out
    int images = 0;                   // images trained on (the held-out ones excluded)
    int held_out = 0;                 // images of the evaluation set
    double caption_tokens = 0;        // mean Gemma tokens of a caption (its system prompt included)
    std::vector<StageTiming> timings; // in stage order
};

// One line of a charaforge-demo-data --captions-only file: the image's scene is random_scene(seed, index).
struct DemoCaptionLine {
    uint64_t index = 0;
    uint64_t seed = 0;
    int size = 0;
    std::string text;
};
// Reads such a file (at most `max_lines`; 0: all). Throws std::invalid_argument naming the file, line and field
// (one size per file).
std::vector<DemoCaptionLine> read_demo_captions(const std::string& path, int max_lines = 0);

// Progress: a stage's name, the step reached (1-based), the total, and a loss when one was read (else NaN).
using DemoTrainProgress = std::function<void(const std::string& stage, int step, int total, double loss)>;

// Trains and writes `out_dir`. Throws std::invalid_argument for bad options or data (naming the file, line or
// field), std::runtime_error for I/O failures.
DemoTrainReport train_demo_model(const DemoTrainOptions& options, const DemoTrainProgress& progress = {});

// Writes `losses` as "step,loss" lines (step 1-based) to `path`; throws std::runtime_error naming it.
void write_loss_csv(const std::string& path, const std::vector<double>& losses);

} // namespace charaforge::demo
