#!/usr/bin/env bash
# The demo model's training (issue 14) in one device call: engine-only CUDA build of charaforge-demo-train, then the
# whole training on cuda from a captions file (charaforge-demo-data --captions-only), the log teed into OUT_DIR, and
# the model folder packed into OUT_DIR as a tar split in parts of at most 15 MiB (three for the 40 MB budget).
#   tools/gpu/demo_train.sh OUT_DIR CAPTIONS_FILE [extra charaforge-demo-train options, e.g. --dit-steps 6000]
# Needs .deps/include (tools/gpu/copy_deps.sh) carried with the checkout, as the other GPU scripts.
# Writes OUT_DIR/{train.log, demo-model.vae_loss.csv, demo-model.transformer_loss.csv, demo-model.tar.part-NN}
# (configure.log / build.log only when that step fails). Unpack: cat demo-model.tar.part-* | tar -x
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=$1
CAPTIONS=$2
shift 2
B=build-gpu
mkdir -p "$OUT"
T=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
t0=$SECONDS
cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=Release -DCHARAFORGE_ENGINE_ONLY=ON -DCHARAFORGE_BUILD_TESTS=OFF \
  -DCHARAFORGE_CUDA_KERNELS=OFF -DCMAKE_PREFIX_PATH="$T" > /tmp/demo-configure.log 2>&1 ||
  { cp /tmp/demo-configure.log "$OUT/configure.log"; tail -30 "$OUT/configure.log"; exit 1; }
cmake --build $B -j "$(nproc)" --target charaforge-demo-train > /tmp/demo-build.log 2>&1 ||
  { cp /tmp/demo-build.log "$OUT/build.log"; grep -E -A5 "error|FAILED" "$OUT/build.log" | head -60; exit 1; }
echo "=== build: $((SECONDS - t0)) s"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
WORK=/tmp/cf-demo
rm -rf "$WORK"
mkdir -p "$WORK"
$B/tools/demo_model/charaforge-demo-train --captions "$CAPTIONS" --out "$WORK/demo-model" --device cuda \
  --threads "$(nproc)" "$@" 2>&1 | tee "$OUT/train.log"
rc=${PIPESTATUS[0]}
echo "=== training exit $rc; total: $((SECONDS - t0)) s" | tee -a "$OUT/train.log"
[ "$rc" = 0 ] || exit "$rc"
cp "$WORK"/demo-model.vae_loss.csv "$WORK"/demo-model.transformer_loss.csv "$OUT"/
du -b -s "$WORK/demo-model" | tee -a "$OUT/train.log"
(cd "$WORK/demo-model" && find . -type f -printf '%s %p\n' | sort -k2) | tee -a "$OUT/train.log"
tar -C "$WORK" -cf - demo-model | split -b 15M -d -a 2 - "$OUT/demo-model.tar.part-"
ls -l "$OUT"
parts=$(ls "$OUT"/demo-model.tar.part-* | wc -l)
if [ "$parts" -gt 6 ]; then
  echo "=== the model folder needs $parts parts (more than 6): over the size budget" | tee -a "$OUT/train.log"
  exit 1
fi
