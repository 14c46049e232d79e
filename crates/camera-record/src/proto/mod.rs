//! Foxglove's `CompressedImage` and `CompressedVideo` in protobuf: the message bytes and the
//! schemas that describe them.
//!
//! Foxglove reads protobuf channels from the schema's `FileDescriptorSet`, so each set carries
//! `foxglove/<Type>.proto` and the one file it imports (`google/protobuf/timestamp.proto`),
//! written by hand (`wire.rs`) instead of pulling in a protobuf code generator for four
//! fields. The same bytes serve MCAP files and the live Foxglove WebSocket.
//! - `image.rs`: `foxglove.CompressedImage` (one JPEG per message).
//! - `video.rs`: `foxglove.CompressedVideo` (one H.264 access unit per message).

mod image;
mod video;
mod wire;

pub use image::{
    append_compressed_image, compressed_image, compressed_image_len_bound, decode_compressed_image,
    schema, CompressedImage, SCHEMA_NAME,
};
pub use video::{
    append_compressed_video, compressed_video, compressed_video_len_bound, decode_compressed_video,
    video_schema, CompressedVideo, VIDEO_FORMAT, VIDEO_SCHEMA_NAME,
};

/// Schema and message encoding of both channels.
pub const ENCODING: &str = "protobuf";

/// Why message bytes are not the message their schema names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a {schema} message: {reason}")]
pub struct DecodeError {
    schema: &'static str,
    reason: &'static str,
}

#[cfg(test)]
mod tests {
    use super::wire::put_varint;

    #[test]
    fn varints_round_trip_large_values() {
        let mut out = Vec::new();
        put_varint(&mut out, u64::MAX);
        assert_eq!(out.len(), 10);
        assert_eq!(out[9], 0x01);
    }
}
