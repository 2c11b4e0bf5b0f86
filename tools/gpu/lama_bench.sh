#!/usr/bin/env bash
# On the GPU machine: builds lama_bench (engine-only, CUDA LibTorch of the local PyTorch), writes random big-lama
# weights and parity fixtures, times ours in fp32 (TF32), fp16 and bf16, then runs advimman/lama's generator on the
# same weights and inputs. The parity runs twice: on the plain random weights (chaotic: a rounding flips output
# pixels) and on tamed ones (--residual-gain 0.25, as tame as a trained residual net). Each compute path's B8
# forward is profiled (OUT_DIR/profile.txt, by tools/gpu/profile_summary.py).
#   tools/gpu/lama_bench.sh OUT_DIR LAMA_REPO [BUILD_DIR]
# QUICK=1: only the default path (fp32, TF32) at B1 and B8 against the reference batched and one at a time, with
# the plain-weight parity (about a minute after the build).
# LAMA_REPO: a copy of advimman/lama holding saicinpainting/ (carried in an ignored folder, never committed).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=$1
REF=$2
B=${3:-build-gpu}
W=/tmp/cf-lama
W2=/tmp/cf-lama-tame
mkdir -p "$OUT" "$W" "$W2"
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
if [ "${QUICK:-0}" = 1 ]; then
  "$B/tools/bench/lama_bench" "$W" --batches 1,8 --iters 10 --dtypes fp32 2>&1 | tee "$OUT/ours.jsonl"
  python3 tools/parity/lama_parity.py "$REF" "$W" --batches 1,8 --iters 10 --json "$OUT/lama_parity.json" 2>&1 |
    grep -v -i warn | tee "$OUT/reference.log"
  echo "=== total: $((SECONDS - t0)) s"
  exit 0
fi
"$B/tools/bench/lama_bench" "$W" --batches 1,4,8,16 --iters 10 --formats nchw --dtypes fp32,fp16,bf16 \
  --profile /tmp/cf-lama-prof 2>&1 | grep -v "^profile written" | tee "$OUT/ours.jsonl"
# Leave-one-out: without cuDNN's fused convolution + ReLU, then also without our pad+concat kernel (the path before).
echo "=== CHARAFORGE_CUDNN_FUSION=0" | tee -a "$OUT/ours.jsonl"
CHARAFORGE_CUDNN_FUSION=0 "$B/tools/bench/lama_bench" "$W" --parity "" --batches 1,8 --iters 10 --dtypes fp32,fp16 2>&1 |
  tee -a "$OUT/ours.jsonl"
echo "=== CHARAFORGE_CUDNN_FUSION=0 CHARAFORGE_FUSED=0" | tee -a "$OUT/ours.jsonl"
CHARAFORGE_CUDNN_FUSION=0 CHARAFORGE_FUSED=0 "$B/tools/bench/lama_bench" "$W" --parity "" --batches 1,8 --iters 10 \
  --dtypes fp32,fp16 2>&1 | tee -a "$OUT/ours.jsonl"
echo "=== tamed weights (--residual-gain 0.25), parity only" | tee -a "$OUT/ours.jsonl"
"$B/tools/bench/lama_bench" "$W2" --dtypes fp16,bf16 --residual-gain 0.25 --no-timing 2>&1 | tee -a "$OUT/ours.jsonl"
for t in /tmp/cf-lama-prof/*.json; do echo "=== $t"; python3 tools/gpu/profile_summary.py "$t" --blocks 36 --top 15; done \
  > "$OUT/profile.txt" 2>&1
grep -A12 "^=== " "$OUT/profile.txt" | grep -i -E "^===|busy|class|matrix|conv|elementwise|fft" | head -40
python3 tools/parity/lama_parity.py "$REF" "$W" --batches 1,4,8,16 --iters 10 --json "$OUT/lama_parity.json" 2>&1 |
  grep -v -i warn | tee "$OUT/reference.log"
echo "=== tamed weights (--residual-gain 0.25)" | tee -a "$OUT/reference.log"
python3 tools/parity/lama_parity.py "$REF" "$W2" --no-timing 2>&1 | grep -v -i warn | tee -a "$OUT/reference.log"
echo "=== total: $((SECONDS - t0)) s"
