# shellcheck shell=bash
# Small process and HTTP helpers shared by the launch scripts and the test script.
#
# Children are always tracked by PID and stopped by PID (TERM, then KILL after a grace period),
# never by name, so a script never touches a process it did not start.

# cargo's target directory, honouring CARGO_TARGET_DIR and .cargo/config.
cargo_target_dir() {
  cargo metadata --format-version 1 --no-deps 2>/dev/null \
    | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p'
}

# build_bins PROFILE — builds the three binaries (zenoh-router, camera-node, web-gateway) and
# prints the directory they are in. Every script that runs them (demo.sh, robot.sh, test.sh's
# demo step, install-systemd.sh, package.sh) builds them with this same command, so a build made
# by one is reused as it is by the others.
build_bins() {
  local profile=$1
  cargo build --profile "$profile" -p zenoh-router -p camera-node -p web-gateway --bins >&2 || return 1
  # cargo names the dev profile's directory "debug".
  [ "$profile" != dev ] || profile=debug
  echo "$(cargo_target_dir)/$profile"
}

# A free TCP port on loopback (the kernel picks it; the socket is closed before we return).
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# port_in_use HOST:PORT — true when something already listens there.
port_in_use() {
  local host=${1%:*} port=${1##*:}
  [ "$host" = "0.0.0.0" ] && host=127.0.0.1
  (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
}

# http_ok URL [HEADER] — true on a 2xx answer within 2 s (HEADER e.g. "Authorization: Bearer T").
http_ok() {
  curl -fsS -o /dev/null --max-time 2 ${2:+-H "$2"} "$1" 2>/dev/null
}

# pid_running PID — true while the process exists and is not a zombie waiting to be reaped.
pid_running() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

# stop_pid PID NAME [GRACE_SECONDS] — SIGTERM, wait, SIGKILL if still alive, then reap the child.
# Returns the child's exit status (143 = died of SIGTERM, 137 = needed SIGKILL).
stop_pid() {
  local pid=$1 name=$2 grace=${3:-5} tenths=0 status=0
  [ -n "$pid" ] || return 0
  if pid_running "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    while pid_running "$pid" && [ "$tenths" -lt $((grace * 10)) ]; do
      sleep 0.1
      tenths=$((tenths + 1))
    done
    if pid_running "$pid"; then
      printf '%s (pid %s) ignored SIGTERM for %ss, sending SIGKILL\n' "$name" "$pid" "$grace" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || status=$?
  return "$status"
}
