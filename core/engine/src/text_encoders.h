#pragma once
// The text encoders as the CLI's run-component (and the pipeline) reach them: component folders and the
// tensor-in/tensor-out entry point used by the parity scripts.
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

namespace charaforge::engine {

struct TextComponentFiles {
    std::string dir;                  // folder with config.json / tokenizer; empty for a lone file
    std::vector<std::string> weights; // safetensors shards, sorted
    std::string config_json;          // text of config.json, empty when absent
};

// `path` is a model root (then `path`/`subfolder` is used: "text_encoder" or "clip_model"), the component
// folder itself, or one .safetensors file (ComfyUI). Throws EngineError naming what was looked for.
TextComponentFiles find_text_component(const std::string& path, const std::string& subfolder);

// The SentencePiece model that single-file checkpoints (ComfyUI text encoders) may carry as a uint8 tensor
// `spiece_model`, as bytes for GemmaTokenizer/XlmrTokenizer::from_bytes; empty when none of `files` has it.
std::string embedded_spiece_model(const std::vector<std::string>& files);

// run-component for the text encoders (CPU tensors in, CPU tensors out, in the compute dtype):
//   "gemma": input_ids [B, L] int64, attention_mask [B, L] (optional, default all ones)
//            -> {"hidden": [B, L, hidden]} = output of decoder layer num_layers - 2, padded positions zero
//   "jina":  input_ids [B, L] int64, attention_mask [B, L] (optional, default input_ids != <pad>)
//            -> {"hidden": [B, L, hidden], "pooled": [B, hidden]} (mean over valid tokens, LoRA merged)
std::map<std::string, torch::Tensor> run_text_component(const std::string& component, const std::string& model_dir,
                                                        const std::map<std::string, torch::Tensor>& inputs,
                                                        torch::Device device, torch::Dtype dtype);

} // namespace charaforge::engine
