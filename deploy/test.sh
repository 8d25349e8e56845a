#!/usr/bin/env bash
# Installs the dependencies, builds everything and runs every test.
# This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install-deps.sh
bash deploy/build.sh
# Tests run one at a time: several of them start real servers and, later,
# real systemd test hosts, and the reference machine has 2 cores.
ctest --test-dir build --output-on-failure --timeout 600 "$@"
