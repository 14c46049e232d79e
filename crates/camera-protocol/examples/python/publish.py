#!/usr/bin/env python3
"""Publish the .jpg files of a directory as a camera, with zenoh-python, as camera-node does.

    pip install eclipse-zenoh
    python3 crates/camera-protocol/examples/python/publish.py --camera annotated --dir ./frames --fps 10

Files go out in name order, looping, byte for byte; width and height come from each file's
JPEG header. Like the Rust FramePublisher it attaches the 32-byte frame metadata, answers the
<prefix>/<camera>/jpeg (latest frame) and /info queries, and holds the liveliness token, so a
web-gateway shows the camera beside the real ones. Wire format: docs/protocol.md. Ctrl+C or
SIGTERM stops it (exit 0). zenoh: a client of the robot's hub on tcp/127.0.0.1:7447 unless
--zenoh-config / --connect say otherwise (zenoh_options.py).
"""

import argparse
import json
import os
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
MAX_FILE_BYTES = 16 * 1024 * 1024


class JpegError(ValueError):
    pass


def jpeg_dimensions(data: bytes) -> tuple:
    """Width and height from the first frame header (SOF), walking the marker segments with
    every length checked against the data (the same rules as camera_protocol::jpeg)."""
    if data[:2] != b"\xff\xd8":
        raise JpegError("no start-of-image marker FF D8")
    at = 2
    while True:
        if at >= len(data):
            raise JpegError(f"truncated at byte {at}")
        if data[at] != 0xFF:
            raise JpegError(f"expected a marker at byte {at}, found {data[at]:#04x}")
        while at < len(data) and data[at] == 0xFF:
            at += 1
        if at >= len(data):
            raise JpegError(f"truncated at byte {at}")
        marker = data[at]
        at += 1
        if marker == 0x01:
            continue
        if marker in (0x00, 0xD8, 0xD9, 0xDA) or 0xD0 <= marker <= 0xD7:
            raise JpegError(f"marker FF {marker:02X} before the frame header")
        if at + 2 > len(data):
            raise JpegError(f"truncated at byte {at}")
        (length,) = struct.unpack_from(">H", data, at)
        if length < 2 or at + length > len(data):
            raise JpegError(f"segment FF {marker:02X} at byte {at - 2} is truncated or malformed")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            segment = data[at + 2 : at + length]
            if len(segment) < 6:
                raise JpegError("frame header shorter than 6 bytes")
            precision, height, width, components = struct.unpack_from(">BHHB", segment)
            if not 2 <= precision <= 16 or not 1 <= components <= 4 or len(segment) != 6 + 3 * components:
                raise JpegError("malformed frame header")
            if width == 0 or height == 0:
                raise JpegError(f"frame header gives size {width}x{height}")
            return width, height
        at += length


def load(directory: str) -> list:
    """(bytes, width, height) of every .jpg/.jpeg in `directory`, in name order."""
    names = sorted(
        name for name in os.listdir(directory)
        if name.lower().endswith((".jpg", ".jpeg")) and os.path.isfile(os.path.join(directory, name))
    )
    if not names:
        raise ValueError(f"no .jpg files in {directory}")
    pictures = []
    for name in names:
        path = os.path.join(directory, name)
        if os.path.getsize(path) > MAX_FILE_BYTES:
            raise ValueError(f"{path} is larger than {MAX_FILE_BYTES} bytes")
        with open(path, "rb") as file:
            data = file.read()
        try:
            width, height = jpeg_dimensions(data)
            if not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
                raise JpegError("no end-of-image marker FF D9: truncated?")
        except JpegError as error:
            raise ValueError(f"{path} is not a usable JPEG: {error}") from None
        pictures.append((data, width, height))
    return pictures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--camera", required=True, help="camera id to publish as")
    parser.add_argument("--dir", required=True, help="directory of .jpg files")
    parser.add_argument("--fps", type=float, default=10, help="frames per second (default 10)")
    parser.add_argument("--prefix", default="camera", help="key prefix (default camera; e.g. robot1/camera)")
    parser.add_argument("--count", type=int, default=0, help="exit after N frames (0: loop until Ctrl+C)")
    zenoh_options.add_arguments(parser)
    args = parser.parse_args()
    if not 0 < args.fps <= 240:
        parser.error("--fps must be in (0, 240]")
    try:
        pictures = load(args.dir)
        conf = zenoh_options.config(args)
    except (OSError, ValueError, zenoh.ZError) as error:
        print(f"publish.py: {error}", file=sys.stderr)
        return 2

    key = f"{args.prefix}/{args.camera}"
    info = {
        "camera": args.camera, "source": "files", "pipeline": f"files from {args.dir}",
        "width": pictures[0][1], "height": pictures[0][2], "fps": round(args.fps),
        "encoder": "passthrough", "quality": 0, "state": "running", "frames_published": 0,
        "restarts": 0, "last_error": None, "node_version": "publish.py",
    }
    latest = None  # (jpeg, attachment) of the last frame put, for snapshot queries

    def on_info(query: zenoh.Query) -> None:
        query.reply(f"{key}/info", json.dumps(info).encode(), encoding=zenoh.Encoding.APPLICATION_JSON)

    def on_snapshot(query: zenoh.Query) -> None:
        frame = latest
        if frame is not None:  # no frame yet: no reply (docs/protocol.md)
            query.reply(f"{key}/jpeg", frame[0], encoding=zenoh.Encoding.IMAGE_JPEG, attachment=frame[1])

    with zenoh_options.open_session(conf, "publish.py") as session:
        publisher = session.declare_publisher(
            f"{key}/jpeg",
            encoding=zenoh.Encoding.IMAGE_JPEG,
            # A congested network drops frames instead of stalling the publisher.
            congestion_control=zenoh.CongestionControl.DROP,
        )
        # Kept in variables: each lives as long as its Python object.
        info_queryable = session.declare_queryable(f"{key}/info", on_info)  # noqa: F841
        snapshot_queryable = session.declare_queryable(f"{key}/jpeg", on_snapshot)  # noqa: F841
        token = session.liveliness().declare_token(key)  # noqa: F841
        print(f"publish.py: publishing {len(pictures)} files from {args.dir} on {key}/jpeg at {args.fps} fps",
              file=sys.stderr, flush=True)
        interval = 1.0 / args.fps
        next_at = time.monotonic()
        seq = 0
        while args.count == 0 or seq < args.count:
            jpeg, width, height = pictures[seq % len(pictures)]
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            next_at = max(next_at + interval, time.monotonic())
            attachment = META.pack(META_VERSION, FLAG_ONLINE, META.size, width, height, 1, seq, time.time_ns())
            publisher.put(jpeg, attachment=attachment)
            latest = (jpeg, attachment)
            seq += 1
            info["frames_published"] = seq
    return 0


if __name__ == "__main__":
    # SIGTERM (systemd, kill) ends the program the same clean way as Ctrl+C.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("publish.py: stopped", file=sys.stderr)
        sys.exit(0)
