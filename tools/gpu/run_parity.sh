#!/usr/bin/env bash
# GPU verification in stages, each writing its log under OUT_DIR:
#   tools/gpu/run_parity.sh OUT_DIR STAGE...
#   build    engine-only CUDA build (incremental)        tests   ctest -L 'gpu|unit'
#   nextdit  transformer parity, full 3.5B config         vae     FLUX VAE parity, full config
#   gemma    Gemma3-4B text parity (33 of 34 layers)      jina    Jina CLIP v2 text parity (24 layers)
#   dpm      DPM-Solver++ 2M against the official transport/dpm_solver.py on a toy model (CPU, seconds)
#   e2e      the full-size random model (the parity stages' weights + test tokenizers) generates from a
#            prompt through charaforge-cli, bf16, 1024x1024
# The reference code is read from .ref/ (ignored by git; carried to the machine).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=$1
shift
B=build-gpu
CLI=$B/app/charaforge-cli
W=/tmp/cf-parity
mkdir -p "$OUT" "$W"
export PYTHONUNBUFFERED=1
status=0
run() { # name command...
  local name=$1
  shift
  echo "=== $name: $*"
  local t0=$SECONDS
  "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  echo "=== $name: exit $rc after $((SECONDS - t0)) s"
  grep -v -i "warn" "$OUT/$name.log" | tail -n 25
  [ $rc -eq 0 ] || status=1
}
for stage in "$@"; do
  case $stage in
    build) SKIP_TESTS=1 run build tools/gpu/build_and_test.sh $B ;;
    tests) run tests ctest --test-dir $B --output-on-failure -L 'gpu|unit' -j 4 ;;
    nextdit) run nextdit python3 tools/parity/nextdit_parity.py .ref/newbie .ref/shim $CLI $W/np --out "$OUT/nextdit.json" ;;
    vae) run vae python3 tools/parity/vae_parity.py --cli $CLI --work $W/vp --ref .ref/flux/autoencoder.py ;;
    dpm) run dpm python3 tools/parity/dpm_parity.py .ref/newbie $B/tests/charaforge_dpm_trajectory ;;
    gemma) run gemma python3 tools/parity/gemma3_parity.py $CLI $W/gp --device cuda ;;
    jina) run jina python3 tools/parity/jina_parity.py $CLI $W/jp .ref/jina --device cuda ;;
    e2e)
      M=$W/full
      rm -rf "$M" "$W/tiny"
      mkdir -p "$M/vae"
      $CLI make-test-model "$W/tiny" >/dev/null
      cp "$W/tiny/text_encoder/tokenizer.model" "$W/gp/text_encoder/"
      cp "$W/tiny/clip_model/sentencepiece.bpe.model" "$W/jp/clip_model/"
      ln -s "$W/np/model/transformer" "$M/transformer"
      ln -s "$W/vp/model/ae.safetensors" "$M/vae/ae.safetensors"
      ln -s "$W/gp/text_encoder" "$M/text_encoder"
      ln -s "$W/jp/clip_model" "$M/clip_model"
      echo '{"_class_name": "NewbiePipeline"}' > "$M/model_index.json"
      run e2e $CLI generate --model "$M" --prompt "$(cat tests/data/prompts/readme_example.xml)" --negative "lowres" \
        --out "$OUT/full_size.ppm" --width 1024 --height 1024 --steps 28 --count 2 --batch 2 --device cuda --dtype bf16
      ;;
    *) echo "unknown stage $stage"; status=2 ;;
  esac
done
exit $status
