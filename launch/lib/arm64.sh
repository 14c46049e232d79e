# shellcheck shell=bash
# Cross-building the robot binaries for a Jetson on a Debian x86 machine, and running them here.
#
# Target: aarch64 with glibc 2.27, the oldest JetPack in scope (4.6 = Ubuntu 18.04, GStreamer
# 1.14). cargo-zigbuild links against zig's glibc 2.27 stubs, so no symbol newer than 2.27 can
# slip in; GStreamer comes from Debian's arm64 multiarch packages (1.22, but the crates only
# enable 1.14 API: see arm64_check_gstreamer_features).
#
# Sourced after launch/lib/deps.sh by launch/package.sh and launch/arm64-check.sh.

ARM64_TARGET=aarch64-unknown-linux-gnu
ARM64_GLIBC=2.27
# The arm64 GStreamer/GLib link files (co-installable with the amd64 ones).
ARM64_DEV_PACKAGES=(libgstreamer1.0-dev:arm64 libglib2.0-dev:arm64 libgstreamer-plugins-base1.0-0:arm64)
# What the arm64 binaries need to run here under qemu-user (the qemu end-to-end test).
ARM64_RUN_PACKAGES=(qemu-user-static libc6:arm64 gstreamer1.0-plugins-base:arm64 gstreamer1.0-plugins-good:arm64 file curl)
ARM64_PIP_PACKAGES=(ziglang cargo-zigbuild)

arm64_log() { printf '[arm64] %s\n' "$*" >&2; }

ensure_arm64_toolchain() {
  # Here-strings, not pipes into grep -q: under pipefail a writer cut off early fails the test.
  if ! grep -qx "$ARM64_TARGET" <<<"$(rustup target list --installed)"; then
    rustup target add "$ARM64_TARGET" || return 1
  fi
  if ! command -v cargo-zigbuild >/dev/null 2>&1 || ! python3 -m ziglang version >/dev/null 2>&1; then
    arm64_log "installing ${ARM64_PIP_PACKAGES[*]} (zig and cargo-zigbuild, from PyPI)"
    pip_install "${ARM64_PIP_PACKAGES[@]}" || return 1
    hash -r
  fi
  if ! grep -qx arm64 <<<"$(dpkg --print-foreign-architectures)"; then
    arm64_log "enabling Debian's arm64 packages (dpkg --add-architecture arm64)"
    deps_as_root dpkg --add-architecture arm64 || return 1
    deps_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q || return 1
  fi
  ensure_apt_packages "${ARM64_DEV_PACKAGES[@]}" "$@"
}

# arm64_plugins_base_dev DIR — unpacks libgstreamer-plugins-base1.0-dev:arm64 (gstreamer-app's
# .pc file and link symlink) under DIR and prints its pkg-config directory.
#
# Not installed with apt: Debian 12 declares it conflicting with the amd64 package (both ship
# the same headers), and apt would remove the amd64 one every native build needs. The .so links
# point at the runtime libraries of libgstreamer-plugins-base1.0-0:arm64, which co-install.
arm64_plugins_base_dev() {
  local dir=$1/plugins-base-dev version deb link
  version=$(dpkg-query -W -f='${Version}' libgstreamer-plugins-base1.0-0:arm64) || return 1
  if [ ! -e "$dir/.version-$version" ]; then
    rm -rf "$dir"
    mkdir -p "$dir/deb"
    (cd "$dir/deb" && apt-get download -q "libgstreamer-plugins-base1.0-dev:arm64=$version" >&2) || return 1
    deb=$(echo "$dir"/deb/*.deb)
    dpkg-deb -x "$deb" "$dir/root" || return 1
    sed -i "s|^prefix=.*|prefix=$dir/root/usr|" "$dir"/root/usr/lib/aarch64-linux-gnu/pkgconfig/*.pc
    for link in "$dir"/root/usr/lib/aarch64-linux-gnu/*.so; do
      ln -sfn "/usr/lib/aarch64-linux-gnu/$(readlink "$link")" "$link"
    done
    touch "$dir/.version-$version"
  fi
  echo "$dir/root/usr/lib/aarch64-linux-gnu/pkgconfig"
}

# arm64_build TARGET_DIR CARGO_ARGS... — cargo zigbuild for aarch64 glibc 2.27 into TARGET_DIR
# (kept apart from the native target/ so the two builds never invalidate each other).
arm64_build() {
  local target_dir=$1 pc_dir
  shift
  pc_dir=$(arm64_plugins_base_dev "$target_dir/sysroot") || return 1
  PKG_CONFIG_ALLOW_CROSS=1 \
    PKG_CONFIG_LIBDIR="$pc_dir:/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig" \
    CARGO_TARGET_DIR="$target_dir" \
    cargo zigbuild --target "$ARM64_TARGET.$ARM64_GLIBC" "$@"
}

# arm64_check_glibc BINARY... — fails if any dynamic symbol needs a glibc newer than 2.27.
arm64_check_glibc() {
  local binary newest status=0
  for binary in "$@"; do
    newest=$(objdump -T "$binary" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -V -u | tail -n 1 || true)
    if [ -z "$newest" ]; then
      arm64_log "$binary: no GLIBC symbol versions found (objdump -T failed?)"
      status=1
    elif [ "$(printf '%s\n%s\n' "$newest" "$ARM64_GLIBC" | sort -V | tail -n 1)" != "$ARM64_GLIBC" ]; then
      arm64_log "$binary needs GLIBC_$newest (> $ARM64_GLIBC, JetPack 4.6):"
      objdump -T "$binary" | grep -E "GLIBC_$newest( |$)" | head -n 20 >&2
      status=1
    else
      arm64_log "$(basename "$binary"): newest glibc symbol version $newest (<= $ARM64_GLIBC)"
    fi
  done
  return "$status"
}

# The GStreamer API a binary may use is chosen by gstreamer-rs's v1_xx features; JetPack 4.6
# ships 1.14, so none of v1_16 and later may be enabled anywhere in the dependency tree (a
# binary built with them fails to start there: undefined symbol). Cheap: runs in normal CI too.
arm64_check_gstreamer_features() {
  local tree bad
  tree=$(cargo tree --workspace --all-features -e features --prefix none --target all) || return 1
  grep -q '^gstreamer v' <<<"$tree" || { arm64_log "cargo tree shows no gstreamer crate: check is broken"; return 1; }
  bad=$(grep -E '^gstreamer[a-z_-]* feature "v1_(1[6-9]|[2-9][0-9])"' <<<"$tree" | sort -u || true)
  if [ -n "$bad" ]; then
    arm64_log "GStreamer API newer than 1.14 is enabled (JetPack 4.6 has 1.14):"
    printf '    %s\n' "$bad" >&2
    return 1
  fi
  arm64_log "no gstreamer-rs v1_16+ feature in the dependency tree (GStreamer 1.14 API only)"
}
