#!/usr/bin/env bash
# On the development machine: copies the header-only libraries that the GPU machine lacks (nlohmann/json,
# CLI11) into CHECKOUT/.deps/include, where CMake looks for them. Usage: tools/gpu/copy_deps.sh [CHECKOUT]
set -euo pipefail
DEST=${1:-$(dirname "$0")/../..}/.deps/include
mkdir -p "$DEST"
cp -r /usr/include/nlohmann /usr/include/CLI "$DEST"/
echo "copied nlohmann and CLI into $DEST"
