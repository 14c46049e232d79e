# shellcheck shell=bash
# The two Debian packages, staged by hand and built with dpkg-deb (no extra tool to compile).
#
# camera-node: everything a robot runs besides the gateway — /usr/bin/camera-node and
#   /usr/bin/zenoh-router (the robot's hub: one package, so a robot installs camera-node and
#   web-gateway and is done), their units, /etc/robot-camera/camera-node.toml (the Jetson CSI
#   profile on arm64, the USB camera profile on amd64), the robot's zenoh profiles
#   (robot.json5, robot-plain-lab.json5, local.json5) in /etc/robot-camera/zenoh/ with an empty
#   certs/ beside them (the robot's certificate folder goes there; the postinst says so), every
#   camera-node profile under /usr/share/robot-camera/, a system user robot-camera in group video.
# web-gateway: /usr/bin/web-gateway, its unit (DynamicUser), /etc/robot-camera/web-gateway.{toml,env},
#   the base station's zenoh profiles (base-station.json5, base-station-plain-lab.json5);
#   its postinst creates /etc/robot-camera/htpasswd (user admin, generated password kept in the
#   root-only /etc/robot-camera/initial-password, not printed into dpkg's logs).
# Files under /etc are conffiles: an upgrade keeps an operator's edits (dpkg asks, or keeps them
# with --force-confold). Sourced by launch/package.sh after deps.sh, procs.sh and arm64.sh.

# Release binaries must stay small enough for a robot's disk and an scp over Wi-Fi.
DEB_MAX_BINARY_BYTES=$((25 * 1000 * 1000))
DEB_MAINTAINER="Robot camera streaming maintainers <robot-camera@example.invalid>"
# The oldest GStreamer/GLib in scope: JetPack 4.6 (Ubuntu 18.04).
DEB_GST_DEPENDS="libglib2.0-0 (>= 2.56), libgstreamer1.0-0 (>= 1.14), libgstreamer-plugins-base1.0-0 (>= 1.14), gstreamer1.0-plugins-base (>= 1.14), gstreamer1.0-plugins-good (>= 1.14)"

deb_log() { printf '[deb] %s\n' "$*" >&2; }

# deb_binary SOURCE DEST — installs a binary without symbols and checks its size.
deb_binary() {
  local size
  install -D -m 0755 "$1" "$2"
  if grep -qE '\.symtab|\.debug_' <<<"$(readelf -S "$2")"; then
    # binutils' strip reads only this machine's architecture; zig's objcopy reads any.
    strip --strip-unneeded "$2" 2>/dev/null || python3 -m ziglang objcopy --strip-all "$2" "$2" || return 1
  fi
  size=$(stat -c %s "$2")
  deb_log "$(basename "$2"): $size bytes ($(readelf -h "$2" | sed -n 's/^ *Machine: *//p'))"
  if [ "$size" -gt "$DEB_MAX_BINARY_BYTES" ]; then
    deb_log "$(basename "$2") is larger than $DEB_MAX_BINARY_BYTES bytes: debug info left in the release profile?"
    return 1
  fi
}

# deb_libc_depends BINARY — "libc6 (>= X)" for the newest glibc symbol version it needs.
deb_libc_depends() {
  local newest
  newest=$(objdump -T "$1" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -V -u | tail -n 1 || true)
  echo "libc6 (>= ${newest:-2.27})"
}

# deb_unit NAME STAGE — the unit from launch/systemd with the package's paths.
deb_unit() {
  install -d -m 0755 "$2/lib/systemd/system"
  sed "s|/usr/local/bin/|/usr/bin/|g; s|/usr/local/share/doc/robot-camera/|/usr/share/doc/$1/|g" \
    "$ROOT/launch/systemd/$1.service" >"$2/lib/systemd/system/$1.service"
  chmod 0644 "$2/lib/systemd/system/$1.service"
}

# deb_scripts NAME STAGE POSTINST_EXTRA [UNIT...] — maintainer scripts: reload systemd, restart
# running services (UNITs, default NAME) on upgrade, stop and disable them on removal. A first
# install starts nothing: the operator enables them once the config fits the robot
# (docs/deploy-jetson.md).
deb_scripts() {
  local name=$1 debian=$2/DEBIAN extra=$3 units
  shift 3
  [ "$#" -gt 0 ] || set -- "$name"
  units=$(printf '%s.service ' "$@")
  cat >"$debian/postinst" <<EOF
#!/bin/sh
set -e
if [ "\$1" = configure ]; then
$extra
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload || true
    systemctl try-restart $units || true
  fi
fi
EOF
  cat >"$debian/prerm" <<EOF
#!/bin/sh
set -e
if [ "\$1" = remove ] && [ -d /run/systemd/system ]; then
  systemctl disable --now $units || true
fi
EOF
  cat >"$debian/postrm" <<'EOF'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload || true
fi
EOF
  chmod 0755 "$debian/postinst" "$debian/prerm" "$debian/postrm"
}

# deb_finish NAME ARCH VERSION STAGE DIST DEPENDS DESCRIPTION
deb_finish() {
  local name=$1 arch=$2 version=$3 stage=$4 dist=$5 file
  (cd "$stage" && find etc -type f -printf '/%p\n' 2>/dev/null | sort) >"$stage/DEBIAN/conffiles"
  [ -s "$stage/DEBIAN/conffiles" ] || rm -f "$stage/DEBIAN/conffiles"
  cat >"$stage/DEBIAN/control" <<EOF
Package: $name
Version: $version
Architecture: $arch
Maintainer: $DEB_MAINTAINER
Section: video
Priority: optional
Installed-Size: $(du -sk --exclude=DEBIAN "$stage" | cut -f1)
Depends: $6
Description: $7
EOF
  file=$dist/${name}_${version}_${arch}.deb
  dpkg-deb --root-owner-group --build "$stage" "$file" >/dev/null
  deb_log "built $file"
}

deb_stage() { # NAME ARCH DIST — a fresh staging directory
  local stage=$3/stage/$1_$2
  rm -rf "$stage"
  install -d -m 0755 "$stage/DEBIAN" "$stage/usr/share/doc/$1" "$stage/etc/robot-camera/zenoh"
  install -m 0644 "$ROOT/README.md" "$ROOT/docs/deploy-jetson.md" "$stage/usr/share/doc/$1/"
  echo "$stage"
}

# deb_camera_node ARCH VERSION BIN_DIR DIST
deb_camera_node() {
  local arch=$1 stage profile config=usb-camera.toml
  [ "$arch" != arm64 ] || config=jetson-csi.toml
  stage=$(deb_stage camera-node "$arch" "$4")
  deb_binary "$3/camera-node" "$stage/usr/bin/camera-node" || return 1
  deb_binary "$3/zenoh-router" "$stage/usr/bin/zenoh-router" || return 1
  deb_unit camera-node "$stage"
  deb_unit zenoh-router "$stage"
  install -m 0644 "$ROOT/config/camera-node/$config" "$stage/etc/robot-camera/camera-node.toml"
  install -m 0644 "$ROOT/config/zenoh/robot.json5" "$ROOT/config/zenoh/robot-plain-lab.json5" \
    "$ROOT/config/zenoh/local.json5" "$stage/etc/robot-camera/zenoh/"
  install -d -m 0750 "$stage/etc/robot-camera/zenoh/certs"
  install -m 0644 "$ROOT/zenoh-router/README.md" "$stage/usr/share/doc/camera-node/zenoh-router.md"
  install -d -m 0755 "$stage/usr/share/robot-camera/camera-node"
  for profile in "$ROOT"/config/camera-node/*.toml; do
    install -m 0644 "$profile" "$stage/usr/share/robot-camera/camera-node/"
  done
  deb_scripts camera-node "$stage" '  getent group video >/dev/null || groupadd --system video
  if ! getent passwd robot-camera >/dev/null; then
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
      --user-group --groups video robot-camera
  fi
  chgrp robot-camera /etc/robot-camera/zenoh/certs
  if [ ! -s /etc/robot-camera/zenoh/certs/cert.pem ]; then
    echo "zenoh-router: the robot'"'"'s certificate folder (launch/make-certs.sh DIR robot NAME ADDRESS...) goes in"
    echo "  /etc/robot-camera/zenoh/certs/: install -o root -g robot-camera -m 0640 DIR/NAME/*.pem -t /etc/robot-camera/zenoh/certs/"
    echo "  until then the hub listens on tcp/127.0.0.1:7447 only (no base station can connect)"
  fi' zenoh-router camera-node
  deb_finish camera-node "$arch" "$2" "$stage" "$4" \
    "$(deb_libc_depends "$stage/usr/bin/camera-node"), $DEB_GST_DEPENDS" \
    "robot camera capture (GStreamer) published as JPEG on zenoh, and the robot's zenoh hub
 Captures a Jetson CSI camera (Argus, hardware JPEG), a V4L2 camera or a test
 pattern and publishes every frame on zenoh through zenoh-router, the robot's
 hub (loopback for the robot's processes, mutual TLS for base stations).
 Configuration in /etc/robot-camera/."
}

# deb_web_gateway ARCH VERSION BIN_DIR DIST
deb_web_gateway() {
  local arch=$1 stage
  stage=$(deb_stage web-gateway "$arch" "$4")
  deb_binary "$3/web-gateway" "$stage/usr/bin/web-gateway" || return 1
  deb_unit web-gateway "$stage"
  install -m 0644 "$ROOT/config/web-gateway.toml" "$stage/etc/robot-camera/web-gateway.toml"
  install -m 0644 "$ROOT/config/zenoh/base-station.json5" "$ROOT/config/zenoh/base-station-plain-lab.json5" \
    "$stage/etc/robot-camera/zenoh/"
  cat >"$stage/etc/robot-camera/web-gateway.env" <<'EOF'
# Extra web-gateway flags for the systemd unit. Loopback by default: to serve the robot's
# network use --listen 0.0.0.0:8080. On a base station (its certificate folder from
# launch/make-certs.sh in /etc/robot-camera/zenoh/certs/, copied to /run/web-gateway/certs at
# each start) add
#   --zenoh-config /etc/robot-camera/zenoh/base-station.json5 --zenoh-certs /run/web-gateway/certs
#   --zenoh-connect tls/ROBOT_ADDRESS:7448
WEB_GATEWAY_ARGS=--listen 127.0.0.1:8080 --auth-file /run/web-gateway/htpasswd
EOF
  chmod 0644 "$stage/etc/robot-camera/web-gateway.env"
  deb_scripts web-gateway "$stage" '  if [ ! -s /etc/robot-camera/htpasswd ]; then
    umask 077
    /usr/bin/web-gateway passwd --generate /etc/robot-camera/htpasswd admin >/etc/robot-camera/initial-password
    echo "web-gateway: log in as admin; the password is in /etc/robot-camera/initial-password (root only)"
  fi'
  deb_finish web-gateway "$arch" "$2" "$stage" "$4" \
    "$(deb_libc_depends "$stage/usr/bin/web-gateway")" \
    "zenoh cameras as MJPEG, WebSocket and snapshots over HTTP
 Serves every camera published on zenoh as MJPEG, WebSocket, JPEG snapshots,
 JSON, Prometheus metrics and a web page. Needs no GStreamer."
}
