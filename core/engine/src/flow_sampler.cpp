// Ref: NewBie-image-Exp0.1 transport/integrators.py (ode: linspace grid, time_shifting_factor),
//      transport/path.py (ICPlan), torchdiffeq fixed_grid.py (Euler, Midpoint step functions),
//      models/model.py NextDiT_CLIP.forward_with_cfg (guidance, renorm).
#include "flow_sampler.h"

#include "charaforge/engine/error.h"

namespace charaforge::engine {

std::vector<float> shifted_time_grid(int64_t steps, double shift) {
    if (steps < 1)
        throw EngineError("sampler: steps must be at least 1");
    if (!(shift > 0.0))
        throw EngineError("sampler: shift must be positive");
    auto t = torch::linspace(0.0, 1.0, steps + 1, torch::kFloat32); // [steps + 1]
    const float s = static_cast<float>(shift);
    t = t / (t + s - s * t);
    return {t.data_ptr<float>(), t.data_ptr<float>() + t.numel()};
}

int64_t evaluations_per_step(Solver solver) {
    return solver == Solver::Midpoint ? 2 : 1;
}

torch::Tensor integrate_flow(Solver solver, torch::Tensor x, const std::vector<float>& grid, const VelocityFn& velocity,
                             const StepHook& hook, int64_t first_step) {
    const int64_t total = static_cast<int64_t>(grid.size()) - 1;
    for (int64_t k = first_step; k < total; ++k) {
        const float t0 = grid[k], t1 = grid[k + 1];
        const float dt = t1 - t0;
        torch::Tensor dy;
        if (solver == Solver::Euler) {
            dy = dt * velocity(x, t0);
        } else {
            const float half_dt = 0.5f * dt;
            auto f0 = velocity(x, t0);
            auto x_mid = x + f0 * half_dt;
            dy = dt * velocity(x_mid, t0 + half_dt);
        }
        x = x + dy;
        if (hook)
            hook(k + 1, total, x);
    }
    return x;
}

torch::Tensor guide(const torch::Tensor& v_cond, const torch::Tensor& v_uncond, const torch::Tensor& scale,
                    double renorm) {
    std::vector<int64_t> bshape(v_cond.dim(), 1);
    bshape[0] = v_cond.size(0);
    auto w = scale.to(v_cond.options()).view(bshape); // [B, 1, ...]
    auto v = v_uncond + w * (v_cond - v_uncond);
    if (renorm > 0.0) {
        auto dims = std::vector<int64_t>();
        for (int64_t d = 1; d < v.dim(); ++d)
            dims.push_back(d);
        auto max_norm = torch::linalg_vector_norm(v_cond, 2, dims, true) * renorm; // [B, 1, ...]
        auto norm = torch::linalg_vector_norm(v, 2, dims, true);                   // [B, 1, ...]
        v = torch::where(norm >= max_norm, v * (max_norm / norm), v);
    }
    return v;
}

torch::Tensor predict_data(const torch::Tensor& x, const torch::Tensor& v, float t) {
    return x + (1.0f - t) * v;
}

} // namespace charaforge::engine
