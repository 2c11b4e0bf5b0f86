#!/usr/bin/env bash
# The memory session of issue 15 in one device call: engine-only CUDA build of charaforge-memory-bench and the
# engine tests (with the fused kernels; without them if that build fails), the tiling and memory unit tests, then
# tools/bench/memory_bench.cpp on a full-size random model written to /tmp/cf-memory: each memory mode's full
# 1024^2 generation (peak allocated/reserved, time per step vs mode high), the same under emulated 16 and 8 GiB
# cards, tiled vs untiled VAE at 1024^2 and 2048^2, and the prediction against the measured peak.
#   tools/gpu/memory_run.sh OUT_DIR
# Needs .deps/include (tools/gpu/copy_deps.sh) carried with the checkout, as the other GPU scripts.
# Environment: GPU_TEST_FILTER the GPU tests run after the unit tests (default: the memory ones); MEMORY_BENCH_ARGS extra charaforge-memory-bench options (e.g. "--pred-sizes 1024 --cards 16");
# BENCH_TIMEOUT seconds for the benchmark (default 400; the JSON keeps every stage finished before it).
# Writes OUT_DIR/{configure.log, build.log, gpu.txt, unit-tests.log, memory.log, memory.json}.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=$1
B=build-gpu
mkdir -p "$OUT"
T=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
t0=$SECONDS
conf() {
  cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=Release -DCHARAFORGE_ENGINE_ONLY=ON -DCHARAFORGE_BUILD_TESTS=ON \
    -DCHARAFORGE_BUILD_BENCH=ON -DCMAKE_PREFIX_PATH="$T" -DCMAKE_CUDA_ARCHITECTURES=90 "$@" > "$OUT/configure.log" 2>&1 ||
    { tail -30 "$OUT/configure.log"; return 1; }
}
build() {
  cmake --build $B -j "$(nproc)" --target charaforge-memory-bench charaforge_engine_tests charaforge_engine_gpu_tests > "$OUT/build.log" 2>&1 ||
    { grep -E -A5 "error|FAILED" "$OUT/build.log" | head -60; return 1; }
}
if ! { conf -DCHARAFORGE_CUDA_KERNELS=ON && build; }; then
  echo "=== build with CUDA kernels failed; building without"
  { conf -DCHARAFORGE_CUDA_KERNELS=OFF && build; } || exit 1
fi
echo "=== build: $((SECONDS - t0)) s"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"
$B/tests/charaforge_engine_tests --gtest_filter='VaeTiling.*:MemoryMode.*:MemoryPrediction.*:PipelineMemory.*' \
  > "$OUT/unit-tests.log" 2>&1
$B/tests/charaforge_engine_gpu_tests --gtest_filter="${GPU_TEST_FILTER:-Gpu.Offloaded*:Gpu.TheTransformerEstimate*:Gpu.TheVaeReserve*}" \
  >> "$OUT/unit-tests.log" 2>&1
grep -E "^\[  (PASSED|FAILED) |Failure|Expected|Which is|measured peak" "$OUT/unit-tests.log" | head -30
echo "=== unit tests: $((SECONDS - t0)) s"
# shellcheck disable=SC2086
timeout "${BENCH_TIMEOUT:-400}" $B/tools/bench/charaforge-memory-bench --work /tmp/cf-memory --out "$OUT/memory.json" \
  --prompt-file tests/data/prompts/readme_example.xml ${MEMORY_BENCH_ARGS:-} 2>&1 | grep -v -i "warn" | tee "$OUT/memory.log"
echo "=== benchmark exit ${PIPESTATUS[0]}; total: $((SECONDS - t0)) s"
