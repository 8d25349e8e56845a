#!/usr/bin/env bash
# The demo: a controller on the embedded SQLite store, the example app
# applied, re-applied unchanged, changed, and shown. Everything lives in a
# temporary directory that is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install-deps.sh
bash deploy/build.sh pyservice-controller pyctl

demo_dir=$(mktemp -d /tmp/pyservice-demo.XXXXXX)
socket="unix:$demo_dir/controller.sock"
controller_pid=
cleanup() {
  if [[ -n $controller_pid ]]; then
    kill -TERM "$controller_pid" 2>/dev/null || true
    wait "$controller_pid" 2>/dev/null || true
  fi
  rm -rf "$demo_dir"
}
trap cleanup EXIT

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

build/controller/pyservice-controller --listen "$socket" --data-dir "$demo_dir/data" \
  2>"$demo_dir/controller.log" &
controller_pid=$!
for _ in $(seq 100); do
  grep -q "listening on" "$demo_dir/controller.log" 2>/dev/null && break
  sleep 0.1
done
echo "controller: $(grep -m1 'listening on' "$demo_dir/controller.log")"

export PYCTL_CONTROLLER="$socket"
pyctl=build/cli/pyctl
step $pyctl apply deploy/examples/hello/app.yaml
step $pyctl apply deploy/examples/hello/app.yaml
sed 's/^tag: v1$/tag: v2/' deploy/examples/hello/app.yaml >"$demo_dir/app.yaml"
step $pyctl apply "$demo_dir/app.yaml" --dry-run
step $pyctl apply "$demo_dir/app.yaml"
step $pyctl get apps
step $pyctl history hello
step $pyctl describe app hello
step $pyctl get apps -o json
printf 'services:\n  - name: Web\n    command: x\n' >"$demo_dir/bad.yaml"
printf '\n\033[1m$ %s\033[0m\n' "$pyctl apply bad.yaml   # a bad spec is refused, nothing stored"
$pyctl apply "$demo_dir/bad.yaml" || true
