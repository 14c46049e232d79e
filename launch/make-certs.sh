#!/usr/bin/env bash
# Makes a throwaway certificate authority and the certificates the TLS zenoh profiles use.
#
#   ./launch/make-certs.sh [DIR] [EXTRA_NAME_OR_ADDRESS...]
#
# DIR defaults to config/zenoh/certs/ (gitignored), where config/zenoh/*-tls.json5 look for
# them. Writes ca.pem (+ ca.key) and, for each of robot, base-station, viewer and router,
# NAME.pem + NAME.key: PEM, EC P-256, signed by the CA, common name = NAME (the access-control
# sections of the profiles match on it), subjectAltName = DNS:NAME plus every EXTRA given.
# An EXTRA that looks like an IPv4/IPv6 address becomes an IP name, anything else a DNS name;
# give the robot's and the router's addresses so that a peer connecting to
# tls/192.168.1.10:7447 can verify the name (e.g. `make-certs.sh certs 192.168.1.10 robot1.lan`).
#
# An existing CA in DIR is reused, so certificates for a new machine can be added later with
# the same trust root; delete DIR to start over. Keys are written mode 0600.
#
# For a real fleet, issue certificates from your own PKI instead: any CA works as long as each
# certificate's common name is the role the profiles' access_control expects.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${1:-$ROOT/config/zenoh/certs}
[ "$#" -eq 0 ] || shift
NAMES=(robot base-station viewer router)
DAYS=${CERT_DAYS:-825}

log() { printf '[make-certs] %s\n' "$*" >&2; }

command -v openssl >/dev/null 2>&1 || {
  log "openssl not found: install it (Debian/Ubuntu: apt-get install openssl)"
  exit 1
}

mkdir -p "$DIR"
umask 077

if [ ! -s "$DIR/ca.pem" ] || [ ! -s "$DIR/ca.key" ]; then
  log "new certificate authority in $DIR/ca.pem"
  openssl ecparam -name prime256v1 -genkey -noout -out "$DIR/ca.key"
  openssl req -x509 -new -key "$DIR/ca.key" -sha256 -days "$DAYS" -subj "/CN=robot-camera test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$DIR/ca.pem" 2>/dev/null
else
  log "reusing the certificate authority in $DIR/ca.pem"
fi

alt_names() { # NAME EXTRA... -> subjectAltName value
  local out="DNS:$1" extra
  shift
  for extra in "$@"; do
    if [[ "$extra" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ || "$extra" == *:* ]]; then
      out+=",IP:$extra"
    else
      out+=",DNS:$extra"
    fi
  done
  printf '%s' "$out"
}

for name in "${NAMES[@]}"; do
  ext=$(mktemp)
  # Server and client use: the robot listens (server) and also connects to a router (client).
  cat >"$ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=$(alt_names "$name" "$@")
EOF
  openssl ecparam -name prime256v1 -genkey -noout -out "$DIR/$name.key.sec1"
  # PKCS#8 ("BEGIN PRIVATE KEY"), the key format every rustls-based reader accepts.
  openssl pkcs8 -topk8 -nocrypt -in "$DIR/$name.key.sec1" -out "$DIR/$name.key"
  rm -f "$DIR/$name.key.sec1"
  openssl req -new -key "$DIR/$name.key" -subj "/CN=$name" -out "$DIR/$name.csr" 2>/dev/null
  openssl x509 -req -in "$DIR/$name.csr" -CA "$DIR/ca.pem" -CAkey "$DIR/ca.key" -CAcreateserial \
    -days "$DAYS" -sha256 -extfile "$ext" -out "$DIR/$name.pem" 2>/dev/null
  rm -f "$DIR/$name.csr" "$ext"
  chmod 644 "$DIR/$name.pem"
  log "$DIR/$name.pem (CN=$name, $(alt_names "$name" "$@"))"
done
chmod 644 "$DIR/ca.pem"
rm -f "$DIR/ca.srl"
