#!/usr/bin/env bash
# Fleet benchmark (issue 4). Builds nothing: expects a build directory with
# pyservice-controller, pyctl and fleet_sim, e.g.
#   cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release
#   ninja -C build-bench -j2 fleet_sim pyservice-controller pyctl
#   bench/fleet_bench.sh --build build-bench --sizes "1000 5000 10000"
# For each size: a fresh controller on a unix socket in a temp data dir
# (--insecure-agents: the simulated agents have no certificates; pyctl on its
# admin socket, bench_lib.sh), the simulator with N hosts, then
#   * controller RSS (VmRSS) and CPU (utime+stime) over an idle window of
#     --idle-s seconds with heartbeats (5 s interval),
#   * time from `pyctl apply --no-wait` of an app targeting every host to
#     the simulator having sent all N results, and to `pyctl status`
#     showing all N hosts healthy,
#   * `pyctl status` latency (hyperfine if installed, else median of runs).
# Results go to stdout as Markdown table rows and to $OUT (a file).
# Everything stays local (unix socket); every wait is bounded.
set -euo pipefail

BUILD=build
SIZES="1000 5000 10000"
IDLE_S=30
STATUS_RUNS=10
OUT=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) BUILD="$2"; shift 2 ;;
    --sizes) SIZES="$2"; shift 2 ;;
    --idle-s) IDLE_S="$2"; shift 2 ;;
    --status-runs) STATUS_RUNS="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    *) echo "usage: $0 [--build DIR] [--sizes \"1000 5000 10000\"] [--idle-s 30] [--status-runs 10] [--out FILE]" >&2; exit 2 ;;
  esac
done
# shellcheck source=bench/bench_lib.sh
source "$(dirname "$0")/bench_lib.sh"
find_binaries "$BUILD"
# File descriptors: one socket per session on each side.
ulimit -n "$(ulimit -Hn)"

WORK="$(mktemp -d /tmp/fleet-bench.XXXXXX)"
CTL_PID=""; SIM_PID=""
cleanup() {
  [[ -n "$SIM_PID" ]] && kill "$SIM_PID" 2>/dev/null || true
  [[ -n "$CTL_PID" ]] && kill "$CTL_PID" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT

ROWS=()
for N in $SIZES; do
  DIR="$WORK/n$N"; mkdir -p "$DIR"
  SOCK="$DIR/ctl.sock"
  controller_access_args "$DIR"
  "$CONTROLLER" --listen "unix:$SOCK" "${CONTROLLER_ACCESS_ARGS[@]}" --data-dir "$DIR/data" \
    --secrets-key-file "$DIR/secrets.key" --log-level warn 2>"$DIR/controller.log" &
  CTL_PID=$!
  wait_for "controller listening" 20 test -S "$SOCK"
  use_admin_socket
  RSS0=$(rss_mib "$CTL_PID")

  T0=$(now_ms)
  "$SIM" --controller "unix:$SOCK" --hosts "$N" --connect-rate 2000 \
    --duration-s 900 --report-interval-ms 200 >"$DIR/sim.jsonl" 2>"$DIR/sim.log" &
  SIM_PID=$!
  welcomed() { local w; w=$(field "$(last_json "$DIR/sim.jsonl" 2>/dev/null)" welcomed); [[ "${w:-0}" -ge "$N" ]]; }
  wait_for "$N sessions welcomed" 120 welcomed
  CONNECT_MS=$(( $(now_ms) - T0 ))
  sleep 5  # let the connect burst settle (host records written)

  # Idle window with heartbeats.
  C0=$(cpu_ticks "$CTL_PID"); I0=$(now_ms)
  sleep "$IDLE_S"
  C1=$(cpu_ticks "$CTL_PID"); I1=$(now_ms)
  IDLE_CPU=$(awk -v c=$((C1 - C0)) -v t="$TICKS" -v ms=$((I1 - I0)) 'BEGIN{printf "%.1f", 100*c/t/(ms/1000)}')
  RSS_IDLE=$(rss_mib "$CTL_PID"); THREADS=$(threads "$CTL_PID")
  FDS=$(ls "/proc/$CTL_PID/fd" | wc -l)
  ACTIVE=$(field "$(last_json "$DIR/sim.jsonl")" active)

  # Deploy to every host.
  write_bench_app "$DIR/app.yaml" v1
  R0=$(field "$(last_json "$DIR/sim.jsonl")" results)
  A0=$(now_ms)
  "$PYCTL" apply --no-wait "$DIR/app.yaml" >"$DIR/apply.out" 2>&1
  results_in() { local r; r=$(field "$(last_json "$DIR/sim.jsonl")" results); [[ $(( ${r:-0} - R0 )) -ge "$N" ]]; }
  wait_for "$N results" 300 results_in
  A1=$(now_ms)
  healthy() { [[ $("$PYCTL" -o json status bench 2>/dev/null | grep -c '"state": "healthy"') -ge "$N" ]]; }
  wait_for "status shows $N healthy" 300 healthy || true
  A2=$(now_ms)
  DEPLOY_MS=$((A1 - A0)); STATUS_OK_MS=$((A2 - A0))
  RSS_AFTER=$(rss_mib "$CTL_PID")
  VMHWM=$(hwm_mib "$CTL_PID")

  # pyctl status latency.
  if command -v hyperfine >/dev/null; then
    hyperfine -N --warmup 1 --runs "$STATUS_RUNS" --export-json "$DIR/hf.json" \
      "$PYCTL status" >"$DIR/hyperfine.out" 2>&1
    STATUS_MED=$(python3 -c "import json;print(round(json.load(open('$DIR/hf.json'))['results'][0]['median']*1000,1))")
    STATUS_HOW="hyperfine median of $STATUS_RUNS"
  else
    : >"$DIR/status_ms"
    for _ in $(seq "$STATUS_RUNS"); do
      s=$(now_ms); "$PYCTL" status >/dev/null; echo $(( $(now_ms) - s )) >>"$DIR/status_ms"
    done
    STATUS_MED=$(sort -n "$DIR/status_ms" | awk '{a[NR]=$1} END{print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}')
    STATUS_HOW="median of $STATUS_RUNS runs"
  fi
  STATUS_BYTES=$("$PYCTL" status | wc -c)
  GETHOSTS_MS=$( s=$(now_ms); "$PYCTL" get hosts >/dev/null; echo $(( $(now_ms) - s )) )

  ENDED=$(field "$(last_json "$DIR/sim.jsonl")" ended)
  ROW="| $N | $CONNECT_MS | $RSS0 | $RSS_IDLE | $IDLE_CPU | $THREADS | $FDS | $DEPLOY_MS | $STATUS_OK_MS | $RSS_AFTER / $VMHWM | $STATUS_MED ($STATUS_HOW) | $GETHOSTS_MS | ${ACTIVE:-?} / ${ENDED:-?} |"
  echo "$ROW"
  ROWS+=("$ROW")
  [[ -n "$OUT" ]] && echo "$ROW" >>"$OUT"

  kill "$SIM_PID" 2>/dev/null || true; wait "$SIM_PID" 2>/dev/null || true; SIM_PID=""
  kill "$CTL_PID" 2>/dev/null || true; wait "$CTL_PID" 2>/dev/null || true; CTL_PID=""
  cp "$DIR/controller.log" "$WORK/controller-n$N.log" 2>/dev/null || true
done
echo "work dir: $WORK" >&2
