#!/usr/bin/env bash
# On the GPU machine: our charaforge-bench and the official reference (tools/gpu/ref_bench.py) in the same run
# on the same GPU, then the ratios. Usage:
#   tools/gpu/bench_compare.sh OUT_DIR [BUILD_DIR] [-- extra charaforge-bench options]
# Needs a built BUILD_DIR (default build-gpu, configured with -DCHARAFORGE_BUILD_BENCH=ON as tools/gpu/speed_run.sh does) and the reference in .ref/newbie
# (the official repo's models/) with the flash_attn shim in .ref/shim. REF_COMPILE=0 skips torch.compile.
# Writes OUT_DIR/{ours.json, ref.json, compare.txt}; the logs go to stdout.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=$1
B=${2:-build-gpu}
shift $(($# >= 2 ? 2 : 1))
[ "${1:-}" = "--" ] && shift
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv,noheader
echo "=== ours: $B/tools/bench/charaforge-bench $*"
"$B/tools/bench/charaforge-bench" --out "$OUT/ours.json" "$@" 2>&1
COMPILE=()
[ "${REF_COMPILE:-1}" = 1 ] && COMPILE=(--compile)
echo "=== reference: tools/gpu/ref_bench.py ${COMPILE[*]}"
python3 tools/gpu/ref_bench.py .ref/newbie .ref/shim "$OUT/ref.json" "${COMPILE[@]}" 2>&1 | grep -v -i warn
python3 - "$OUT/ours.json" "$OUT/ref.json" <<'PY' | tee "$OUT/compare.txt"
import json, sys
ours, ref = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
print(f"GPU: {ours['device']} | reference on {ref['device']} (torch {ref['torch']})")
key = lambda r: (r["kind"], r["batch"], r["size"], tuple(r["caption_lengths"]))
refs = {}
for r in ref["cases"]:
    refs.setdefault(key(r), {})[r["mode"]] = r
print(f"{'case':34} {'ours ms':>9} {'per img-step':>12} {'ref eager':>10} {'ref compile':>11} {'x eager':>8} {'x compile':>9}")
for r in ours["transformer"]:
    k = key(r); rr = refs.get(k, {})
    e, c = rr.get("eager"), rr.get("compile")
    lens = r["caption_lengths"]
    name = f"{r['kind']} B{r['batch']} {r['size']}^2 cap {lens[0]}" + (f"/{lens[-1]}" if lens[0] != lens[-1] else "")
    fmt = lambda x: f"{x['ms_per_forward']:10.1f}" if x else f"{'-':>10}"
    ratio = lambda x: f"{x['ms_per_forward'] / r['ms_per_forward']:8.2f}" if x else f"{'-':>8}"
    print(f"{name:34} {r['ms_per_forward']:9.1f} {r['ms_per_image_step']:12.1f} {fmt(e)} {fmt(c):>11} {ratio(e)} {ratio(c):>9}")
print()
print("The step forward as the sampler runs it (captions encoded once per batch; graph = CUDA graph replay):")
print(f"{'case':34} {'eager ms':>9} {'graph ms':>9} {'per img-step':>12} {'x ref eager':>11} {'x ref compile':>13}")
for r in ours["transformer"]:
    if "ms_per_step_forward" not in r:
        continue
    k = key(r); rr = refs.get(k, {})
    e, c = rr.get("eager"), rr.get("compile")
    lens = r["caption_lengths"]
    name = f"{r['kind']} B{r['batch']} {r['size']}^2 cap {lens[0]}" + (f"/{lens[-1]}" if lens[0] != lens[-1] else "")
    ratio = lambda x: f"{x['ms_per_forward'] / r['ms_per_step_forward']:.2f}" if x else "-"
    print(f"{name:34} {r['ms_per_step_forward_eager']:9.1f} {r['ms_per_step_forward']:9.1f} {r['ms_per_image_step_in_sampler']:12.1f} {ratio(e):>11} {ratio(c):>13}")
if "fp8" in ours:
    f8 = ours["fp8"]
    for name, e in f8.get("error_vs_fp32", {}).items():
        print(f"precision {name:9} vs fp32 (B2, same bf16 weights): max-abs rel {e['rel']:.3e}, rms rel {e['rms_rel']:.3e}")
    for c in f8.get("cases", []):
        rr = refs.get(("uniform", c["batch"], c["size"], tuple([256] * c["batch"])), {})
        e, cc = rr.get("eager"), rr.get("compile")
        ratio = lambda x: f"{x['ms_per_forward'] / c['ms_per_step_forward']:.2f}" if x else "-"
        print(f"{c['mode']:9} B{c['batch']} {c['size']}^2 cap 256: forward {c['ms_per_forward']:.1f} ms, step forward {c['ms_per_step_forward']:.1f} ms ({c['ms_per_image_step_in_sampler']:.1f} ms/image-step), x ref eager {ratio(e)}, x ref compile {ratio(cc)}")
if "vae_bf16_vs_fp32" in ours:
    q = ours["vae_bf16_vs_fp32"]
    print(f"vae bf16 vs fp32 decode {q['size']}^2 ({q['weights']} weights): max {q['max_levels']:.0f} levels, mean {q['mean_levels']:.4f}, {100 * q['fraction_over_1_level']:.4f}% off by > 1")
for v in ours.get("vae", []):
    print(f"vae {v['dtype']} {v['size']}^2: decode {v['decode_ms']:.1f} ms, encode {v['encode_ms']:.1f} ms")
for e in ours.get("e2e", []):
    print(f"e2e {e['size']}^2 {e['steps']} steps CFG, VAE {e['vae_dtype']}: {e['ms'] / 1000:.3f} s per image (text encoding {e['text_encoding']})")
PY
