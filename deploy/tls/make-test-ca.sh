#!/usr/bin/env bash
# Creates a test certificate authority and the certificates pyservice's
# transport security needs, with openssl (no network). For tests, demos and
# test fleets; not for production, where certificates come from your own CA.
#
# Usage:
#   make-test-ca.sh [--server-name NAME]... [--client NAME]... [--wrong-ca]
#                   [--days N] DIR
#
#   --server-name NAME  an extra name for the controller's certificate, a DNS
#                       name or an IP address (repeatable). The certificate
#                       always covers DNS:localhost and IP:127.0.0.1.
#   --client NAME       a client certificate with CN=NAME and SAN DNS:NAME
#                       (repeatable): one per agent host, named as the host,
#                       and e.g. `--client operator` for pyctl.
#   --wrong-ca          also a second, unrelated CA in DIR/wrong-ca/ with the
#                       same set of certificates, for tests that must be
#                       refused.
#   --days N            validity of the certificates in days (default 30, at
#                       least 1); CAs are valid for at least 365 days.
#
# Writes into DIR (created if missing):
#   ca.crt ca.key                  the CA
#   server.crt server.key          the controller's certificate
#   client-NAME.crt client-NAME.key  one pair per --client
#   wrong-ca/...                   the same layout, signed by the wrong CA
#
# Keys are EC P-256, mode 0600. Idempotent: a file that already exists and
# still fits (key matches certificate, signed by the CA in DIR, valid for
# more than an hour, covering every requested name) is kept; anything else is
# (re)issued. Re-running with the same arguments therefore changes nothing,
# and deleting ca.key/ca.crt re-issues everything. Silent unless it fails.
set -euo pipefail

readonly PROG="${0##*/}"

usage() {
  sed -n '/^# Usage:/,/^# Keys are/p' "$0" | sed -e 's/^# \{0,1\}//' -e '$d' >&2
  exit 2
}

die() {
  echo "${PROG}: $*" >&2
  exit 1
}

server_names=()
clients=()
wrong_ca=0
days=30
dir=""

while (($# > 0)); do
  case "$1" in
    --server-name)
      (($# >= 2)) || usage
      server_names+=("$2")
      shift 2
      ;;
    --client)
      (($# >= 2)) || usage
      clients+=("$2")
      shift 2
      ;;
    --wrong-ca)
      wrong_ca=1
      shift
      ;;
    --days)
      (($# >= 2)) || usage
      days="$2"
      shift 2
      ;;
    -h | --help) usage ;;
    -*) die "unknown option $1 (see --help)" ;;
    *)
      [[ -z "$dir" ]] || die "only one directory, got \"$dir\" and \"$1\""
      dir="$1"
      shift
      ;;
  esac
done
[[ -n "$dir" ]] || usage
[[ "$days" =~ ^[1-9][0-9]{0,4}$ ]] || die "--days: \"$days\" must be a whole number of days, at least 1"
ca_days=$((days > 365 ? days : 365))

command -v openssl >/dev/null 2>&1 ||
  die "openssl not found on PATH (Debian: apt-get install openssl)"

readonly dns_re='^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$'
readonly ipv4_re='^[0-9]{1,3}(\.[0-9]{1,3}){3}$'
readonly ipv6_re='^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$'

for name in "${clients[@]}"; do
  [[ "$name" =~ $dns_re ]] ||
    die "--client: \"$name\" must be a host name (letters, digits, '.', '-')"
done
# subjectAltName entries of the server certificate; localhost always.
server_san="DNS:localhost,IP:127.0.0.1"
for name in "${server_names[@]}"; do
  if [[ "$name" =~ $ipv4_re || "$name" =~ $ipv6_re ]]; then
    server_san+=",IP:${name}"
  elif [[ "$name" =~ $dns_re ]]; then
    server_san+=",DNS:${name}"
  else
    die "--server-name: \"$name\" must be a DNS name or an IP address"
  fi
done

# Keys are created 0600 from the start, not chmod-ed after the fact.
umask 077
mkdir -p "$dir"
work="$(mktemp -d "${dir%/}/.make-test-ca.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# Runs a command quietly; on failure shows its output and stops.
run() {
  local out
  if ! out="$("$@" 2>&1 </dev/null)"; then
    die "$* failed:"$'\n'"$out"
  fi
}

# Whether CRT and KEY exist, belong together and stay valid for an hour.
pair_fits() {
  local crt="$1" key="$2"
  [[ -s "$crt" && -s "$key" ]] || return 1
  openssl x509 -in "$crt" -noout -checkend 3600 >/dev/null 2>&1 || return 1
  local crt_pub key_pub
  crt_pub="$(openssl x509 -in "$crt" -noout -pubkey 2>/dev/null)" || return 1
  key_pub="$(openssl pkey -in "$key" -pubout 2>/dev/null)" || return 1
  [[ "$crt_pub" == "$key_pub" ]]
}

# Whether CRT is signed by CA and covers every entry of SAN ("DNS:a,IP:b").
leaf_fits() {
  local crt="$1" key="$2" ca="$3" san="$4"
  pair_fits "$crt" "$key" || return 1
  openssl verify -CAfile "$ca" "$crt" >/dev/null 2>&1 || return 1
  local entry out
  IFS=',' read -ra entries <<<"$san"
  for entry in "${entries[@]}"; do
    case "$entry" in
      DNS:*) out="$(openssl x509 -in "$crt" -noout -checkhost "${entry#DNS:}" 2>/dev/null)" ;;
      IP:*) out="$(openssl x509 -in "$crt" -noout -checkip "${entry#IP:}" 2>/dev/null)" ;;
    esac
    [[ "$out" == *" does match certificate"* ]] || return 1
  done
}

new_key() {
  run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"
}

# make_ca DEST CN: a self-signed CA in DEST/ca.{crt,key}, kept if it fits.
make_ca() {
  local dest="$1" cn="$2"
  mkdir -p "$dest"
  if pair_fits "$dest/ca.crt" "$dest/ca.key"; then
    chmod 0600 "$dest/ca.key"
    return
  fi
  cat >"$work/ca.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = ${cn}
[ext]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
EOF
  new_key "$work/ca.key"
  run openssl req -x509 -new -config "$work/ca.cnf" -extensions ext \
    -key "$work/ca.key" -sha256 -days "$ca_days" -out "$work/ca.crt"
  chmod 0644 "$work/ca.crt"
  # Key first: a crash between the two renames leaves a pair that does not
  # fit, which the next run replaces.
  mv -f "$work/ca.key" "$dest/ca.key"
  mv -f "$work/ca.crt" "$dest/ca.crt"
}

# make_leaf DEST BASENAME CN SAN USAGE: DEST/BASENAME.{crt,key} signed by
# DEST/ca.*, kept if it fits. USAGE is serverAuth or clientAuth.
make_leaf() {
  local dest="$1" base="$2" cn="$3" san="$4" usage="$5"
  local crt="$dest/$base.crt" key="$dest/$base.key"
  if leaf_fits "$crt" "$key" "$dest/ca.crt" "$san"; then
    chmod 0600 "$key"
    return
  fi
  cat >"$work/leaf.cnf" <<EOF
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = ${usage}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = ${san}
EOF
  new_key "$work/leaf.key"
  run openssl req -new -config /dev/null -key "$work/leaf.key" \
    -subj "/CN=${cn}" -out "$work/leaf.csr"
  run openssl x509 -req -in "$work/leaf.csr" -sha256 -days "$days" \
    -CA "$dest/ca.crt" -CAkey "$dest/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" \
    -extfile "$work/leaf.cnf" -out "$work/leaf.crt"
  chmod 0644 "$work/leaf.crt"
  mv -f "$work/leaf.key" "$key"
  mv -f "$work/leaf.crt" "$crt"
}

# make_set DEST CA_CN: a CA and every requested certificate under DEST.
make_set() {
  local dest="$1" ca_cn="$2" name
  make_ca "$dest" "$ca_cn"
  make_leaf "$dest" server pyservice-controller "$server_san" serverAuth
  for name in "${clients[@]}"; do
    make_leaf "$dest" "client-${name}" "$name" "DNS:${name}" clientAuth
  done
}

make_set "$dir" "pyservice test CA"
if ((wrong_ca)); then
  make_set "$dir/wrong-ca" "pyservice wrong test CA"
fi
