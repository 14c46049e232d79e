#!/usr/bin/env python3
"""Check a camera node's ROS 2 output with independent implementations: rosbags (CDR, type hash)
and zenoh-python (zenoh-ext attachment serializer). Used by camera-node/tests/e2e/ros2.rs.

    python3 check_camera.py --connect tcp/127.0.0.1:7447 --camera front --frame-id front_optical

Checks, over --count frames:
- the node token `@ros2_lv/<domain>/<zid>/<nid>/<nid>/NN/%/<ns>/<node>` and the publisher token
  `.../MP/%/<ns>/<node>/<topic>/sensor_msgs::msg::dds_::CompressedImage_/<hash>/<qos>` exist;
- the hash in the token and in the data key equals rosbags' RIHS01 of the type;
- every sample deserializes with rosbags; stamp is near now; frame_id; format "jpeg";
- data is byte for byte the JPEG the node published on its own key with the same capture time;
- the attachment is zenoh-ext (int64 seq, int64 ns, 16 x uint8), seq increasing from >= 1;
- with --camera-info: CameraInfo on <ns>/camera_info deserializes, with --expect-fx as K[0].
Exits 0 when all hold, 1 with the first failure otherwise.
"""

import argparse
import queue
import re
import struct
import sys
import time

import zenoh
import zenoh.ext as ze
from rosbags.typesys import Stores, get_typestore

TYPESTORE = get_typestore(Stores.ROS2_JAZZY)
IMAGE_TYPE = "sensor_msgs/msg/CompressedImage"
INFO_TYPE = "sensor_msgs/msg/CameraInfo"
META = struct.Struct("<BBHIIIQQ")  # our own frame attachment (docs/protocol.md)


def fail(message: str) -> None:
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def dds_name(ros_type: str) -> str:
    package, kind, name = ros_type.split("/")
    return f"{package}::{kind}::dds_::{name}_"


def find_tokens(session, args, deadline):
    """Node and image publisher tokens of our node, waiting until both are announced."""
    ns = args.namespace.replace("/", "%")
    node_re = re.compile(rf"^@ros2_lv/{args.domain}/[0-9a-f]+/(\d+)/\1/NN/%/{re.escape(ns)}/{args.node}$")
    topic = args.topic.replace("/", "%")
    image_hash = TYPESTORE.hash_rihs01(IMAGE_TYPE)
    pub_re = re.compile(
        rf"^@ros2_lv/{args.domain}/[0-9a-f]+/\d+/\d+/MP/%/{re.escape(ns)}/{args.node}/"
        rf"{re.escape(topic)}/{re.escape(dds_name(IMAGE_TYPE))}/(RIHS01_[0-9a-f]{{64}})/2::,\d*:,:,:,,$"
    )
    while time.monotonic() < deadline:
        keys = [str(reply.ok.key_expr) for reply in session.liveliness().get(f"@ros2_lv/{args.domain}/**", timeout=2) if reply.ok]
        node = [k for k in keys if node_re.match(k)]
        pubs = [k for k in keys if pub_re.match(k)]
        if node and pubs:
            token_hash = pub_re.match(pubs[0]).group(1)
            if token_hash != image_hash:
                fail(f"publisher token hash {token_hash} != rosbags RIHS01 {image_hash}")
            print(f"node token: {node[0]}\npublisher token: {pubs[0]}")
            return pubs[0], keys
        time.sleep(0.2)
    fail(f"tokens not found under @ros2_lv/{args.domain}/** (saw {keys})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connect", required=True)
    parser.add_argument("--camera", required=True)
    parser.add_argument("--prefix", default="camera")
    parser.add_argument("--domain", type=int, default=0)
    parser.add_argument("--namespace", help="default /camera/<camera>")
    parser.add_argument("--node", default="camera_node")
    parser.add_argument("--topic", help="fully qualified; default <namespace>/image/compressed")
    parser.add_argument("--frame-id", required=True)
    parser.add_argument("--count", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=30)
    parser.add_argument("--camera-info", action="store_true")
    parser.add_argument("--expect-fx", type=float)
    args = parser.parse_args()
    args.namespace = args.namespace or f"/camera/{args.camera}"
    args.topic = args.topic or f"{args.namespace}/image/compressed"
    deadline = time.monotonic() + args.timeout

    config = zenoh.Config()
    config.insert_json5("mode", '"peer"')
    config.insert_json5("connect/endpoints", f'["{args.connect}"]')
    config.insert_json5("listen/endpoints", '["tcp/127.0.0.1:0"]')
    config.insert_json5("scouting/multicast/enabled", "false")
    with zenoh.open(config) as session:
        _, keys = find_tokens(session, args, deadline)
        image_key = f"{args.domain}/{args.topic.strip('/')}/{dds_name(IMAGE_TYPE)}/{TYPESTORE.hash_rihs01(IMAGE_TYPE)}"
        info_key = f"{args.domain}/{args.namespace.strip('/')}/camera_info/{dds_name(INFO_TYPE)}/{TYPESTORE.hash_rihs01(INFO_TYPE)}"
        images, infos, ours = queue.Queue(), queue.Queue(), {}
        sub_image = session.declare_subscriber(image_key, lambda s: images.put((s.payload.to_bytes(), s.attachment)))
        sub_info = session.declare_subscriber(info_key, lambda s: infos.put(s.payload.to_bytes()))

        def keep_ours(sample):
            raw = sample.attachment.to_bytes() if sample.attachment else b""
            if len(raw) >= META.size:
                ours[META.unpack_from(raw)[7]] = sample.payload.to_bytes()

        sub_ours = session.declare_subscriber(f"{args.prefix}/{args.camera}/jpeg", keep_ours)
        last_seq, checked = 0, 0
        while checked < args.count:
            try:
                payload, attachment = images.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                fail(f"only {checked} CompressedImages on {image_key} before the timeout")
            msg = TYPESTORE.deserialize_cdr(payload, IMAGE_TYPE)
            stamp_ns = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
            age = time.time() - stamp_ns / 1e9
            if not -1.0 < age < 10.0:
                fail(f"stamp {stamp_ns} is {age:.1f} s from now")
            if msg.header.frame_id != args.frame_id or msg.format != "jpeg":
                fail(f"frame_id {msg.header.frame_id!r} / format {msg.format!r}")
            data = bytes(msg.data)
            if attachment is None:
                fail("sample without the rmw_zenoh attachment")
            seq, source_ns, gid = ze.z_deserialize(tuple[ze.Int64, ze.Int64, list[ze.UInt8]], attachment)
            if len(attachment.to_bytes()) != 33 or len(gid) != 16 or seq <= last_seq or seq < 1:
                fail(f"attachment seq {seq} after {last_seq}, gid {len(gid)} bytes, {len(attachment.to_bytes())} bytes")
            if source_ns < stamp_ns:
                fail(f"source timestamp {source_ns} before capture {stamp_ns}")
            last_seq = seq
            # Our own key carries the same frame (same capture time); give it a moment to arrive.
            wait_until = time.monotonic() + 2
            while stamp_ns not in ours and time.monotonic() < wait_until:
                time.sleep(0.01)
            if stamp_ns not in ours:
                continue  # our subscriber joined later than the ROS one for this frame
            if ours[stamp_ns] != data:
                fail(f"CompressedImage data ({len(data)} bytes) differs from the published JPEG ({len(ours[stamp_ns])} bytes)")
            checked += 1
            print(f"seq {seq} stamp {stamp_ns} frame_id {msg.header.frame_id} {len(data)} bytes == published JPEG")
        if args.camera_info:
            try:
                info = TYPESTORE.deserialize_cdr(infos.get(timeout=max(0.1, deadline - time.monotonic())), INFO_TYPE)
            except queue.Empty:
                fail(f"no CameraInfo on {info_key}")
            if args.expect_fx is not None and abs(info.k[0] - args.expect_fx) > 1e-9:
                fail(f"CameraInfo K[0] {info.k[0]} != {args.expect_fx}")
            print(f"camera_info {info.width}x{info.height} {info.distortion_model} fx {info.k[0]}")
        for sub in (sub_image, sub_info, sub_ours):
            sub.undeclare()
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
