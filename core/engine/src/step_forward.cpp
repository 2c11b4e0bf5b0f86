#include "step_forward.h"

#include <torch/version.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <vector>

#if defined(CHARAFORGE_WITH_CUDA) && TORCH_VERSION_MAJOR >= 2
#define CHARAFORGE_CUDA_GRAPHS 1
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace charaforge::engine {

bool cuda_graphs_enabled() {
#ifdef CHARAFORGE_CUDA_GRAPHS
    static const bool on = [] {
        const char* v = std::getenv("CHARAFORGE_CUDA_GRAPHS");
        return !(v && std::strcmp(v, "0") == 0);
    }();
    return on;
#else
    return false;
#endif
}

struct StepForward::Impl {
    explicit Impl(NextDiT m) : model(std::move(m)) {}
    NextDiT model;
    int captures = 0, replays = 0;
#ifdef CHARAFORGE_CUDA_GRAPHS
    bool failed = false;      // a capture failed: eager from now on
    int stage = 0;            // 0: no key, 1: warmed up for `key`, 2: captured for `key`
    std::vector<int64_t> key; // shapes and dtypes of x, t, pooled
    NextDiTCaptions held;     // the captions the graph reads (held, so their memory cannot be reused)
    std::optional<c10::cuda::CUDAStream> stream;
    std::unique_ptr<at::cuda::CUDAGraph> graph;
    torch::Tensor sx, st, spooled, sout; // the graph's static inputs and output

    static std::vector<int64_t> key_of(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& pooled) {
        std::vector<int64_t> k;
        for (const auto* v : {&x, &t, &pooled}) {
            k.push_back(static_cast<int64_t>(v->scalar_type()));
            k.push_back(v->device().index());
            k.push_back(v->dim());
            for (auto s : v->sizes())
                k.push_back(s);
        }
        return k;
    }
    bool same_captions(const NextDiTCaptions& c) const {
        return held.capx.defined() && c.capx.unsafeGetTensorImpl() == held.capx.unsafeGetTensorImpl() &&
               c.cos.unsafeGetTensorImpl() == held.cos.unsafeGetTensorImpl() &&
               c.img_cos.unsafeGetTensorImpl() == held.img_cos.unsafeGetTensorImpl();
    }
    void clear() {
        graph.reset();
        sx = st = spooled = sout = torch::Tensor();
        held = NextDiTCaptions{};
        key.clear();
        stage = 0;
    }
    // `waiter` waits for the work queued so far on `on`.
    static void order(const c10::cuda::CUDAStream& on, const c10::cuda::CUDAStream& waiter) {
        at::cuda::CUDAEvent ev;
        ev.record(on);
        ev.block(waiter);
    }
#endif
};

StepForward::StepForward(NextDiT model) : impl_(std::make_unique<Impl>(std::move(model))) {}
StepForward::~StepForward() = default;

int StepForward::captures() const {
    return impl_->captures;
}
int StepForward::replays() const {
    return impl_->replays;
}

void StepForward::reset() {
#ifdef CHARAFORGE_CUDA_GRAPHS
    impl_->clear();
#endif
}

torch::Tensor StepForward::operator()(const torch::Tensor& x, const torch::Tensor& t, NextDiTCaptions& caps,
                                      const torch::Tensor& pooled) {
    auto& m = *impl_;
#ifdef CHARAFORGE_CUDA_GRAPHS
    if (!cuda_graphs_enabled() || m.failed || !x.is_cuda())
        return m.model->forward(x, t, caps, pooled);
    const int64_t p = m.model->config().patch_size;
    if (x.dim() != 4 || x.size(2) % p != 0 || x.size(3) % p != 0)
        return m.model->forward(x, t, caps, pooled); // forward reports the problem
    // The rotary tables first, so that neither the warm-up nor the capture makes them.
    m.model->prepare_grid(caps, x.size(2) / p, x.size(3) / p);
    const auto key = Impl::key_of(x, t, pooled);
    if (m.stage == 0 || key != m.key || !m.same_captions(caps)) {
        m.clear();
        m.key = key;
        m.held = caps;
    }
    const c10::cuda::CUDAGuard device_guard(x.device());
    const auto current = c10::cuda::getCurrentCUDAStream(x.device().index());
    if (!m.stream || m.stream->device() != x.device())
        m.stream = c10::cuda::getStreamFromPool(false, x.device().index());
    if (m.stage == 0) {
        // Warm-up on the capture stream; its result is this step's.
        Impl::order(current, *m.stream);
        torch::Tensor out;
        {
            const c10::cuda::CUDAStreamGuard g(*m.stream);
            out = m.model->forward(x, t, caps, pooled);
        }
        Impl::order(*m.stream, current);
        out.record_stream(current); // made on the side stream, used on the caller's
        m.stage = 1;
        return out;
    }
    if (m.stage == 1) {
        m.sx = x.clone();
        m.st = t.clone();
        m.spooled = pooled.clone();
        m.graph = std::make_unique<at::cuda::CUDAGraph>();
        Impl::order(current, *m.stream);
        // The warm-up's blocks, cached for the side stream, would stay reserved beside the graph's own pool.
        c10::cuda::CUDACachingAllocator::emptyCache();
        bool ok = false;
        {
            const c10::cuda::CUDAStreamGuard g(*m.stream);
            try {
                // Thread-local capture: other threads (the memory monitor, a second worker) may use CUDA meanwhile.
                m.graph->capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
                try {
                    m.sout = m.model->forward(m.sx, m.st, m.held, m.spooled);
                } catch (...) {
                    try {
                        m.graph->capture_end();
                    } catch (...) {
                    }
                    throw;
                }
                m.graph->capture_end();
                ok = true;
            } catch (const std::exception& e) {
                std::cerr << "charaforge: CUDA graph capture failed, running the transformer eagerly: "
                          << std::string(e.what()).substr(0, std::string(e.what()).find('\n')) << "\n";
            }
        }
        Impl::order(*m.stream, current);
        if (!ok) {
            m.clear();
            m.failed = true;
            return m.model->forward(x, t, caps, pooled);
        }
        ++m.captures;
        m.stage = 2;
    } else {
        m.sx.copy_(x);
        m.st.copy_(t);
        m.spooled.copy_(pooled);
    }
    m.graph->replay(); // on the caller's stream
    ++m.replays;
    return m.sout.clone();
#else
    return m.model->forward(x, t, caps, pooled);
#endif
}

} // namespace charaforge::engine
