#!/usr/bin/env bash
# Fleet benchmark (issues 4 and 12). Builds nothing: expects a build
# directory with pyservice-controller, pyctl and fleet_sim, e.g.
#   cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release
#   ninja -C build-bench -j2 fleet_sim pyservice-controller pyctl
#   bench/fleet_bench.sh --build build-bench --sizes 10000 --runs 3 --pin
# For each size and run: a fresh controller on a unix socket in a temp data
# dir (--insecure-agents: the simulated agents have no certificates; pyctl
# on its admin socket, bench_lib.sh), the simulator with N hosts, then
#   * controller RSS (VmRSS) and CPU (utime+stime) over an idle window of
#     --idle-s seconds with heartbeats only (5 s interval: N/5 a second),
#   * time from `pyctl apply --no-wait` of an app targeting every host to
#     the simulator having sent all N results, and to `pyctl status`
#     showing all N hosts healthy,
#   * `pyctl status` and `pyctl get hosts` latency with all N hosts running
#     the app: --latency-runs sequential runs of each, wall time per run
#     (p50, p99, max), and where the time goes: pyctl's own CPU per run
#     (user+sys of the runs) and the controller's CPU per run (its CPU over
#     the runs minus its idle rate over the same time).
# --pin: controller on CPU 0, simulator on CPU 1 (pyctl is not pinned).
# --sim-procs K (default 1): the simulator as K fleet_sim processes, each
# with its slice of the hosts (start_sims in bench_lib.sh, as
# rollout_bench.sh; its files DIR/sim.J.jsonl and sim.J.log), connecting
# 2,000 sessions/s in all; the counters read are summed over them.
# One Markdown row per run to stdout (and --out FILE), then the median of
# the runs per size. Everything stays local (unix socket); every wait is
# bounded.
set -euo pipefail

BUILD=build
SIZES="1000 5000 10000"
IDLE_S=30
LATENCY_RUNS=100
RUNS=1
PIN=0
OUT=""
SIM_PROCS=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) BUILD="$2"; shift 2 ;;
    --sizes) SIZES="$2"; shift 2 ;;
    --idle-s) IDLE_S="$2"; shift 2 ;;
    --latency-runs) LATENCY_RUNS="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --pin) PIN=1; shift ;;
    --out) OUT="$2"; shift 2 ;;
    --sim-procs) SIM_PROCS="$2"; shift 2 ;;
    *) echo "usage: $0 [--build DIR] [--sizes \"1000 5000 10000\"] [--runs 1] [--pin] [--idle-s 30] [--latency-runs 100] [--out FILE] [--sim-procs 1]" >&2; exit 2 ;;
  esac
done
[[ "$SIM_PROCS" =~ ^[1-9][0-9]*$ ]] || { echo "--sim-procs: a number >= 1" >&2; exit 2; }
# shellcheck source=bench/bench_lib.sh
source "$(dirname "$0")/bench_lib.sh"
find_binaries "$BUILD"
set_pins "$PIN"
# File descriptors: one socket per session on each side.
ulimit -n "$(ulimit -Hn)"

WORK="$(mktemp -d /tmp/fleet-bench.XXXXXX)"
CTL_PID=""
cleanup() {
  stop_sims
  [[ -n "$CTL_PID" ]] && kill "$CTL_PID" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT

# latency NAME RUNS IDLE_CPU_PERCENT PYCTL-ARGS...: runs pyctl RUNS times;
# sets LAT_P50, LAT_P99, LAT_MAX (wall ms), LAT_PYCTL_MS and LAT_CTL_MS (CPU
# per run of pyctl and of the controller).
latency() {
  local name="$1" runs="$2" idle_cpu="$3"; shift 3
  local file="$DIR/$name-us" cpu_file="$DIR/$name-cpu" c0 c1 t0 t1
  : >"$file"
  c0=$(cpu_ticks "$CTL_PID"); t0=$(now_ms)
  # `time` of the subshell: user and system CPU of every pyctl run in it.
  { TIMEFORMAT='%3U %3S'; time (
      for _ in $(seq "$runs"); do
        # EPOCHREALTIME (bash 5, µs): no `date` process in the CPU counted.
        s=${EPOCHREALTIME/./}; "$PYCTL" "$@" >/dev/null
        echo $(( ${EPOCHREALTIME/./} - s )) >>"$file"
      done
    ); } 2>"$cpu_file"
  c1=$(cpu_ticks "$CTL_PID"); t1=$(now_ms)
  ms() { awk '{printf "%.1f", $1/1000}' <<<"$1"; }  # from µs
  LAT_P50=$(ms "$(percentile "$file" 50)"); LAT_P99=$(ms "$(percentile "$file" 99)")
  LAT_MAX=$(ms "$(percentile "$file" 100)")
  LAT_PYCTL_MS=$(awk -v r="$runs" '{printf "%.1f", 1000*($1+$2)/r}' "$cpu_file")
  LAT_CTL_MS=$(awk -v c=$((c1 - c0)) -v t="$TICKS" -v ms=$((t1 - t0)) -v idle="$idle_cpu" \
    -v r="$runs" 'BEGIN{v=(1000*c/t - idle/100*ms)/r; if (v<0) v=0; printf "%.1f", v}')
}

HEADER="| hosts | run | load (1 min) | all connected (ms) | RSS empty (MiB) | RSS idle (MiB) | idle CPU (% of one core) | threads | open fds | deploy: all results sent (ms) | deploy: status all healthy (ms) | RSS after deploy / peak (MiB) | status p50 / p99 / max (ms) | status CPU per run: pyctl / controller (ms) | get hosts p50 / p99 / max (ms) | get hosts CPU per run: pyctl / controller (ms) | status output (bytes) | sessions active / ended |"
echo "$HEADER"; echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
[[ -n "$OUT" ]] && echo "$HEADER" >>"$OUT"
# Per size, one TSV line per run of the numeric columns, for the medians.
for N in $SIZES; do
  : >"$WORK/n$N.tsv"
  for RUN in $(seq "$RUNS"); do
  DIR="$WORK/n$N-$RUN"; mkdir -p "$DIR"
  SOCK="$DIR/ctl.sock"
  LOAD=$(awk '{print $1}' /proc/loadavg)
  controller_access_args "$DIR"
  $CTL_PIN "$CONTROLLER" --listen "unix:$SOCK" "${CONTROLLER_ACCESS_ARGS[@]}" --data-dir "$DIR/data" \
    --secrets-key-file "$DIR/secrets.key" --log-level warn 2>"$DIR/controller.log" &
  CTL_PID=$!
  wait_for "controller listening" 20 test -S "$SOCK"
  use_admin_socket
  RSS0=$(rss_mib "$CTL_PID")

  T0=$(now_ms)
  start_sims "$DIR" "$N" "$SIM_PROCS" 2000 0 --controller "unix:$SOCK" \
    --duration-s 900 --report-interval-ms 200
  welcomed() { [[ $(sims_field welcomed) -ge "$N" ]]; }
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

  # Deploy to every host.
  write_bench_app "$DIR/app.yaml" v1
  R0=$(sims_field results)
  A0=$(now_ms)
  "$PYCTL" apply --no-wait "$DIR/app.yaml" >"$DIR/apply.out" 2>&1
  results_in() { [[ $(( $(sims_field results) - R0 )) -ge "$N" ]]; }
  wait_for "$N results" 300 results_in
  A1=$(now_ms)
  healthy() { [[ $("$PYCTL" -o json status bench 2>/dev/null | grep -c '"state": "healthy"') -ge "$N" ]]; }
  wait_for "status shows $N healthy" 300 healthy || true
  A2=$(now_ms)
  DEPLOY_MS=$((A1 - A0)); STATUS_OK_MS=$((A2 - A0))
  RSS_AFTER=$(rss_mib "$CTL_PID")
  VMHWM=$(hwm_mib "$CTL_PID")
  sleep 3  # let the deploy burst settle

  latency status "$LATENCY_RUNS" "$IDLE_CPU" status
  ST_P50=$LAT_P50; ST_P99=$LAT_P99; ST_MAX=$LAT_MAX; ST_PY=$LAT_PYCTL_MS; ST_CTL=$LAT_CTL_MS
  latency get-hosts "$LATENCY_RUNS" "$IDLE_CPU" get hosts
  GH_P50=$LAT_P50; GH_P99=$LAT_P99; GH_MAX=$LAT_MAX; GH_PY=$LAT_PYCTL_MS; GH_CTL=$LAT_CTL_MS
  STATUS_BYTES=$("$PYCTL" status | wc -c)

  ACTIVE=$(sims_field active)
  ENDED=$(sims_field ended)
  ROW="| $N | $RUN | $LOAD | $CONNECT_MS | $RSS0 | $RSS_IDLE | $IDLE_CPU | $THREADS | $FDS | $DEPLOY_MS | $STATUS_OK_MS | $RSS_AFTER / $VMHWM | $ST_P50 / $ST_P99 / $ST_MAX | $ST_PY / $ST_CTL | $GH_P50 / $GH_P99 / $GH_MAX | $GH_PY / $GH_CTL | $STATUS_BYTES | ${ACTIVE:-?} / ${ENDED:-?} |"
  echo "$ROW"
  [[ -n "$OUT" ]] && echo "$ROW" >>"$OUT"
  printf '%s\t' "$LOAD" "$CONNECT_MS" "$RSS0" "$RSS_IDLE" "$IDLE_CPU" "$THREADS" "$FDS" \
    "$DEPLOY_MS" "$STATUS_OK_MS" "$RSS_AFTER" "$VMHWM" "$ST_P50" "$ST_P99" "$ST_MAX" "$ST_PY" \
    "$ST_CTL" "$GH_P50" "$GH_P99" "$GH_MAX" "$GH_PY" "$GH_CTL" "$STATUS_BYTES" >>"$WORK/n$N.tsv"
  echo >>"$WORK/n$N.tsv"

  stop_sims
  kill "$CTL_PID" 2>/dev/null || true; wait "$CTL_PID" 2>/dev/null || true; CTL_PID=""
  cp "$DIR/controller.log" "$WORK/controller-n$N-$RUN.log" 2>/dev/null || true
  done
  # The median of each column over the runs.
  M=()
  for col in $(seq 22); do
    cut -f"$col" "$WORK/n$N.tsv" >"$WORK/col"
    M+=("$(median "$WORK/col")")
  done
  ROW="| $N | median of $RUNS | ${M[0]} | ${M[1]} | ${M[2]} | ${M[3]} | ${M[4]} | ${M[5]} | ${M[6]} | ${M[7]} | ${M[8]} | ${M[9]} / ${M[10]} | ${M[11]} / ${M[12]} / ${M[13]} | ${M[14]} / ${M[15]} | ${M[16]} / ${M[17]} / ${M[18]} | ${M[19]} / ${M[20]} | ${M[21]} | |"
  echo "$ROW"
  [[ -n "$OUT" ]] && echo "$ROW" >>"$OUT"
done
echo "work dir: $WORK" >&2
