#!/usr/bin/env bash
# Rollout benchmark (issue 5). Builds nothing: expects a build directory with
# pyservice-controller, pyctl and fleet_sim, e.g.
#   cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release
#   ninja -C build-bench -j2 fleet_sim pyservice-controller pyctl
#   bench/rollout_bench.sh --build build-bench --sizes "1000 10000" --runs 3
# For each size, variant and run: a fresh controller (log level info, log to
# a file) on a unix socket in a temp data dir (--insecure-agents and pyctl on
# its admin socket, as in fleet_bench.sh), the simulator with N hosts
# (answers at once; prepare_only requests leave what runs unchanged and are
# answered with the result alone, as agents do; --prepare-progress: with two
# StepProgress first, as older agents and fleet_sim before it), an app
# at tag v1 on every host, then
#   pyctl rollout bench --tag v2 --batch 10% --no-wait            (plain)
#   pyctl rollout bench --tag v2 --canary 1% --batch 10% --auto-promote --no-wait
#                                                                  (canary)
# and, from the controller's log ("wave K ... started", "sent K deploy
# request(s)", "host X: bench revision R succeeded") and the simulator's
# --deploy-log (when each host got its DeployRequest; with K processes their
# deploys.J.log are concatenated into deploys.log), per wave: time from
# wave start to the first / last DeployRequest reaching the simulator
# (dispatch rate), to the last result, and to the next wave's start
# (bench/rollout_report.py). Also the total rollout time, the controller's
# CPU (utime+stime) from the command to the rollout's "→ succeeded" log
# line, and its RSS / peak RSS (VmHWM, includes the v1 deploy).
# The end is detected by watching the controller's log, not by polling
# `pyctl rollout status` (which would add controller CPU); status is read
# once, after the end, for the wave plan.
# Also the simulator's CPU (all its processes) and how busy the machine was
# (all cores, /proc/stat) over the same window: simulator and controller
# share the cores.
# --pin: controller on CPU 0, every simulator process on CPU 1 (taskset), so
# they do not take each other's core (other load on the machine still does).
# --sim-procs K (default 4): the simulator runs as K fleet_sim processes,
# each with its slice of the hosts (--first-index: the same host names and
# labels as one process) and its own DIR/sim.J.jsonl, sim.J.log and
# deploys.J.log (concatenated into deploys.log for the report); the waits
# and the simulator's CPU sum over them. Why: in one process all streams
# share gRPC's callback completion queue, whose list of outstanding
# operations Debian's libgrpc (built without NDEBUG) scans on every
# completion (cq_check_tag), so a 10,000-stream simulator bounded the
# benchmark as much as the controller; real agents are one stream per
# process. --sim-procs 1: one process and the files of before.
# --perf: also `perf record --call-graph dwarf` the controller during the
# rollout (DIR/perf.data, DIR/perf-self.txt, DIR/perf-children.txt) in the
# first run of each size and variant (perturbs that run's figures).
# --prepare-progress and --sim-procs K > 1 need a fleet_sim that has the
# flags (--prepare-progress, --first-index: this checkout's).
# Per-run Markdown tables go to the work dir (waves.md), a median table to
# stdout and to --out FILE. Every wait is bounded.
set -euo pipefail

BUILD=build
SIZES="1000 10000"
RUNS=3
VARIANTS="plain"
OUT=""
PERF=0
PIN=0
SIM_ARGS=()
WAIT_S=900
SIM_PROCS=4
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) BUILD="$2"; shift 2 ;;
    --sizes) SIZES="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --variants) VARIANTS="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --perf) PERF=1; shift ;;
    --pin) PIN=1; shift ;;
    --prepare-progress) SIM_ARGS+=(--prepare-progress); shift ;;
    --wait-s) WAIT_S="$2"; shift 2 ;;
    --sim-procs) SIM_PROCS="$2"; shift 2 ;;
    *) echo "usage: $0 [--build DIR] [--sizes \"1000 10000\"] [--runs 3] [--variants \"plain canary\"] [--out FILE] [--perf] [--pin] [--prepare-progress] [--wait-s 900] [--sim-procs 4]" >&2; exit 2 ;;
  esac
done
[[ "$SIM_PROCS" =~ ^[1-9][0-9]*$ ]] || { echo "--sim-procs: a number >= 1" >&2; exit 2; }
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=bench/bench_lib.sh
source "$HERE/bench_lib.sh"
find_binaries "$BUILD"
command -v python3 >/dev/null || { echo "python3 is needed (bench/rollout_report.py)" >&2; exit 1; }
if (( PERF )) && ! command -v perf >/dev/null; then echo "--perf: perf not found" >&2; exit 1; fi
# File descriptors: one socket per session on each side.
ulimit -n "$(ulimit -Hn)"

WORK="$(mktemp -d /tmp/rollout-bench.XXXXXX)"
CTL_PID=""; PERF_PID=""
cleanup() {
  if [[ -n "$PERF_PID" ]]; then kill -INT "$PERF_PID" 2>/dev/null || true; fi
  stop_sims
  if [[ -n "$CTL_PID" ]]; then kill "$CTL_PID" 2>/dev/null || true; fi
  wait 2>/dev/null || true
}
trap cleanup EXIT
set_pins "$PIN"
SUMMARIES="$WORK/summaries.jsonl"
: >"$SUMMARIES"

for N in $SIZES; do
  for VARIANT in $VARIANTS; do
    case "$VARIANT" in
      plain) ROLLOUT_ARGS=(--batch 10%) ;;
      canary) ROLLOUT_ARGS=(--canary 1% --batch 10% --auto-promote) ;;
      *) echo "unknown variant $VARIANT (plain, canary)" >&2; exit 2 ;;
    esac
    for RUN in $(seq "$RUNS"); do
      DIR="$WORK/n$N-$VARIANT-$RUN"; mkdir -p "$DIR"
      SOCK="$DIR/ctl.sock"
      echo "== $N hosts, $VARIANT, run $RUN ($DIR)" >&2
      controller_access_args "$DIR"
      $CTL_PIN "$CONTROLLER" --listen "unix:$SOCK" "${CONTROLLER_ACCESS_ARGS[@]}" \
        --data-dir "$DIR/data" --secrets-key-file "$DIR/secrets.key" --log-level info \
        2>"$DIR/controller.log" &
      CTL_PID=$!
      wait_for "controller listening" 20 test -S "$SOCK"
      use_admin_socket

      start_sims "$DIR" "$N" "$SIM_PROCS" 2000 1 --controller "unix:$SOCK" \
        --duration-s 3600 --report-interval-ms 200 ${SIM_ARGS[@]+"${SIM_ARGS[@]}"}
      welcomed() { [[ $(sims_field welcomed) -ge "$N" ]]; }
      wait_for "$N sessions welcomed" 120 welcomed

      # v1 everywhere, all healthy.
      write_bench_app "$DIR/app.yaml" v1
      "$PYCTL" apply --no-wait "$DIR/app.yaml" >"$DIR/apply.out" 2>&1 \
        || { echo "pyctl apply failed: $(tail -3 "$DIR/apply.out")" >&2; exit 1; }
      results_in() { [[ $(sims_field results) -ge "$N" ]]; }
      wait_for "$N v1 results" 300 results_in
      healthy() { [[ $("$PYCTL" -o json status bench 2>/dev/null | grep -c '"state": "healthy"') -ge "$N" ]]; }
      wait_for "status shows $N hosts healthy on v1" 300 healthy
      sleep 3  # let the deploy burst settle

      # The rollout.
      if (( PERF )) && (( RUN == 1 )); then
        perf record -F 250 --call-graph dwarf,32768 -p "$CTL_PID" -o "$DIR/perf.data" \
          >"$DIR/perf.log" 2>&1 &
        PERF_PID=$!
        sleep 1
      fi
      RSS0=$(rss_mib "$CTL_PID")
      C0=$(cpu_ticks "$CTL_PID"); S0=$(sims_cpu_ticks); M0=$(machine_ticks)
      CMD_MS=$(now_ms)
      "$PYCTL" rollout bench --tag v2 "${ROLLOUT_ARGS[@]}" --no-wait -o json \
        >"$DIR/rollout.json" 2>&1 \
        || { echo "pyctl rollout failed: $(tail -3 "$DIR/rollout.json")" >&2; exit 1; }
      RID=$(sed -n 's/^  "id": \([0-9]*\),*$/\1/p' "$DIR/rollout.json" | head -1)
      [[ -n "$RID" ]] || { echo "no rollout id in $DIR/rollout.json" >&2; exit 1; }
      finished() { grep -qE "rollout $RID of bench: [a-z_]+ → (succeeded|failed|aborted|rolled_back)" "$DIR/controller.log"; }
      wait_for "rollout $RID of $N hosts to finish" "$WAIT_S" finished
      C1=$(cpu_ticks "$CTL_PID"); S1=$(sims_cpu_ticks); M1=$(machine_ticks)
      END_MS=$(now_ms)
      if ! grep -q "rollout $RID of bench: [a-z_]* → succeeded" "$DIR/controller.log"; then
        echo "rollout $RID did not succeed: $(grep "rollout $RID of bench: .* → " "$DIR/controller.log" | tail -1)" >&2
        exit 1
      fi
      if [[ -n "$PERF_PID" ]]; then
        kill -INT "$PERF_PID" 2>/dev/null || true; wait "$PERF_PID" 2>/dev/null || true; PERF_PID=""
      fi
      RSS1=$(rss_mib "$CTL_PID"); HWM=$(hwm_mib "$CTL_PID"); THREADS=$(threads "$CTL_PID")
      CPU_S=$(awk -v c=$((C1 - C0)) -v t="$TICKS" 'BEGIN{printf "%.2f", c/t}')
      SIM_CPU_S=$(awk -v c=$((S1 - S0)) -v t="$TICKS" 'BEGIN{printf "%.2f", c/t}')
      # Share of both cores busy (all processes) over the window.
      MACHINE_BUSY=$(awk -v b=$(( ${M1% *} - ${M0% *} )) -v a=$(( ${M1#* } - ${M0#* } )) 'BEGIN{printf "%.2f", b/a}')
      "$PYCTL" rollout status bench -o json >"$DIR/status.json" 2>"$DIR/status.err" \
        || { echo "pyctl rollout status failed: $(cat "$DIR/status.err")" >&2; exit 1; }
      # The report reads one deploys.log: that of all the processes.
      if (( ${#SIM_DEPLOY_LOGS[@]} > 1 )); then
        sleep 0.5  # each process flushes its log every report interval (200 ms)
        cat "${SIM_DEPLOY_LOGS[@]}" >"$DIR/deploys.log"
      fi
      SUMMARY=$(python3 "$HERE/rollout_report.py" run "$DIR" "$N" "$CMD_MS" variant="$VARIANT" \
        run="$RUN" cpu_s="$CPU_S" cpu_window_ms=$((END_MS - CMD_MS)) rss_before="$RSS0" \
        rss_after="$RSS1" hwm="$HWM" threads="$THREADS" sim_cpu_s="$SIM_CPU_S" \
        machine_busy="$MACHINE_BUSY")
      echo "$SUMMARY" >>"$SUMMARIES"
      echo "$SUMMARY" >&2
      cat "$DIR/waves.md" >&2

      stop_sims
      kill "$CTL_PID" 2>/dev/null || true; wait "$CTL_PID" 2>/dev/null || true; CTL_PID=""
      if [[ -f "$DIR/perf.data" ]]; then
        # Self time per thread and symbol, then inclusive (children) time.
        perf report -i "$DIR/perf.data" --no-children --sort pid,sym -g none \
          --percent-limit 0.3 --stdio >"$DIR/perf-self.txt" 2>/dev/null || true
        perf report -i "$DIR/perf.data" --children --sort sym -g none \
          --percent-limit 2 --stdio >"$DIR/perf-children.txt" 2>/dev/null || true
      fi
      rm -rf "$DIR/data"
    done
  done
done
TABLE=$(python3 "$HERE/rollout_report.py" aggregate "$SUMMARIES")
echo "$TABLE"
[[ -n "$OUT" ]] && echo "$TABLE" >>"$OUT"
echo "work dir: $WORK" >&2
