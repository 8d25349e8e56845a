#!/usr/bin/env bash
# Builds the Debian packages pyctl, pyservice-agent and pyservice-controller
# (deploy/debian/) into DIR (default build/debs) and lists them.
# Usage: deploy/package.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/debs}
bash deploy/install-deps.sh
bash deploy/build.sh pyctl pyservice-agent pyservice-controller pyservice_package_files
mkdir -p "$out"
out=$(realpath "$out")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# cpack writes its work tree next to the packages: keep that out of DIR.
(cd build && cpack -G DEB -B "$work" >"$work/cpack.log") || { cat "$work/cpack.log" >&2; exit 1; }
mv "$work"/*.deb "$out"/
ls -1 "$out"/*.deb
