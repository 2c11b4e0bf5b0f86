#pragma once
// Flow-matching ODE sampler of NewBie/Lumina: t = 0 (noise) -> t = 1 (data), shifted fixed grid,
// Euler or midpoint steps (torchdiffeq fixed-grid semantics) or DPM-Solver++ multistep, classifier-free
// guidance.
#include <torch/torch.h>

#include <functional>
#include <vector>

namespace charaforge::engine {

// DpmMultistep: DPM-Solver++ of order 2, multistep, lower order at the last step (the official
// `--solver dpm`: transport/dpm_solver.py with skip_type "time_uniform_flow", method "multistep").
enum class Solver { Euler, Midpoint, DpmMultistep };

// steps + 1 grid points t_k = k/steps shifted by t' = t / (t + s - s t), in fp32 like the reference.
std::vector<float> shifted_time_grid(int64_t steps, double shift);

// The DPM-Solver grid of the official sampler in Lumina time: DPM times s_k = linspace(0, 1 - 1/1000,
// steps + 1) shifted by s' = shift s / (1 + (shift - 1) s), reversed, t_k = 1 - s'_k (fp32 like the reference):
// it starts just after pure noise and ends at t = 1.
std::vector<float> dpm_time_grid(int64_t steps, double shift);

// The grid `solver` integrates on: dpm_time_grid for DpmMultistep, shifted_time_grid otherwise.
std::vector<float> time_grid(Solver solver, int64_t steps, double shift);

// Model evaluations per integration step.
int64_t evaluations_per_step(Solver solver);

// Velocity of the whole state at Lumina time t: x [B, ...] fp32 -> [B, ...] fp32.
using VelocityFn = std::function<torch::Tensor(const torch::Tensor& x, float t)>;
// Called after each step with the step index (1-based), the step count and the new state.
using StepHook = std::function<void(int64_t step, int64_t total, const torch::Tensor& x)>;

// Integrates from grid[first_step] to grid.back(); `x` is the state at grid[first_step] (fp32).
// DpmMultistep keeps the previous step's data prediction; a run resumed at first_step > 0 has none and starts
// again with one first-order step (so it differs slightly from an uninterrupted run).
torch::Tensor integrate_flow(Solver solver, torch::Tensor x, const std::vector<float>& grid, const VelocityFn& velocity,
                             const StepHook& hook = {}, int64_t first_step = 0);

// Classifier-free guidance per sample: v = v_u + w (v_c - v_u); with renorm > 0 the guided norm is
// capped at renorm * ||v_c|| (norms over all non-batch dims of each sample).
//   v_cond, v_uncond [B, ...] fp32; scale [B] fp32 -> [B, ...]
torch::Tensor guide(const torch::Tensor& v_cond, const torch::Tensor& v_uncond, const torch::Tensor& scale,
                    double renorm);

// Denoised estimate of the path x_t = t x_data + (1 - t) noise from a velocity v = x_data - noise:
// x_data = x_t + (1 - t) v (spec newbie-model.md §5.1). x, v [B, ...] fp32 -> [B, ...].
torch::Tensor predict_data(const torch::Tensor& x, const torch::Tensor& v, float t);

} // namespace charaforge::engine
