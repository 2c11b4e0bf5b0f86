// Ref: NewBie-image-Exp0.1 transport/integrators.py (ode: linspace grid, time_shifting_factor),
//      transport/path.py (ICPlan), torchdiffeq fixed_grid.py (Euler, Midpoint step functions),
//      models/model.py NextDiT_CLIP.forward_with_cfg (guidance, renorm), transport/dpm_solver.py (DPM_Solver
//      .sample multistep, multistep_dpm_solver_second_update, dpm_solver_first_update, NoiseScheduleFlow,
//      get_time_steps "time_uniform_flow"), transport/transport.py Sampler.sample_dpm.
#include "flow_sampler.h"

#include "charaforge/engine/error.h"

#include <cmath>

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

std::vector<float> dpm_time_grid(int64_t steps, double shift) {
    if (steps < 1)
        throw EngineError("sampler: steps must be at least 1");
    if (!(shift > 0.0))
        throw EngineError("sampler: shift must be positive");
    constexpr double kTEnd = 1.0 / 1000; // NoiseScheduleFlow: total_N = 1000, t_0 = 1 / total_N
    auto betas = torch::linspace(1.0, kTEnd, steps + 1, torch::kFloat32); // [steps + 1]
    auto s = 1.0f - betas;
    const float sh = static_cast<float>(shift);
    s = (sh * s / (1 + (sh - 1) * s)).flip({0}); // DPM times, from ~1 (noise) down to 0 (data)
    auto t = 1.0f - s;                           // Lumina time
    return {t.data_ptr<float>(), t.data_ptr<float>() + t.numel()};
}

std::vector<float> time_grid(Solver solver, int64_t steps, double shift) {
    return solver == Solver::DpmMultistep ? dpm_time_grid(steps, shift) : shifted_time_grid(steps, shift);
}

namespace {

// DPM-Solver++ (data prediction) on the flow path x = t x_data + (1 - t) noise, in the reference's DPM time
// s = 1 - t: alpha_s = 1 - s, sigma_s = s, lambda_s = log(alpha_s) - log(sigma_s) (+inf at the data end).
torch::Tensor integrate_dpm(torch::Tensor x, const std::vector<float>& grid, const VelocityFn& velocity,
                            const StepHook& hook, int64_t first_step) {
    const int64_t total = static_cast<int64_t>(grid.size()) - 1;
    auto sigma = [&](int64_t k) { return 1.0 - static_cast<double>(grid[k]); };
    auto lambda = [&](int64_t k) { return std::log(1.0 - sigma(k)) - std::log(sigma(k)); };
    // Data prediction x0 = (x - sigma noise) / alpha with noise = x - (1 - sigma) v (Sampler.sample_dpm).
    auto data = [&](const torch::Tensor& xk, int64_t k) { return predict_data(xk, velocity(xk, grid[k]), grid[k]); };
    torch::Tensor m_prev, m_cur; // data predictions at grid[k - 1] and grid[k]
    for (int64_t k = first_step; k < total; ++k) {
        m_cur = data(x, k);
        const double h = lambda(k + 1) - lambda(k);
        const double phi = std::expm1(-h); // -1 at the data end (h = +inf)
        const double alpha_t = 1.0 - sigma(k + 1);
        const double ratio = sigma(k + 1) / sigma(k); // sigma_t / sigma_s
        // Order 2 where a previous prediction exists, except at the last step (lower_order_final).
        const bool second = m_prev.defined() && k + 1 < total;
        if (second) {
            const double r0 = (lambda(k) - lambda(k - 1)) / h;
            auto d1 = (m_cur - m_prev) * (1.0 / r0);
            x = ratio * x - (alpha_t * phi) * m_cur - (0.5 * alpha_t * phi) * d1;
        } else {
            x = ratio * x - (alpha_t * phi) * m_cur;
        }
        m_prev = m_cur;
        if (hook)
            hook(k + 1, total, x);
    }
    return x;
}

} // namespace

int64_t evaluations_per_step(Solver solver) {
    return solver == Solver::Midpoint ? 2 : 1;
}

torch::Tensor integrate_flow(Solver solver, torch::Tensor x, const std::vector<float>& grid, const VelocityFn& velocity,
                             const StepHook& hook, int64_t first_step) {
    if (solver == Solver::DpmMultistep)
        return integrate_dpm(std::move(x), grid, velocity, hook, first_step);
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
