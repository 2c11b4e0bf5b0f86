#!/usr/bin/env bash
# Fails when a tracked C++ source differs from .clang-format's layout. Usage: tools/check_format.sh [clang-format]
set -euo pipefail
cd "$(dirname "$0")/.."
fmt=${1:-clang-format}
mapfile -t files < <(git ls-files '*.cpp' '*.h' 2>/dev/null || find app ui core tests tools -name '*.cpp' -o -name '*.h')
[ ${#files[@]} -gt 0 ] || { echo "no sources"; exit 0; }
"$fmt" --dry-run --Werror "${files[@]}"
echo "clang-format: ${#files[@]} files formatted"
