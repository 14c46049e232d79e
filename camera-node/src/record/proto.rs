//! `foxglove.CompressedImage` in protobuf: the message bytes and the schema that describes them.
//!
//! Foxglove reads protobuf channels from the schema's `FileDescriptorSet`, so the set below
//! carries `foxglove/CompressedImage.proto` and the one file it imports
//! (`google/protobuf/timestamp.proto`). Both are written by hand with the few wire-format rules
//! they need instead of pulling in a protobuf code generator for four fields. The layout follows
//! Foxglove's published schema (foxglove/schemas, `CompressedImage.proto`): timestamp = 1,
//! data = 2, format = 3, frame_id = 4. The same bytes serve MCAP files and the live
//! Foxglove WebSocket.

/// Schema name Foxglove recognises as its image type.
pub const SCHEMA_NAME: &str = "foxglove.CompressedImage";
/// Schema and message encoding of the channel.
pub const ENCODING: &str = "protobuf";

const WIRE_VARINT: u8 = 0;
const WIRE_LEN: u8 = 2;

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_key(out: &mut Vec<u8>, field: u32, wire: u8) {
    put_varint(out, (u64::from(field) << 3) | u64::from(wire));
}

fn put_bytes(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    put_key(out, field, WIRE_LEN);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn put_uint(out: &mut Vec<u8>, field: u32, value: u64) {
    put_key(out, field, WIRE_VARINT);
    put_varint(out, value);
}

/// Longest varint-prefixed header that precedes the JPEG in a message.
const MAX_HEADER_LEN: usize = 64;

/// Encodes one `foxglove.CompressedImage` (format "jpeg"); the JPEG is copied once.
pub fn compressed_image(capture_ts_ns: u64, frame_id: &str, jpeg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(jpeg.len() + frame_id.len() + MAX_HEADER_LEN);
    let mut timestamp = Vec::with_capacity(16);
    put_uint(&mut timestamp, 1, capture_ts_ns / 1_000_000_000);
    put_uint(&mut timestamp, 2, capture_ts_ns % 1_000_000_000);
    put_bytes(&mut out, 1, &timestamp);
    put_bytes(&mut out, 4, frame_id.as_bytes());
    put_bytes(&mut out, 2, jpeg);
    put_bytes(&mut out, 3, b"jpeg");
    out
}

// FieldDescriptorProto.Type and .Label values (google/protobuf/descriptor.proto).
const TYPE_INT64: u64 = 3;
const TYPE_INT32: u64 = 5;
const TYPE_STRING: u64 = 9;
const TYPE_MESSAGE: u64 = 11;
const TYPE_BYTES: u64 = 12;
const LABEL_OPTIONAL: u64 = 1;

fn field(name: &str, number: u64, kind: u64, type_name: Option<&str>) -> Vec<u8> {
    let mut out = Vec::new();
    put_bytes(&mut out, 1, name.as_bytes());
    put_uint(&mut out, 3, number);
    put_uint(&mut out, 4, LABEL_OPTIONAL);
    put_uint(&mut out, 5, kind);
    if let Some(type_name) = type_name {
        put_bytes(&mut out, 6, type_name.as_bytes());
    }
    out
}

fn message(name: &str, fields: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    put_bytes(&mut out, 1, name.as_bytes());
    for field in fields {
        put_bytes(&mut out, 2, field);
    }
    out
}

fn file(name: &str, package: &str, dependencies: &[&str], messages: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    put_bytes(&mut out, 1, name.as_bytes());
    put_bytes(&mut out, 2, package.as_bytes());
    for dependency in dependencies {
        put_bytes(&mut out, 3, dependency.as_bytes());
    }
    for message in messages {
        put_bytes(&mut out, 4, message);
    }
    put_bytes(&mut out, 12, b"proto3");
    out
}

/// The serialized `FileDescriptorSet` for [`SCHEMA_NAME`].
pub fn schema() -> Vec<u8> {
    const TIMESTAMP_FILE: &str = "google/protobuf/timestamp.proto";
    let timestamp = file(
        TIMESTAMP_FILE,
        "google.protobuf",
        &[],
        &[message(
            "Timestamp",
            &[
                field("seconds", 1, TYPE_INT64, None),
                field("nanos", 2, TYPE_INT32, None),
            ],
        )],
    );
    let image = file(
        "foxglove/CompressedImage.proto",
        "foxglove",
        &[TIMESTAMP_FILE],
        &[message(
            "CompressedImage",
            &[
                field(
                    "timestamp",
                    1,
                    TYPE_MESSAGE,
                    Some(".google.protobuf.Timestamp"),
                ),
                field("frame_id", 4, TYPE_STRING, None),
                field("data", 2, TYPE_BYTES, None),
                field("format", 3, TYPE_STRING, None),
            ],
        )],
    );
    let mut set = Vec::new();
    put_bytes(&mut set, 1, &timestamp);
    put_bytes(&mut set, 1, &image);
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_bytes_are_pinned() {
        // 1.5 s after the epoch, frame "f", 2-byte payload.
        let bytes = compressed_image(1_500_000_000, "f", &[0xFF, 0xD8]);
        assert_eq!(
            bytes,
            [
                0x0A, 0x08, 0x08, 0x01, 0x10, 0x80, 0xCA, 0xB5, 0xEE, 0x01, // timestamp
                0x22, 0x01, b'f', // frame_id
                0x12, 0x02, 0xFF, 0xD8, // data
                0x1A, 0x04, b'j', b'p', b'e', b'g', // format
            ]
        );
    }

    #[test]
    fn varints_round_trip_large_values() {
        let mut out = Vec::new();
        put_varint(&mut out, u64::MAX);
        assert_eq!(out.len(), 10);
        assert_eq!(out[9], 0x01);
    }

    #[test]
    fn schema_names_both_files() {
        let schema = schema();
        let text = String::from_utf8_lossy(&schema);
        assert!(text.contains("foxglove/CompressedImage.proto"));
        assert!(text.contains("google/protobuf/timestamp.proto"));
        assert!(text.contains(".google.protobuf.Timestamp"));
    }
}
