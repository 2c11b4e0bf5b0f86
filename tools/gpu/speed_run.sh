#!/usr/bin/env bash
# The GPU speed session of issue 12 in one device call: engine-only CUDA build (with the fused kernels;
# without them if that build fails), the GPU tests and the sampler/transformer unit tests, then the stages asked:
#   profile  one forward per case traced (charaforge-bench --profile) with the first fused kernels
#            (CHARAFORGE_FUSED_KERNELS=v1) and the current ones (v2), each summarised by tools/gpu/profile_summary.py
#            (OUT/profile-{v1,v2}.txt)
#   parity   transformer parity (tools/gpu/run_parity.sh nextdit)
#   compare  tools/gpu/bench_compare.sh (ours and the reference, same run)
#   tools/gpu/speed_run.sh OUT_DIR [STAGE...]   (default: parity compare; needs .ref/newbie, .ref/shim and
#                                               .deps/include as run_parity.sh)
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=$1
shift
STAGES=${*:-parity compare}
B=build-gpu
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
T=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
conf() { cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=Release -DCHARAFORGE_ENGINE_ONLY=ON -DCHARAFORGE_BUILD_TESTS=ON -DCHARAFORGE_BUILD_BENCH=ON \
  -DCMAKE_PREFIX_PATH="$T" "$@" 2>&1 | grep -E "CharaForge|Error" ; }
build() { cmake --build $B -j "$(nproc)" --target charaforge-bench charaforge-cli charaforge_engine_gpu_tests \
  charaforge_engine_tests 2>&1 | grep -E -A5 "error|FAILED" | head -60; return "${PIPESTATUS[0]}"; }
date
conf -DCHARAFORGE_CUDA_KERNELS=ON
if ! build; then
  echo "=== build with CUDA kernels failed; building without"
  conf -DCHARAFORGE_CUDA_KERNELS=OFF
  build || exit 1
fi
date
$B/tests/charaforge_engine_gpu_tests 2>&1 | tee "$OUT/gpu-tests.log" | grep -E "OK \]|FAILED|PASSED|Expected|Which|error|Failure|max err" | head -40
$B/tests/charaforge_engine_tests --gtest_filter='Sampler.*:NextDiT.*' 2>&1 | grep -E "FAILED|PASSED|Failure" | head -20
for stage in $STAGES; do
  date
  case $stage in
    profile)
      for name in v1 v2; do
        CHARAFORGE_FUSED_KERNELS=$name $B/tools/bench/charaforge-bench --mixed "" --vae-dtypes "" --e2e-steps 0 --fp8 0 --iters 5 \
          --profile /tmp/prof-$name --out "$OUT/bench-$name.json" 2>&1 | tee "$OUT/bench-$name.log"
        for t in /tmp/prof-$name/*.json; do python3 tools/gpu/profile_summary.py "$t" --top 22; done > "$OUT/profile-$name.txt"
        head -12 "$OUT/profile-$name.txt"
      done ;;
    parity) tools/gpu/run_parity.sh "$OUT" nextdit ;;
    compare)
      # SM clock, power and temperature every 200 ms while both benchmarks run (is the GPU power-bound?)
      nvidia-smi --query-gpu=timestamp,clocks.sm,power.draw,temperature.gpu --format=csv,noheader,nounits -lms 200 \
        > "$OUT/smi.csv" 2>/dev/null &
      smi=$!
      tools/gpu/bench_compare.sh "$OUT" $B
      kill $smi 2>/dev/null
      python3 - "$OUT/smi.csv" <<'PY'
import sys, statistics
rows = [l.split(", ") for l in open(sys.argv[1]) if l.count(",") == 3]
busy = [(float(r[1]), float(r[2]), float(r[3])) for r in rows if float(r[2]) > 300]
if busy:
    c, p, t = zip(*busy)
    print(f"GPU under load ({len(busy)} samples > 300 W): SM clock median {statistics.median(c):.0f} MHz "
          f"(min {min(c):.0f}, max {max(c):.0f}), power median {statistics.median(p):.0f} W (max {max(p):.0f}), "
          f"temperature max {max(t):.0f} C")
PY
      ;;
    *) echo "unknown stage $stage" ;;
  esac
done
date
