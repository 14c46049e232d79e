#!/usr/bin/env python3
"""Receive camera-node frames with zenoh-python and decode their 32-byte attachment.

    pip install eclipse-zenoh
    python3 crates/camera-protocol/examples/python/subscribe.py --count 10

Prints one line per frame (camera, seq, size, bytes, latency). Exits 0 after --count frames
or on Ctrl+C / SIGTERM, 1 when --timeout passes first. The attachment layout is documented in
docs/protocol.md. zenoh: a client of the robot's hub on tcp/127.0.0.1:7447 unless
--zenoh-config / --connect say otherwise (zenoh_options.py).
"""

import argparse
import queue
import signal
import struct
import sys
import time

import zenoh

import zenoh_options

# version u8, flags u8, length u16, width u32, height u32, generation u32, seq u64,
# capture time u64 (ns since the Unix epoch), all little-endian.
META = struct.Struct("<BBHIIIQQ")
META_VERSION = 1
FLAG_ONLINE = 0x01


def decode_meta(raw: bytes) -> dict:
    """Parse the attachment, rejecting what version 1 does not understand."""
    if len(raw) < META.size:
        raise ValueError(f"attachment truncated: {len(raw)} bytes, need {META.size}")
    version, flags, length, width, height, generation, seq, capture_ns = META.unpack_from(raw)
    if version != META_VERSION:
        raise ValueError(f"attachment version {version}, this script reads {META_VERSION}")
    if length != len(raw) or length < META.size:
        raise ValueError(f"attachment declares {length} bytes but carries {len(raw)}")
    if flags & ~FLAG_ONLINE:
        raise ValueError(f"unknown attachment flags {flags:#04x}")
    return {
        "seq": seq,
        "width": width,
        "height": height,
        "generation": generation,
        "online": bool(flags & FLAG_ONLINE),
        "capture_ns": capture_ns,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", default="camera", help="key prefix (default camera; e.g. robot1/camera)")
    parser.add_argument("--camera", default="*", help="camera id (default: all)")
    parser.add_argument("--count", type=int, default=0, help="exit after N frames (0: run until Ctrl+C)")
    parser.add_argument("--timeout", type=float, default=0, help="give up after SECS (0: never)")
    zenoh_options.add_arguments(parser)
    args = parser.parse_args()
    try:
        conf = zenoh_options.config(args)
    except (OSError, ValueError, zenoh.ZError) as error:
        print(f"subscribe.py: {error}", file=sys.stderr)
        return 2

    samples: "queue.Queue[zenoh.Sample]" = queue.Queue(maxsize=8)

    def on_sample(sample: zenoh.Sample) -> None:
        try:
            samples.put_nowait(sample)
        except queue.Full:
            pass  # keep the newest frames flowing; a slow printer just skips some

    deadline = time.monotonic() + args.timeout if args.timeout > 0 else None
    received = 0
    with zenoh_options.open_session(conf, "subscribe.py") as session:
        key = f"{args.prefix}/{args.camera}/jpeg"
        subscriber = session.declare_subscriber(key, on_sample)  # noqa: F841 (lives as long as this)
        print(f"subscribe.py: subscribed to {key}", file=sys.stderr, flush=True)
        while args.count == 0 or received < args.count:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                sample = samples.get(timeout=left)
            except queue.Empty:
                print(f"subscribe.py: timed out after {received} frames", file=sys.stderr)
                return 1
            camera = str(sample.key_expr).split("/")[-2]
            try:
                if sample.attachment is None:
                    raise ValueError("no attachment")
                meta = decode_meta(sample.attachment.to_bytes())
            except ValueError as error:
                print(f"subscribe.py: invalid frame from {camera}: {error}", file=sys.stderr)
                continue
            jpeg = sample.payload.to_bytes()
            is_jpeg = jpeg.startswith(b"\xff\xd8") and jpeg.rstrip(b"\x00").endswith(b"\xff\xd9")
            latency_ms = (time.time_ns() - meta["capture_ns"]) / 1e6
            received += 1
            print(
                f"camera={camera} seq={meta['seq']} size={meta['width']}x{meta['height']} "
                f"bytes={len(jpeg)} latency_ms={latency_ms:.1f} jpeg={is_jpeg}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    # SIGTERM (systemd, kill) ends the program the same clean way as Ctrl+C.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("subscribe.py: stopped", file=sys.stderr)
        sys.exit(0)
