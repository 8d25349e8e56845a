#!/bin/sh
# The "pyservice" Ansible role's work for one app, as the plain commands its
# tasks run, the role's way: every run first stops, disables and deletes the
# app's units (the app is down from here), then ensures the user and tree,
# checks the repo out at the tag, builds the environment (the role's
# fallback without uv: python3 -m venv, pip install -r, pip install -e .),
# writes the files and config.yaml and the units, and starts them. No health
# check: the role has none. Used by `agent_bench --compare-role`, which runs
# it and pyservice-agent on the same test host and prints the ratio.
#
#   role_equivalent.sh APP TAG PORT REPO
set -eu
app=$1 tag=$2 port=$3 repo=$4
root=/applications/$app
appdir=$root/app
code=$appdir/code
config=$appdir/config
venv=$appdir/venv
# As the app user (the role's become_user). setpriv, not runuser: the test
# hosts' /etc has no PAM configuration.
as_app() { env HOME="$root" setpriv --reuid="$app" --regid="$app" --clear-groups "$@"; }

# deactivate
for unit in /etc/systemd/system/"$app"-*; do
  [ -e "$unit" ] || continue
  name=$(basename "$unit")
  systemctl stop "$name" || true
  systemctl disable --quiet "$name" || true
  rm -f "$unit"
done
systemctl daemon-reload

# structure (groupadd first: a host without login.defs makes no group)
getent group "$app" >/dev/null || groupadd --system "$app"
id -u "$app" >/dev/null 2>&1 ||
  useradd --system -g "$app" -d "$root" -c "User for $app service" "$app"
install -d -o "$app" -g "$app" -m 0775 "$root" "$appdir"
install -d -o "$app" -g "$app" -m 0750 "$root/data" "$config"

# checkout (the git module: clone, or fetch and force the tag), as root,
# then handed to the app user (the bench's repo is readable by root only)
if [ -d "$code/.git" ]; then
  git -c safe.directory="$code" -C "$code" fetch --quiet --tags origin
  git -c safe.directory="$code" -C "$code" checkout --quiet --force "$tag"
else
  git clone --quiet --branch "$tag" "$repo" "$code"
fi
chown -R "$app:$app" "$code"

# environment, as the app user, offline (Debian's wheel for -e)
[ -x "$venv/bin/python" ] || as_app python3 -m venv "$venv"
pip="$venv/bin/pip install --quiet --disable-pip-version-check --no-index"
as_app $pip --find-links /usr/share/python-wheels wheel
as_app sh -c "cd '$code' && $pip --no-build-isolation -r pinned-requirements.txt"
as_app sh -c "cd '$code' && $pip --no-build-isolation -e ."

# files and config
printf 'not a real secret\n' >"$config/secret.txt"
chown "$app:$app" "$config/secret.txt"
chmod 0640 "$config/secret.txt"
printf 'port: %s\n' "$port" >"$config/config.yaml"
chown "$app:$app" "$config/config.yaml"
chmod 0600 "$config/config.yaml"

# units
run="$venv/bin/python -m hello --config $config/config.yaml"
cat >"/etc/systemd/system/$app-web.service" <<EOF
[Unit]
Description=Serve $app over HTTP
After=network.target

[Service]
Type=simple
User=$app
Group=$app
WorkingDirectory=$code
ExecStart=$run web
Restart=always

[Install]
WantedBy=multi-user.target
EOF
cat >"/etc/systemd/system/$app-report.service" <<EOF
[Unit]
Description=Report every Monday at 2 AM

[Service]
Type=oneshot
User=$app
Group=$app
WorkingDirectory=$code
ExecStart=$run report
EOF
cat >"/etc/systemd/system/$app-report.timer" <<EOF
[Unit]
Description=Report every Monday at 2 AM

[Timer]
OnCalendar=Mon, 02:00
Persistent=true
Unit=$app-report.service

[Install]
WantedBy=timers.target
EOF
systemctl daemon-reload
systemctl enable --quiet "$app-web.service" "$app-report.timer"
systemctl restart "$app-web.service" "$app-report.timer"
