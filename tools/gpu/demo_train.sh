#!/usr/bin/env bash
# The demo model's training (issue 14) in one device call: engine-only CUDA build of charaforge-demo-train and
# charaforge-demo-check, then the whole training on cuda from a captions file (charaforge-demo-data --captions-only,
# gzipped or not), the log teed into OUT_DIR, and the model folder packed into OUT_DIR as a tar split in parts of at
# most 15 MiB (three for the 40 MB budget). With DEMO_CHECK=CAPTIONS_FILE (captions of another seed) the new model
# is then measured on cuda by charaforge-demo-check (DEMO_CHECK_COUNT captions, default 96).
#   [DEMO_CHECK=FILE] tools/gpu/demo_train.sh OUT_DIR CAPTIONS_FILE [charaforge-demo-train options, e.g.
#   --dit-steps 6000 --init-from DIR]
# Needs .deps/include (tools/gpu/copy_deps.sh) carried with the checkout, as the other GPU scripts.
# Writes OUT_DIR/{train.log, check.log, demo-model.tar.part-NN, extras.tar} (extras: the loss CSVs, check.json and
# the check's first 16 images as grid.ppm), at most 8 files; configure.log / build.log only when that step fails.
# Unpack: cat demo-model.tar.part-* | tar -x
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
cmake --build $B -j "$(nproc)" --target charaforge-demo-train charaforge-demo-check > /tmp/demo-build.log 2>&1 ||
  { cp /tmp/demo-build.log "$OUT/build.log"; grep -E -A5 "error|FAILED" "$OUT/build.log" | head -60; exit 1; }
echo "=== build: $((SECONDS - t0)) s"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
WORK=/tmp/cf-demo
rm -rf "$WORK"
mkdir -p "$WORK/extras"
if [[ "$CAPTIONS" == *.gz ]]; then
  gunzip -c "$CAPTIONS" > "$WORK/captions.jsonl" || exit 1
  CAPTIONS=$WORK/captions.jsonl
fi
$B/tools/demo_model/charaforge-demo-train --captions "$CAPTIONS" --out "$WORK/demo-model" --device cuda \
  --threads "$(nproc)" "$@" 2>&1 | tee "$OUT/train.log"
rc=${PIPESTATUS[0]}
echo "=== training exit $rc; total: $((SECONDS - t0)) s" | tee -a "$OUT/train.log"
[ "$rc" = 0 ] || exit "$rc"
cp "$WORK"/demo-model.vae_loss.csv "$WORK"/demo-model.transformer_loss.csv "$WORK/extras"/
if [ -n "${DEMO_CHECK:-}" ]; then
  t1=$SECONDS
  $B/tools/demo_model/charaforge-demo-check --model "$WORK/demo-model" --captions "$DEMO_CHECK" --device cuda \
    --count "${DEMO_CHECK_COUNT:-96}" --batch 16 --json "$WORK/extras/check.json" --grid "$WORK/extras/grid.ppm" \
    > "$OUT/check.log" 2>&1
  echo "=== check exit $? in $((SECONDS - t1)) s" | tee -a "$OUT/check.log"
  grep -E "^(hair|eye|one|two|  )" "$OUT/check.log"
fi
tar -C "$WORK" -cf "$OUT/extras.tar" extras
du -b -s "$WORK/demo-model" | tee -a "$OUT/train.log"
(cd "$WORK/demo-model" && find . -type f -printf '%s %p\n' | sort -k2) | tee -a "$OUT/train.log"
tar -C "$WORK" -cf - demo-model | split -b 15M -d -a 2 - "$OUT/demo-model.tar.part-"
ls -l "$OUT"
parts=$(ls "$OUT"/demo-model.tar.part-* | wc -l)
if [ "$parts" -gt 5 ]; then
  echo "=== the model folder needs $parts parts (more than 5): over the size budget" | tee -a "$OUT/train.log"
  exit 1
fi
