#!/usr/bin/env python3
"""Link bytes of an H.264 lane against the JPEG frames of the same camera, and the lane's
PSNR against those JPEG frames (issue 26; docs/benchmarks.md, "H.264 lane (issue 26)").

    cargo build --release -p camera-node
    python3 bench/h264_lane.py --pattern pinwheel --bitrate-kbps 2000 [--seconds 10]

Starts target/release/camera-node (videotestsrc, 1280x720@30, JPEG quality 85 on
<prefix>/bench/jpeg, an H.264 lane of the same size on <prefix>/bench/h264/main) as a zenoh
client of this script's own peer session on a free loopback port (multicast scouting off),
records both keys for --seconds from the lane's first keyframe, and prints one markdown row:
bytes per second of each (payload + attachment, what crosses the link), their ratio, the
lane's frame rate, the node's CPU, and the Y-plane PSNR of the decoded H.264 against the
JPEG frame of the same capture time (ffmpeg's psnr filter). Needs zenoh-python and ffmpeg.
"""

import argparse
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

import zenoh

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def capture_ts(attachment):
    # FrameMeta (docs/protocol.md): capture_ts_ns is the u64 LE at offset 24.
    return struct.unpack_from("<Q", attachment, 24)[0]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Recorder:
    """Every sample of one key: (capture_ts_ns, payload, attachment length, keyframe)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.samples = []

    def __call__(self, sample):
        attachment = bytes(sample.attachment.to_bytes()) if sample.attachment else b""
        keyframe = len(attachment) > 33 and attachment[33] & 1 == 1
        with self.lock:
            self.samples.append((capture_ts(attachment), bytes(sample.payload.to_bytes()), len(attachment), keyframe))

    def taken(self):
        with self.lock:
            return list(self.samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pattern", default="pinwheel")
    parser.add_argument("--bitrate-kbps", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--lane-fps", type=int, help="the lane's fps cap (default: every frame)")
    parser.add_argument("--node", default=os.path.join(ROOT, "target/release/camera-node"))
    parser.add_argument("--keep", help="directory to keep lane.h264 and frames.mjpeg in")
    args = parser.parse_args()

    port = free_port()
    config = zenoh.Config()
    config.insert_json5("mode", json.dumps("peer"))
    config.insert_json5("listen/endpoints", json.dumps([f"tcp/127.0.0.1:{port}"]))
    config.insert_json5("scouting/multicast/enabled", "false")
    session = zenoh.open(config)
    workdir = args.keep or tempfile.mkdtemp(prefix="h264-lane-")
    os.makedirs(workdir, exist_ok=True)
    toml = os.path.join(workdir, "node.toml")
    with open(toml, "w", encoding="ascii") as f:
        f.write(
            f'camera = "bench"\nsource = "test"\nwidth = {args.width}\nheight = {args.height}\n'
            f'fps = 30\nquality = 85\n[test]\npattern = "{args.pattern}"\n\n'
            f'[[variants]]\nname = "main"\ncodec = "h264"\nwidth = {args.width}\n'
            f"bitrate_kbps = {args.bitrate_kbps}\n"
            + (f"fps = {args.lane_fps}\n" if args.lane_fps else "")
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMERA_NODE_")}
    env["RUST_LOG"] = "warn"
    node = subprocess.Popen(
        [args.node, "--config", toml, "--zenoh-connect", f"tcp/127.0.0.1:{port}"], env=env
    )
    try:
        jpeg, lane = Recorder(), Recorder()
        subs = [
            session.declare_subscriber("camera/bench/jpeg", jpeg),
            session.declare_subscriber("camera/bench/h264/main", lane),
        ]
        deadline = time.monotonic() + 30
        while not any(s[3] for s in lane.taken()):
            if time.monotonic() > deadline or node.poll() is not None:
                sys.exit("no keyframe from the lane within 30 s")
            time.sleep(0.05)
        cpu_start, wall_start = cpu_seconds(node.pid), time.monotonic()
        time.sleep(args.seconds)
        cpu = (cpu_seconds(node.pid) - cpu_start) / (time.monotonic() - wall_start)
        for sub in subs:
            sub.undeclare()
    finally:
        node.terminate()
        node.wait(timeout=10)
        session.close()

    aus = lane.taken()
    first = next(i for i, s in enumerate(aus) if s[3])
    aus = aus[first:]
    start_ts = aus[0][0]
    end_ts = start_ts + int(args.seconds * 1e9)
    aus = [s for s in aus if s[0] < end_ts]
    frames = [s for s in jpeg.taken() if start_ts <= s[0] < end_ts]
    span = args.seconds
    lane_bps = sum(len(s[1]) + s[2] for s in aus) / span
    jpeg_bps = sum(len(s[1]) + s[2] for s in frames) / span

    # Pair each access unit with the JPEG of the same raw frame (same capture time, a few ms of
    # timestamp mapping apart), so ffmpeg compares like with like.
    by_ts = jpeg.taken()
    h264_path = os.path.join(workdir, "lane.h264")
    mjpeg_path = os.path.join(workdir, "frames.mjpeg")
    unmatched = 0
    offsets = []
    with open(h264_path, "wb") as h264, open(mjpeg_path, "wb") as mjpeg:
        for ts, au, _, _ in aus:
            nearest = min(by_ts, key=lambda s: abs(s[0] - ts))
            if abs(nearest[0] - ts) > 5_000_000:
                unmatched += 1
            offsets.append(nearest[0] - ts)
            h264.write(au)
            mjpeg.write(nearest[1])
    offsets.sort()
    print(f"JPEG minus AU capture time: median {offsets[len(offsets) // 2] / 1e6:.2f} ms, "
          f"min {offsets[0] / 1e6:.2f}, max {offsets[-1] / 1e6:.2f}", file=sys.stderr)
    psnr = subprocess.run(
        # Frames paired by index (setpts=N): a raw H.264 stream has no timestamps, and the ones
        # ffmpeg makes up for it drift a frame against the MJPEG file's.
        ["ffmpeg", "-hide_banner", "-nostats", "-f", "h264", "-i", h264_path,
         "-f", "mjpeg", "-i", mjpeg_path, "-lavfi",
         "[0:v]setpts=N/30/TB,extractplanes=y[a];[1:v]setpts=N/30/TB,extractplanes=y[b];"
         "[a][b]psnr", "-f", "null", "-"],
        capture_output=True, text=True, timeout=300, check=True,
    ).stderr
    average = next(
        (line.split("average:")[1].split()[0] for line in psnr.splitlines() if "average:" in line),
        "?",
    )
    print(
        f"| {args.pattern} | {args.width}x{args.height}@30 | {args.bitrate_kbps} | "
        f"{jpeg_bps / 1000:.0f} | {lane_bps / 1000:.0f} | 1/{jpeg_bps / lane_bps:.1f} | "
        f"{len(frames) / span:.1f} / {len(aus) / span:.1f} | {cpu * 100:.0f} % | {average} dB | "
        f"{unmatched} |"
    )


if __name__ == "__main__":
    main()
