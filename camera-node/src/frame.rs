//! `Frame`: one complete JPEG plus its metadata, as published and as received.
//!
//! The JPEG bytes are a `Bytes`, so every consumer of a frame (each HTTP client, each
//! variant encoder) shares one allocation instead of copying the picture.

use crate::meta::{FrameMeta, MetaError};
use bytes::Bytes;
use thiserror::Error;
use zenoh::sample::Sample;

/// Smallest byte count that can hold SOI + one marker + EOI.
const MIN_JPEG_LEN: usize = 6;

/// One published camera frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub jpeg: Bytes,
    pub meta: FrameMeta,
}

/// Why a received sample is not a usable frame.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DecodeError {
    #[error(transparent)]
    Meta(#[from] MetaError),
    #[error("payload is not a complete JPEG: {0}")]
    NotJpeg(&'static str),
    /// A sample of a ROS 2 CompressedImage topic (`crate::ros2::receive`).
    #[error(transparent)]
    Ros2(#[from] crate::ros2::receive::Ros2FrameError),
}

/// Checks that `bytes` starts with the JPEG start-of-image marker and ends with the
/// end-of-image marker, which catches truncated and non-JPEG payloads without decoding.
pub fn check_complete_jpeg(bytes: &[u8]) -> Result<(), DecodeError> {
    if bytes.len() < MIN_JPEG_LEN {
        return Err(DecodeError::NotJpeg("too short"));
    }
    if bytes[..2] != [0xFF, 0xD8] {
        return Err(DecodeError::NotJpeg("no start-of-image marker (FF D8)"));
    }
    // Some encoders pad after EOI; tolerate a few trailing zero bytes.
    let trimmed_len = bytes.len() - bytes.iter().rev().take(16).take_while(|b| **b == 0).count();
    if bytes[..trimmed_len].ends_with(&[0xFF, 0xD9]) {
        Ok(())
    } else {
        Err(DecodeError::NotJpeg(
            "no end-of-image marker (FF D9): truncated?",
        ))
    }
}

impl Frame {
    /// Builds a frame after checking that the payload is a complete JPEG.
    pub fn new(jpeg: Bytes, meta: FrameMeta) -> Result<Self, DecodeError> {
        check_complete_jpeg(&jpeg)?;
        Ok(Self { jpeg, meta })
    }

    /// Decodes a zenoh sample put by a camera node (payload = JPEG, attachment = meta).
    pub fn from_sample(sample: &Sample) -> Result<Self, DecodeError> {
        let attachment = sample.attachment().ok_or(MetaError::Missing)?;
        let meta = FrameMeta::decode(&attachment.to_bytes())?;
        let jpeg = Bytes::from(sample.payload().to_bytes().into_owned());
        Self::new(jpeg, meta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_complete_and_rejects_partial_jpeg() {
        let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0xFF, 0xD9];
        assert_eq!(check_complete_jpeg(&jpeg), Ok(()));
        let mut padded = jpeg.to_vec();
        padded.extend_from_slice(&[0, 0]);
        assert_eq!(check_complete_jpeg(&padded), Ok(()));
        assert!(check_complete_jpeg(&jpeg[..6]).is_err());
        assert!(check_complete_jpeg(b"\x89PNG\r\n\x1a\n....").is_err());
        assert!(check_complete_jpeg(&[]).is_err());
    }
}
