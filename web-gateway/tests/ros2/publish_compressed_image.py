#!/usr/bin/env python3
"""An independent ROS 2 camera on rmw_zenoh's wire format, for web-gateway/tests/e2e/ros2.rs.

    python3 publish_compressed_image.py --listen tcp/127.0.0.1:7460 --topic /robot/front/image/compressed a.jpg b.jpg

Written from rmw_zenoh's published format with no code of ours: rosbags serializes
sensor_msgs/msg/CompressedImage and computes the type hash, zenoh-python's zenoh-ext serializer
writes the 33-byte attachment (int64 seq from 1, int64 source time ns, 16 x uint8 GID), and the
node and publisher liveliness tokens are built as rmw_zenoh's docs/design.md describes. Puts the
JPEG files in turn at --fps until --duration passes or SIGTERM; logs "publishing <key>" to stderr first.
"""

import argparse
import signal
import sys
import threading
import time

import numpy as np
import zenoh
import zenoh.ext as ze
from rosbags.typesys import Stores, get_typestore

TYPE = "sensor_msgs/msg/CompressedImage"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True)
    parser.add_argument("--domain", type=int, default=0)
    parser.add_argument("--namespace", default="/robot")
    parser.add_argument("--node", default="fake_camera")
    parser.add_argument("--topic", required=True, help="fully qualified")
    parser.add_argument("--fps", type=float, default=10)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("jpegs", nargs="+")
    args = parser.parse_args()
    jpegs = [open(path, "rb").read() for path in args.jpegs]

    store = get_typestore(Stores.ROS2_JAZZY)
    msg_types = store.types
    dds_name = "sensor_msgs::msg::dds_::CompressedImage_"
    type_hash = store.hash_rihs01(TYPE)
    key = f"{args.domain}/{args.topic.strip('/')}/{dds_name}/{type_hash}"

    config = zenoh.Config()
    config.insert_json5("mode", '"peer"')
    config.insert_json5("listen/endpoints", f'["{args.listen}"]')
    config.insert_json5("scouting/multicast/enabled", "false")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with zenoh.open(config) as session:
        zid = str(session.zid())
        ns = args.namespace.replace("/", "%")
        node_token = session.liveliness().declare_token(f"@ros2_lv/{args.domain}/{zid}/0/0/NN/%/{ns}/{args.node}")
        pub_token = session.liveliness().declare_token(
            f"@ros2_lv/{args.domain}/{zid}/0/1/MP/%/{ns}/{args.node}/{args.topic.replace('/', '%')}/"
            f"{dds_name}/{type_hash}/2::,1:,:,:,,"
        )
        publisher = session.declare_publisher(key, congestion_control=zenoh.CongestionControl.DROP)
        print(f"publishing {key}", file=sys.stderr, flush=True)
        gid = [ze.UInt8(b) for b in range(16)]
        deadline = time.monotonic() + args.duration
        seq = 1
        while not stop.is_set() and time.monotonic() < deadline:
            now = time.time_ns()
            message = msg_types[TYPE](
                header=msg_types["std_msgs/msg/Header"](
                    stamp=msg_types["builtin_interfaces/msg/Time"](sec=now // 10**9, nanosec=now % 10**9),
                    frame_id="fake_optical",
                ),
                format="jpeg",
                data=np.frombuffer(jpegs[seq % len(jpegs)], dtype=np.uint8),
            )
            payload = bytes(store.serialize_cdr(message, TYPE))
            attachment = ze.z_serialize((ze.Int64(seq), ze.Int64(time.time_ns()), gid))
            publisher.put(payload, attachment=attachment)
            seq += 1
            stop.wait(1 / args.fps)
        publisher.undeclare()
        pub_token.undeclare()
        node_token.undeclare()
    return 0


if __name__ == "__main__":
    sys.exit(main())
