#!/usr/bin/env bash
# Where camera-node's CPU goes per frame, thread by thread, against gst-launch-1.0 running the
# same pipeline into fakesink (docs/benchmarks.md, "Camera node against gst-launch-1.0").
#
#   camera-node/benches/node_threads.sh NODE_BIN GATEWAY_BIN [WIDTH HEIGHT ROUNDS SECONDS]
#
# The hub between them is zenoh-router from NODE_BIN's folder (ROUTER_BIN=FILE for another).
# Each round runs gst-launch-1.0, then the node with the gateway subscribed (so every frame goes
# out over zenoh TCP), and prints per thread: CPU ms/frame (/proc/PID/task/*/schedstat) and
# context switches per frame (voluntary + involuntary), then syscalls per frame (strace -f over
# 4 s, divided by the frames sent). The counts do not depend on the machine's load; the ms do.
# Everything runs on loopback; children are killed by PID.
set -euo pipefail
NODE=$1 GATEWAY=$2 W=${3:-640} H=${4:-480} ROUNDS=${5:-3} SECS=${6:-10}
ROUTER=${ROUTER_BIN:-$(dirname "$NODE")/zenoh-router}
FPS=30
PIPE=(videotestsrc is-live=true pattern=pinwheel ! "video/x-raw,width=$W,height=$H,framerate=$FPS/1"
      ! videoconvert ! jpegenc quality=85 ! fakesink sync=false)
TMP=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT

threads() { # PID: per-thread ms/frame and context switches/frame over SECS
  python3 - "$1" "$SECS" "$FPS" <<'PY'
import collections, os, sys, time
pid, secs, fps = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
def snap():
    out = {}
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            base = f"/proc/{pid}/task/{t}"
            ns = int(open(f"{base}/schedstat").read().split()[0])
            cs = sum(int(l.split()[1]) for l in open(f"{base}/status") if "ctxt_switches" in l)
            out[t] = (open(f"{base}/comm").read().strip(), ns, cs)
        except OSError:
            pass
    return out
a = snap(); time.sleep(secs); b = snap()
ms, sw = collections.Counter(), collections.Counter()
for t, (name, ns, cs) in b.items():
    ms[name] += ns - a.get(t, (name, 0, 0))[1]
    sw[name] += cs - a.get(t, (name, 0, 0))[2]
frames = secs * fps
for name, ns in ms.most_common():
    if ns / 1e6 / frames >= 0.005:
        print(f"  {name:18s} {ns / 1e6 / frames:6.3f} ms/frame {sw[name] / frames:5.2f} ctxsw/frame")
print(f"  {'total':18s} {sum(ms.values()) / 1e6 / frames:6.3f} ms/frame {sum(sw.values()) / frames:5.2f} ctxsw/frame")
PY
}

syscalls() { # PID: syscalls per frame over 4 s
  timeout -s INT 4 strace -f -qq -p "$1" -o "$TMP/strace" 2>/dev/null || true
  local all frames
  all=$(grep -vc 'resumed>' "$TMP/strace" || true)
  frames=$((4 * FPS)) # a live source: 30 frames a second, also under strace
  python3 -c "print(f'  syscalls/frame {$all / max($frames, 1):.1f}')"
}

for round in $(seq "$ROUNDS"); do
  echo "## round $round, ${W}x${H}@$FPS"
  gst-launch-1.0 -q "${PIPE[@]}" & GST=$!; PIDS+=("$GST")
  sleep 3
  echo "gst-launch-1.0 ... ! fakesink sync=false"; threads "$GST"; syscalls "$GST"
  kill "$GST"; wait "$GST" 2>/dev/null || true
  PORT=$((20000 + RANDOM % 20000))
  RUST_LOG=warn "$ROUTER" --zenoh-listen "tcp/127.0.0.1:$PORT" >"$TMP/hub.log" 2>&1 & HUB=$!
  RUST_LOG=warn "$NODE" --source test --camera bench --pattern pinwheel --width "$W" --height "$H" \
    --fps "$FPS" --zenoh-connect "tcp/127.0.0.1:$PORT" >"$TMP/node.log" 2>&1 & NODE_PID=$!
  RUST_LOG=warn "$GATEWAY" --listen 127.0.0.1:0 \
    --zenoh-connect "tcp/127.0.0.1:$PORT" >"$TMP/gw.log" 2>&1 & GW=$!
  PIDS+=("$HUB" "$NODE_PID" "$GW")
  sleep 4
  echo "camera-node (gateway subscribed)"; threads "$NODE_PID"; syscalls "$NODE_PID"
  kill "$NODE_PID" "$GW" "$HUB"; wait "$NODE_PID" "$GW" "$HUB" 2>/dev/null || true
done
