#!/usr/bin/env bash
# Installs everything pyservice needs to build and test, from Debian 12
# (bookworm) packages. Idempotent: quiet and quick when all is there.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libyaml-cpp-dev libgit2-dev libsdbus-c++-dev libspdlog-dev
  libsqlite3-dev libcli11-dev libgtest-dev libgmock-dev libssl-dev
  # Tests: systemd-analyze cross-checks the calendar validator; later issues
  # boot real systemd test hosts with systemd-nspawn.
  systemd systemd-container git python3 python3-venv python3-pip python3-wheel-whl
  openssh-server openssh-client iproute2 curl procps
  # The crash consistency e2e test kills the agent at a chosen syscall.
  strace
  # Man pages are checked with man -l; the packages need dpkg-shlibdeps;
  # the zsh completion is tested in a real zsh.
  man-db groff-base dpkg-dev zsh
  # The dashboard's browser test drives headless Chromium over the DevTools
  # protocol (tests/testing/headless_chromium.h).
  chromium
  # The metrics tests check GET /metrics with promtool and scrape it with a
  # real Prometheus.
  prometheus
  # The etcd store's tests and the HA e2e test run a real 3-node etcd cluster.
  etcd-server etcd-client
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
