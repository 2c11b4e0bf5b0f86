#include "weights.h"

#include "charaforge/engine/error.h"

#include <cstring>
#include <set>
#include <sstream>

namespace charaforge::engine {
namespace {

torch::Dtype torch_dtype(DType d) {
    switch (d) {
    case DType::F64:
        return torch::kFloat64;
    case DType::F32:
        return torch::kFloat32;
    case DType::F16:
        return torch::kFloat16;
    case DType::BF16:
        return torch::kBFloat16;
    case DType::I64:
        return torch::kInt64;
    case DType::I32:
        return torch::kInt32;
    case DType::I16:
        return torch::kInt16;
    case DType::I8:
        return torch::kInt8;
    case DType::U8:
        return torch::kUInt8;
    case DType::Bool:
        return torch::kBool;
    case DType::F8_E4M3:
    case DType::F8_E5M2:
        return torch::kUInt8;
    }
    return torch::kFloat32;
}

std::string join(const std::vector<std::string>& items, std::size_t limit = 40) {
    std::ostringstream ss;
    for (std::size_t i = 0; i < items.size() && i < limit; ++i)
        ss << "\n    " << items[i];
    if (items.size() > limit)
        ss << "\n    ... and " << items.size() - limit << " more";
    return ss.str();
}

} // namespace

DType dtype_of(torch::Dtype dtype) {
    switch (dtype) {
    case torch::kFloat64:
        return DType::F64;
    case torch::kFloat32:
        return DType::F32;
    case torch::kFloat16:
        return DType::F16;
    case torch::kBFloat16:
        return DType::BF16;
    case torch::kInt64:
        return DType::I64;
    case torch::kInt32:
        return DType::I32;
    case torch::kInt16:
        return DType::I16;
    case torch::kInt8:
        return DType::I8;
    case torch::kUInt8:
        return DType::U8;
    case torch::kBool:
        return DType::Bool;
    default:
        throw EngineError("safetensors: unsupported tensor dtype for writing");
    }
}

torch::Tensor read_tensor(const SafetensorsFile& file, const TensorInfo& info) {
    auto bytes = file.bytes(info);
    // Copy out of the mapping into an aligned tensor: offsets in a file need not be aligned.
    auto out = torch::empty(info.shape, torch::TensorOptions().dtype(torch_dtype(info.dtype)));
    if (!bytes.empty())
        std::memcpy(out.data_ptr(), bytes.data(), bytes.size());
    if (info.dtype == DType::F8_E4M3 || info.dtype == DType::F8_E5M2) {
        auto f = torch::empty(info.shape, torch::kFloat32);
        auto* dst = f.data_ptr<float>();
        const bool e4m3 = info.dtype == DType::F8_E4M3;
        for (std::size_t i = 0; i < bytes.size(); ++i)
            dst[i] = e4m3 ? f8_e4m3fn_to_float(bytes[i]) : f8_e5m2_to_float(bytes[i]);
        return f;
    }
    return out;
}

WeightMap collect_weights(const std::vector<std::shared_ptr<SafetensorsFile>>& files, const KeyMapper& mapper) {
    WeightMap map;
    for (const auto& file : files) {
        for (const auto& info : file->tensors()) {
            auto key = mapper(info.name);
            if (!key)
                continue;
            auto [it, inserted] = map.emplace(*key, WeightSource{file, &info});
            if (!inserted)
                throw EngineError("weights: key '" + *key + "' appears twice: in " + it->second.file->path() + " (" +
                                  it->second.info->name + ") and in " + file->path() + " (" + info.name + ")");
        }
    }
    return map;
}

std::map<std::string, std::vector<int64_t>> weight_shapes(const WeightMap& weights) {
    std::map<std::string, std::vector<int64_t>> shapes;
    for (const auto& [key, src] : weights)
        shapes[key] = src.info->shape;
    return shapes;
}

std::vector<int64_t> required_shape(const TensorShapes& shapes, const std::string& key, const std::string& component,
                                    const std::string& model_kind, int rank) {
    auto it = shapes.find(key);
    if (it == shapes.end())
        throw EngineError(component + ": the checkpoint has no tensor '" + key + "' (is this a " + model_kind + "?)");
    if (rank >= 0 && it->second.size() != static_cast<std::size_t>(rank))
        throw EngineError(component + ": tensor '" + key + "' has rank " + std::to_string(it->second.size()) +
                          ", expected " + std::to_string(rank));
    for (auto d : it->second)
        if (d < 1)
            throw EngineError(component + ": tensor '" + key + "' has an empty dimension (size " + std::to_string(d) +
                              ")");
    return it->second;
}

void load_strict(torch::nn::Module& module, const WeightMap& weights, const std::string& what) {
    load_strict(module, weights, what, nullptr);
}

namespace {

std::map<std::string, torch::Tensor> module_targets(torch::nn::Module& module) {
    std::map<std::string, torch::Tensor> targets;
    for (auto& p : module.named_parameters(true))
        targets[p.key()] = p.value();
    for (auto& b : module.named_buffers(true))
        targets[b.key()] = b.value();
    return targets;
}

// Throws listing every missing and unexpected key when the key sets differ.
void check_key_sets(const std::map<std::string, torch::Tensor>& targets, const std::set<std::string>& keys,
                    const std::set<std::string>& files, const std::string& what) {
    std::vector<std::string> missing, unexpected;
    for (const auto& key : keys)
        if (!targets.count(key))
            unexpected.push_back(key);
    for (const auto& [key, t] : targets)
        if (!keys.count(key))
            missing.push_back(key);
    if (missing.empty() && unexpected.empty())
        return;
    std::string msg = what + ": the weights do not match the model";
    if (!missing.empty())
        msg += "\n  missing keys (" + std::to_string(missing.size()) + "):" + join(missing);
    if (!unexpected.empty())
        msg += "\n  unexpected keys (" + std::to_string(unexpected.size()) + "):" + join(unexpected);
    msg += "\n  looked in:";
    for (const auto& f : files)
        msg += "\n    " + f;
    if (files.empty())
        msg += " (no files)";
    throw EngineError(msg);
}

} // namespace

void load_strict(torch::nn::Module& module, const WeightMap& weights, const std::string& what,
                 const TensorTransform& transform) {
    torch::NoGradGuard no_grad;
    auto targets = module_targets(module);
    std::set<std::string> keys, files;
    for (const auto& [key, src] : weights) {
        files.insert(src.file->path());
        keys.insert(key);
    }
    check_key_sets(targets, keys, files, what);
    for (auto& [key, target] : targets) {
        const auto& src = weights.at(key);
        auto t = read_tensor(*src.file, *src.info);
        if (transform)
            t = transform(key, t);
        if (t.sizes() != target.sizes()) {
            std::ostringstream ss;
            ss << what << ": " << src.file->path() << ": tensor '" << src.info->name << "' has shape " << t.sizes()
               << ", the model expects " << target.sizes();
            throw EngineError(ss.str());
        }
        target.copy_(t.to(target.scalar_type()));
    }
}

void load_strict(torch::nn::Module& module, const std::map<std::string, torch::Tensor>& tensors,
                 const std::string& what, const std::string& file) {
    torch::NoGradGuard no_grad;
    auto targets = module_targets(module);
    std::set<std::string> keys;
    for (const auto& [key, t] : tensors)
        keys.insert(key);
    check_key_sets(targets, keys, {file}, what);
    for (auto& [key, target] : targets) {
        const auto& t = tensors.at(key);
        if (t.sizes() != target.sizes()) {
            std::ostringstream ss;
            ss << what << ": " << file << ": tensor '" << key << "' has shape " << t.sizes() << ", the model expects "
               << target.sizes();
            throw EngineError(ss.str());
        }
        target.copy_(t.to(target.scalar_type()));
    }
}

TensorBlob to_blob(const std::string& name, const torch::Tensor& tensor, std::optional<torch::Dtype> dtype) {
    auto t = tensor.detach();
    if (dtype)
        t = t.to(*dtype); // on the tensor's device: a GPU converts a full-size model in a blink
    t = t.to(torch::kCPU);
    t = t.contiguous();
    TensorBlob blob;
    blob.name = name;
    blob.dtype = dtype_of(t.scalar_type());
    blob.shape = t.sizes().vec();
    blob.data.resize(t.numel() * t.element_size());
    if (!blob.data.empty())
        std::memcpy(blob.data.data(), t.data_ptr(), blob.data.size());
    return blob;
}

std::vector<TensorBlob> to_blobs(const torch::nn::Module& module, torch::Dtype dtype) {
    std::vector<TensorBlob> blobs;
    for (const auto& p : module.named_parameters(true))
        blobs.push_back(to_blob(p.key(), p.value(), dtype));
    return blobs;
}

} // namespace charaforge::engine
