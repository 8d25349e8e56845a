#!/usr/bin/env bash
# The demo: a small fleet. A controller on the embedded SQLite store, three
# test hosts with a real systemd (systemd-nspawn containers over this
# machine's own /usr, each with its own network namespace; see
# ARCHITECTURE.md, "Test hosts with a real systemd"), each running
# pyservice-agent from deploy/systemd/pyservice-agent.service and dialing the
# controller over TLS on a Unix socket bound into the host. Each host enrolls
# with a single-use token from `pyctl host enroll-token` (its name and its
# labels are bound there, by the operator), and the operator works as local
# root on the controller's admin socket, which no host can reach. The example app
# (deploy/examples/hello/app.yaml, labels role=web) is applied to the fleet
# and its status shown, then tag v2 is rolled out: a canary host first, a
# promotion, then the rest. Everything (hosts, controller, temporary files) is
# removed at the end, also on failure or Ctrl-C. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bash deploy/install-deps.sh
bash deploy/build.sh pyservice-controller pyservice-agent pyctl

if [[ $(id -u) != 0 ]]; then
  echo "demo.sh: the demo boots systemd-nspawn containers and needs root" >&2
  exit 1
fi

hosts=(web-1 web-2 web-3)
demo_dir=$(mktemp -d /tmp/pyservice-demo.XXXXXX)
tag=$(basename "$demo_dir" | tr -dc 'a-zA-Z0-9' | tail -c 6)
controller_pid=
declare -A nspawn_pid=()

stop_hosts() {
  local name pid
  for name in "${!nspawn_pid[@]}"; do
    pid=${nspawn_pid[$name]}
    kill -TERM "$pid" 2>/dev/null || true
  done
  for name in "${!nspawn_pid[@]}"; do
    pid=${nspawn_pid[$name]}
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      # Not shut down in 10 s: kill the container's init, then nspawn.
      pkill -KILL -P "$pid" 2>/dev/null || true
      sleep 0.5
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    unset "nspawn_pid[$name]"
  done
}
cleanup() {
  set +e
  stop_hosts
  if [[ -n $controller_pid ]]; then
    kill -TERM "$controller_pid" 2>/dev/null
    wait "$controller_pid" 2>/dev/null
  fi
  rm -rf "$demo_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n\033[1m$ %s\033[0m\n' "${*/#build\/cli\//}"; "$@"; }
say() { printf '\n\033[1m# %s\033[0m\n' "$*"; }

# ---- the example app's git repository: a tiny Python HTTP service ----
say "creating the example app's git repository (deploy/examples/hello/src; tags v1, v2)"
work=$demo_dir/hello-src
mkdir -p "$demo_dir/git"
cp -r deploy/examples/hello/src "$work"
git_() {
  HOME=$demo_dir GIT_CONFIG_NOSYSTEM=1 git -C "$work" \
    -c user.name=demo -c user.email=demo@example.invalid -c init.defaultBranch=main "$@"
}
git_ init --quiet
git_ add -A
git_ commit --quiet -m "hello v1"
git_ tag v1
# v2: the same app answering "hello v2", for the rollout below.
echo 'VERSION = "v2"' >"$work/hello/__init__.py"
git_ commit --quiet -am "hello v2"
git_ tag v2
# Where deploy/examples/hello/app.yaml's repo (file:///srv/git/hello.git)
# points inside the hosts.
HOME=$demo_dir GIT_CONFIG_NOSYSTEM=1 git clone --quiet --bare --no-local "$work" "$demo_dir/git/hello.git"

# ---- the controller ----
# TLS for the agents' socket: a test CA and the controller's certificate
# (deploy/tls/make-test-ca.sh; a real fleet uses its own). The agents'
# own certificates come from the controller's CA when they enroll.
mkdir -p "$demo_dir/run" "$demo_dir/bin" "$demo_dir/tls"
bash deploy/tls/make-test-ca.sh "$demo_dir/tls"
socket="unix:$demo_dir/run/controller.sock"
admin_socket="$demo_dir/admin.sock"
cat >"$demo_dir/controller.yaml" <<EOF
listen: [$socket]
data_dir: $demo_dir/data
secrets_key_file: $demo_dir/secrets.key
heartbeat_interval: 2s
tls_cert: $demo_dir/tls/server.crt
tls_key: $demo_dir/tls/server.key
admin_socket: $admin_socket
EOF
build/controller/pyservice-controller --config "$demo_dir/controller.yaml" \
  2>"$demo_dir/controller.log" &
controller_pid=$!
for _ in $(seq 100); do
  grep -q "admin socket on" "$demo_dir/controller.log" 2>/dev/null && break
  kill -0 "$controller_pid" 2>/dev/null || { cat "$demo_dir/controller.log" >&2; exit 1; }
  sleep 0.1
done
say "controller: $(grep -m1 -o 'listening on.*' "$demo_dir/controller.log") (TLS), $(grep -m1 -o 'admin socket on.*' "$demo_dir/controller.log")"

# The operator: root on the controller's machine, through the admin socket.
export PYCTL_CONTROLLER="unix:$admin_socket"
pyctl=build/cli/pyctl
step $pyctl auth whoami

# ---- the hosts ----
# The unit's ExecStart is /usr/local/bin/pyservice-agent; the hosts' /usr is
# this machine's, read-only, so a directory holding that link is bound over it.
ln -s /opt/pyservice/agent/pyservice-agent "$demo_dir/bin/pyservice-agent"

in_host() { local name=$1; shift; nsenter -t "$(host_init "$name")" -a "$@"; }
host_init() {
  local pid
  for pid in $(pgrep -P "${nspawn_pid[$1]}" 2>/dev/null); do
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == systemd ]] && { echo "$pid"; return 0; }
  done
  return 1
}

say "booting ${#hosts[@]} test hosts: ${hosts[*]}"
for name in "${hosts[@]}"; do
  machine="demo-$tag-$name"
  unshare -m sh -c 'mkdir -p /run/systemd/nspawn &&
    mount -t tmpfs tmpfs /run/systemd/nspawn && exec "$@"' sh \
    systemd-nspawn --quiet --register=no --keep-unit --volatile=yes -D / \
      --private-network --machine="$machine" \
      --bind-ro="$root/build:/opt/pyservice" \
      --bind="$demo_dir/run:/run/pyservice" \
      --bind-ro="$demo_dir/git:/srv/git" \
      --bind-ro="$demo_dir/bin:/usr/local/bin" \
      --boot systemd.firstboot=off \
      systemd.mask=systemd-networkd-wait-online.service \
      systemd.mask=ssh.service systemd.mask=ssh.socket \
      </dev/null >"$demo_dir/$name.console" 2>&1 &
  nspawn_pid[$name]=$!
done
for name in "${hosts[@]}"; do
  state=
  for _ in $(seq 600); do
    kill -0 "${nspawn_pid[$name]}" 2>/dev/null || break
    if host_init "$name" >/dev/null; then
      state=$(in_host "$name" systemctl is-system-running 2>/dev/null || true)
      [[ $state == running || $state == degraded ]] && break
    fi
    sleep 0.1
  done
  if [[ $state != running && $state != degraded ]]; then
    echo "demo.sh: host $name did not boot (state: ${state:-none})" >&2
    tail -n 30 "$demo_dir/$name.console" >&2
    exit 1
  fi
  # The agent, installed from its unit file, with the controller's CA and a
  # single-use enrollment token that binds the host's name and labels.
  in_host "$name" sh -c 'mkdir -p /etc/pyservice && cat >/etc/systemd/system/pyservice-agent.service' \
    <deploy/systemd/pyservice-agent.service
  in_host "$name" sh -c 'cat >/etc/pyservice/ca.crt' <"$demo_dir/tls/ca.crt"
  $pyctl host enroll-token "$name" --label role=web 2>/dev/null |
    in_host "$name" sh -c 'umask 077 && cat >/etc/pyservice/enroll.token'
  in_host "$name" sh -c 'cat >/etc/pyservice/agent.yaml' <<EOF
controller: unix:/run/pyservice/controller.sock
tls_ca: /etc/pyservice/ca.crt
enrollment_token_file: /etc/pyservice/enroll.token
pip_options: [--no-index]
EOF
  in_host "$name" systemctl daemon-reload
  in_host "$name" systemctl start pyservice-agent.service
  echo "  $name is up (systemd $state), agent started"
done

for _ in $(seq 100); do
  [[ $($pyctl get hosts -o json 2>/dev/null | grep -o '"connected": *true' | wc -l) -ge ${#hosts[@]} ]] && break
  sleep 0.2
done
step $pyctl get hosts
say "a viewer token may look, but not change anything"
$pyctl auth create-token demo-viewer --role viewer >"$demo_dir/viewer.token"
chmod 600 "$demo_dir/viewer.token"
step $pyctl --token-file "$demo_dir/viewer.token" --controller "$socket" \
  --tls-ca "$demo_dir/tls/ca.crt" apply deploy/examples/hello/app.yaml || true
step $pyctl apply deploy/examples/hello/app.yaml
step $pyctl status
step $pyctl get apps
say "the app answering inside web-1: curl http://127.0.0.1:8000/"
in_host web-1 curl --silent --show-error --max-time 3 http://127.0.0.1:8000/
step $pyctl apply deploy/examples/hello/app.yaml
say "a unit stopped by hand on web-2 (systemctl stop hello-web.service)"
in_host web-2 systemctl stop hello-web.service
sleep 2
step $pyctl status hello
in_host web-2 systemctl start hello-web.service
sleep 2
step $pyctl status hello

# ---- a canary rollout ----
serving() {
  local name
  for name in "${hosts[@]}"; do
    printf '  %s: %s\n' "$name" \
      "$(in_host "$name" curl --silent --show-error --max-time 3 http://127.0.0.1:8000/)"
  done
}
say "rolling out tag v2 with the app's strategy (canary 25%: one host, then wait for promotion)"
step $pyctl rollout hello --tag v2
say "what each host serves now"
serving
step $pyctl rollout promote hello
step $pyctl rollout status hello --watch
say "what each host serves now"
serving
step $pyctl history hello
say "cleaning up: stopping the hosts and the controller"
