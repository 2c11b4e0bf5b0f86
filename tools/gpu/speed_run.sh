#!/usr/bin/env bash
# The whole GPU speed session of issue 12 in one device call: engine-only CUDA build (with the fused kernels;
# without them if that build fails), the GPU tests and the sampler/transformer unit tests, the attention backend
# probe, transformer parity, then tools/gpu/bench_compare.sh (ours and the reference, same run).
#   tools/gpu/speed_run.sh OUT_DIR      (needs .ref/newbie, .ref/shim and .deps/include as run_parity.sh)
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=$1
B=build-gpu
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
$B/tests/charaforge_engine_gpu_tests 2>&1 | grep -E "OK \]|FAILED|PASSED|Expected|Which|error|Failure|max err" | head -40
$B/tests/charaforge_engine_tests --gtest_filter='Sampler.*:NextDiT.*' 2>&1 | grep -E "FAILED|PASSED|Failure" | head -20
python3 tools/gpu/attention_probe.py 2>&1 | grep -v -i warn
date
tools/gpu/run_parity.sh "$OUT" nextdit
date
tools/gpu/bench_compare.sh "$OUT" $B
date
