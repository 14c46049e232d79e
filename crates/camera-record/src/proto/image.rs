//! `foxglove.CompressedImage`: one JPEG per message. Field numbers follow Foxglove's published
//! schema (foxglove/schemas, `CompressedImage.proto`): timestamp = 1, data = 2, format = 3,
//! frame_id = 4.

use super::wire::{self, Numbers, MAX_HEADER_LEN};
use super::DecodeError;

/// Schema name Foxglove recognises as its image type.
pub const SCHEMA_NAME: &str = "foxglove.CompressedImage";

const NUMBERS: Numbers = Numbers {
    timestamp: 1,
    frame_id: 4,
    data: 2,
    format: 3,
};

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
    wire::append_message(out, NUMBERS, capture_ts_ns, frame_id, jpeg, "jpeg");
}

/// A decoded `foxglove.CompressedImage` (borrowing the message bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompressedImage<'a> {
    pub timestamp_ns: u64,
    pub frame_id: &'a str,
    pub format: &'a str,
    pub data: &'a [u8],
}

/// Decodes a message written by [`compressed_image`] or any other protobuf writer of the schema.
pub fn decode_compressed_image(bytes: &[u8]) -> Result<CompressedImage<'_>, DecodeError> {
    let fields = wire::decode_message(bytes, NUMBERS).map_err(|reason| DecodeError {
        schema: SCHEMA_NAME,
        reason,
    })?;
    Ok(CompressedImage {
        timestamp_ns: fields.timestamp_ns,
        frame_id: fields.frame_id,
        format: fields.format,
        data: fields.data,
    })
}

/// The serialized `FileDescriptorSet` for [`SCHEMA_NAME`].
pub fn schema() -> Vec<u8> {
    wire::schema("CompressedImage", NUMBERS)
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
        let error = decode_compressed_image(&[0x0F]).expect_err("wire type 7");
        assert!(error.to_string().contains(SCHEMA_NAME), "{error}");
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
