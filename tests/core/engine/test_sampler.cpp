#include "charaforge/engine/error.h"
#include "flow_sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>

using namespace charaforge::engine;

TEST(Sampler, ShiftedGridMatchesTheReferenceFormula) {
    // t_k = k/4, t' = t / (t + 6 - 6 t) (transport/integrators.py)
    auto g = shifted_time_grid(4, 6.0);
    ASSERT_EQ(g.size(), 5u);
    const double expected[] = {0.0, 0.25 / 4.75, 0.5 / 3.5, 0.75 / 2.25, 1.0};
    for (int k = 0; k < 5; ++k)
        EXPECT_NEAR(g[k], expected[k], 1e-7) << k;
    auto unshifted = shifted_time_grid(4, 1.0);
    EXPECT_NEAR(unshifted[1], 0.25, 1e-7);
    EXPECT_THROW(shifted_time_grid(0, 6.0), EngineError);
}

TEST(Sampler, EulerAndMidpointMatchTheirClosedFormsOnALinearOde) {
    // dx/dt = a x: Euler multiplies by (1 + a dt), midpoint by (1 + a dt + (a dt)^2 / 2) per step.
    const double a = -1.3;
    auto grid = shifted_time_grid(5, 3.0);
    int evals = 0;
    VelocityFn f = [&](const torch::Tensor& x, float) {
        ++evals;
        return x * a;
    };
    auto x0 = torch::full({1, 2}, 2.0, torch::kFloat64);
    auto xe = integrate_flow(Solver::Euler, x0, grid, f);
    EXPECT_EQ(evals, 5);
    evals = 0;
    auto xm = integrate_flow(Solver::Midpoint, x0, grid, f);
    EXPECT_EQ(evals, 10);
    double pe = 2.0, pm = 2.0;
    for (std::size_t k = 0; k + 1 < grid.size(); ++k) {
        const double h = static_cast<double>(grid[k + 1] - grid[k]);
        pe *= 1 + a * h;
        pm *= 1 + a * h + (a * h) * (a * h) / 2;
    }
    EXPECT_NEAR(xe[0][0].item<double>(), pe, 1e-6);
    EXPECT_NEAR(xm[0][0].item<double>(), pm, 1e-6);
    EXPECT_EQ(evaluations_per_step(Solver::Midpoint), 2);
}

TEST(Sampler, MidpointEvaluatesAtHalfSteps) {
    auto grid = shifted_time_grid(2, 6.0);
    std::vector<float> ts;
    integrate_flow(Solver::Midpoint, torch::zeros({1}), grid, [&](const torch::Tensor& x, float t) {
        ts.push_back(t);
        return torch::zeros_like(x);
    });
    ASSERT_EQ(ts.size(), 4u);
    EXPECT_FLOAT_EQ(ts[0], grid[0]);
    EXPECT_FLOAT_EQ(ts[1], grid[0] + 0.5f * (grid[1] - grid[0]));
    EXPECT_FLOAT_EQ(ts[2], grid[1]);
    EXPECT_FLOAT_EQ(ts[3], grid[1] + 0.5f * (grid[2] - grid[1]));
}

TEST(Sampler, ResumingFromAStepGivesTheSameResult) {
    auto grid = shifted_time_grid(6, 6.0);
    VelocityFn f = [](const torch::Tensor& x, float t) { return torch::sin(x) * (1.0f - t); };
    auto x0 = torch::linspace(-1, 1, 8, torch::kFloat32);
    torch::Tensor at3;
    auto full = integrate_flow(Solver::Euler, x0, grid, f, [&](int64_t step, int64_t, const torch::Tensor& x) {
        if (step == 3)
            at3 = x.clone();
    });
    auto resumed = integrate_flow(Solver::Euler, at3, grid, f, {}, 3);
    EXPECT_TRUE(torch::equal(full, resumed));
}

TEST(Sampler, GuidanceAndRenormFollowTheReference) {
    auto vc = torch::tensor({{3.0f, 4.0f}, {1.0f, 0.0f}}); // norms 5 and 1
    auto vu = torch::tensor({{0.0f, 0.0f}, {1.0f, 0.0f}});
    auto scale = torch::tensor({2.0f, 3.0f});
    auto v = guide(vc, vu, scale, 0.0);
    EXPECT_TRUE(torch::allclose(v, torch::tensor({{6.0f, 8.0f}, {1.0f, 0.0f}})));
    // renorm 1: the first sample's norm 10 >= 1 * 5 is scaled back to 5; the second (norm 1 >= 1) stays 1.
    auto r = guide(vc, vu, scale, 1.0);
    EXPECT_TRUE(torch::allclose(r, torch::tensor({{3.0f, 4.0f}, {1.0f, 0.0f}})));
    auto r2 = guide(vc, vu, scale, 3.0); // cap 15 > 10: unchanged
    EXPECT_TRUE(torch::allclose(r2, v));
}

TEST(Sampler, TheDenoisedEstimateRecoversTheDataOnAStraightPath) {
    // x_t = t x1 + (1 - t) x0 with the exact velocity x1 - x0: every t points at x1.
    torch::manual_seed(3);
    auto x0 = torch::randn({2, 4}), x1 = torch::randn({2, 4});
    for (float t : {0.0f, 0.3f, 0.9f}) {
        auto xt = t * x1 + (1.0f - t) * x0;
        EXPECT_TRUE(torch::allclose(predict_data(xt, x1 - x0, t), x1, 1e-5, 1e-6)) << t;
    }
    EXPECT_FALSE(torch::allclose(predict_data(0.5f * x1 + 0.5f * x0, x1 - x0, 0.2f), x1, 1e-3, 1e-3));
}

TEST(Sampler, DpmGridMatchesTheReferenceFormula) {
    // get_time_steps("time_uniform_flow", t_T = 1, t_0 = 1/1000): s_k = 1 - linspace(1, 1e-3, N + 1)_k,
    // s' = shift s / (1 + (shift - 1) s), flipped; Lumina t = 1 - s'.
    const int n = 4;
    const double shift = 6.0;
    auto g = dpm_time_grid(n, shift);
    ASSERT_EQ(g.size(), static_cast<std::size_t>(n + 1));
    for (int k = 0; k <= n; ++k) {
        const double s = 0.999 * (n - k) / n;
        const double expected = 1.0 - shift * s / (1.0 + (shift - 1.0) * s);
        EXPECT_NEAR(g[k], expected, 1e-6) << k;
    }
    EXPECT_GT(g[0], 0.0f); // starts just after pure noise
    EXPECT_EQ(g[n], 1.0f);
    EXPECT_EQ(time_grid(Solver::DpmMultistep, n, shift), g);
    EXPECT_EQ(time_grid(Solver::Euler, n, shift), shifted_time_grid(n, shift));
    EXPECT_THROW(dpm_time_grid(0, 6.0), EngineError);
    EXPECT_EQ(evaluations_per_step(Solver::DpmMultistep), 1);
}

namespace {
// DPM_Solver.sample(method="multistep", order=2, lower_order_final=True, algorithm_type="dpmsolver++") of
// transport/dpm_solver.py, transcribed for one scalar state in double, in the reference's own terms: DPM time
// s (alpha = 1 - s, sigma = s), the model called at Lumina time 1 - s, noise = x - (1 - sigma) v
// (Sampler.sample_dpm), data prediction x0 = (x - sigma noise) / alpha.
double reference_dpm(double x, const std::vector<double>& ts, const std::function<double(double, double)>& model) {
    auto lambda = [](double s) { return std::log(1 - s) - std::log(s); };
    auto model_fn = [&](double xs, double s) {
        const double noise = xs - (1 - s) * model(xs, 1 - s);
        return (xs - s * noise) / (1 - s);
    };
    auto first_update = [&](double xs, double s, double t, double m) {
        const double h = lambda(t) - lambda(s);
        return t / s * xs - (1 - t) * std::expm1(-h) * m;
    };
    const int steps = static_cast<int>(ts.size()) - 1, order = 2;
    std::vector<double> t_prev{ts[0]}, m_prev{model_fn(x, ts[0])};
    for (int step = 1; step < order; ++step) {
        x = first_update(x, t_prev.back(), ts[step], m_prev.back());
        t_prev.push_back(ts[step]);
        m_prev.push_back(model_fn(x, ts[step]));
    }
    for (int step = order; step <= steps; ++step) {
        const double t = ts[step];
        const int step_order = std::min(order, steps + 1 - step);
        if (step_order == 1) {
            x = first_update(x, t_prev.back(), t, m_prev.back());
        } else { // multistep_dpm_solver_second_update, solver_type "dpmsolver"
            const double h0 = lambda(t_prev[1]) - lambda(t_prev[0]), h = lambda(t) - lambda(t_prev[1]);
            const double r0 = h0 / h, phi = std::expm1(-h), alpha_t = 1 - t;
            const double d1 = (1.0 / r0) * (m_prev[1] - m_prev[0]);
            x = (t / t_prev[1]) * x - (alpha_t * phi) * m_prev[1] - 0.5 * (alpha_t * phi) * d1;
        }
        t_prev[0] = t_prev[1];
        m_prev[0] = m_prev[1];
        t_prev[1] = t;
        if (step < steps)
            m_prev[1] = model_fn(x, t);
    }
    return x;
}
} // namespace

TEST(Sampler, DpmMultistepFollowsTheReferenceFormulas) {
    // A nonlinear velocity field, so that the second-order correction matters.
    auto field = [](double x, double t) { return std::sin(3 * x) * (1 - t) - 0.7 * x + 0.2 * t; };
    for (int steps : {1, 2, 3, 8}) {
        auto grid = dpm_time_grid(steps, 3.0);
        std::vector<double> ts; // the reference's DPM times
        for (auto t : grid)
            ts.push_back(1.0 - static_cast<double>(t));
        int evals = 0;
        VelocityFn f = [&](const torch::Tensor& x, float t) {
            ++evals;
            return torch::sin(3 * x) * (1 - static_cast<double>(t)) - 0.7 * x + 0.2 * static_cast<double>(t);
        };
        auto x0 = torch::tensor({0.9, -1.4, 0.1}, torch::kFloat64);
        auto got = integrate_flow(Solver::DpmMultistep, x0, grid, f);
        EXPECT_EQ(evals, steps);
        for (int i = 0; i < 3; ++i) {
            const double expected = reference_dpm(x0[i].item<double>(), ts, field);
            EXPECT_NEAR(got[i].item<double>(), expected, 1e-9 * (1 + std::abs(expected))) << steps << " " << i;
        }
    }
}

TEST(Sampler, DpmMultistepIsExactOnAStraightPath) {
    // x_t = t x_data + (1 - t) noise has v = (x_data - x) / (1 - t): a constant data prediction, which the
    // solver integrates exactly whatever the step count.
    auto data = torch::tensor({0.5, -2.0, 1.25}, torch::kFloat64);
    VelocityFn f = [&](const torch::Tensor& x, float t) { return (data - x) / (1.0 - static_cast<double>(t)); };
    auto noise = torch::tensor({1.0, 0.3, -0.8}, torch::kFloat64);
    for (int steps : {2, 5, 28}) {
        auto grid = dpm_time_grid(steps, 6.0);
        auto x = noise * (1 - static_cast<double>(grid[0])) + data * static_cast<double>(grid[0]);
        auto out = integrate_flow(Solver::DpmMultistep, x, grid, f);
        EXPECT_LT((out - data).abs().max().item<double>(), 1e-9) << steps;
    }
}
