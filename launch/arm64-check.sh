#!/usr/bin/env bash
# Builds the arm64 (Jetson) packages and proves they fit the oldest target and run:
#
#   ./launch/arm64-check.sh          (CI runs it when RUN_ARM64=1: a cold build is 10-20 min)
#
# 1. ./launch/package.sh --arch arm64: cross-build for glibc 2.27, no gstreamer-rs v1_16+
#    feature in the tree, no dynamic symbol newer than GLIBC_2.27, stripped binaries <= 25 MB.
# 2. The packaged arm64 binaries, unpacked from the .deb files, run under qemu-aarch64-static
#    with Debian's arm64 GStreamer: zenoh-router is the hub, camera-node (test source, a client
#    of it) publishes frames, web-gateway serves them, and curl on this machine must get
#    changing JPEG snapshots and the camera in
#    /api/cameras. Everything listens on loopback and is stopped by PID.
#
# Environment: ARM64_TARGET_DIR (see package.sh), ARM64_START_TIMEOUT=S (default 180: qemu
# emulates every instruction, so the first frame takes a while).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=launch/lib/deps.sh
source "$ROOT/launch/lib/deps.sh"
# shellcheck source=launch/lib/procs.sh
source "$ROOT/launch/lib/procs.sh"
# shellcheck source=launch/lib/arm64.sh
source "$ROOT/launch/lib/arm64.sh"
cd "$ROOT"

log() { printf '[arm64-check] %s\n' "$*" >&2; }
start=$SECONDS
ensure_arm64_toolchain "${ARM64_RUN_PACKAGES[@]}"
"$ROOT/launch/package.sh" --arch arm64
log "packages built in $((SECONDS - start)) s"

dist=$(cargo_target_dir)/dist
work=$(mktemp -d "${TMPDIR:-/tmp}/arm64-check.XXXXXX")
HUB_PID=""
CAMERA_PID=""
GATEWAY_PID=""
cleanup() {
  local rc=$?
  stop_pid "$GATEWAY_PID" web-gateway 10 || true
  stop_pid "$CAMERA_PID" camera-node 10 || true
  stop_pid "$HUB_PID" zenoh-router 10 || true
  if [ "$rc" -ne 0 ]; then
    for file in "$work"/*.log; do
      [ -s "$file" ] || continue
      log "last lines of $(basename "$file"):"
      tail -n 20 "$file" | sed 's/^/    /' >&2
    done
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
version=$(dpkg-deb -f "$(echo "$dist"/camera-node_*_arm64.deb | cut -d' ' -f1)" Version)
for package in camera-node web-gateway; do
  dpkg-deb -x "$dist/${package}_${version}_arm64.deb" "$work/root"
done
bin=$work/root/usr/bin
file "$bin/zenoh-router" "$bin/camera-node" "$bin/web-gateway" | sed 's/^/    /' >&2

# No binfmt_misc needed: qemu is called directly. GStreamer's plugin scanner is an arm64
# helper binary the kernel cannot start here, so the registry is built in-process.
export GST_REGISTRY_FORK=no GST_REGISTRY=$work/registry-arm64.bin RUST_LOG=info
qemu=$(command -v qemu-aarch64-static)
zenoh_port=$(free_port)
http_port=$(free_port)
run_start=$SECONDS
"$qemu" "$bin/zenoh-router" --zenoh-listen "tcp/127.0.0.1:$zenoh_port" >"$work/zenoh-router.log" 2>&1 &
HUB_PID=$!
"$qemu" "$bin/camera-node" --source test --camera qemu --width 320 --height 240 --fps 10 \
  --zenoh-connect "tcp/127.0.0.1:$zenoh_port" >"$work/camera-node.log" 2>&1 &
CAMERA_PID=$!
"$qemu" "$bin/web-gateway" --config "$work/root/etc/robot-camera/web-gateway.toml" \
  --listen "127.0.0.1:$http_port" --zenoh-connect "tcp/127.0.0.1:$zenoh_port" \
  >"$work/web-gateway.log" 2>&1 &
GATEWAY_PID=$!

url="http://127.0.0.1:$http_port"
deadline=$((SECONDS + ${ARM64_START_TIMEOUT:-180}))
until http_ok "$url/cameras/qemu/snapshot.jpg"; do
  pid_running "$HUB_PID" || { log "arm64 zenoh-router exited"; exit 1; }
  pid_running "$CAMERA_PID" || { log "arm64 camera-node exited"; exit 1; }
  pid_running "$GATEWAY_PID" || { log "arm64 web-gateway exited"; exit 1; }
  [ "$SECONDS" -lt "$deadline" ] || { log "no snapshot from the arm64 pair within ${ARM64_START_TIMEOUT:-180} s"; exit 1; }
  sleep 0.5
done
log "first frame served $((SECONDS - run_start)) s after starting the arm64 binaries under qemu"

curl -fsS --max-time 10 -o "$work/a.jpg" "$url/cameras/qemu/snapshot.jpg"
[ "$(head -c 2 "$work/a.jpg" | od -An -tx1 | tr -d ' ')" = ffd8 ] || { log "snapshot is not a JPEG"; exit 1; }
file "$work/a.jpg" | grep -q '320x240' || { log "snapshot is not 320x240: $(file -b "$work/a.jpg")"; exit 1; }
first=$(md5sum <"$work/a.jpg")
next=$first
deadline=$((SECONDS + 30))
while [ "$next" = "$first" ] && [ "$SECONDS" -lt "$deadline" ]; do
  sleep 0.5
  next=$(curl -fsS --max-time 10 "$url/cameras/qemu/snapshot.jpg" | md5sum)
done
[ "$next" != "$first" ] || { log "the arm64 snapshot did not change within 30 s"; exit 1; }
cameras=$(curl -fsS --max-time 10 "$url/api/cameras")
grep -q '"id":"qemu","online":true' <<<"$cameras" || { log "/api/cameras does not list qemu online: $cameras"; exit 1; }
# The node's info (its answer to camera/qemu/info) is asked at discovery with a 1 s timeout,
# which an emulated node can miss; reported, not required.
deadline=$((SECONDS + 20))
until grep -q '"encoder":"jpegenc"' <<<"$cameras" || [ "$SECONDS" -ge "$deadline" ]; do
  sleep 1
  cameras=$(curl -fsS --max-time 10 "$url/api/cameras")
done
grep -q '"encoder":"jpegenc"' <<<"$cameras" || log "note: the gateway has no info reply from the emulated node: $cameras"
log "arm64 camera-node -> arm64 zenoh-router -> arm64 web-gateway -> curl: changing 320x240 JPEG snapshots, camera listed"

status=0
stop_pid "$GATEWAY_PID" web-gateway 10 || status=$?
GATEWAY_PID=""
[ "$status" -eq 0 ] || { log "arm64 web-gateway exited with $status on SIGTERM"; exit 1; }
stop_pid "$CAMERA_PID" camera-node 10 || status=$?
CAMERA_PID=""
[ "$status" -eq 0 ] || { log "arm64 camera-node exited with $status on SIGTERM"; exit 1; }
stop_pid "$HUB_PID" zenoh-router 10 || status=$?
HUB_PID=""
[ "$status" -eq 0 ] || { log "arm64 zenoh-router exited with $status on SIGTERM"; exit 1; }
log "all three stopped cleanly on SIGTERM; total $((SECONDS - start)) s"
