#pragma once
// The text encoders as the CLI's run-component reaches them (files found by locate_model, as the pipeline's):
// the tensor-in/tensor-out entry point used by the parity scripts.
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

namespace charaforge::engine {

// The SentencePiece model that single-file checkpoints (ComfyUI text encoders) may carry as a uint8 tensor
// `spiece_model`, as bytes for GemmaTokenizer/XlmrTokenizer::from_bytes; empty when none of `files` has it.
std::string embedded_spiece_model(const std::vector<std::string>& files);

// run-component for the text encoders (CPU tensors in, CPU tensors out, in the compute dtype). `model_dir` is
// anything locate_model takes: a model folder, the component's own folder, or one .safetensors file.
//   "gemma": input_ids [B, L] int64, attention_mask [B, L] (optional, default all ones)
//            -> {"hidden": [B, L, hidden]} = output of decoder layer num_layers - 2, padded positions zero
//   "jina":  input_ids [B, L] int64, attention_mask [B, L] (optional, default input_ids != <pad>)
//            -> {"hidden": [B, L, hidden], "pooled": [B, hidden]} (mean over valid tokens, LoRA merged)
std::map<std::string, torch::Tensor> run_text_component(const std::string& component, const std::string& model_dir,
                                                        const std::map<std::string, torch::Tensor>& inputs,
                                                        torch::Device device, torch::Dtype dtype);

} // namespace charaforge::engine
