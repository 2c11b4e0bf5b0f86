#!/usr/bin/env bash
# CharaForge set-up: installs the Debian packages the project needs (only those missing), configures and
# builds, then runs the app or the test suite.
# libopenblas0-pthread: Debian's LibTorch multiplies matrices through libblas.so.3, the netlib reference BLAS unless an
# optimised one provides it (update-alternatives does so on install): ~25x faster CPU generation and tests.
#   tools/setup.sh run [APP ARGS...]   install what is missing, build, start charaforge
#   tools/setup.sh test                install what is missing, build, run the whole test suite
#   tools/setup.sh build               install what is missing and build
#   tools/setup.sh deps                install what is missing only
# Environment: BUILD_DIR (default build), JOBS (default: number of cores).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake pkg-config git
  libtorch-dev
  libopenblas0-pthread
  qt6-base-dev qt6-qpa-plugins libqt6sql6-sqlite
  libopencv-dev libpng-dev libzip-dev libcli11-dev poppler-utils
  libsentencepiece-dev sentencepiece
  nlohmann-json3-dev
  libgtest-dev libgmock-dev
  clang-format
  xvfb xauth
  librsvg2-bin desktop-file-utils appstream dpkg-dev
)

install_missing() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all ${#PACKAGES[@]} packages present"
    return
  fi
  echo "setup: installing ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}

BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}

build() {
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
  cmake --build "$BUILD_DIR" -j "$JOBS"
}

cmd=${1:-build}
[ $# -gt 0 ] && shift
case "$cmd" in
  deps) install_missing ;;
  build) install_missing; build ;;
  test)
    install_missing; build
    ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS" --timeout 1200
    ;;
  run)
    install_missing; build
    exec "$BUILD_DIR/app/charaforge" "$@"
    ;;
  *) echo "usage: tools/setup.sh run|test|build|deps" >&2; exit 2 ;;
esac
