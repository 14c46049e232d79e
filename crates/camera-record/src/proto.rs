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

/// Bytes [`append_compressed_image`] writes at most, for reserving them up front.
pub fn compressed_image_len_bound(frame_id: &str, jpeg: &[u8]) -> usize {
    jpeg.len() + frame_id.len() + MAX_HEADER_LEN
}

/// Encodes one `foxglove.CompressedImage` (format "jpeg"); the JPEG is copied once.
pub fn compressed_image(capture_ts_ns: u64, frame_id: &str, jpeg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(compressed_image_len_bound(frame_id, jpeg));
    append_compressed_image(&mut out, capture_ts_ns, frame_id, jpeg);
    out
}

/// [`compressed_image`] appended to `out`, after whatever header the caller put there (the
/// Foxglove WebSocket's message-data header), so the JPEG is still copied only once.
pub fn append_compressed_image(out: &mut Vec<u8>, capture_ts_ns: u64, frame_id: &str, jpeg: &[u8]) {
    let mut timestamp = Vec::with_capacity(16);
    put_uint(&mut timestamp, 1, capture_ts_ns / 1_000_000_000);
    put_uint(&mut timestamp, 2, capture_ts_ns % 1_000_000_000);
    put_bytes(out, 1, &timestamp);
    put_bytes(out, 4, frame_id.as_bytes());
    put_bytes(out, 2, jpeg);
    put_bytes(out, 3, b"jpeg");
}

/// A decoded `foxglove.CompressedImage` (borrowing the message bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompressedImage<'a> {
    pub timestamp_ns: u64,
    pub frame_id: &'a str,
    pub format: &'a str,
    pub data: &'a [u8],
}

/// Why message bytes are not a `foxglove.CompressedImage`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a foxglove.CompressedImage message: {0}")]
pub struct DecodeError(&'static str);

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self
                .bytes
                .split_first()
                .ok_or(DecodeError("truncated varint"))?;
            self.bytes = rest;
            value |= u64::from(byte & 0x7F) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError("varint longer than 10 bytes"))
    }

    fn len_delimited(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = usize::try_from(self.varint()?).map_err(|_| DecodeError("length overflows"))?;
        if len > self.bytes.len() {
            return Err(DecodeError("field longer than the message"));
        }
        let (field, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Ok(field)
    }

    /// Skips a field of an unknown number (forward compatibility), by wire type.
    fn skip(&mut self, wire: u8) -> Result<(), DecodeError> {
        let skip = match wire {
            WIRE_VARINT => return self.varint().map(drop),
            WIRE_LEN => return self.len_delimited().map(drop),
            1 => 8,
            5 => 4,
            _ => return Err(DecodeError("unsupported wire type")),
        };
        if skip > self.bytes.len() {
            return Err(DecodeError("truncated fixed-size field"));
        }
        self.bytes = &self.bytes[skip..];
        Ok(())
    }

    fn fields(
        mut self,
        mut each: impl FnMut(u64, u8, &mut Self) -> Result<(), DecodeError>,
    ) -> Result<(), DecodeError> {
        while !self.bytes.is_empty() {
            let key = self.varint()?;
            let wire = (key & 7) as u8;
            each(key >> 3, wire, &mut self)?;
        }
        Ok(())
    }
}

fn text(bytes: &[u8]) -> Result<&str, DecodeError> {
    std::str::from_utf8(bytes).map_err(|_| DecodeError("string field is not UTF-8"))
}

/// Decodes a message written by [`compressed_image`] or any other protobuf writer of the schema.
pub fn decode_compressed_image(bytes: &[u8]) -> Result<CompressedImage<'_>, DecodeError> {
    let mut image = CompressedImage {
        timestamp_ns: 0,
        frame_id: "",
        format: "",
        data: &[],
    };
    Reader { bytes }.fields(|number, wire, reader| {
        match (number, wire) {
            (1, WIRE_LEN) => {
                let (mut seconds, mut nanos) = (0u64, 0u64);
                Reader {
                    bytes: reader.len_delimited()?,
                }
                .fields(|number, wire, inner| {
                    match (number, wire) {
                        (1, WIRE_VARINT) => seconds = inner.varint()?,
                        (2, WIRE_VARINT) => nanos = inner.varint()?,
                        _ => inner.skip(wire)?,
                    }
                    Ok(())
                })?;
                image.timestamp_ns = seconds
                    .checked_mul(1_000_000_000)
                    .and_then(|ns| ns.checked_add(nanos))
                    .ok_or(DecodeError("timestamp out of range"))?;
            }
            (2, WIRE_LEN) => image.data = reader.len_delimited()?,
            (3, WIRE_LEN) => image.format = text(reader.len_delimited()?)?,
            (4, WIRE_LEN) => image.frame_id = text(reader.len_delimited()?)?,
            _ => reader.skip(wire)?,
        }
        Ok(())
    })?;
    Ok(image)
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
    fn decodes_what_it_encodes_and_rejects_garbage() {
        let jpeg = [0xFF, 0xD8, 1, 2, 3, 0xFF, 0xD9];
        let bytes = compressed_image(1_764_104_400_123_456_789, "front", &jpeg);
        let image = decode_compressed_image(&bytes).expect("decodes");
        assert_eq!(image.timestamp_ns, 1_764_104_400_123_456_789);
        assert_eq!(
            (image.frame_id, image.format, image.data),
            ("front", "jpeg", &jpeg[..])
        );
        for cut in 1..bytes.len() {
            // Every truncation either fails or yields a shorter field, never panics.
            let _ = decode_compressed_image(&bytes[..cut]);
        }
        assert!(decode_compressed_image(&[0x12, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]).is_err());
        assert!(decode_compressed_image(&[0x0F]).is_err());
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
