#!/usr/bin/env bash
# The robot's hub, camera node and gateway (on a Jetson), with the shipped profiles, until Ctrl+C.
#
#   ./launch/robot.sh
#
# zenoh-router: config/zenoh/robot.json5, the robot's hub: plain zenoh on tcp/127.0.0.1:7447 for
#               the robot's own processes, mutual TLS on port 7448 for base stations once the
#               robot has its certificates (ROBOT_ZENOH_CERTS; launch/make-certs.sh makes them).
#               Without them the network listener stays off and the hub's log says so.
# camera-node:  config/camera-node/jetson-csi.toml, no zenoh flag (a client of the hub)
# web-gateway:  config/web-gateway.toml, no zenoh flag (connects to the hub); HTTP on
#               0.0.0.0:8080 so a laptop on the robot's
#               network can open the page, with a login (HTTP Basic, docs/security.md): the
#               first run creates ROBOT_AUTH_FILE with user "admin" and a generated password,
#               printed once; `web-gateway passwd FILE USER` adds users or changes passwords.
# For a service that starts at boot, use launch/install-systemd.sh instead.
#
# Environment (all optional):
#   ROBOT_CAMERA_CONFIG=FILE    camera-node TOML (default config/camera-node/jetson-csi.toml;
#                               config/camera-node/usb-camera.toml for a USB camera)
#   ROBOT_ZENOH_CONFIG=FILE     the hub's zenoh JSON5 (default config/zenoh/robot.json5)
#   ROBOT_ZENOH_CERTS=DIR       this robot's certificate folder (ca.pem, cert.pem, key.pem) for
#                               the hub's TLS listener (default: certs/ beside the zenoh JSON5)
#   ROBOT_GATEWAY_CONFIG=FILE   web-gateway TOML (default config/web-gateway.toml)
#   ROBOT_GATEWAY_LISTEN=ADDR   gateway HTTP address (default 0.0.0.0:8080)
#   ROBOT_START_TIMEOUT=S       seconds to wait for the first frame (default 60; Argus is slow)
#   ROBOT_LOG_DIR=DIR           where the logs go (default /tmp/robot-camera)
#   ROBOT_AUTH_FILE=FILE        htpasswd file of the gateway's users
#                               (default ~/.config/robot-camera/htpasswd)
#   ROBOT_AUTH=0                no login (anyone on the robot's network sees the cameras)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=launch/lib/deps.sh
source "$ROOT/launch/lib/deps.sh"
# shellcheck source=launch/lib/procs.sh
source "$ROOT/launch/lib/procs.sh"
# shellcheck source=launch/lib/run_pair.sh
source "$ROOT/launch/lib/run_pair.sh"
PAIR_NAME=robot

case "${1:-}" in
  -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
  '') ;;
  *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
esac

camera_config=${ROBOT_CAMERA_CONFIG:-$ROOT/config/camera-node/jetson-csi.toml}
zenoh_config=${ROBOT_ZENOH_CONFIG:-$ROOT/config/zenoh/robot.json5}
gateway_config=${ROBOT_GATEWAY_CONFIG:-$ROOT/config/web-gateway.toml}
listen=${ROBOT_GATEWAY_LISTEN:-0.0.0.0:8080}
for file in "$camera_config" "$zenoh_config" "$gateway_config"; do
  [ -f "$file" ] || { echo "config file not found: $file" >&2; exit 1; }
done
zenoh_certs=${ROBOT_ZENOH_CERTS:-}
if [ -n "$zenoh_certs" ] && [ ! -d "$zenoh_certs" ]; then
  echo "ROBOT_ZENOH_CERTS=$zenoh_certs is not a folder (launch/make-certs.sh makes one)" >&2
  exit 1
fi

pair_install_traps
cd "$ROOT"
ensure_rust
ensure_apt_packages "${DEPS_BUILD_PACKAGES[@]}"
if ! gst-inspect-1.0 --exists nvarguscamerasrc 2>/dev/null; then
  pair_log "nvarguscamerasrc not found: not a Jetson, or JetPack's nvidia-l4t-gstreamer is missing (docs/deploy-jetson.md)"
fi

pair_log "building (release)..."
bin_dir=$(build_bins release)
HUB_BIN="$bin_dir/zenoh-router"
CAMERA_BIN="$bin_dir/camera-node"
GATEWAY_BIN="$bin_dir/web-gateway"
HUB_ARGS=(--zenoh-config "$zenoh_config")
[ -z "$zenoh_certs" ] || HUB_ARGS+=(--zenoh-certs "$zenoh_certs")
# No zenoh flags: both reach the hub on tcp/127.0.0.1:7447 with their embedded defaults.
CAMERA_ARGS=(--config "$camera_config")
GATEWAY_ARGS=(--config "$gateway_config" --listen "$listen")
if [ "${ROBOT_AUTH:-1}" != 0 ]; then
  auth_file=${ROBOT_AUTH_FILE:-${XDG_CONFIG_HOME:-$HOME/.config}/robot-camera/htpasswd}
  if [ ! -s "$auth_file" ]; then
    mkdir -p "$(dirname "$auth_file")"
    password=$("$GATEWAY_BIN" passwd --generate "$auth_file" admin)
    pair_log "first run: created $auth_file; log in as admin with password: $password"
    pair_log "(shown once; change it with: $GATEWAY_BIN passwd $auth_file admin)"
  fi
  GATEWAY_ARGS+=(--auth-file "$auth_file")
  # A token of this run only, for the readiness check (the environment, not argv: ps shows argv).
  GATEWAY_TOKENS=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
  export GATEWAY_TOKENS
  PAIR_AUTH_HEADER="Authorization: Bearer $GATEWAY_TOKENS"
else
  pair_log "ROBOT_AUTH=0: no login; anyone who reaches $listen sees the cameras"
fi

host=${listen%:*}
case "$host" in 0.0.0.0 | '[::]') host=127.0.0.1 ;; esac
PAIR_URL="http://$host:${listen##*:}"
# The camera id comes from the camera config; the first `camera = "..."` line names it.
PAIR_CAMERA=$(sed -n 's/^[[:space:]]*camera[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$camera_config" | head -n 1)
PAIR_CAMERA=${PAIR_CAMERA:-front}
PAIR_SECONDS=""
PAIR_START_TIMEOUT=${ROBOT_START_TIMEOUT:-60}
PAIR_LOG_DIR=${ROBOT_LOG_DIR:-/tmp/robot-camera}

pair_start
pair_wait_ready
case "${listen%:*}" in
  0.0.0.0 | '[::]')
    addresses=$(hostname -I 2>/dev/null | xargs || true)
    pair_log "serving camera '$PAIR_CAMERA' at $PAIR_URL/ (from other machines: port ${listen##*:} of ${addresses:-this robot})" ;;
  *) pair_log "serving camera '$PAIR_CAMERA' at $PAIR_URL/" ;;
esac
pair_log "Ctrl+C stops all three"
pair_supervise
