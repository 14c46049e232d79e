#!/usr/bin/env bash
# Runs a command with fake Jetson GStreamer elements: the Argus path tested without a Jetson.
#
#   ./launch/fake-jetson.sh gst-inspect-1.0 nvarguscamerasrc
#   ./launch/fake-jetson.sh target/debug/camera-node --source auto      # picks argus
#   FAKE_JETSON_CONTROL=/tmp/argus ./launch/fake-jetson.sh CMD...      # then: echo stall >/tmp/argus
#
# nvarguscamerasrc, nvvidconv, nvjpegenc and nvv4l2h264enc become Python GStreamer elements
# (launch/fake-jetson/python/) with NVIDIA's names, properties and pad templates, built from
# software elements (videotestsrc, videoflip, videoscale, jpegenc, x264enc). For tests only: nothing
# here is installed anywhere, and the real machine's GStreamer registry is left untouched.
#
# Fault injection: the file $FAKE_JETSON_CONTROL holds "run" (default), "stall" (frames stop,
# the pipeline stays up) or "fail" (the source posts an error as a dying Argus session does).
#
# Environment: FAKE_JETSON_SKIP_INSTALL=1 to not check/install the Debian packages
# python3-gst-1.0 and gstreamer1.0-python3-plugin-loader (they run under /usr/bin/python3).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=launch/lib/deps.sh
source "$ROOT/launch/lib/deps.sh"

[ $# -gt 0 ] || { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2; }
if [ "${FAKE_JETSON_SKIP_INSTALL:-0}" != 1 ]; then
  ensure_apt_packages "${DEPS_FAKE_JETSON_PACKAGES[@]}"
fi

# gst-python's loader imports the *.py files of <each GST_PLUGIN_PATH entry>/python.
export GST_PLUGIN_PATH="$ROOT/launch/fake-jetson${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
# A registry of our own: the default one (~/.cache/gstreamer-1.0) would otherwise remember the
# fakes and make every later `camera-node --source auto` on this machine believe it is a Jetson.
registry_dir=$(mktemp -d "${TMPDIR:-/tmp}/fake-jetson-registry.XXXXXX")
trap 'rm -rf "$registry_dir"' EXIT
export GST_REGISTRY="$registry_dir/registry.bin"
export FAKE_JETSON_CONTROL=${FAKE_JETSON_CONTROL:-$registry_dir/control}

for element in nvarguscamerasrc nvvidconv nvjpegenc nvv4l2h264enc; do
  if ! gst-inspect-1.0 --exists "$element"; then
    echo "[fake-jetson] $element did not load; gst-inspect-1.0 says:" >&2
    GST_DEBUG=python:4 gst-inspect-1.0 "$element" >&2 || true
    exit 1
  fi
done
# Not exec: the trap removes the private registry when CMD ends. CMD runs in the background
# so that a SIGTERM/SIGINT sent to this script reaches it too (bash defers traps while a
# foreground child runs, and would leave CMD running after the script was stopped).
"$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null' TERM INT
set +e
wait "$child"
status=$?
# A trapped signal ends `wait` early (status > 128): wait for CMD's own exit status.
while kill -0 "$child" 2>/dev/null; do
  wait "$child"
  status=$?
done
exit "$status"
