//! `foxglove.CompressedVideo`: one H.264 access unit (Annex B) per message, format `"h264"`.
//! Field numbers follow Foxglove's published schema (foxglove/schemas,
//! `CompressedVideo.proto`): timestamp = 1, frame_id = 2, data = 3, format = 4 — not the
//! image's numbering.

use super::wire::{self, Numbers, MAX_HEADER_LEN};
use super::DecodeError;

/// Schema name Foxglove recognises as its video type.
pub const VIDEO_SCHEMA_NAME: &str = "foxglove.CompressedVideo";
/// The `format` of H.264 messages (Foxglove's name for Annex B H.264 access units).
pub const VIDEO_FORMAT: &str = "h264";

const NUMBERS: Numbers = Numbers {
    timestamp: 1,
    frame_id: 2,
    data: 3,
    format: 4,
};

/// Bytes [`append_compressed_video`] writes at most (with a format of up to 16 bytes), for
/// reserving them up front.
pub fn compressed_video_len_bound(frame_id: &str, data: &[u8]) -> usize {
    data.len() + frame_id.len() + MAX_HEADER_LEN
}

/// Encodes one `foxglove.CompressedVideo` of format [`VIDEO_FORMAT`]; the access unit is
/// copied once.
pub fn compressed_video(capture_ts_ns: u64, frame_id: &str, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(compressed_video_len_bound(frame_id, data));
    append_compressed_video(&mut out, capture_ts_ns, frame_id, data, VIDEO_FORMAT);
    out
}

/// One `foxglove.CompressedVideo` appended to `out`, after whatever header the caller put
/// there (the Foxglove WebSocket's message-data header), so `data` is copied only once.
pub fn append_compressed_video(
    out: &mut Vec<u8>,
    capture_ts_ns: u64,
    frame_id: &str,
    data: &[u8],
    format: &str,
) {
    wire::append_message(out, NUMBERS, capture_ts_ns, frame_id, data, format);
}

/// A decoded `foxglove.CompressedVideo` (borrowing the message bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompressedVideo<'a> {
    pub timestamp_ns: u64,
    pub frame_id: &'a str,
    pub format: &'a str,
    pub data: &'a [u8],
}

/// Decodes a message written by [`append_compressed_video`] or any other protobuf writer of
/// the schema.
pub fn decode_compressed_video(bytes: &[u8]) -> Result<CompressedVideo<'_>, DecodeError> {
    let fields = wire::decode_message(bytes, NUMBERS).map_err(|reason| DecodeError {
        schema: VIDEO_SCHEMA_NAME,
        reason,
    })?;
    Ok(CompressedVideo {
        timestamp_ns: fields.timestamp_ns,
        frame_id: fields.frame_id,
        format: fields.format,
        data: fields.data,
    })
}

/// The serialized `FileDescriptorSet` for [`VIDEO_SCHEMA_NAME`].
pub fn video_schema() -> Vec<u8> {
    wire::schema("CompressedVideo", NUMBERS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_bytes_are_pinned() {
        // 1.5 s after the epoch, frame "f", a 5-byte access unit (start code + AUD).
        let bytes = compressed_video(1_500_000_000, "f", &[0, 0, 0, 1, 0x09]);
        assert_eq!(
            bytes,
            [
                0x0A, 0x08, 0x08, 0x01, 0x10, 0x80, 0xCA, 0xB5, 0xEE, 0x01, // 1: timestamp
                0x12, 0x01, b'f', // 2: frame_id
                0x1A, 0x05, 0, 0, 0, 1, 0x09, // 3: data
                0x22, 0x04, b'h', b'2', b'6', b'4', // 4: format
            ]
        );
        let mut appended = vec![0xEE; 3];
        append_compressed_video(
            &mut appended,
            1_500_000_000,
            "f",
            &[0, 0, 0, 1, 0x09],
            "h264",
        );
        assert_eq!(appended[..3], [0xEE; 3]);
        assert_eq!(appended[3..], bytes[..]);
        assert!(bytes.len() <= compressed_video_len_bound("f", &[0, 0, 0, 1, 0x09]));
    }

    #[test]
    fn decodes_what_it_encodes_and_rejects_garbage() {
        let au = [0, 0, 0, 1, 0x65, 0x88, 0x84, 0x00];
        let bytes = compressed_video(1_764_104_400_123_456_789, "front", &au);
        let video = decode_compressed_video(&bytes).expect("decodes");
        assert_eq!(video.timestamp_ns, 1_764_104_400_123_456_789);
        assert_eq!(
            (video.frame_id, video.format, video.data),
            ("front", "h264", &au[..])
        );
        for cut in 1..bytes.len() {
            let _ = decode_compressed_video(&bytes[..cut]);
        }
        // An image message read as video: data and frame_id swap places, caught as text.
        let image = super::super::compressed_image(1, "f", &[0xFF, 0xD8, 0xFF]);
        assert!(decode_compressed_video(&image).is_err());
        let error = decode_compressed_video(&[0x1A, 0x09, 1]).expect_err("field past the end");
        assert!(error.to_string().contains(VIDEO_SCHEMA_NAME), "{error}");
    }

    #[test]
    fn schema_describes_the_video_fields() {
        let schema = video_schema();
        let text = String::from_utf8_lossy(&schema);
        assert!(text.contains("foxglove/CompressedVideo.proto"));
        assert!(text.contains("CompressedVideo"));
        assert!(text.contains("google/protobuf/timestamp.proto"));
        assert_ne!(schema, super::super::schema());
    }
}
