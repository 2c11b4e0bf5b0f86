#pragma once
// Reading the tensors of a TorchScript archive (torch.jit.save: a zip holding data.pkl, the pickled module
// tree, and data/<key> records, one per storage) without running any of its code: a restricted unpickler
// that knows only the opcodes and globals torch's own pickler writes for module state (module objects as
// attribute dictionaries, tensors through torch._utils._rebuild_tensor_v2 and persistent storage ids).
// Every other global is refused, so a hostile archive can at most produce an error naming the file.
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>

namespace charaforge::engine {

// Module attribute paths -> CPU tensors (contiguous copies), e.g. "model.generator.model.1.ffc.convl2l.weight".
// Tensors reachable through lists or tuples are skipped; only object attributes name a tensor.
// Throws EngineError ("torchscript: FILE: ...") on a malformed archive or pickle.
std::map<std::string, torch::Tensor> read_torchscript_tensors(const std::string& path);

// The same from data.pkl's bytes and a record reader (for tests and for other containers).
using RecordReader = std::function<std::string(const std::string& record_name)>;
std::map<std::string, torch::Tensor> unpickle_module_tensors(std::span<const uint8_t> pickle,
                                                             const RecordReader& records, const std::string& file);

} // namespace charaforge::engine
