#!/usr/bin/env python3
"""A Foxglove WebSocket client (`foxglove.websocket.v1`) for the gateway's end-to-end test.

    python3 foxglove_client.py ws://127.0.0.1:PORT/ TOPIC DONE_TOPIC

Written from the protocol spec (foxglove/ws-protocol docs/spec.md) with the `websockets`
package, independent of the gateway's code. It checks what only a client can see and reports
the rest as one line per event on stderr, `FOXGLOVE <event> <json>`, for the Rust test to
await and compare with what it published:

1. `serverInfo` arrives first (capabilities, sessionId printed);
2. `advertise` lists TOPIC as a protobuf `foxglove.CompressedImage` channel; its base64 schema
   is loaded as a FileDescriptorSet by `protobuf` (a wrong schema fails here);
3. a malformed JSON message and a subscription to an unknown channel each get a `status` error
   and the connection stays;
4. it subscribes to TOPIC (`subscribed`), then prints each binary message-data frame decoded with
   the schema's message class (`message`: subscription id, header timestamp, the image's
   timestamp/frame_id/format and its data in hex);
5. when DONE_TOPIC is advertised (the test's signal that it stopped TOPIC's camera) it
   unsubscribes (`unsubscribed`: a subscribed camera counts as watched and is never forgotten),
   waits until TOPIC's channel is unadvertised (`unadvertised`) and exits 0.
Any failure: a line `FOXGLOVE failed <reason>`, exit 1.

Every wait is bounded by DEADLINE.
"""

import asyncio
import base64
import json
import struct
import sys

import websockets
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

DEADLINE = 30.0


def event(name, value):
    print(f"FOXGLOVE {name} {json.dumps(value)}", file=sys.stderr, flush=True)


def message_class(schema_b64, name):
    files = descriptor_pb2.FileDescriptorSet()
    files.ParseFromString(base64.b64decode(schema_b64, validate=True))
    pool = descriptor_pool.DescriptorPool()
    for file in files.file:
        pool.AddSerializedFile(file.SerializeToString())
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(name))


async def next_json(socket, op):
    """The next text message with `op`; binary frames before it are ignored."""
    while True:
        raw = await socket.recv()
        if isinstance(raw, bytes):
            continue
        message = json.loads(raw)
        if message.get("op") == op:
            return message
        event("other", message)


async def expect_error_status(socket, send, needle):
    await socket.send(send)
    status = await next_json(socket, "status")
    if status.get("level") != 2 or needle not in status.get("message", ""):
        raise AssertionError(f"status for {send!r} should be an error naming {needle!r}: {status}")
    event("status", status)


async def run(url, topic, done_topic):
    async with websockets.connect(url, subprotocols=["foxglove.websocket.v1"], max_size=None) as socket:
        if socket.subprotocol != "foxglove.websocket.v1":
            raise AssertionError(f"server chose subprotocol {socket.subprotocol!r}")
        info = json.loads(await socket.recv())
        if info.get("op") != "serverInfo":
            raise AssertionError(f"first message is not serverInfo: {info}")
        event("serverInfo", info)

        channel = None
        while channel is None:
            advertise = await next_json(socket, "advertise")
            channel = next((c for c in advertise["channels"] if c["topic"] == topic), None)
        decoder = message_class(channel["schema"], channel["schemaName"])
        event("advertise", {key: channel[key] for key in channel if key != "schema"})

        await expect_error_status(socket, "{not json", "cannot use client message")
        bad = {"op": "subscribe", "subscriptions": [{"id": 9, "channelId": 999999}]}
        await expect_error_status(socket, json.dumps(bad), "channel 999999 is not advertised")

        subscription = 7
        request = {"op": "subscribe", "subscriptions": [{"id": subscription, "channelId": channel["id"]}]}
        await socket.send(json.dumps(request))
        event("subscribed", {"subscription": subscription, "channel": channel["id"]})

        while True:
            raw = await socket.recv()
            if isinstance(raw, bytes):
                opcode, sub, stamp = struct.unpack_from("<BIQ", raw)
                if opcode != 1:
                    raise AssertionError(f"binary opcode {opcode}, expected 1 (message data)")
                image = decoder()
                image.ParseFromString(raw[13:])
                event(
                    "message",
                    {
                        "subscription": sub,
                        "log_time": stamp,
                        "timestamp_ns": image.timestamp.seconds * 1_000_000_000 + image.timestamp.nanos,
                        "frame_id": image.frame_id,
                        "format": image.format,
                        "data_hex": image.data.hex(),
                    },
                )
                continue
            message = json.loads(raw)
            if message.get("op") == "unadvertise" and channel["id"] in message["channelIds"]:
                event("unadvertised", message)
                return
            if message.get("op") == "advertise" and any(c["topic"] == done_topic for c in message["channels"]):
                await socket.send(json.dumps({"op": "unsubscribe", "subscriptionIds": [subscription]}))
                event("unsubscribed", {"subscription": subscription})
                continue
            event("other", message)


def main():
    url, topic, done_topic = sys.argv[1:4]
    try:
        asyncio.run(asyncio.wait_for(run(url, topic, done_topic), DEADLINE))
    except Exception as error:  # noqa: BLE001 - any failure is the test's failure, reported
        event("failed", f"{type(error).__name__}: {error}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
