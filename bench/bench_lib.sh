# shellcheck shell=bash
# Helpers shared by the benchmark scripts (fleet_bench.sh, rollout_bench.sh).
# Sourced, not run. Every wait is bounded.

# shellcheck disable=SC2034  # used by the scripts that source this file
TICKS=$(getconf CLK_TCK)

# CPU time (utime+stime, in clock ticks) of a process.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# Resident set (VmRSS) and its peak (VmHWM), MiB.
rss_mib() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
hwm_mib() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
# "BUSY TOTAL" jiffies of the whole machine (all CPUs) from /proc/stat.
machine_ticks() { awk '/^cpu / {t=0; for (i=2;i<=NF;i++) t+=$i; print t-$5-$6, t}' /proc/stat; }
threads() { awk '/Threads/ {print $2}' "/proc/$1/status"; }
# Last line of a fleet_sim stats file, and a numeric field of such a line.
last_json() { tail -n 1 "$1"; }
field() { sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" <<<"$1"; }
now_ms() { date +%s%3N; }
# Percentile $2 (0-100, nearest rank) of the numbers in file $1, one a line.
percentile() { sort -n "$1" | awk -v p="$2" '{a[NR]=$1} END{r=int((p*NR+99)/100); if (r<1) r=1; print a[r]}'; }
# Median of the numbers in file $1.
median() { sort -n "$1" | awk '{a[NR]=$1} END{print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}'; }

# --pin: the controller on CPU 0, the simulator on CPU 1 (taskset), so they
# do not take each other's core (other load on the machine still does).
# Sets CTL_PIN and SIM_PIN (empty without pinning) for `$CTL_PIN cmd...`.
set_pins() {
  CTL_PIN=""; SIM_PIN=""
  if (( $1 )); then
    command -v taskset >/dev/null || { echo "--pin: taskset not found" >&2; exit 1; }
    CTL_PIN="taskset -c 0"; SIM_PIN="taskset -c 1"
  fi
}

# The simulated fleet as K fleet_sim processes (real agents are one stream
# per process; in one process all 10,000 streams share gRPC's callback
# completion queue, whose outstanding-operation list Debian's libgrpc,
# built without NDEBUG, scans on every completion: cq_check_tag).
# start_sims DIR N K RATE DEPLOY_LOG ARGS...: starts min(K, N) processes of
# $SIM ($SIM_PIN each) for the N hosts sim-00001 ... split as evenly as
# possible (--hosts and --first-index; the first N mod K take one host
# more), connecting RATE sessions/s in all (--connect-rate, shared in
# proportion to the hosts), each with ARGS and, if DEPLOY_LOG is 1, its own
# --deploy-log. Files in DIR:
# K = 1: sim.jsonl, sim.log, deploys.log (and the command line of before,
# without --first-index); K > 1: sim.J.jsonl, sim.J.log, deploys.J.log for
# J = 0 ... K-1. Sets SIM_PIDS, SIM_STATS (the JSON files) and
# SIM_DEPLOY_LOGS.
SIM_PIDS=(); SIM_STATS=(); SIM_DEPLOY_LOGS=()
start_sims() {
  local dir="$1" n="$2" k="$3" rate="$4" deploy_log="$5"; shift 5
  (( k > n )) && k=$n
  local base=$((n / k)) rem=$((n % k)) first=0 j hosts suffix hrate
  local -a extra
  SIM_PIDS=(); SIM_STATS=(); SIM_DEPLOY_LOGS=()
  for ((j = 0; j < k; j++)); do
    hosts=$((base + (j < rem ? 1 : 0)))
    hrate=$((rate * hosts / n)); (( hrate >= 1 )) || hrate=1
    suffix=""; extra=()
    (( k > 1 )) && { suffix=".$j"; extra+=(--first-index "$first"); }
    if (( deploy_log )); then
      extra+=(--deploy-log "$dir/deploys$suffix.log")
      SIM_DEPLOY_LOGS+=("$dir/deploys$suffix.log")
    fi
    $SIM_PIN "$SIM" --hosts "$hosts" --connect-rate "$hrate" "$@" ${extra[@]+"${extra[@]}"} \
      >"$dir/sim$suffix.jsonl" 2>"$dir/sim$suffix.log" &
    SIM_PIDS+=("$!")
    SIM_STATS+=("$dir/sim$suffix.jsonl")
    first=$((first + hosts))
  done
}
# Sum over the simulator processes of numeric field $1 of their last JSON
# line (0 for a process that has written none yet).
sims_field() {
  local f v sum=0
  for f in "${SIM_STATS[@]}"; do
    v=$(field "$(last_json "$f" 2>/dev/null)" "$1"); sum=$((sum + ${v:-0}))
  done
  echo "$sum"
}
# CPU ticks (utime+stime) of all simulator processes.
sims_cpu_ticks() {
  local p sum=0
  for p in "${SIM_PIDS[@]}"; do sum=$((sum + $(cpu_ticks "$p"))); done
  echo "$sum"
}
# Stops every simulator process (SIGTERM) and waits for them.
stop_sims() {
  local p
  for p in ${SIM_PIDS[@]+"${SIM_PIDS[@]}"}; do kill "$p" 2>/dev/null || true; done
  for p in ${SIM_PIDS[@]+"${SIM_PIDS[@]}"}; do wait "$p" 2>/dev/null || true; done
  SIM_PIDS=()
}

# wait_for DESC TIMEOUT_S CMD...: polls CMD every 0.2 s.
wait_for() {
  local desc="$1" timeout="$2"; shift 2
  local end=$(( $(date +%s) + timeout ))
  until "$@"; do
    if (( $(date +%s) >= end )); then echo "timeout: $desc" >&2; return 1; fi
    sleep 0.2
  done
}

# Checks that the build directory $1 has the three binaries and sets
# CONTROLLER, PYCTL and SIM.
find_binaries() {
  CONTROLLER="$1/controller/pyservice-controller"
  PYCTL="$1/cli/pyctl"
  SIM="$1/bench/fleet_sim"
  local f
  for f in "$CONTROLLER" "$PYCTL" "$SIM"; do
    [[ -x "$f" ]] || { echo "missing $f (build it first)" >&2; exit 1; }
  done
}

# The controller's access flags for a benchmark run in directory $1. The
# simulator's fake agents have no certificates, so the controller accepts
# agents without one and trusts their Hello (--insecure-agents: never in
# production); pyctl goes through the admin socket $1/admin.sock, where the
# controller's own user (and root) is an admin without a token. Sets the
# array CONTROLLER_ACCESS_ARGS and ADMIN_SOCK.
controller_access_args() {
  ADMIN_SOCK="$1/admin.sock"
  CONTROLLER_ACCESS_ARGS=(--insecure-agents --admin-socket "$ADMIN_SOCK")
}

# Waits for the admin socket of controller_access_args and points pyctl at
# it (PYCTL_CONTROLLER). A token in the environment would be checked
# instead of the socket's peer: none is passed on.
use_admin_socket() {
  wait_for "controller admin socket" 20 test -S "$ADMIN_SOCK"
  export PYCTL_CONTROLLER="unix:$ADMIN_SOCK"
  unset PYCTL_TOKEN PYCTL_TOKEN_FILE
}

# The benchmark app (targets every simulated host) at tag $2, into file $1.
write_bench_app() {
  cat >"$1" <<APP
name: bench
repo: file:///srv/git/bench.git
tag: $2
services:
  - name: web
    command: "python -m bench web"
targets:
  labels: {role: sim}
APP
}
