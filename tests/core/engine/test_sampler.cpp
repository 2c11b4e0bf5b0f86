#include "charaforge/engine/error.h"
#include "flow_sampler.h"

#include <gtest/gtest.h>

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
