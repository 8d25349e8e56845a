#!/usr/bin/env bash
# Configures and builds pyservice into build/ (Release with debug info,
# ccache when present). Usage: deploy/build.sh [ninja targets...]
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
# Paths relative to the checkout, so a fresh clone elsewhere (CI) hits the
# cache filled by another one.
export CCACHE_BASEDIR="$PWD"
export CCACHE_NOHASHDIR=true
if [[ ! -f build/build.ninja ]]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
# Two jobs: gRPC-heavy translation units need ~1 GiB each, and the reference
# machine has 2 cores.
ninja -C build -j"${PYSERVICE_JOBS:-2}" "$@"
