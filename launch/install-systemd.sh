#!/usr/bin/env bash
# Installs the binaries, configs and systemd units, then enables and starts the services.
#
#   sudo ./launch/install-systemd.sh                        # robot: zenoh-router (the hub),
#                                                           # camera-node, web-gateway
#   sudo ./launch/install-systemd.sh --role base-station --robot-address 192.168.1.10
#                                                           # base station: web-gateway only
#   ./launch/install-systemd.sh --destdir /tmp/stage        # dry run: files only, no systemctl
#
# Options:
#   --role robot|base-station   what to install (default robot)
#   --robot-address ADDR        base station: the robot's address, one of the names in its
#                               certificate (mutual TLS to its hub, zenoh port 7448)
#   --camera-config FILE        robot: camera-node TOML (default config/camera-node/jetson-csi.toml)
#   --prefix DIR                where bin/ and share/ go (default /usr/local)
#   --destdir DIR               stage everything under DIR and touch nothing else (also DESTDIR=)
#   --bin-dir DIR               take already built binaries from DIR instead of building
#   --no-start                  install and enable, but do not start now
#
# Files: $PREFIX/bin/{zenoh-router,camera-node,web-gateway}, /etc/robot-camera/{camera-node.toml,
# web-gateway.toml,web-gateway.env,htpasswd,zenoh/*.json5}, /etc/systemd/system/*.service,
# $PREFIX/share/doc/robot-camera/. Certificates: this machine's folder from launch/make-certs.sh
# goes in /etc/robot-camera/zenoh/certs/ (created empty; the robot's hub keeps its network
# listener off until they are there). Existing config files under /etc/robot-camera are kept; the
# new version is written beside them as *.new. web-gateway.env is generated from the options
# and replaced (the previous one is kept as web-gateway.env.bak). The gateway asks for a login:
# the first install creates /etc/robot-camera/htpasswd (mode 0600) with user "admin" and a
# generated password, printed once; `web-gateway passwd /etc/robot-camera/htpasswd USER` adds
# users or changes passwords (docs/security.md).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=launch/lib/procs.sh
source "$ROOT/launch/lib/procs.sh"

role=robot
robot_address=""
camera_config=$ROOT/config/camera-node/jetson-csi.toml
prefix=/usr/local
destdir=${DESTDIR:-}
bin_dir=""
start=1
while [ $# -gt 0 ]; do
  case "$1" in
    --role) role=${2:?}; shift 2 ;;
    --robot-address) robot_address=${2:?}; shift 2 ;;
    --camera-config) camera_config=${2:?}; shift 2 ;;
    --prefix) prefix=${2:?}; shift 2 ;;
    --destdir) destdir=${2:?}; shift 2 ;;
    --bin-dir) bin_dir=${2:?}; shift 2 ;;
    --no-start) start=0; shift ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$role" in
  robot) binaries=(zenoh-router camera-node web-gateway); units=(zenoh-router camera-node web-gateway) ;;
  base-station)
    binaries=(web-gateway); units=(web-gateway)
    [ -n "$robot_address" ] || { echo "--role base-station needs --robot-address ADDR" >&2; exit 2; } ;;
  *) echo "--role must be robot or base-station" >&2; exit 2 ;;
esac
if [ "$role" = robot ] && [ ! -f "$camera_config" ]; then
  echo "camera config not found: $camera_config (see config/camera-node/)" >&2
  exit 1
fi
if [ -z "$destdir" ] && [ "$(id -u)" -ne 0 ]; then
  echo "run as root (sudo), or stage with --destdir DIR" >&2
  exit 1
fi
log() { printf '[install] %s\n' "$*" >&2; }

if [ -z "$bin_dir" ] && [ "$role" = robot ]; then
  # The same build as demo.sh and robot.sh, so one made by them is reused.
  bin_dir=$(cd "$ROOT" && build_bins release)
elif [ -z "$bin_dir" ]; then
  # A base station builds only the gateway, which needs no GStreamer.
  (cd "$ROOT" && cargo build --release -p web-gateway --bins)
  bin_dir=$(cd "$ROOT" && cargo_target_dir)/release
fi

etc=$destdir/etc/robot-camera
# install_config SOURCE DEST — never overwrites an operator's edited config.
install_config() {
  if [ -e "$2" ] && ! cmp -s "$1" "$2"; then
    install -m 0644 "$1" "$2.new"
    log "kept $2 (yours differs); the shipped version is $2.new"
  else
    install -D -m 0644 "$1" "$2"
  fi
}

for binary in "${binaries[@]}"; do
  install -D -m 0755 "$bin_dir/$binary" "$destdir$prefix/bin/$binary"
done
install -d -m 0755 "$etc/zenoh" "$destdir/etc/systemd/system" "$destdir$prefix/share/doc/robot-camera"
install -d -m 0750 "$etc/zenoh/certs"
for profile in "$ROOT"/config/zenoh/*.json5; do
  install_config "$profile" "$etc/zenoh/$(basename "$profile")"
done
install_config "$ROOT/config/web-gateway.toml" "$etc/web-gateway.toml"
env_file=$(mktemp)
if [ "$role" = robot ]; then
  install_config "$camera_config" "$etc/camera-node.toml"
  cat >"$env_file" <<'EOF'
# Extra web-gateway flags. On the robot the gateway reaches the hub (zenoh-router) over loopback
# (its default) and serves HTTP to the robot's network; use 127.0.0.1:8080 to keep it local.
WEB_GATEWAY_ARGS=--listen 0.0.0.0:8080 --auth-file /run/web-gateway/htpasswd
EOF
else
  cat >"$env_file" <<EOF
# Extra web-gateway flags: the robot's hub over mutual TLS (config/zenoh/base-station.json5);
# this station's certificate folder goes in /etc/robot-camera/zenoh/certs/ (copied to
# /run/web-gateway/certs at each start).
WEB_GATEWAY_ARGS=--listen 0.0.0.0:8080 --zenoh-config /etc/robot-camera/zenoh/base-station.json5 --zenoh-certs /run/web-gateway/certs --zenoh-connect tls/$robot_address:7448 --auth-file /run/web-gateway/htpasswd
EOF
fi
# Generated from this command line, so it is replaced (the previous one is kept as .bak).
if [ -e "$etc/web-gateway.env" ] && ! cmp -s "$env_file" "$etc/web-gateway.env"; then
  cp "$etc/web-gateway.env" "$etc/web-gateway.env.bak"
fi
install -m 0644 "$env_file" "$etc/web-gateway.env"
rm -f "$env_file"
for unit in "${units[@]}"; do
  sed "s|/usr/local/bin/|$prefix/bin/|g; s|/usr/local/share/|$prefix/share/|g" \
    "$ROOT/launch/systemd/$unit.service" >"$destdir/etc/systemd/system/$unit.service"
  chmod 0644 "$destdir/etc/systemd/system/$unit.service"
done
# The unit copies it for the service at each start (see web-gateway.service).
if [ ! -s "$etc/htpasswd" ]; then
  password=$("$bin_dir/web-gateway" passwd --generate "$etc/htpasswd" admin)
  log "created $etc/htpasswd: log in to the gateway as admin with password: $password"
  log "(shown once; change it with: sudo web-gateway passwd /etc/robot-camera/htpasswd admin)"
fi
install -m 0644 "$ROOT/README.md" "$destdir$prefix/share/doc/robot-camera/README.md"
cp -r "$ROOT/docs" "$destdir$prefix/share/doc/robot-camera/"
log "installed ${binaries[*]} to $destdir$prefix/bin, configs to $etc, units to $destdir/etc/systemd/system"

if [ -n "$destdir" ]; then
  log "staged under $destdir: not creating users, not calling systemctl"
  exit 0
fi
if [ "$role" = robot ] && ! getent passwd robot-camera >/dev/null; then
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
    --user-group --groups video robot-camera
  log "created system user robot-camera (group video)"
fi
if [ "$role" = robot ]; then
  chgrp robot-camera "$etc/zenoh/certs"
  log "the robot's certificates (launch/make-certs.sh DIR robot NAME ADDRESS...) go in $etc/zenoh/certs/:"
  log "  install -o root -g robot-camera -m 0640 DIR/NAME/*.pem -t $etc/zenoh/certs/"
fi
systemctl daemon-reload
unit_names=()
for unit in "${units[@]}"; do unit_names+=("$unit.service"); done
if [ "$start" -eq 1 ]; then
  systemctl enable --now "${unit_names[@]}"
  log "running: systemctl status ${unit_names[*]}; logs: journalctl -u ${units[0]} -f"
else
  systemctl enable "${unit_names[@]}"
fi
