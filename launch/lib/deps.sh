# shellcheck shell=bash
# Installing what the launch scripts and CI need, idempotently.
#
# Sourced by launch/demo.sh, launch/test.sh, launch/robot.sh and .ci/run so that all of them
# agree on package names. Each function checks first and installs only what is missing, so
# running a script twice costs a few dpkg queries, not an apt-get round trip.

# Build + runtime packages: GStreamer headers for gstreamer-rs, the plugins the pipelines use
# (videotestsrc/jpegenc in -base/-good, v4l2src in -good), the H.264 lane's encoders and parser
# (x264enc in -ugly; openh264enc, h264parse in -bad), gst-inspect-1.0 for troubleshooting.
# shellcheck disable=SC2034 # used by the scripts that source this file
DEPS_BUILD_PACKAGES=(
  build-essential pkg-config curl ca-certificates
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-tools
  gstreamer1.0-plugins-ugly gstreamer1.0-plugins-bad
)
# The fake Jetson elements (launch/fake-jetson.sh): Python GStreamer elements, loaded by
# gst-python's plugin loader into Debian's /usr/bin/python3.
# shellcheck disable=SC2034
DEPS_FAKE_JETSON_PACKAGES=(python3-gst-1.0 gstreamer1.0-python3-plugin-loader gstreamer1.0-tools)
# The two-host tests (test-support/tests/twohosts): network namespaces and veth pairs (ip),
# link cuts (nft), certificates (openssl, launch/make-certs.sh).
# shellcheck disable=SC2034
DEPS_NETNS_PACKAGES=(iproute2 nftables openssl)
# Only for the headless-browser test; ffprobe/ffmpeg read the H.264 lane in the tests and the
# benchmark (size, rate, PSNR against the JPEG frames).
# shellcheck disable=SC2034
DEPS_BROWSER_PACKAGES=(chromium chromium-driver ffmpeg)

deps_log() { printf '[deps] %s\n' "$*" >&2; }

# Runs a command as root: directly when we are root, through sudo otherwise.
deps_as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    deps_log "need root to run: $* (run as root or install sudo)"
    return 1
  fi
}

# deps_is_installed PKG[:ARCH] — an unqualified name means this machine's architecture (or
# "all"); with arm64 enabled as a foreign architecture dpkg-query lists every instance.
deps_is_installed() {
  local arch=${1##*:}
  [ "$arch" != "$1" ] || arch=$(dpkg --print-architecture)
  dpkg-query -W -f='${Status} ${Architecture}\n' "$1" 2>/dev/null \
    | grep -qE "^install ok installed ($arch|all)\$"
}

# ensure_apt_packages PKG... — installs the missing ones with one apt-get call.
ensure_apt_packages() {
  if ! command -v dpkg-query >/dev/null 2>&1; then
    deps_log "not a Debian/Ubuntu system: make sure these are installed yourself: $*"
    return 0
  fi
  local missing=() package
  for package in "$@"; do
    deps_is_installed "$package" || missing+=("$package")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    return 0
  fi
  deps_log "installing ${missing[*]}"
  deps_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  # --no-remove: never trade an installed package for a missing one (with arm64 enabled, some
  # -dev packages of the two architectures conflict and apt would silently swap them).
  deps_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends --no-remove "${missing[@]}"
}

# The Rust toolchain is not taken from apt: Debian 12's rustc is older than our rust-version.
ensure_rust() {
  if command -v cargo >/dev/null 2>&1; then
    return 0
  fi
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
    return 0
  fi
  # A fresh machine: install the current stable toolchain for this user with rustup, as
  # https://rustup.rs describes (needs curl and network access to static.rust-lang.org).
  deps_log "cargo not found: installing Rust (stable, 1.92 or newer needed) with rustup"
  ensure_apt_packages curl ca-certificates build-essential pkg-config || return 1
  if ! curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal; then
    deps_log "rustup failed: install Rust 1.92 or newer by hand (https://rustup.rs), then re-run"
    return 1
  fi
  export PATH="$HOME/.cargo/bin:$PATH"
}

# The Python example needs zenoh-python matching the Rust zenoh minor version.
DEPS_PYTHON_ZENOH="eclipse-zenoh==1.10.*"

ensure_python_zenoh() {
  if python3 -c 'import zenoh, zenoh.ext' >/dev/null 2>&1; then
    return 0
  fi
  deps_log "installing $DEPS_PYTHON_ZENOH for $(command -v python3)"
  pip_install "$DEPS_PYTHON_ZENOH"
}

# The ROS 2 wire tests read CDR and compute type hashes with rosbags, independently of our code.
DEPS_PYTHON_ROSBAGS="rosbags==0.11.*"

ensure_python_rosbags() {
  ensure_python_zenoh || return 1
  if python3 -c 'import rosbags.typesys' >/dev/null 2>&1; then
    return 0
  fi
  deps_log "installing $DEPS_PYTHON_ROSBAGS for $(command -v python3)"
  pip_install "$DEPS_PYTHON_ROSBAGS"
}

# The recording and Foxglove tests read MCAP files and speak the Foxglove WebSocket protocol
# with these (test-support/python/read_mcap.py, the foxglove client test): an independent
# MCAP reader, protobuf decoding from the file's own schema, and a WebSocket client.
DEPS_PYTHON_TEST=("mcap==1.*" "mcap-protobuf-support==0.6.*" "protobuf>=4" "websockets>=12" "bcrypt>=4")

ensure_python_test_packages() {
  if python3 -c 'import mcap, mcap_protobuf, google.protobuf, websockets, bcrypt' >/dev/null 2>&1; then
    return 0
  fi
  deps_log "installing ${DEPS_PYTHON_TEST[*]} for $(command -v python3)"
  pip_install "${DEPS_PYTHON_TEST[@]}"
}

# pip_install REQUIREMENT... — into the python3 on PATH, with pip installed first if missing.
pip_install() {
  if ! python3 -m pip --version >/dev/null 2>&1; then
    ensure_apt_packages python3-pip
  fi
  # Debian's own python3 refuses pip installs outside a venv (PEP 668); a pyenv/venv python
  # does not. Only the former needs the override.
  local pip_flags=()
  if python3 -c 'import os, sysconfig; raise SystemExit(not os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")))' 2>/dev/null \
    && [ -z "${VIRTUAL_ENV:-}" ]; then
    pip_flags+=(--break-system-packages)
  fi
  python3 -m pip install -q "${pip_flags[@]}" "$@"
}

# GStreamer elements the test source needs; a clear message beats a pipeline error later.
check_gstreamer_elements() {
  local element missing=()
  for element in "$@"; do
    gst-inspect-1.0 --exists "$element" 2>/dev/null || missing+=("$element")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    deps_log "GStreamer elements missing: ${missing[*]} (videotestsrc: gstreamer1.0-plugins-base, jpegenc/v4l2src: gstreamer1.0-plugins-good)"
    return 1
  fi
}
