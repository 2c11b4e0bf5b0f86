#!/usr/bin/env python3
"""DPM-Solver++ 2M parity: the official sampler (transport/dpm_solver.py, DPM_Solver.sample with the arguments
of the official sample.py `--solver dpm`) against ours (charaforge_dpm_trajectory, built with the tests), on the
same toy model function, in fp64.

usage: python3 tools/parity/dpm_parity.py REF_DIR TOOL [--steps 1,2,3,8,18,28] [--shift 1,3,6] [--n 64] [--seed 0]
  REF_DIR  folder holding the official repo's transport/dpm_solver.py (fetched into an ignored folder such as
           .ref/newbie, never committed); only that file is imported
  TOOL     our trajectory program, e.g. build-gpu/tests/charaforge_dpm_trajectory
Needs python3 with torch (and numpy through torch); tqdm is stubbed when missing. Runs on the CPU.

For every (steps, shift) it prints the max abs and max rel error (max|a-b| / max|b|) of the state after each
step, the worst step and the final state, for two runs of the reference:
  official  the reference as sample.py runs it: its own time grid and coefficients in fp32 (the state fp64);
            ours takes its grid in fp32 as well but its coefficients in fp64, so the two agree to fp32 rounding
  formulas  the reference's update formulas on our grid in fp64 (get_time_steps replaced): agreement to fp64
            rounding checks every step formula (first-order start, multistep second order, last step)
and the largest difference between the Lumina times at which the two call the model, on the official grid.
Exit status 1 when a run exceeds its tolerance (official: rel 1e-4 and times 1e-6; formulas: rel 1e-10).

The toy model (the same in dpm_trajectory.cpp): the exact flow velocity from N(0, 1) noise to N(MU, SD^2) data
on x_t = t x_data + (1 - t) noise, v = MU + (t SD^2 - (1 - t)) (x - t MU) / (t^2 SD^2 + (1 - t)^2), plus
WOBBLE sin(3 x) (1 - t).
"""
import argparse, importlib.util, json, os, subprocess, sys, types

import torch

MU, SD, WOBBLE = 0.5, 1.5, 0.3


def toy_velocity(x, t):
    t = t.to(torch.float64)
    var = t * t * SD * SD + (1 - t) * (1 - t)
    return MU + (t * SD * SD - (1 - t)) * (x - t * MU) / var + WOBBLE * torch.sin(3 * x) * (1 - t)


def load_reference(ref_dir):
    path = os.path.join(ref_dir, "transport", "dpm_solver.py")
    if not os.path.isfile(path):
        sys.exit(f"dpm_parity: {path}: no such file (REF_DIR must hold the official repo's transport/)")
    try:
        import tqdm  # noqa: F401
    except ImportError:  # the reference imports it for a progress bar only
        sys.modules["tqdm"] = types.SimpleNamespace(tqdm=lambda it, **kw: it)
    spec = importlib.util.spec_from_file_location("ref_dpm_solver", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def run_reference(ref, x0, steps, shift, grid=None):
    """The reference's trajectory: states after every step, and the Lumina times of the model calls.
    `grid` (Lumina times, fp64) replaces the reference's own time grid when given."""
    ns = ref.NoiseScheduleFlow(schedule="discrete_flow")
    calls = []

    def model(x, t):  # the transformer's place: velocity at Lumina time t
        calls.append(t[0].item())
        return toy_velocity(x, t)

    def noise_pred_fn(x, t_continuous):  # transport/transport.py Sampler.sample_dpm
        output = model(x, 1 - t_continuous)
        sigma_t = ns.marginal_std(t_continuous)
        return x - (1 - ref.expand_dims(sigma_t, x.dim()).to(x)) * output

    solver = ref.DPM_Solver(noise_pred_fn, ns, algorithm_type="dpmsolver++")
    if grid is not None:
        dpm_times = 1 - torch.tensor(grid, dtype=torch.float64)
        solver.get_time_steps = lambda **kw: dpm_times.clone()
    os.environ.setdefault("DPM_TQDM", "True")
    _, inter = solver.sample(x0.clone(), steps=steps, order=2, skip_type="time_uniform_flow", method="multistep",
                             flow_shift=shift, return_intermediate=True)
    return torch.stack(inter[1:]), calls  # inter[0] is the initial state


def run_ours(tool, x0, steps, shift):
    args = [tool, str(steps), repr(float(shift))] + [repr(v) for v in x0.tolist()]
    p = subprocess.run(args, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"dpm_parity: {tool} failed ({p.returncode}): {p.stderr.strip()}")
    out = json.loads(p.stdout)
    return torch.tensor(out["states"], dtype=torch.float64), out["calls"], out["grid"]


def errors(ours, ref):
    per_step = [((a - b).abs().max().item(), (a - b).abs().max().item() / max(b.abs().max().item(), 1e-300))
                for a, b in zip(ours, ref)]
    worst = max(range(len(per_step)), key=lambda k: per_step[k][1])
    return per_step, worst


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("ref_dir")
    ap.add_argument("tool")
    ap.add_argument("--steps", default="1,2,3,8,18,28")
    ap.add_argument("--shift", default="1,3,6")
    ap.add_argument("--n", type=int, default=64, help="number of scalar states (one batch)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--verbose", action="store_true", help="print every step's errors")
    args = ap.parse_args()
    ref = load_reference(args.ref_dir)
    gen = torch.Generator().manual_seed(args.seed)
    x0 = torch.randn(args.n, generator=gen, dtype=torch.float64)
    failed = False
    print(f"reference: {os.path.join(args.ref_dir, 'transport', 'dpm_solver.py')}; torch {torch.__version__}; "
          f"{args.n} states, toy model MU={MU} SD={SD} WOBBLE={WOBBLE}")
    for steps in [int(s) for s in args.steps.split(",")]:
        for shift in [float(s) for s in args.shift.split(",")]:
            ours, our_calls, grid = run_ours(args.tool, x0, steps, shift)
            if len(ours) != steps or len(our_calls) != steps:
                print(f"steps {steps} shift {shift}: ours made {len(ours)} steps, {len(our_calls)} model calls")
                failed = True
                continue
            if steps < 2:  # DPM_Solver.sample asserts steps >= order
                print(f"steps {steps:3d} shift {shift:g}: the reference refuses fewer steps than its order 2 "
                      f"(ours takes one first-order step, to the data prediction)")
                continue
            runs = []
            ref_states, ref_calls = run_reference(ref, x0, steps, shift)
            dt = max(abs(a - b) for a, b in zip(our_calls, ref_calls)) if len(ref_calls) == steps else float("inf")
            runs.append(("official", ref_states, 1e-4, dt, len(ref_calls)))
            ref_states, ref_calls = run_reference(ref, x0, steps, shift, grid=grid)
            runs.append(("formulas", ref_states, 1e-10, None, len(ref_calls)))
            for name, ref_states, tol, dt, ncalls in runs:
                per_step, worst = errors(ours, ref_states)
                final_abs, final_rel = per_step[-1]
                ok = per_step[worst][1] <= tol and ncalls == steps and (dt is None or dt <= 1e-6)
                failed |= not ok
                line = (f"steps {steps:3d} shift {shift:g} {name:8s}: final max abs {final_abs:.3e} rel "
                        f"{final_rel:.3e}; worst step {worst + 1} rel {per_step[worst][1]:.3e}; model calls {ncalls}")
                if dt is not None:
                    line += f", max |t_ours - t_ref| {dt:.3e}"
                print(line + ("" if ok else "  FAIL"))
                if args.verbose:
                    for k, (a, r) in enumerate(per_step):
                        print(f"    step {k + 1}: max abs {a:.3e} rel {r:.3e}")
    print("FAIL" if failed else "OK")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
