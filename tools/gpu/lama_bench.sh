#!/usr/bin/env bash
# On the GPU machine: builds lama_bench (engine-only, CUDA LibTorch of the local PyTorch), writes random big-lama
# weights and parity fixtures, times ours, then runs advimman/lama's generator on the same weights and inputs.
#   tools/gpu/lama_bench.sh OUT_DIR LAMA_REPO [BUILD_DIR]
# LAMA_REPO: a copy of advimman/lama holding saicinpainting/ (carried in an ignored folder, never committed).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=$1
REF=$2
B=${3:-build-gpu}
W=/tmp/cf-lama
mkdir -p "$OUT" "$W"
export PYTHONUNBUFFERED=1
TORCH_PREFIX=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
GEN=()
command -v ninja >/dev/null && GEN=(-G Ninja)
t0=$SECONDS
cmake -S . -B "$B" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release -DCHARAFORGE_ENGINE_ONLY=ON -DCHARAFORGE_BUILD_TESTS=OFF -DCHARAFORGE_BUILD_BENCH=ON \
  -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" -DCMAKE_CUDA_ARCHITECTURES=90 > "$OUT/configure.log" 2>&1 || { tail -30 "$OUT/configure.log"; exit 1; }
cmake --build "$B" --target lama_bench -j "$(nproc)" > "$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; exit 1; }
echo "=== build: $((SECONDS - t0)) s"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"
"$B/tools/bench/lama_bench" "$W" --batches 1,4,8,16 --iters 10 --formats nchw,nhwc 2>&1 | tee "$OUT/ours.jsonl"
python3 tools/parity/lama_parity.py "$REF" "$W" --batches 1,4,8,16 --iters 10 --json "$OUT/lama_parity.json" 2>&1 |
  grep -v -i warn | tee "$OUT/reference.log"
echo "=== total: $((SECONDS - t0)) s"
