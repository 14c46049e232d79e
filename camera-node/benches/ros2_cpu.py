#!/usr/bin/env python3
"""What `--ros2` costs the camera node: CPU time per frame with and without it.

    cargo build -p camera-node -p zenoh-router --release
    python3 camera-node/benches/ros2_cpu.py --node target/release/camera-node

Runs the real node (`--source test`, 640x480, 30 fps by default; a client of its own hub,
zenoh-router, beside the node's binary unless --router says otherwise) alternately without and with
`--ros2`, each run with a zenoh-python subscriber on the node's own key and, with `--ros2`, one
on the ROS 2 image key too (so both publish paths have a receiver). After a warm-up it reads the
node's user+system CPU time from /proc/<pid>/stat over --frames frames counted by the
subscriber (schedstat, ns resolution; utime+stime printed beside it), and prints per-run and
median CPU per frame and the extra cost in percent.
Figures only, no pass/fail: they are recorded in docs/benchmarks.md.
"""

import argparse
import os
import socket
import statistics
import subprocess
import threading
import time

import zenoh

TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process, in clock ticks (10 ms) resolution."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def sched_seconds(pid: int) -> float:
    """Time on CPU summed over the process's threads, ns resolution (/proc/.../schedstat)."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as stat:
                total += int(stat.read().split()[0])
        except FileNotFoundError:
            pass  # a thread that ended meanwhile
    return total / 1e9


def run(args, ros2: bool) -> float:
    port = free_port()
    endpoint = f"tcp/127.0.0.1:{port}"
    router = args.router or os.path.join(os.path.dirname(args.node), "zenoh-router")
    hub = subprocess.Popen([router, "--zenoh-listen", endpoint],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    command = [args.node, "--source", "test", "--camera", "bench", "--width", str(args.width),
               "--height", str(args.height), "--fps", str(args.fps), "--zenoh-connect", endpoint]
    if ros2:
        command += ["--ros2"]
    node = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        config = zenoh.Config()
        config.insert_json5("mode", '"peer"')
        config.insert_json5("connect/endpoints", f'["{endpoint}"]')
        config.insert_json5("listen/endpoints", '["tcp/127.0.0.1:0"]')
        config.insert_json5("scouting/multicast/enabled", "false")
        frames, ros_frames = [0], [0]
        arrived = threading.Condition()

        def count(counter):
            def on_sample(_sample):
                with arrived:
                    counter[0] += 1
                    arrived.notify_all()
            return on_sample

        with zenoh.open(config) as session:
            session.declare_subscriber("camera/bench/jpeg", count(frames))
            if ros2:
                session.declare_subscriber("0/camera/bench/image/compressed/**", count(ros_frames))

            def wait_frames(n, limit):
                deadline = time.monotonic() + limit
                with arrived:
                    while frames[0] < n:
                        if not arrived.wait(timeout=max(0.0, deadline - time.monotonic())):
                            raise SystemExit(f"only {frames[0]} frames within {limit} s")

            wait_frames(args.warmup, 60)
            start_frames, start_cpu, start_sched = frames[0], cpu_seconds(node.pid), sched_seconds(node.pid)
            wait_frames(start_frames + args.frames, 10 + 3 * args.frames / args.fps)
            counted = frames[0] - start_frames
            cpu, sched = cpu_seconds(node.pid) - start_cpu, sched_seconds(node.pid) - start_sched
            if ros2 and ros_frames[0] == 0:
                raise SystemExit("no CompressedImage received: is --ros2 working?")
        per_frame_ms = 1000 * sched / counted
        print(f"{'with' if ros2 else 'without'} --ros2: {counted} frames, {sched:.3f} s on CPU "
              f"(utime+stime {cpu:.2f} s), {per_frame_ms:.3f} ms/frame"
              + (f" (ROS 2 images received: {ros_frames[0]})" if ros2 else ""), flush=True)
        return per_frame_ms
    finally:
        node.terminate()
        node.wait(timeout=10)
        hub.terminate()
        hub.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--node", default="target/release/camera-node")
    parser.add_argument("--router", help="zenoh-router binary (default: beside --node)")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--warmup", type=int, default=60)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    without, with_ros2 = [], []
    for _ in range(args.runs):
        without.append(run(args, ros2=False))
        with_ros2.append(run(args, ros2=True))
    base, extra = statistics.median(without), statistics.median(with_ros2)
    print(f"median CPU per frame: without {base:.3f} ms, with --ros2 {extra:.3f} ms, "
          f"extra {extra - base:+.3f} ms ({100 * (extra - base) / base:+.1f} %)")


if __name__ == "__main__":
    main()
