#!/usr/bin/env bash
# The demo: build, start the hub (zenoh-router), a camera node and the web gateway on this
# machine, print the URL.
#
#   ./launch/demo.sh                  run until Ctrl+C
#   ./launch/demo.sh --duration 30    stop by itself after 30 s (also: DEMO_SECONDS=30)
#   ./launch/demo.sh --source test    the test pattern even if a camera is attached
#   ./launch/demo.sh --listen 127.0.0.1:8081    another HTTP port (also: GATEWAY_LISTEN=...)
#
# Installs missing system packages first (needs root or sudo). The camera node picks its source
# itself: a Jetson CSI camera if Argus is present, else /dev/video0, else a moving test pattern.
# The node and the gateway meet at the hub on loopback, as on a robot; everything stays on
# loopback unless GATEWAY_LISTEN says otherwise.
#
# Environment (all optional):
#   DEMO_SECONDS=N              stop after N seconds (same as --duration N)
#   DEMO_SOURCE=auto|test|...   camera-node --source (default auto)
#   GATEWAY_LISTEN=HOST:PORT    gateway HTTP address (default 127.0.0.1:8080)
#   DEMO_ZENOH_ENDPOINT=tcp/127.0.0.1:PORT   the hub's zenoh port, which the node and the
#                               gateway connect to (default: their built-in tcp/127.0.0.1:7447)
#   DEMO_PROFILE=release|dev    cargo profile to build and run (default release; also profiling)
#   DEMO_START_TIMEOUT=S        seconds to wait for the first frame (default 60)
#   DEMO_LOG_DIR=DIR            where the three logs go (default: a temporary directory, deleted
#                               when the demo stops cleanly and kept, with its path printed,
#                               when it fails)
#   DEMO_SKIP_INSTALL=1         do not check or install system packages
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=launch/lib/deps.sh
source "$ROOT/launch/lib/deps.sh"
# shellcheck source=launch/lib/procs.sh
source "$ROOT/launch/lib/procs.sh"
# shellcheck source=launch/lib/run_pair.sh
source "$ROOT/launch/lib/run_pair.sh"
PAIR_NAME=demo

PAIR_SECONDS=${DEMO_SECONDS:-}
SOURCE=${DEMO_SOURCE:-auto}
LISTEN=${GATEWAY_LISTEN:-127.0.0.1:8080}
PROFILE=${DEMO_PROFILE:-release}

while [ $# -gt 0 ]; do
  case "$1" in
    --duration) PAIR_SECONDS=${2:?--duration needs a number of seconds}; shift 2 ;;
    --source) SOURCE=${2:?--source needs a value}; shift 2 ;;
    --listen) LISTEN=${2:?--listen needs HOST:PORT}; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$PAIR_SECONDS" in
  '' | *[!0-9]*) [ -z "$PAIR_SECONDS" ] || { echo "--duration/DEMO_SECONDS must be whole seconds" >&2; exit 2; } ;;
esac
case "$PROFILE" in
  release | dev | profiling) ;;
  debug) PROFILE=dev ;;
  *) echo "DEMO_PROFILE must be release, dev or profiling" >&2; exit 2 ;;
esac

pair_install_traps
cd "$ROOT"

if [ "${DEMO_SKIP_INSTALL:-0}" != 1 ]; then
  ensure_rust
  ensure_apt_packages "${DEPS_BUILD_PACKAGES[@]}"
fi

if port_in_use "$LISTEN"; then
  pair_log "$LISTEN is already in use (another demo or web-gateway?): stop it, or run GATEWAY_LISTEN=127.0.0.1:8081 $0"
  exit 1
fi
ZENOH_ENDPOINT=${DEMO_ZENOH_ENDPOINT:-tcp/127.0.0.1:7447}
if port_in_use "${ZENOH_ENDPOINT#tcp/}"; then
  pair_log "${ZENOH_ENDPOINT#tcp/} is already in use (a zenoh router: another demo, zenoh-router, rmw_zenohd?): stop it, or run DEMO_ZENOH_ENDPOINT=tcp/127.0.0.1:7450 $0"
  exit 1
fi

pair_log "building ($PROFILE)..."
bin_dir=$(build_bins "$PROFILE")
HUB_BIN="$bin_dir/zenoh-router"
CAMERA_BIN="$bin_dir/camera-node"
GATEWAY_BIN="$bin_dir/web-gateway"

# The hub's embedded default: a router on tcp/127.0.0.1:7447 only.
HUB_ARGS=()
CAMERA_ARGS=(--source "$SOURCE")
GATEWAY_ARGS=(--listen "$LISTEN")
if [ -n "${DEMO_ZENOH_ENDPOINT:-}" ]; then
  HUB_ARGS+=(--zenoh-listen "$DEMO_ZENOH_ENDPOINT")
  CAMERA_ARGS+=(--zenoh-connect "$DEMO_ZENOH_ENDPOINT")
  GATEWAY_ARGS+=(--zenoh-connect "$DEMO_ZENOH_ENDPOINT")
fi

port=${LISTEN##*:}
host=${LISTEN%:*}
case "$host" in 0.0.0.0 | '[::]' | '') host=127.0.0.1 ;; esac
PAIR_URL="http://$host:$port"
PAIR_CAMERA=front
PAIR_START_TIMEOUT=${DEMO_START_TIMEOUT:-60}
if [ -n "${DEMO_LOG_DIR:-}" ]; then
  PAIR_LOG_DIR=$DEMO_LOG_DIR
else
  PAIR_LOG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/robot-camera-demo.XXXXXX")
  PAIR_LOG_DIR_IS_TEMP=1
fi

pair_start
pair_wait_ready

cat >&2 <<EOF

  Open $PAIR_URL/ in a browser: live view, fps, latency, snapshot.
    MJPEG stream   $PAIR_URL/cameras/$PAIR_CAMERA/stream.mjpg
    snapshot       $PAIR_URL/cameras/$PAIR_CAMERA/snapshot.jpg
    camera list    $PAIR_URL/api/cameras
  Ctrl+C stops all three processes.${PAIR_SECONDS:+ (Stopping by itself after ${PAIR_SECONDS}s.)}

EOF
# Machine-readable line for scripts (launch/test.sh) that capture the demo's output.
if [ ! -t 1 ]; then
  echo "DEMO_READY url=$PAIR_URL/ hub_pid=$PAIR_HUB_PID camera_pid=$PAIR_CAMERA_PID gateway_pid=$PAIR_GATEWAY_PID"
fi

pair_supervise
