//! `Frame`: one complete JPEG plus its metadata, as published and as received.
//!
//! The JPEG bytes are a `Bytes`, so every consumer of a frame (each HTTP client, each
//! variant encoder) shares one allocation instead of copying the picture. A received sample
//! becomes a `Frame` only after [`FrameLimits::check`]: size caps first (before the payload is
//! copied), then the JPEG's own header must agree with the metadata, so nothing downstream ever
//! sizes a buffer from an unchecked number.

use crate::jpeg::{self, JpegError};
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

/// Why a received sample is not a usable frame. [`DecodeError::reason`] is a short stable
/// label for metrics.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    #[error(transparent)]
    Meta(#[from] MetaError),
    #[error("payload is not a complete JPEG: {0}")]
    NotJpeg(&'static str),
    /// A sample of a ROS 2 CompressedImage topic (`crate::ros2::receive`).
    #[error(transparent)]
    Ros2(#[from] crate::ros2::receive::Ros2FrameError),
    #[error("payload is not a JPEG: {0}")]
    Jpeg(#[from] JpegError),
    #[error("payload is {bytes} bytes, more than the limit of {max} (raise max_frame_bytes, or publish smaller frames)")]
    TooLarge { bytes: usize, max: usize },
    #[error("frame is {width}x{height}, larger than the limit of {max_width}x{max_height} (raise max_frame_width/max_frame_height, or publish smaller frames)")]
    TooManyPixels {
        width: u32,
        height: u32,
        max_width: u32,
        max_height: u32,
    },
    #[error("attachment says {declared_width}x{declared_height} but the JPEG header says {width}x{height}: the publisher must attach the size of the picture it sends")]
    SizeMismatch {
        declared_width: u32,
        declared_height: u32,
        width: u32,
        height: u32,
    },
}

impl DecodeError {
    /// Every value [`DecodeError::reason`] can return.
    pub const REASONS: [&'static str; 6] = [
        "bad_attachment",
        "not_jpeg",
        "too_large",
        "too_many_pixels",
        "size_mismatch",
        "bad_ros2_message",
    ];

    /// Label for `rejected_frames_total{reason=...}`: one per kind of fault, never data.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Meta(_) => "bad_attachment",
            Self::NotJpeg(_) | Self::Jpeg(_) => "not_jpeg",
            Self::TooLarge { .. } => "too_large",
            Self::TooManyPixels { .. } => "too_many_pixels",
            Self::SizeMismatch { .. } => "size_mismatch",
            Self::Ros2(_) => "bad_ros2_message",
        }
    }
}

/// What a receiver accepts. The defaults fit any camera we know of with room to spare
/// (a 4K MJPEG frame is ~1-2 MB) while keeping one frame's decode under ~200 MB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLimits {
    pub max_frame_bytes: usize,
    pub max_width: u32,
    pub max_height: u32,
}

impl FrameLimits {
    pub const DEFAULT_MAX_FRAME_BYTES: usize = 8 * 1024 * 1024;
    pub const DEFAULT_MAX_DIMENSION: u32 = 8192;

    /// Checks the payload length alone; call before copying a payload out of the network.
    pub fn check_len(&self, bytes: usize) -> Result<(), DecodeError> {
        if bytes > self.max_frame_bytes {
            return Err(DecodeError::TooLarge {
                bytes,
                max: self.max_frame_bytes,
            });
        }
        Ok(())
    }

    /// Checks a size against the dimension caps.
    pub fn check_size(&self, width: u32, height: u32) -> Result<(), DecodeError> {
        if width > self.max_width || height > self.max_height {
            return Err(DecodeError::TooManyPixels {
                width,
                height,
                max_width: self.max_width,
                max_height: self.max_height,
            });
        }
        Ok(())
    }

    /// Everything a received frame must satisfy: length, caps on the declared size, a complete
    /// JPEG whose SOF header gives exactly the declared size.
    pub fn check(&self, jpeg: &[u8], meta: &FrameMeta) -> Result<(), DecodeError> {
        self.check_len(jpeg.len())?;
        self.check_size(meta.width, meta.height)?;
        check_complete_jpeg(jpeg)?;
        let (width, height) = jpeg::jpeg_dimensions(jpeg)?;
        if (width, height) != (meta.width, meta.height) {
            return Err(DecodeError::SizeMismatch {
                declared_width: meta.width,
                declared_height: meta.height,
                width,
                height,
            });
        }
        Ok(())
    }
}

impl Default for FrameLimits {
    fn default() -> Self {
        Self {
            max_frame_bytes: Self::DEFAULT_MAX_FRAME_BYTES,
            max_width: Self::DEFAULT_MAX_DIMENSION,
            max_height: Self::DEFAULT_MAX_DIMENSION,
        }
    }
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
    /// A sample of a ROS 2 CompressedImage topic as a frame: rmw_zenoh's envelope checked by
    /// [`crate::ros2::receive::decode_image`], then the JPEG as complete as ours must be.
    pub fn from_ros2_sample(sample: &zenoh::sample::Sample) -> Result<Self, DecodeError> {
        let payload = Bytes::from(sample.payload().to_bytes().into_owned());
        let attachment = sample.attachment().map(|bytes| bytes.to_bytes());
        let (jpeg, meta) = crate::ros2::receive::decode_image(&payload, attachment.as_deref())?;
        Self::new(jpeg, meta)
    }

    /// Builds a frame after checking only that the payload is SOI … EOI (for frames this
    /// process made itself; received ones go through [`Frame::validated`]).
    pub fn new(jpeg: Bytes, meta: FrameMeta) -> Result<Self, DecodeError> {
        check_complete_jpeg(&jpeg)?;
        Ok(Self { jpeg, meta })
    }

    /// Builds a frame after every check of `limits`.
    pub fn validated(
        jpeg: Bytes,
        meta: FrameMeta,
        limits: &FrameLimits,
    ) -> Result<Self, DecodeError> {
        limits.check(&jpeg, &meta)?;
        Ok(Self { jpeg, meta })
    }

    /// Decodes a zenoh sample put by a camera node (payload = JPEG, attachment = meta) with
    /// the default [`FrameLimits`].
    pub fn from_sample(sample: &Sample) -> Result<Self, DecodeError> {
        Self::from_sample_with(sample, &FrameLimits::default())
    }

    /// Decodes and validates a sample; an oversized payload is refused before it is copied.
    pub fn from_sample_with(sample: &Sample, limits: &FrameLimits) -> Result<Self, DecodeError> {
        let attachment = sample.attachment().ok_or(MetaError::Missing)?;
        let meta = FrameMeta::decode(&attachment.to_bytes())?;
        limits.check_len(sample.payload().len())?;
        let jpeg = Bytes::from(sample.payload().to_bytes().into_owned());
        Self::validated(jpeg, meta, limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(width: u32, height: u32) -> FrameMeta {
        FrameMeta {
            seq: 1,
            capture_ts_ns: 1,
            width,
            height,
            generation: 1,
            online: true,
        }
    }

    fn encode(width: u32, height: u32) -> Bytes {
        let picture = image::RgbImage::from_pixel(width, height, image::Rgb([1, 2, 3]));
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80)
            .encode_image(&picture)
            .expect("encode");
        jpeg.into()
    }

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

    #[test]
    fn validation_names_each_reason() {
        let limits = FrameLimits {
            max_frame_bytes: 4096,
            max_width: 100,
            max_height: 100,
        };
        let good = encode(32, 24);
        assert!(Frame::validated(good.clone(), meta(32, 24), &limits).is_ok());
        let reason = |jpeg: &Bytes, meta: FrameMeta| {
            Frame::validated(jpeg.clone(), meta, &limits)
                .expect_err("accepted")
                .reason()
        };
        assert_eq!(reason(&good, meta(65535, 65535)), "too_many_pixels");
        assert_eq!(reason(&good, meta(33, 24)), "size_mismatch");
        let garbage = Bytes::from_static(b"\xFF\xD8 garbage garbage \xFF\xD9");
        assert_eq!(reason(&garbage, meta(32, 24)), "not_jpeg");
        assert_eq!(
            reason(&Bytes::from(vec![0xFF; 5000]), meta(32, 24)),
            "too_large"
        );
        // A real JPEG over the caps is refused even when its attachment is honest.
        assert_eq!(reason(&encode(120, 8), meta(120, 8)), "too_many_pixels");
    }

    /// SOI, a baseline SOF0 of `width`×`height` (one component), `body` as scan-like bytes, EOI:
    /// everything [`FrameLimits::check`] reads, without a picture to decode.
    fn header_only(width: u16, height: u16, body: &[u8]) -> Bytes {
        let mut out = vec![0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x0B, 8];
        out.extend_from_slice(&height.to_be_bytes());
        out.extend_from_slice(&width.to_be_bytes());
        out.extend_from_slice(&[1, 1, 0x11, 0]);
        out.extend_from_slice(body);
        out.extend_from_slice(&[0xFF, 0xD9]);
        out.into()
    }

    fn limits() -> impl Strategy<Value = FrameLimits> {
        (0usize..600, 1u32..300, 1u32..300).prop_map(|(bytes, width, height)| FrameLimits {
            max_frame_bytes: bytes,
            max_width: width,
            max_height: height,
        })
    }

    use proptest::prelude::*;

    proptest! {
        /// Whatever the bytes and the attachment claim, validation never panics, and what it
        /// accepts is within every limit and is the size the attachment says.
        #[test]
        fn anything_validates_within_the_limits(
            bytes in proptest::collection::vec(any::<u8>(), 0..600),
            width in 1u32..400,
            height in 1u32..400,
            limits in limits(),
        ) {
            let jpeg = Bytes::from(bytes);
            if let Ok(frame) = Frame::validated(jpeg, meta(width, height), &limits) {
                prop_assert!(frame.jpeg.len() <= limits.max_frame_bytes);
                prop_assert!(frame.meta.width <= limits.max_width);
                prop_assert!(frame.meta.height <= limits.max_height);
                prop_assert_eq!(jpeg::jpeg_dimensions(&frame.jpeg), Ok((width, height)));
            }
        }

        /// A well-formed header is accepted exactly when it fits the limits and matches the
        /// attachment; otherwise the reason names which check failed.
        #[test]
        fn honest_headers_are_accepted_iff_within_the_limits(
            width in 1u16..400,
            height in 1u16..400,
            declared_width in 1u32..400,
            body in proptest::collection::vec(0u8..0xFF, 0..200),
            limits in limits(),
        ) {
            let jpeg = header_only(width, height, &body);
            let len = jpeg.len();
            let (width, height) = (u32::from(width), u32::from(height));
            let outcome = Frame::validated(jpeg, meta(declared_width, height), &limits);
            let expected = if len > limits.max_frame_bytes {
                Err("too_large")
            } else if declared_width > limits.max_width || height > limits.max_height {
                Err("too_many_pixels")
            } else if declared_width != width {
                Err("size_mismatch")
            } else {
                Ok(())
            };
            prop_assert_eq!(outcome.map(|_| ()).map_err(|error| error.reason()), expected);
        }
    }
}
