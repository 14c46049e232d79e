#!/usr/bin/env bash
# Runs every test: the Rust test suites (with the headless-browser test), then the demo itself.
#
#   ./launch/test.sh
#
# Installs missing system packages first (needs root or sudo): GStreamer for the camera node,
# chromium + chromium-driver for the browser test, zenoh-python for the Python example,
# rosbags for the ROS 2 wire checks, mcap and websockets for the recording and Foxglove tests.
# The demo check starts ./launch/demo.sh on free loopback ports with a time limit, checks that
# its page shows a moving picture in a real browser, stops it with SIGINT as Ctrl+C would, and
# checks that no process of it is left.
#
# Environment (all optional):
#   TEST_DEMO_PROFILE=release|dev     profile the demo is built in (default release, as users run it)
#   TEST_STEPS="cargo profiles install fakejetson demo package"   which steps to run (default all)
#   TEST_SKIP_DEMO=1                  leave out the demo step
#   TEST_SKIP_INSTALL=1               do not check or install system packages
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=launch/lib/deps.sh
source "$ROOT/launch/lib/deps.sh"
# shellcheck source=launch/lib/procs.sh
source "$ROOT/launch/lib/procs.sh"
cd "$ROOT"

RESULTS=()
FAILED=0

log() { printf '[test] %s\n' "$*" >&2; }

# step NAME COMMAND... — runs one step, records its outcome, keeps going on failure so the
# summary shows everything that is broken at once.
step() {
  local name=$1 start=$SECONDS status=0
  shift
  log "=== $name"
  "$@" || status=$?
  if [ "$status" -eq 0 ]; then
    RESULTS+=("PASS  $name ($((SECONDS - start))s)")
  else
    RESULTS+=("FAIL  $name (exit $status, $((SECONDS - start))s)")
    FAILED=$((FAILED + 1))
  fi
}

DEMO_PID=""
stop_demo_on_exit() {
  [ -z "$DEMO_PID" ] || stop_pid "$DEMO_PID" demo.sh 10 || true
}
trap stop_demo_on_exit EXIT

wait_for_line() { # FILE PATTERN PID TIMEOUT — prints the first matching line
  local deadline=$((SECONDS + $4)) line
  while [ "$SECONDS" -lt "$deadline" ]; do
    line=$(grep -m 1 -- "$2" "$1" 2>/dev/null || true)
    if [ -n "$line" ]; then
      printf '%s\n' "$line"
      return 0
    fi
    pid_running "$3" || return 1
    sleep 0.2
  done
  return 1
}

field() { # LINE KEY — value of key=value in a DEMO_READY line
  printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

demo_check() {
  local http_port zenoh_port demo_log ready url hub_pid camera_pid gateway_pid first next deadline status=0 leftover
  http_port=$(free_port)
  zenoh_port=$(free_port)
  demo_log=$(mktemp "${TMPDIR:-/tmp}/demo-check.XXXXXX")
  # Job control gives the demo its own process group, as a terminal does, so the SIGINT below
  # reaches it like Ctrl+C (a background job of a script would ignore SIGINT) and so that
  # everything it started can be found afterwards by group.
  set -m
  DEMO_SECONDS=300 DEMO_SOURCE=test DEMO_SKIP_INSTALL=1 DEMO_PROFILE="${TEST_DEMO_PROFILE:-release}" \
    GATEWAY_LISTEN="127.0.0.1:$http_port" DEMO_ZENOH_ENDPOINT="tcp/127.0.0.1:$zenoh_port" \
    DEMO_LOG_DIR="$demo_log.logs" "$ROOT/launch/demo.sh" >"$demo_log" 2>&1 &
  DEMO_PID=$!
  set +m
  # Generous: the first run builds the release binaries.
  if ! ready=$(wait_for_line "$demo_log" '^DEMO_READY ' "$DEMO_PID" 1200); then
    log "demo did not become ready; its output:"
    sed 's/^/    /' "$demo_log" >&2
    return 1
  fi
  url=$(field "$ready" url)
  hub_pid=$(field "$ready" hub_pid)
  camera_pid=$(field "$ready" camera_pid)
  gateway_pid=$(field "$ready" gateway_pid)
  log "demo ready at $url (zenoh-router $hub_pid, camera-node $camera_pid, web-gateway $gateway_pid)"
  # The node and the gateway meet at the demo's hub, on the port this check gave it.
  if ! tr '\0' ' ' <"/proc/$hub_pid/cmdline" | grep -q -- "--zenoh-listen tcp/127.0.0.1:$zenoh_port"; then
    log "the demo's hub does not listen on the zenoh port it was given"
    return 1
  fi

  # The picture moves: a later snapshot differs from the first.
  # (set -e does not apply inside a function run by `step`: every check returns explicitly.)
  curl -fsS --max-time 5 -o "$demo_log.a.jpg" "${url}cameras/front/snapshot.jpg" || return 1
  [ "$(head -c 2 "$demo_log.a.jpg" | od -An -tx1 | tr -d ' ')" = ffd8 ] || { log "snapshot is not a JPEG"; return 1; }
  first=$(md5sum <"$demo_log.a.jpg")
  deadline=$((SECONDS + 10))
  next=$first
  while [ "$next" = "$first" ] && [ "$SECONDS" -lt "$deadline" ]; do
    sleep 0.2
    next=$(curl -fsS --max-time 5 "${url}cameras/front/snapshot.jpg" | md5sum)
  done
  [ "$next" != "$first" ] || { log "the demo's snapshot did not change within 10 s"; return 1; }
  log "snapshots change over time"

  # A real browser opening the printed URL sees a moving picture.
  # Same flags as the cargo test step, so nothing is rebuilt.
  DEMO_URL="$url" cargo test --workspace --test browser -- --ignored --exact demo_page_shows_moving_picture \
    || status=$?
  [ "$status" -eq 0 ] || log "browser check of the demo failed"

  # Ctrl+C: SIGINT to the demo's process group, as a terminal sends it.
  kill -INT -- "-$DEMO_PID"
  local stop_status=0
  deadline=$((SECONDS + 15))
  while pid_running "$DEMO_PID" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
  wait "$DEMO_PID" || stop_status=$?
  DEMO_PID_DONE=$DEMO_PID
  DEMO_PID=""
  sed -n 's/^/    /;/stopp/p' "$demo_log" >&2
  [ "$stop_status" -eq 0 ] || { log "demo.sh exited with $stop_status after Ctrl+C"; status=1; }
  for pid in "$hub_pid" "$camera_pid" "$gateway_pid"; do
    if pid_running "$pid"; then
      log "process $pid is still running after the demo stopped"
      status=1
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  leftover=$(group_pids "$DEMO_PID_DONE")
  if [ -n "$leftover" ]; then
    log "processes left in the demo's process group: $leftover"
    status=1
  fi
  if port_in_use "127.0.0.1:$http_port" || port_in_use "127.0.0.1:$zenoh_port"; then
    log "a demo port is still open after it stopped"
    status=1
  fi
  [ "$status" -ne 0 ] || log "Ctrl+C stopped the demo and left no process behind"
  rm -rf "$demo_log" "$demo_log".*
  return "$status"
}

# PIDs (space separated) of live processes in process group $1.
group_pids() {
  local stat_file stat fields pids=()
  for stat_file in /proc/[0-9]*/stat; do
    stat=$(cat "$stat_file" 2>/dev/null) || continue
    read -r -a fields <<<"${stat##*) }"
    # fields: state ppid pgrp ...
    if [ "${fields[2]}" = "$1" ] && [ "${fields[0]}" != Z ]; then
      pids+=("${stat%% *}")
    fi
  done
  echo "${pids[*]}"
}

# Every shipped TOML profile is accepted by the binary it is for (both reject unknown keys), the
# way a user would load it. The zenoh JSON5 profiles are covered by camera-node's
# tests/config_profiles.rs.
profiles_check() {
  local target status=0 file port log gateway_pid deadline
  # The same build as the test step (binaries included), so nothing is compiled twice.
  cargo test --workspace --no-run -q || return 1
  target=$(cargo_target_dir)/debug
  for file in "$ROOT"/config/camera-node/*.toml; do
    # --source test: the Argus/V4L2 profiles are checked for their keys, not for hardware.
    if ! RUST_LOG=warn "$target/camera-node" --config "$file" --source test --print-pipeline >/dev/null; then
      log "camera-node rejects $file"
      status=1
    fi
  done
  port=$(free_port)
  log=$(mktemp "${TMPDIR:-/tmp}/gateway-profile.XXXXXX")
  "$target/web-gateway" --config "$ROOT/config/web-gateway.toml" --listen 127.0.0.1:0 \
    --zenoh-connect "tcp/127.0.0.1:$port" 2>"$log" &
  gateway_pid=$!
  deadline=$((SECONDS + 30))
  until grep -q 'listening on http://' "$log"; do
    if ! pid_running "$gateway_pid" || [ "$SECONDS" -ge "$deadline" ]; then
      log "web-gateway did not start with config/web-gateway.toml:"
      sed 's/^/    /' "$log" >&2
      status=1
      break
    fi
    sleep 0.1
  done
  stop_pid "$gateway_pid" web-gateway 5 || { log "web-gateway did not exit 0 on SIGTERM"; status=1; }
  # The hub's profile without certificates: it starts, on loopback only, and says so once.
  "$target/zenoh-router" --zenoh-config "$ROOT/config/zenoh/robot.json5" --zenoh-certs "$log.nocerts" \
    --zenoh-listen "tcp/127.0.0.1:$port" --zenoh-listen "tls/127.0.0.1:$(free_port)" 2>"$log" &
  gateway_pid=$!
  deadline=$((SECONDS + 30))
  until grep -q 'router running' "$log"; do
    if ! pid_running "$gateway_pid" || [ "$SECONDS" -ge "$deadline" ]; then
      log "zenoh-router did not start with config/zenoh/robot.json5 and no certificates:"
      sed 's/^/    /' "$log" >&2
      status=1
      break
    fi
    sleep 0.1
  done
  [ "$(grep -c 'no usable TLS certificates' "$log")" = 1 ] \
    || { log "zenoh-router without certificates did not warn once"; status=1; }
  stop_pid "$gateway_pid" zenoh-router 5 || { log "zenoh-router did not exit 0 on SIGTERM"; status=1; }
  rm -f "$log"
  return "$status"
}

# install-systemd.sh staged into a temporary directory: every file lands where the units expect
# it, and systemd-analyze accepts the units (with their paths pointed into the stage).
install_check() {
  local stage status=0 unit output
  # The same build as the test step (binaries included), so nothing is compiled twice.
  cargo test --workspace --no-run -q || return 1
  stage=$(mktemp -d "${TMPDIR:-/tmp}/install-check.XXXXXX")
  "$ROOT/launch/install-systemd.sh" --destdir "$stage/root" --bin-dir "$(cargo_target_dir)/debug" \
    --camera-config "$ROOT/config/camera-node/jetson-csi.toml" || return 1
  for file in usr/local/bin/zenoh-router usr/local/bin/camera-node usr/local/bin/web-gateway \
    etc/robot-camera/camera-node.toml etc/robot-camera/web-gateway.toml etc/robot-camera/web-gateway.env \
    etc/robot-camera/zenoh/robot.json5 etc/robot-camera/zenoh/certs etc/systemd/system/zenoh-router.service \
    etc/systemd/system/camera-node.service etc/systemd/system/web-gateway.service; do
    [ -e "$stage/root/$file" ] || { log "install-systemd.sh did not install /$file"; status=1; }
  done
  # Every absolute path the units name under /etc/robot-camera must have been installed.
  while read -r file; do
    [ -e "$stage/root$file" ] || { log "a unit names $file, which was not installed"; status=1; }
  done < <(grep -oh '/etc/robot-camera/[A-Za-z0-9_./-]*' "$stage"/root/etc/systemd/system/*.service | sort -u)
  if command -v systemd-analyze >/dev/null 2>&1; then
    mkdir -p "$stage/verify"
    for unit in zenoh-router camera-node web-gateway; do
      sed "s|/usr/local/bin/|$stage/root/usr/local/bin/|" "$stage/root/etc/systemd/system/$unit.service" \
        >"$stage/verify/$unit.service"
    done
    # verify exits 0 on unknown keys and only says so: any output is a failure.
    output=$(cd "$stage/verify" && systemd-analyze verify --man=no zenoh-router.service camera-node.service \
      web-gateway.service 2>&1) || status=1
    [ -z "$output" ] || { log "systemd-analyze verify: $output"; status=1; }
  else
    log "systemd-analyze not found: units checked for installed paths only"
  fi
  "$ROOT/launch/install-systemd.sh" --destdir "$stage/base" --bin-dir "$(cargo_target_dir)/debug" \
    --role base-station --robot-address 192.0.2.10 || status=1
  grep -q 'zenoh-connect tls/192.0.2.10:7448' "$stage/base/etc/robot-camera/web-gateway.env" || status=1
  [ ! -e "$stage/base/usr/local/bin/camera-node" ] || { log "base station got camera-node"; status=1; }
  rm -rf "$stage"
  return "$status"
}

# ./launch/package.sh for this machine's architecture: the .deb files hold what the units
# need, declare GStreamer >= 1.14, and their binaries are stripped and <= 25 MB (package.sh
# refuses bigger ones). Runs after the demo, whose release build it reuses.
package_check() {
  local dist deb status=0 listing
  PACKAGE_SKIP_INSTALL=1 "$ROOT/launch/package.sh" --arch amd64 || return 1
  dist=$(cargo_target_dir)/dist
  deb=$dist/camera-node_$(dpkg-deb -f "$(ls "$dist"/camera-node_*_amd64.deb | head -n 1)" Version)_amd64.deb
  listing=$(dpkg-deb -c "$deb")
  for file in ./usr/bin/camera-node ./lib/systemd/system/camera-node.service ./etc/robot-camera/camera-node.toml \
    ./usr/bin/zenoh-router ./lib/systemd/system/zenoh-router.service ./etc/robot-camera/zenoh/robot.json5 \
    ./etc/robot-camera/zenoh/certs/; do
    grep -q " $file\$" <<<"$listing" || { log "$(basename "$deb") lacks $file"; status=1; }
  done
  # Each listing is read whole before grep -q looks at it: under pipefail, grep -q stopping at
  # its match would otherwise fail the pipeline when the writer gets SIGPIPE.
  local depends control
  depends=$(dpkg-deb -f "$deb" Depends)
  control=$(dpkg-deb --ctrl-tarfile "$deb" | tar -t)
  grep -q 'libgstreamer1.0-0 (>= 1.14)' <<<"$depends" || { log "camera-node does not depend on GStreamer >= 1.14"; status=1; }
  grep -q 'postinst' <<<"$control" || { log "camera-node has no postinst (system user)"; status=1; }
  listing=$(dpkg-deb -c "${deb/camera-node/web-gateway}")
  for file in ./usr/bin/web-gateway ./lib/systemd/system/web-gateway.service ./etc/robot-camera/web-gateway.env \
    ./etc/robot-camera/zenoh/base-station.json5; do
    grep -q " $file\$" <<<"$listing" || { log "web-gateway package lacks $file"; status=1; }
  done
  return "$status"
}

# Which steps to run (all by default); e.g. TEST_STEPS=demo ./launch/test.sh while iterating.
STEPS=${TEST_STEPS:-cargo profiles install fakejetson demo package}
has_step() { [[ " $STEPS " == *" $1 "* ]]; }

if [ "${TEST_SKIP_INSTALL:-0}" != 1 ]; then
  step "system packages" ensure_apt_packages "${DEPS_BUILD_PACKAGES[@]}" "${DEPS_BROWSER_PACKAGES[@]}" \
    "${DEPS_FAKE_JETSON_PACKAGES[@]}" "${DEPS_NETNS_PACKAGES[@]}"
  step "zenoh-python" ensure_python_zenoh
  step "rosbags (ROS 2 wire checks)" ensure_python_rosbags
  step "Python test packages (mcap, websockets, bcrypt)" ensure_python_test_packages
fi
ensure_rust
if has_step cargo; then
  step "cargo test --workspace" cargo test --workspace
fi
if has_step profiles; then
  step "config profiles load in the binaries" profiles_check
fi
if has_step install; then
  step "install-systemd.sh into a staging directory" install_check
fi
if has_step fakejetson; then
  # The Argus path (nvarguscamerasrc -> nvvidconv -> nvjpegenc) on fake elements; same build
  # flags as the cargo step, so nothing is recompiled.
  step "fake Jetson: Argus pipeline, nvjpegenc, recovery from fail and stall" \
    env FAKE_JETSON_SKIP_INSTALL=1 "$ROOT/launch/fake-jetson.sh" \
    cargo test --workspace --test e2e fake_jetson -- --ignored
fi
if has_step demo && [ "${TEST_SKIP_DEMO:-0}" != 1 ]; then
  step "demo: moving picture in a browser, clean Ctrl+C" demo_check
fi

if has_step package; then
  step "packages: ./launch/package.sh --arch amd64" package_check
fi

log "summary:"
for line in "${RESULTS[@]}"; do
  log "  $line"
done
# The plain closing line CI reads: steps, not individual tests (cargo prints those above).
printf 'steps: %d passed, %d failed\n' "$((${#RESULTS[@]} - FAILED))" "$FAILED"
if [ "$FAILED" -ne 0 ]; then
  log "$FAILED step(s) failed"
  exit 1
fi
log "all steps passed"
