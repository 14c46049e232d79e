//! The H.264 lane: one access unit per sample on `<prefix>/<camera>/h264/<name>`, beside the
//! JPEG frames, for links and recordings that cannot afford MJPEG (docs/protocol.md).
//!
//! The payload is one access unit in Annex B form (start codes); a keyframe carries SPS, PPS
//! and an IDR slice, so any keyframe starts a decoder. The attachment is the frame's 32-byte
//! [`FrameMeta`] followed by the video fields ([`VideoMeta`]): the keyframe flag and, on
//! keyframes, the codec string (`avc1.PPCCLL`) and the parameter sets. A late joiner gets a
//! keyframe within one keyframe interval, or at once by querying
//! `<prefix>/<camera>/h264/<name>/keyframe` ([`crate::keys::CameraKeys::video_keyframe`]).
//!
//! - this file: the attachment codec and [`VideoFrame`], checked on receipt like [`crate::Frame`].
//! - `h264.rs`: NAL units, the SPS's picture size and codec string.

pub mod h264;

use crate::frame::FrameLimits;
use crate::meta::{FrameMeta, MetaError, ENCODED_LEN};
use bytes::Bytes;
use thiserror::Error;

/// Version of the video fields after the frame metadata.
pub const VIDEO_VERSION: u8 = 1;
/// Longest codec string (`avc1.PPCCLL` is 11 bytes).
pub const MAX_CODEC_LEN: usize = 32;
/// Most bytes of parameter sets a keyframe's attachment may carry.
pub const MAX_PARAMETER_SETS: usize = 4096;

const FLAG_KEYFRAME: u8 = 0b0000_0001;

/// The video fields of an access unit's attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoMeta {
    /// Sequence number, capture time, the picture's size, generation: as on the JPEG frames.
    pub frame: FrameMeta,
    /// `Some` exactly on keyframes: what a decoder is configured with.
    pub key: Option<KeyInfo>,
}

/// What a keyframe tells a decoder before it decodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// RFC 6381 codec string, e.g. `avc1.42C01F` (WebCodecs' `VideoDecoderConfig.codec`).
    pub codec: String,
    /// The SPS and PPS NAL units, Annex B (also inside the access unit itself).
    pub parameter_sets: Bytes,
}

/// Why an access unit's attachment or payload is refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VideoError {
    #[error(transparent)]
    Meta(#[from] MetaError),
    #[error("video attachment has version {got}, this build reads version {VIDEO_VERSION}: upgrade the subscriber")]
    UnsupportedVersion { got: u8 },
    #[error("video attachment is malformed: {0} (docs/protocol.md, \"The H.264 lane\")")]
    Malformed(&'static str),
    /// Over [`FrameLimits`]' byte or size caps, the same as for JPEG frames.
    #[error(transparent)]
    Limit(crate::frame::DecodeError),
    #[error(transparent)]
    H264(#[from] h264::H264Error),
    #[error("attachment says {declared} but the access unit's SPS says {actual}: the publisher must attach what it encodes")]
    Mismatch { declared: String, actual: String },
}

impl VideoError {
    /// Every value [`VideoError::reason`] can return.
    pub const REASONS: [&'static str; 5] = [
        "bad_attachment",
        "too_large",
        "too_many_pixels",
        "bad_h264",
        "size_mismatch",
    ];

    /// Label for `rejected_frames_total{reason=...}`: one per kind of fault, never data.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Meta(_) | Self::UnsupportedVersion { .. } | Self::Malformed(_) => {
                "bad_attachment"
            }
            Self::Limit(error) => error.reason(),
            Self::H264(_) => "bad_h264",
            Self::Mismatch { .. } => "size_mismatch",
        }
    }
}

impl VideoMeta {
    /// The attachment bytes: the frame metadata, then the video fields.
    pub fn encode(&self) -> Vec<u8> {
        let key_len = self
            .key
            .as_ref()
            .map_or(0, |k| 1 + k.codec.len() + 2 + k.parameter_sets.len());
        let mut out = Vec::with_capacity(ENCODED_LEN + 3 + key_len);
        out.extend_from_slice(&self.frame.encode());
        out.push(VIDEO_VERSION);
        match &self.key {
            None => out.push(0),
            Some(key) => {
                out.push(FLAG_KEYFRAME);
                let codec = &key.codec.as_bytes()[..key.codec.len().min(MAX_CODEC_LEN)];
                out.push(codec.len() as u8);
                out.extend_from_slice(codec);
                let sets = &key.parameter_sets[..key.parameter_sets.len().min(MAX_PARAMETER_SETS)];
                out.extend_from_slice(&(sets.len() as u16).to_le_bytes());
                out.extend_from_slice(sets);
            }
        }
        out
    }

    /// Parses an attachment, refusing anything this version does not understand.
    pub fn decode(bytes: &[u8]) -> Result<Self, VideoError> {
        let Some((meta, rest)) = bytes.split_at_checked(ENCODED_LEN) else {
            return Err(MetaError::Truncated { got: bytes.len() }.into());
        };
        let frame = FrameMeta::decode(meta)?;
        let [version, flags, rest @ ..] = rest else {
            return Err(VideoError::Malformed(
                "no video fields after the frame metadata",
            ));
        };
        if *version != VIDEO_VERSION {
            return Err(VideoError::UnsupportedVersion { got: *version });
        }
        if flags & !FLAG_KEYFRAME != 0 {
            return Err(VideoError::Malformed("unknown flag bits"));
        }
        if flags & FLAG_KEYFRAME == 0 {
            return match rest {
                [] => Ok(Self { frame, key: None }),
                _ => Err(VideoError::Malformed("bytes after a delta frame's fields")),
            };
        }
        let [codec_len, rest @ ..] = rest else {
            return Err(VideoError::Malformed("keyframe without its codec string"));
        };
        let codec_len = usize::from(*codec_len);
        if codec_len == 0 || codec_len > MAX_CODEC_LEN || rest.len() < codec_len + 2 {
            return Err(VideoError::Malformed("codec string length out of bounds"));
        }
        let (codec, rest) = rest.split_at(codec_len);
        if !codec
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'.')
        {
            return Err(VideoError::Malformed("codec string is not [A-Za-z0-9.]"));
        }
        let sets_len = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
        let sets = &rest[2..];
        if sets_len > MAX_PARAMETER_SETS || sets.len() != sets_len {
            return Err(VideoError::Malformed("parameter sets length disagrees"));
        }
        Ok(Self {
            frame,
            key: Some(KeyInfo {
                codec: String::from_utf8_lossy(codec).into_owned(),
                parameter_sets: Bytes::copy_from_slice(sets),
            }),
        })
    }

    pub fn is_keyframe(&self) -> bool {
        self.key.is_some()
    }
}

/// One access unit with its metadata, as published and as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoFrame {
    /// Annex B access unit; shared, never copied per client.
    pub au: Bytes,
    pub meta: VideoMeta,
}

impl VideoFrame {
    /// A frame this process encoded: the keyframe's codec string and parameter sets are read
    /// from the access unit itself. `None` for a keyframe without an SPS it can read.
    pub fn encoded(au: Bytes, frame: FrameMeta, keyframe: bool) -> Result<Self, VideoError> {
        let key = if keyframe {
            let units = h264::nal_units(&au)?;
            let sps = find(&units, h264::nal::SPS).ok_or(h264::H264Error::KeyframeLacks("SPS"))?;
            let pps = find(&units, h264::nal::PPS).ok_or(h264::H264Error::KeyframeLacks("PPS"))?;
            let codec = h264::parse_sps(sps)?.codec;
            let mut sets = Vec::with_capacity(sps.len() + pps.len() + 8);
            for unit in [sps, pps] {
                sets.extend_from_slice(&[0, 0, 0, 1]);
                sets.extend_from_slice(unit);
            }
            Some(KeyInfo {
                codec,
                parameter_sets: sets.into(),
            })
        } else {
            None
        };
        Ok(Self {
            au,
            meta: VideoMeta { frame, key },
        })
    }

    /// Decodes a received sample's payload and attachment after every check of `limits`:
    /// length before anything is copied, declared size against the caps, the access unit's
    /// NAL units, and on keyframes an SPS whose size and codec equal the attachment's.
    pub fn validated(
        payload: Bytes,
        attachment: Option<&[u8]>,
        limits: &FrameLimits,
    ) -> Result<Self, VideoError> {
        let meta = VideoMeta::decode(attachment.ok_or(MetaError::Missing)?)?;
        Self::check(&payload, &meta, limits)?;
        Ok(Self { au: payload, meta })
    }

    fn check(au: &[u8], meta: &VideoMeta, limits: &FrameLimits) -> Result<(), VideoError> {
        limits.check_len(au.len()).map_err(VideoError::Limit)?;
        let (width, height) = (meta.frame.width, meta.frame.height);
        limits
            .check_size(width, height)
            .map_err(VideoError::Limit)?;
        let units = h264::nal_units(au)?;
        let has = |kind| find(&units, kind).is_some();
        if !has(h264::nal::IDR) && !has(h264::nal::SLICE) {
            return Err(h264::H264Error::NoSlice.into());
        }
        let Some(key) = &meta.key else {
            if has(h264::nal::IDR) {
                return Err(h264::H264Error::UnmarkedKeyframe.into());
            }
            return Ok(());
        };
        let sps = find(&units, h264::nal::SPS).ok_or(h264::H264Error::KeyframeLacks("SPS"))?;
        find(&units, h264::nal::PPS).ok_or(h264::H264Error::KeyframeLacks("PPS"))?;
        if !has(h264::nal::IDR) {
            return Err(h264::H264Error::KeyframeLacks("IDR slice").into());
        }
        let sps = h264::parse_sps(sps)?;
        if (sps.width, sps.height) != (width, height) || sps.codec != key.codec {
            return Err(VideoError::Mismatch {
                declared: format!("{width}x{height} {}", key.codec),
                actual: format!("{}x{} {}", sps.width, sps.height, sps.codec),
            });
        }
        Ok(())
    }
}

fn find<'a>(units: &[&'a [u8]], kind: u8) -> Option<&'a [u8]> {
    units.iter().copied().find(|u| h264::nal_type(u) == kind)
}

#[cfg(test)]
mod tests;
