#!/usr/bin/env bash
# Builds the Debian packages: camera-node (with zenoh-router, the robot's hub) and web-gateway,
# for arm64 (Jetson, JetPack 4.6-6) and amd64, into target/dist/.
#
#   ./launch/package.sh                  both architectures
#   ./launch/package.sh --arch arm64     only the Jetson packages (cross-built here)
#   ./launch/package.sh --arch amd64     only this machine's
#
# arm64 is cross-compiled with cargo-zigbuild against glibc 2.27 (JetPack 4.6 = Ubuntu 18.04),
# in its own target directory so it never invalidates the native build; a cold arm64 build
# takes 10-20 min on 2 cores. amd64 reuses the release build of ./launch/demo.sh.
# Installing them: docs/deploy-jetson.md.
#
# Environment (all optional):
#   ARM64_TARGET_DIR=DIR      cargo target directory of the arm64 build (default target/arm64)
#   PACKAGE_SKIP_INSTALL=1    do not check or install build tools and arm64 libraries
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=launch/lib/deps.sh
source "$ROOT/launch/lib/deps.sh"
# shellcheck source=launch/lib/procs.sh
source "$ROOT/launch/lib/procs.sh"
# shellcheck source=launch/lib/arm64.sh
source "$ROOT/launch/lib/arm64.sh"
# shellcheck source=launch/lib/deb.sh
source "$ROOT/launch/lib/deb.sh"

arches=(arm64 amd64)
while [ $# -gt 0 ]; do
  case "$1" in
    --arch)
      case "${2:-}" in
        arm64 | amd64) arches=("$2") ;;
        *) echo "--arch must be arm64 or amd64" >&2; exit 2 ;;
      esac
      shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

cd "$ROOT"
log() { printf '[package] %s\n' "$*" >&2; }
if [ "${PACKAGE_SKIP_INSTALL:-0}" != 1 ]; then
  ensure_rust
  ensure_apt_packages "${DEPS_BUILD_PACKAGES[@]}"
fi
target=$(cargo_target_dir)
dist=$target/dist
mkdir -p "$dist"
version=$(cargo metadata --format-version 1 --no-deps \
  | sed -n 's/.*"name":"camera-node","version":"\([^"]*\)".*/\1/p')
[ -n "$version" ] || { log "cannot read the crate version from cargo metadata"; exit 1; }

# The configured GStreamer API level must fit the oldest target before anything is built.
arm64_check_gstreamer_features

for arch in "${arches[@]}"; do
  start=$SECONDS
  if [ "$arch" = arm64 ]; then
    [ "${PACKAGE_SKIP_INSTALL:-0}" = 1 ] || ensure_arm64_toolchain
    arm64_dir=${ARM64_TARGET_DIR:-$target/arm64}
    log "cross-building for $ARM64_TARGET (glibc $ARM64_GLIBC) in $arm64_dir"
    arm64_build "$arm64_dir" --release --locked -p zenoh-router -p camera-node -p web-gateway --bins
    bin_dir=$arm64_dir/$ARM64_TARGET/release
    arm64_check_glibc "$bin_dir/zenoh-router" "$bin_dir/camera-node" "$bin_dir/web-gateway"
  else
    log "building for amd64"
    bin_dir=$(build_bins release)
  fi
  log "$arch build: $((SECONDS - start)) s"
  deb_camera_node "$arch" "$version" "$bin_dir" "$dist"
  deb_web_gateway "$arch" "$version" "$bin_dir" "$dist"
done

log "packages in $dist:"
for deb in "$dist"/*.deb; do
  printf '    %-48s %s\n' "$(basename "$deb")" "$(du -h "$deb" | cut -f1)" >&2
done
