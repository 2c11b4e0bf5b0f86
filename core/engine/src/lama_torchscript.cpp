// Ref: pytorch torch/csrc/jit/serialization/pickler.cpp (Pickler::pushIValueImpl, pushLiteralTensor,
//      pushStorageOfTensor: what torch.jit.save writes into data.pkl) and unpickler.cpp (the opcodes read back);
//      CPython Lib/pickletools.py for the opcode encodings. The zip container is read with LibTorch's
//      caffe2::serialize::PyTorchStreamReader (the reader torch.jit.load itself uses).
#include "lama_torchscript.h"

#include "charaforge/engine/error.h"

#include <caffe2/serialize/inline_container.h>

#include <cstring>
#include <memory>
#include <vector>

namespace charaforge::engine {
namespace {

struct Value;
using ValuePtr = std::shared_ptr<Value>;

// The only kinds of value torch's module pickles contain. Objects are attribute dictionaries: no class is
// ever instantiated and no callable is ever called; the few allowed globals are interpreted here.
struct Value {
    enum class Kind { None, Bool, Int, Float, String, Tuple, List, Dict, Global, Object, Tensor, Storage, Mark };
    Kind kind = Kind::None;
    int64_t i = 0;
    double f = 0.0;
    std::string s;                                   // String; Global "module.name"; Object class
    std::vector<ValuePtr> items;                     // Tuple, List
    std::vector<std::pair<ValuePtr, ValuePtr>> dict; // Dict (insertion order)
    ValuePtr state;                                  // Object: its attribute Dict after BUILD
    torch::Tensor tensor;                            // Tensor; Storage (flat, numel elements)
};

ValuePtr make(Value::Kind k) {
    auto v = std::make_shared<Value>();
    v->kind = k;
    return v;
}

constexpr std::size_t kMaxDepth = 200;
constexpr int64_t kMaxDims = 64;

class Unpickler {
public:
    Unpickler(std::span<const uint8_t> data, const RecordReader& records, const std::string& file)
        : data_(data), records_(records), file_(file) {}

    ValuePtr run() {
        for (;;) {
            const uint8_t op = u8();
            switch (op) {
            case 0x80: // PROTO
                u8();
                break;
            case 0x95: // FRAME
                bytes(8);
                break;
            case '.': // STOP
                if (stack_.size() != 1)
                    fail("STOP with " + std::to_string(stack_.size()) + " values on the stack");
                return stack_.back();
            case '(':
                marks_.push_back(stack_.size());
                break;
            case 'N':
                push(make(Value::Kind::None));
                break;
            case 0x88:
            case 0x89: {
                auto v = make(Value::Kind::Bool);
                v->i = op == 0x88;
                push(v);
                break;
            }
            case 'J':
                push_int(static_cast<int32_t>(le(4)));
                break;
            case 'K':
                push_int(u8());
                break;
            case 'M':
                push_int(static_cast<int64_t>(le(2)));
                break;
            case 0x8a: { // LONG1
                const auto n = u8();
                if (n > 8)
                    fail("integer wider than 64 bits");
                const auto raw = bytes(n);
                uint64_t v = 0;
                for (std::size_t k = 0; k < n; ++k)
                    v |= uint64_t(raw[k]) << (8 * k);
                if (n > 0 && n < 8 && (raw[n - 1] & 0x80))
                    v |= ~uint64_t{0} << (8 * n); // sign-extend
                push_int(static_cast<int64_t>(v));
                break;
            }
            case 'G': { // BINFLOAT, big-endian
                const auto raw = bytes(8);
                uint64_t bits = 0;
                for (int k = 0; k < 8; ++k)
                    bits = bits << 8 | raw[k];
                auto v = make(Value::Kind::Float);
                std::memcpy(&v->f, &bits, 8);
                push(v);
                break;
            }
            case 'X':
                push_string(le(4));
                break;
            case 0x8c: // SHORT_BINUNICODE
            case 'U':  // SHORT_BINSTRING
            case 'C':  // SHORT_BINBYTES
                push_string(u8());
                break;
            case 0x8d: // BINUNICODE8
            case 0x8e: // BINBYTES8
                push_string(le(8));
                break;
            case 'T': // BINSTRING
            case 'B': // BINBYTES
                push_string(le(4));
                break;
            case ')':
                push(make(Value::Kind::Tuple));
                break;
            case 't': {
                auto v = make(Value::Kind::Tuple);
                v->items = pop_mark();
                push(v);
                break;
            }
            case 0x85:
            case 0x86:
            case 0x87: {
                const std::size_t n = op - 0x84u;
                need(n);
                auto v = make(Value::Kind::Tuple);
                v->items.assign(stack_.end() - static_cast<std::ptrdiff_t>(n), stack_.end());
                stack_.resize(stack_.size() - n);
                push(v);
                break;
            }
            case ']':
                push(make(Value::Kind::List));
                break;
            case 'l': {
                auto v = make(Value::Kind::List);
                v->items = pop_mark();
                push(v);
                break;
            }
            case 'a': {
                auto item = pop();
                auto list = top(Value::Kind::List, "APPEND");
                list->items.push_back(item);
                break;
            }
            case 'e': {
                auto items = pop_mark();
                auto list = top(Value::Kind::List, "APPENDS");
                list->items.insert(list->items.end(), items.begin(), items.end());
                break;
            }
            case '}':
                push(make(Value::Kind::Dict));
                break;
            case 's': {
                auto v = pop();
                auto k = pop();
                top(Value::Kind::Dict, "SETITEM")->dict.emplace_back(k, v);
                break;
            }
            case 'u': {
                auto items = pop_mark();
                if (items.size() % 2 != 0)
                    fail("SETITEMS with an odd number of values");
                auto dict = top(Value::Kind::Dict, "SETITEMS");
                for (std::size_t k = 0; k < items.size(); k += 2)
                    dict->dict.emplace_back(items[k], items[k + 1]);
                break;
            }
            case 'q':
                memo_put(u8());
                break;
            case 'r':
                memo_put(le(4));
                break;
            case 0x94: // MEMOIZE
                memo_put(memo_.size());
                break;
            case 'h':
                memo_get(u8());
                break;
            case 'j':
                memo_get(le(4));
                break;
            case 'c': { // GLOBAL "module\nname\n"
                auto v = make(Value::Kind::Global);
                const auto module = line();
                v->s = module + "." + line();
                check_global(v->s);
                push(v);
                break;
            }
            case 0x81: { // NEWOBJ: cls, args -> an empty object of that class (nothing is constructed)
                auto args = pop();
                auto cls = pop();
                if (cls->kind != Value::Kind::Global || cls->s.rfind("__torch__.", 0) != 0)
                    fail("NEWOBJ of '" + cls->s + "' (only TorchScript module classes are allowed)");
                (void)args;
                auto v = make(Value::Kind::Object);
                v->s = cls->s;
                push(v);
                break;
            }
            case 'b': { // BUILD
                auto st = pop();
                auto obj = top(Value::Kind::Object, "BUILD");
                obj->state = st;
                break;
            }
            case 'Q': { // BINPERSID
                auto pid = pop();
                push(load_storage(pid));
                break;
            }
            case 'R': { // REDUCE
                auto args = pop();
                auto fn = pop();
                push(reduce(fn, args));
                break;
            }
            default:
                fail("unsupported pickle opcode 0x" + hex(op));
            }
        }
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw EngineError("torchscript: " + file_ + ": data.pkl at byte " + std::to_string(pos_) + ": " + what);
    }
    static std::string hex(uint8_t v) {
        static const char* d = "0123456789abcdef";
        return {d[v >> 4], d[v & 15]};
    }
    const uint8_t* bytes(std::size_t n) {
        if (n > data_.size() - pos_)
            fail("truncated (needs " + std::to_string(n) + " more bytes)");
        const auto* p = data_.data() + pos_;
        pos_ += n;
        return p;
    }
    uint8_t u8() { return *bytes(1); }
    uint64_t le(int n) {
        const auto* p = bytes(static_cast<std::size_t>(n));
        uint64_t v = 0;
        for (int k = 0; k < n; ++k)
            v |= uint64_t(p[k]) << (8 * k);
        return v;
    }
    std::string line() {
        std::string out;
        for (;;) {
            const char c = static_cast<char>(u8());
            if (c == '\n')
                return out;
            if (out.size() > 256)
                fail("GLOBAL name too long");
            out += c;
        }
    }
    void push(ValuePtr v) { stack_.push_back(std::move(v)); }
    void push_int(int64_t v) {
        auto p = make(Value::Kind::Int);
        p->i = v;
        push(p);
    }
    void push_string(uint64_t n) {
        if (n > data_.size() - pos_)
            fail("string of " + std::to_string(n) + " bytes runs past the end");
        auto v = make(Value::Kind::String);
        const auto* p = bytes(static_cast<std::size_t>(n));
        v->s.assign(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
        push(v);
    }
    void need(std::size_t n) const {
        const std::size_t floor = marks_.empty() ? 0 : marks_.back();
        if (stack_.size() < floor + n)
            fail("stack underflow");
    }
    ValuePtr pop() {
        need(1);
        auto v = stack_.back();
        stack_.pop_back();
        return v;
    }
    ValuePtr top(Value::Kind k, const char* op) const {
        need(1);
        if (stack_.back()->kind != k)
            fail(std::string(op) + " on a value of the wrong kind");
        return stack_.back();
    }
    std::vector<ValuePtr> pop_mark() {
        if (marks_.empty())
            fail("no MARK on the stack");
        const auto at = marks_.back();
        marks_.pop_back();
        std::vector<ValuePtr> items(stack_.begin() + static_cast<std::ptrdiff_t>(at), stack_.end());
        stack_.resize(at);
        return items;
    }
    void memo_put(uint64_t idx) {
        need(1);
        if (idx > (1u << 24))
            fail("memo index " + std::to_string(idx) + " too large");
        if (idx >= memo_.size())
            memo_.resize(idx + 1);
        memo_[idx] = stack_.back();
    }
    void memo_get(uint64_t idx) {
        if (idx >= memo_.size() || !memo_[idx])
            fail("memo index " + std::to_string(idx) + " was never stored");
        push(memo_[idx]);
    }

    static bool storage_dtype(const std::string& global, torch::Dtype& out) {
        static const std::pair<const char*, torch::Dtype> kTypes[] = {
            {"torch.FloatStorage", torch::kFloat32}, {"torch.DoubleStorage", torch::kFloat64},
            {"torch.HalfStorage", torch::kFloat16},  {"torch.BFloat16Storage", torch::kBFloat16},
            {"torch.LongStorage", torch::kInt64},    {"torch.IntStorage", torch::kInt32},
            {"torch.ShortStorage", torch::kInt16},   {"torch.CharStorage", torch::kInt8},
            {"torch.ByteStorage", torch::kUInt8},    {"torch.BoolStorage", torch::kBool}};
        for (const auto& [name, dt] : kTypes)
            if (global == name) {
                out = dt;
                return true;
            }
        return false;
    }
    void check_global(const std::string& g) const {
        torch::Dtype dt;
        if (g.rfind("__torch__.", 0) == 0 || g == "torch._utils._rebuild_tensor_v2" || g == "collections.OrderedDict" ||
            g.rfind("torch.jit._pickle.", 0) == 0 || storage_dtype(g, dt))
            return;
        fail("global '" + g + "' is not allowed (only module state is read; no code is run)");
    }

    ValuePtr load_storage(const ValuePtr& pid) {
        // ('storage', torch.<T>Storage, key, location, numel)
        if (pid->kind != Value::Kind::Tuple || pid->items.size() != 5 || pid->items[0]->s != "storage" ||
            pid->items[1]->kind != Value::Kind::Global || pid->items[2]->kind != Value::Kind::String ||
            pid->items[4]->kind != Value::Kind::Int)
            fail("persistent id is not ('storage', type, key, location, numel)");
        torch::Dtype dt;
        if (!storage_dtype(pid->items[1]->s, dt))
            fail("unknown storage type '" + pid->items[1]->s + "'");
        const auto& key = pid->items[2]->s;
        if (key.empty() || key.find('/') != std::string::npos || key.find("..") != std::string::npos)
            fail("bad storage key '" + key + "'");
        auto it = storages_.find(key);
        if (it != storages_.end())
            return it->second;
        const int64_t numel = pid->items[4]->i;
        const std::string record = records_("data/" + key);
        const auto elem = static_cast<int64_t>(c10::elementSize(dt));
        if (numel < 0 || static_cast<uint64_t>(numel) * static_cast<uint64_t>(elem) != record.size())
            fail("storage data/" + key + " has " + std::to_string(record.size()) + " bytes, expected " +
                 std::to_string(numel) + " x " + std::to_string(elem));
        auto v = make(Value::Kind::Storage);
        v->tensor = torch::empty({numel}, torch::TensorOptions().dtype(dt));
        if (!record.empty())
            std::memcpy(v->tensor.data_ptr(), record.data(), record.size());
        storages_.emplace(key, v);
        return v;
    }

    std::vector<int64_t> int_tuple(const ValuePtr& v, const char* what) const {
        if (v->kind != Value::Kind::Tuple || static_cast<int64_t>(v->items.size()) > kMaxDims)
            fail(std::string(what) + " is not a tuple of at most 64 ints");
        std::vector<int64_t> out;
        for (const auto& x : v->items) {
            if (x->kind != Value::Kind::Int)
                fail(std::string(what) + " holds a non-integer");
            out.push_back(x->i);
        }
        return out;
    }

    ValuePtr reduce(const ValuePtr& fn, const ValuePtr& args) {
        if (fn->kind != Value::Kind::Global || args->kind != Value::Kind::Tuple)
            fail("REDUCE of something other than an allowed global");
        if (fn->s == "collections.OrderedDict")
            return make(Value::Kind::Dict);
        if (fn->s.rfind("torch.jit._pickle.", 0) == 0) // build_intlist and friends: the list itself
            return args->items.empty() ? make(Value::Kind::None) : args->items[0];
        if (fn->s != "torch._utils._rebuild_tensor_v2")
            fail("REDUCE of '" + fn->s + "'");
        // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
        if (args->items.size() < 4 || args->items[0]->kind != Value::Kind::Storage ||
            args->items[1]->kind != Value::Kind::Int)
            fail("_rebuild_tensor_v2 with unexpected arguments");
        const auto& storage = args->items[0]->tensor;
        const int64_t offset = args->items[1]->i;
        const auto size = int_tuple(args->items[2], "tensor size");
        const auto stride = int_tuple(args->items[3], "tensor stride");
        if (size.size() != stride.size())
            fail("tensor size and stride differ in rank");
        // Every element the view can reach must lie inside the storage.
        int64_t last = offset;
        bool empty = false;
        for (std::size_t d = 0; d < size.size(); ++d) {
            if (size[d] < 0 || stride[d] < 0)
                fail("negative tensor size or stride");
            if (size[d] == 0)
                empty = true;
            else if (size[d] > (int64_t{1} << 40) || stride[d] > (int64_t{1} << 40))
                fail("tensor size or stride out of range");
            else
                last += (size[d] - 1) * stride[d];
        }
        if (offset < 0 || (!empty && last >= storage.numel()))
            fail("tensor view reaches past its storage (" + std::to_string(storage.numel()) + " elements)");
        auto v = make(Value::Kind::Tensor);
        v->tensor = empty ? torch::empty(size, storage.options()) : storage.as_strided(size, stride, offset).clone();
        return v;
    }

    std::span<const uint8_t> data_;
    const RecordReader& records_;
    const std::string& file_;
    std::size_t pos_ = 0;
    std::vector<ValuePtr> stack_;
    std::vector<std::size_t> marks_;
    std::vector<ValuePtr> memo_;
    std::map<std::string, ValuePtr> storages_;
};

void collect(const ValuePtr& obj, const std::string& prefix, std::map<std::string, torch::Tensor>& out,
             std::size_t depth, const std::string& file) {
    if (depth > kMaxDepth)
        throw EngineError("torchscript: " + file + ": data.pkl: module tree deeper than " + std::to_string(kMaxDepth));
    if (!obj->state || obj->state->kind != Value::Kind::Dict)
        return;
    for (const auto& [k, v] : obj->state->dict) {
        if (k->kind != Value::Kind::String)
            continue;
        if (v->kind == Value::Kind::Tensor)
            out[prefix + k->s] = v->tensor;
        else if (v->kind == Value::Kind::Object)
            collect(v, prefix + k->s + ".", out, depth + 1, file);
    }
}

} // namespace

std::map<std::string, torch::Tensor> unpickle_module_tensors(std::span<const uint8_t> pickle,
                                                             const RecordReader& records, const std::string& file) {
    Unpickler u(pickle, records, file);
    auto root = u.run();
    if (root->kind != Value::Kind::Object)
        throw EngineError("torchscript: " + file + ": data.pkl does not hold a module object");
    std::map<std::string, torch::Tensor> out;
    collect(root, "", out, 0, file);
    return out;
}

std::map<std::string, torch::Tensor> read_torchscript_tensors(const std::string& path) {
    std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
    try {
        reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
    } catch (const std::exception& e) {
        std::string msg = e.what();
        msg = msg.substr(0, msg.find('\n'));
        throw EngineError("torchscript: " + path + ": not a TorchScript archive (zip): " + msg);
    }
    auto record = [&](const std::string& name) -> std::string {
        try {
            if (!reader->hasRecord(name))
                throw EngineError("torchscript: " + path + ": the archive has no record '" + name + "'");
            auto [ptr, size] = reader->getRecord(name);
            return std::string(static_cast<const char*>(ptr.get()), size);
        } catch (const EngineError&) {
            throw;
        } catch (const std::exception& e) {
            std::string msg = e.what();
            throw EngineError("torchscript: " + path + ": cannot read record '" + name +
                              "': " + msg.substr(0, msg.find('\n')));
        }
    };
    const std::string pkl = record("data.pkl");
    return unpickle_module_tensors({reinterpret_cast<const uint8_t*>(pkl.data()), pkl.size()}, record, path);
}

} // namespace charaforge::engine
