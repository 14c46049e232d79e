#!/usr/bin/env bash
# Makes the certificate folder of one machine for the mutual-TLS zenoh profiles.
#
#   ./launch/make-certs.sh [--force] DIR ROLE MACHINE [ADDRESS...]
#
#   DIR       where the certificate authority is kept: DIR/ca.pem + DIR/ca.key, created on
#             first use and reused after (keep DIR, and ca.key above all, off the robots)
#   ROLE      robot | base-station | viewer | router: the certificate's common name, which
#             the profiles' access control matches (config/zenoh/robot.json5: robot publishes,
#             base-station and viewer only subscribe and query)
#   MACHINE   the machine's name: its folder DIR/MACHINE/ and a DNS name in its certificate
#   ADDRESS   more names the others reach it by (IP addresses become IP names), e.g. the
#             robot's 192.168.1.10 and robot1.lan; a base station connecting to
#             tls/192.168.1.10:7448 checks that the robot's certificate carries that name
#   --force   replace an existing DIR/MACHINE/ (otherwise refused)
#
# Writes DIR/MACHINE/{ca.pem,cert.pem,key.pem} (EC P-256, PEM; key.pem mode 0600): the folder
# to copy onto that machine and name with `--zenoh-certs` (or to put in the certs/ folder
# beside its zenoh profile, /etc/robot-camera/zenoh/certs/ for the packages). Other machines'
# folders are never touched. Examples:
#   ./launch/make-certs.sh ~/robot-ca robot robot1 192.168.1.10 robot1.lan
#   ./launch/make-certs.sh ~/robot-ca base-station base1
#
# A throwaway CA for trials and closed fleets; for anything else issue the certificates from
# your own PKI: any CA works as long as each common name is one of the roles above.
set -euo pipefail

ROLES=(robot base-station viewer router)
DAYS=${CERT_DAYS:-825}

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }
log() { printf '[make-certs] %s\n' "$*" >&2; }
fail_usage() {
  log "$1"
  usage >&2
  exit 2
}

force=0
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --force) force=1; shift ;;
    --) shift; args+=("$@"); break ;;
    -*) fail_usage "unknown option: $1" ;;
    *) args+=("$1"); shift ;;
  esac
done
[ "${#args[@]}" -ge 3 ] || fail_usage "needs DIR ROLE MACHINE"
DIR=${args[0]}
ROLE=${args[1]}
MACHINE=${args[2]}
ADDRESSES=("${args[@]:3}")

case " ${ROLES[*]} " in
  *" $ROLE "*) ;;
  *) fail_usage "ROLE must be one of: ${ROLES[*]} (got '$ROLE')" ;;
esac
[[ "$MACHINE" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] \
  || fail_usage "MACHINE must be a name of letters, digits, '.', '_' and '-' (got '$MACHINE')"

command -v openssl >/dev/null 2>&1 || {
  log "openssl not found: install it (Debian/Ubuntu: apt-get install openssl)"
  exit 1
}

OUT=$DIR/$MACHINE
if [ -e "$OUT" ] && [ "$force" -ne 1 ]; then
  log "$OUT already exists: not touching it (pass --force to replace this machine's certificate)"
  exit 1
fi

mkdir -p "$DIR"
umask 077
if [ -s "$DIR/ca.pem" ] && [ -s "$DIR/ca.key" ]; then
  log "reusing the certificate authority $DIR/ca.pem"
elif [ -e "$DIR/ca.pem" ] || [ -e "$DIR/ca.key" ]; then
  log "$DIR has only one of ca.pem and ca.key: restore the other, or start over in a new DIR"
  exit 1
else
  log "new certificate authority $DIR/ca.pem (its key $DIR/ca.key stays here)"
  openssl ecparam -name prime256v1 -genkey -noout -out "$DIR/ca.key"
  openssl req -x509 -new -key "$DIR/ca.key" -sha256 -days "$DAYS" -subj "/CN=robot-camera CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$DIR/ca.pem" 2>/dev/null
  chmod 644 "$DIR/ca.pem"
fi

alt_names="DNS:$MACHINE"
for address in "${ADDRESSES[@]}"; do
  if [[ "$address" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ || "$address" == *:* ]]; then
    alt_names+=",IP:$address"
  else
    alt_names+=",DNS:$address"
  fi
done

# Built in a scratch folder beside the result, then moved in place: a failure leaves no half
# folder, and --force replaces the old one only once the new one is complete.
work=$(mktemp -d "$DIR/.$MACHINE.XXXXXX")
trap 'rm -rf "$work"' EXIT
# Server and client use: a robot's hub listens (server) and may connect to a fleet router.
cat >"$work/ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=$alt_names
EOF
openssl ecparam -name prime256v1 -genkey -noout -out "$work/key.sec1"
# PKCS#8 ("BEGIN PRIVATE KEY"), the key format every rustls-based reader accepts.
openssl pkcs8 -topk8 -nocrypt -in "$work/key.sec1" -out "$work/key.pem"
openssl req -new -key "$work/key.pem" -subj "/CN=$ROLE" -out "$work/csr" 2>/dev/null
openssl x509 -req -in "$work/csr" -CA "$DIR/ca.pem" -CAkey "$DIR/ca.key" \
  -set_serial "0x$(openssl rand -hex 16)" -days "$DAYS" -sha256 -extfile "$work/ext" \
  -out "$work/cert.pem" 2>/dev/null
mkdir "$work/$MACHINE"
cp "$DIR/ca.pem" "$work/$MACHINE/ca.pem"
mv "$work/cert.pem" "$work/key.pem" "$work/$MACHINE/"
chmod 755 "$work/$MACHINE"
chmod 644 "$work/$MACHINE/ca.pem" "$work/$MACHINE/cert.pem"
chmod 600 "$work/$MACHINE/key.pem"
rm -rf "$OUT"
mv "$work/$MACHINE" "$OUT"
log "$OUT/cert.pem: CN=$ROLE, $alt_names"
log "copy $OUT/ to $MACHINE and pass it with --zenoh-certs (packages: /etc/robot-camera/zenoh/certs/)"
