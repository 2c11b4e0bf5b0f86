// Ref: NewBie-image-Exp0.1 transport/dpm_solver.py (DPM_Solver.sample, method "multistep", order 2) — the
// other side of tools/parity/dpm_parity.py, which runs the reference's sampler on the same toy model.
//
// charaforge_dpm_trajectory STEPS SHIFT X0...
// Integrates the toy velocity field below with our DPM-Solver++ 2M (integrate_flow, Solver::DpmMultistep) in
// fp64 from the states X0 at the first time of dpm_time_grid(STEPS, SHIFT) and prints one JSON object:
//   {"grid": [Lumina t_k], "calls": [Lumina t of each model call], "states": [[x after step 1], ...]}
// The toy field (dpm_parity.py has the same): the exact flow from N(0, 1) noise to N(kMu, kSd^2) data,
//   v(x, t) = kMu + (t kSd^2 - (1 - t)) (x - t kMu) / (t^2 kSd^2 + (1 - t)^2),
// plus kWobble sin(3 x) (1 - t), so that the data prediction is not linear in x.
#include "flow_sampler.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

namespace {

constexpr double kMu = 0.5, kSd = 1.5, kWobble = 0.3;

torch::Tensor toy_velocity(const torch::Tensor& x, double t) {
    const double var = t * t * kSd * kSd + (1 - t) * (1 - t);
    return kMu + (t * kSd * kSd - (1 - t)) * (x - t * kMu) / var + kWobble * torch::sin(3 * x) * (1 - t);
}

double number(const std::string& text, const char* what) {
    double v = 0;
    const auto* end = text.data() + text.size();
    const auto [p, ec] = std::from_chars(text.data(), end, v);
    if (ec != std::errc() || p != end || !std::isfinite(v))
        throw std::invalid_argument(std::string(what) + ": '" + text + "' is not a finite number");
    return v;
}

} // namespace

int main(int argc, char** argv) {
    using namespace charaforge::engine;
    try {
        if (argc < 4)
            throw std::invalid_argument("usage: charaforge_dpm_trajectory STEPS SHIFT X0...");
        const double steps = number(argv[1], "STEPS");
        if (steps != std::floor(steps) || steps < 1 || steps > 1000)
            throw std::invalid_argument(std::string("STEPS: '") + argv[1] + "' is not an integer in [1, 1000]");
        const double shift = number(argv[2], "SHIFT");
        std::vector<double> x0;
        for (int i = 3; i < argc; ++i)
            x0.push_back(number(argv[i], "X0"));

        const auto grid = dpm_time_grid(static_cast<int64_t>(steps), shift);
        nlohmann::json out{{"grid", std::vector<double>(grid.begin(), grid.end())}};
        std::vector<double> calls;
        std::vector<std::vector<double>> states;
        integrate_flow(
            Solver::DpmMultistep, torch::tensor(x0, torch::kFloat64), grid,
            [&](const torch::Tensor& x, float t) {
                calls.push_back(t);
                return toy_velocity(x, t);
            },
            [&](int64_t, int64_t, const torch::Tensor& x) {
                states.emplace_back(x.data_ptr<double>(), x.data_ptr<double>() + x.numel());
            });
        out["calls"] = calls;
        out["states"] = states;
        std::cout << out.dump() << "\n";
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "charaforge_dpm_trajectory: " << e.what() << "\n";
        return 2;
    }
}
