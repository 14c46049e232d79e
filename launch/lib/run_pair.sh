# shellcheck shell=bash
# Runs the hub (zenoh-router), camera-node and web-gateway side by side until Ctrl+C, a
# deadline, or one of them dies.
#
# Shared by launch/demo.sh and launch/robot.sh, which only differ in the arguments they pass.
# Owns the children's whole life: start (the hub first, then the two that connect to it), wait
# until a frame is served, supervise, and stop all three by PID from an EXIT trap, so that no
# path out of the script (Ctrl+C, kill, a failed start) leaves a process behind.
#
# The caller sets:
#   HUB_BIN, CAMERA_BIN, GATEWAY_BIN     absolute paths of the built binaries
#   HUB_ARGS, CAMERA_ARGS, GATEWAY_ARGS  arrays of arguments
#   PAIR_URL                       the gateway's base URL as a browser on this host reaches it
#   PAIR_CAMERA                    camera id whose first frame means "ready"
#   PAIR_SECONDS                   empty: run until Ctrl+C; N: stop after N seconds
#   PAIR_START_TIMEOUT             seconds to wait for the first frame
#   PAIR_LOG_DIR                   where camera-node.log and web-gateway.log go
#   PAIR_LOG_DIR_IS_TEMP           1: PAIR_LOG_DIR is ours, deleted after a clean stop
#   PAIR_AUTH_HEADER               optional request header for the readiness check when the
#                                  gateway has authentication on (e.g. "Authorization: Bearer T")

PAIR_HUB_PID=""
PAIR_CAMERA_PID=""
PAIR_GATEWAY_PID=""
PAIR_STARTED=0

pair_log() { printf '[%s] %s\n' "${PAIR_NAME:-launch}" "$*" >&2; }

pair_tail_logs() {
  local file
  for file in "$PAIR_LOG_DIR/zenoh-router.log" "$PAIR_LOG_DIR/camera-node.log" "$PAIR_LOG_DIR/web-gateway.log"; do
    [ -s "$file" ] || continue
    pair_log "last lines of $file:"
    tail -n 15 "$file" | sed 's/^/    /' >&2
  done
}

pair_cleanup() {
  local rc=$? status_gateway=0 status_camera=0 status_hub=0
  trap - EXIT INT TERM
  # Gateway first: its open streams end before the camera goes, so browsers see "stream
  # ended" rather than a NO SIGNAL picture. The hub last: the others close their sessions.
  stop_pid "$PAIR_GATEWAY_PID" web-gateway 5 || status_gateway=$?
  stop_pid "$PAIR_CAMERA_PID" camera-node 5 || status_camera=$?
  stop_pid "$PAIR_HUB_PID" zenoh-router 5 || status_hub=$?
  if [ "$PAIR_STARTED" -eq 1 ]; then
    if [ "$status_gateway" -eq 0 ] && [ "$status_camera" -eq 0 ] && [ "$status_hub" -eq 0 ] && [ "$rc" -eq 0 ]; then
      pair_log "stopped zenoh-router (pid $PAIR_HUB_PID), camera-node (pid $PAIR_CAMERA_PID) and web-gateway (pid $PAIR_GATEWAY_PID) cleanly"
      # A clean run's logs are of no further use; a failed run's are kept for reading.
      [ "${PAIR_LOG_DIR_IS_TEMP:-0}" != 1 ] || rm -rf "$PAIR_LOG_DIR"
    else
      pair_log "exit status: zenoh-router $status_hub, camera-node $status_camera, web-gateway $status_gateway (logs in $PAIR_LOG_DIR)"
      [ "$rc" -ne 0 ] || rc=1
    fi
  fi
  exit "$rc"
}

pair_on_signal() {
  pair_log "stopping..."
  # A user ending a running demo is a success; interrupting the build or start-up is not.
  if [ "$PAIR_STARTED" -eq 1 ]; then exit 0; else exit 130; fi
}

pair_install_traps() {
  trap pair_cleanup EXIT
  trap pair_on_signal INT TERM
}

pair_start() {
  mkdir -p "$PAIR_LOG_DIR"
  : "${RUST_LOG:=info}"
  export RUST_LOG
  "$HUB_BIN" "${HUB_ARGS[@]}" >"$PAIR_LOG_DIR/zenoh-router.log" 2>&1 &
  PAIR_HUB_PID=$!
  PAIR_STARTED=1
  # The others would wait for it anyway; starting them once it listens keeps their logs quiet.
  local deadline=$((SECONDS + 30))
  until grep -q 'router running' "$PAIR_LOG_DIR/zenoh-router.log" 2>/dev/null; do
    if ! pid_running "$PAIR_HUB_PID" || [ "$SECONDS" -ge "$deadline" ]; then
      pair_log "zenoh-router did not start"
      pair_tail_logs
      return 1
    fi
    sleep 0.1
  done
  # Its one warning, if any (e.g. no certificates: the network listener is off).
  grep -h ' WARN ' "$PAIR_LOG_DIR/zenoh-router.log" | sed 's/^/    /' >&2 || true
  "$CAMERA_BIN" "${CAMERA_ARGS[@]}" >"$PAIR_LOG_DIR/camera-node.log" 2>&1 &
  PAIR_CAMERA_PID=$!
  "$GATEWAY_BIN" "${GATEWAY_ARGS[@]}" >"$PAIR_LOG_DIR/web-gateway.log" 2>&1 &
  PAIR_GATEWAY_PID=$!
  pair_log "zenoh-router pid $PAIR_HUB_PID, camera-node pid $PAIR_CAMERA_PID, web-gateway pid $PAIR_GATEWAY_PID, logs in $PAIR_LOG_DIR"
}

# Fails unless all three children still run.
pair_check_alive() {
  if ! pid_running "$PAIR_HUB_PID"; then
    pair_log "zenoh-router exited"
    return 1
  fi
  if ! pid_running "$PAIR_CAMERA_PID"; then
    pair_log "camera-node exited"
    return 1
  fi
  if ! pid_running "$PAIR_GATEWAY_PID"; then
    pair_log "web-gateway exited"
    return 1
  fi
}

# Polls until the gateway is healthy and serves a frame of PAIR_CAMERA (no event to wait on:
# the processes are separate and say nothing to us but HTTP).
pair_wait_ready() {
  local deadline=$((SECONDS + PAIR_START_TIMEOUT))
  until http_ok "$PAIR_URL/healthz" && http_ok "$PAIR_URL/cameras/$PAIR_CAMERA/snapshot.jpg" "${PAIR_AUTH_HEADER:-}"; do
    if ! pair_check_alive; then
      pair_tail_logs
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      pair_log "no frame of camera '$PAIR_CAMERA' at $PAIR_URL within ${PAIR_START_TIMEOUT}s"
      pair_tail_logs
      return 1
    fi
    sleep 0.2
  done
}

# Supervises until the deadline (if any) or until a child dies; Ctrl+C lands in the trap.
pair_supervise() {
  local deadline=""
  [ -z "$PAIR_SECONDS" ] || deadline=$((SECONDS + PAIR_SECONDS))
  while pair_check_alive; do
    if [ -n "$deadline" ] && [ "$SECONDS" -ge "$deadline" ]; then
      pair_log "${PAIR_SECONDS}s elapsed"
      return 0
    fi
    sleep 0.5
  done
  pair_tail_logs
  return 1
}
