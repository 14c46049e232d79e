#!/usr/bin/env python3
"""Reads MCAP files with the `mcap` package from PyPI (an independent reader) and prints JSON.

    python3 read_mcap.py FILE...

Each message is decoded with `mcap-protobuf-support`, which builds the message class from the
FileDescriptorSet in the file's schema record: a wrong schema fails here, not in Foxglove.
CRCs are validated. Output (one JSON document on stdout):

    {"files": [{"path": ..., "statistics": {"message_count": N, "channel_count": N, ...},
                "messages": [{"topic", "schema", "schema_encoding", "message_encoding",
                              "log_time", "publish_time", "sequence", "type",
                              "timestamp_ns", "frame_id", "format", "data_hex"}, ...]}]}

Any error goes to stderr with the file's name, exit status 1.
"""

import json
import sys

from mcap.reader import make_reader
from mcap_protobuf.decoder import DecoderFactory


def read(path):
    with open(path, "rb") as stream:
        reader = make_reader(stream, validate_crcs=True, decoder_factories=[DecoderFactory()])
        summary = reader.get_summary()
        statistics = None
        if summary is not None and summary.statistics is not None:
            stats = summary.statistics
            statistics = {
                "message_count": stats.message_count,
                "channel_count": stats.channel_count,
                "schema_count": stats.schema_count,
                "chunk_count": stats.chunk_count,
                "message_start_time": stats.message_start_time,
                "message_end_time": stats.message_end_time,
            }
        messages = []
        for schema, channel, message, decoded in reader.iter_decoded_messages(log_time_order=False):
            timestamp = decoded.timestamp
            messages.append(
                {
                    "topic": channel.topic,
                    "schema": schema.name,
                    "schema_encoding": schema.encoding,
                    "message_encoding": channel.message_encoding,
                    "log_time": message.log_time,
                    "publish_time": message.publish_time,
                    "sequence": message.sequence,
                    # The full name of the class built from the schema's descriptors.
                    "type": decoded.DESCRIPTOR.full_name,
                    "timestamp_ns": timestamp.seconds * 1_000_000_000 + timestamp.nanos,
                    "frame_id": decoded.frame_id,
                    "format": decoded.format,
                    "data_hex": decoded.data.hex(),
                }
            )
    return {"path": path, "statistics": statistics, "messages": messages}


def main():
    files = []
    for path in sys.argv[1:]:
        try:
            files.append(read(path))
        except Exception as error:  # noqa: BLE001 - any failure is reported with the file
            print(f"{path}: {type(error).__name__}: {error}", file=sys.stderr)
            return 1
    json.dump({"files": files}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
