#pragma once
// From safetensors files to module parameters: tensor conversion, key renaming, strict loading.
#include "safetensors.h"

#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace charaforge::engine {

// A CPU tensor holding a copy of the stored data in its stored dtype (F8 formats decoded to fp32).
torch::Tensor read_tensor(const SafetensorsFile& file, const TensorInfo& info);

// Where each state-dict key comes from: the file and the tensor name inside it.
struct WeightSource {
    std::shared_ptr<SafetensorsFile> file;
    const TensorInfo* info = nullptr;
};
using WeightMap = std::map<std::string, WeightSource>;

// Maps a stored name to the module's key; std::nullopt drops the tensor (vision towers, lm_head, ...).
using KeyMapper = std::function<std::optional<std::string>(const std::string& stored_name)>;

// Collects tensors of one or more files under mapped names; duplicate keys are an error.
WeightMap collect_weights(const std::vector<std::shared_ptr<SafetensorsFile>>& files, const KeyMapper& mapper);

// Shapes of every mapped key, for XxxConfig::from_weights().
using TensorShapes = std::map<std::string, std::vector<int64_t>>;
TensorShapes weight_shapes(const WeightMap& weights);

// The shape of `key`, for reading a config from a checkpoint. Throws
// "<component>: the checkpoint has no tensor 'key' (is this a <model_kind>?)", and checks the rank when
// `rank` >= 0.
std::vector<int64_t> required_shape(const TensorShapes& shapes, const std::string& key, const std::string& component,
                                    const std::string& model_kind, int rank = -1);

// Strict load: the module's parameters and buffers must equal the key set exactly, with equal shapes.
// Each tensor is cast to the parameter's dtype and copied to its device. `what` names the component
// in errors, which list every missing and unexpected key and the files looked in.
void load_strict(torch::nn::Module& module, const WeightMap& weights, const std::string& what);

// Optional per-key transform applied to a tensor after reading (e.g. LoRA merging, 1x1 conv -> linear).
using TensorTransform = std::function<torch::Tensor(const std::string& key, torch::Tensor stored)>;
void load_strict(torch::nn::Module& module, const WeightMap& weights, const std::string& what,
                 const TensorTransform& transform);

// Strict load from tensors already in memory (a TorchScript archive's state); `file` names their source.
void load_strict(torch::nn::Module& module, const std::map<std::string, torch::Tensor>& tensors,
                 const std::string& what, const std::string& file);

// Module state as blobs for write_safetensors (random test models, parity fixtures).
std::vector<TensorBlob> to_blobs(const torch::nn::Module& module, torch::Dtype dtype);
TensorBlob to_blob(const std::string& name, const torch::Tensor& tensor, std::optional<torch::Dtype> dtype = {});
DType dtype_of(torch::Dtype dtype);

} // namespace charaforge::engine
