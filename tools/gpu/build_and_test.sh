#!/usr/bin/env bash
# On the GPU machine: engine-only build against the CUDA LibTorch of the local PyTorch, then the tests
# labelled gpu and unit. Usage: tools/gpu/build_and_test.sh [BUILD_DIR]   (SKIP_TESTS=1: build only)
# The machine has no nlohmann/json or CLI11 package: run tools/gpu/copy_deps.sh on the development machine
# first and carry .deps/ with the checkout.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${1:-build-gpu}
TORCH_PREFIX=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
GEN=()
command -v ninja >/dev/null && GEN=(-G Ninja)
cmake -S . -B "$BUILD_DIR" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release -DCHARAFORGE_ENGINE_ONLY=ON \
  -DCHARAFORGE_BUILD_TESTS=ON -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" -DCMAKE_CUDA_ARCHITECTURES=90 >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)"
[ "${SKIP_TESTS:-0}" = 1 ] && exit 0
ctest --test-dir "$BUILD_DIR" --output-on-failure -L 'gpu|unit' -j 4
