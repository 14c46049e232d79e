//! Frame metadata and its versioned attachment codec (the bytes of `sample.attachment()`).
//!
//! A fixed little-endian layout rather than a serializer format: it is 32 bytes, decodes
//! with one `struct.unpack` in Python or a few shifts in C, and `docs/protocol.md` shows it
//! byte by byte. Decoding validates everything, because the attachment comes off the
//! network and a garbled one must be rejected, not turned into a frame of size 0 x 0.

use std::time::{Duration, SystemTime, UNIX_EPOCH};
use thiserror::Error;

/// Layout version written by this code. Bump it for any change that moves or
/// re-interprets an existing field; appending fields only grows `ENCODED_LEN`.
pub const META_VERSION: u8 = 1;
/// Bytes in a version-1 attachment.
pub const ENCODED_LEN: usize = 32;
/// Bytes in an attachment that also carries the publisher's [`SourceId`] (bytes 32..48, an
/// appended field: version-1 readers that do not know it skip it).
pub const ENCODED_LEN_WITH_SOURCE: usize = ENCODED_LEN + 16;
/// Largest width or height accepted when decoding (JPEG itself stops at 65 535).
pub const MAX_DIMENSION: u32 = 65_535;

const FLAG_ONLINE: u8 = 0b0000_0001;

/// Metadata that travels with every frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameMeta {
    /// +1 per published frame; starts at 0 when the node starts, so a subscriber that sees
    /// it go backwards knows the node restarted.
    pub seq: u64,
    /// Capture time in ns since the Unix epoch (from the buffer's timestamp, not publish time).
    pub capture_ts_ns: u64,
    pub width: u32,
    pub height: u32,
    /// How many times the node has started its capture pipeline (1 for the first start).
    pub generation: u32,
    /// False for placeholder frames (e.g. a "NO SIGNAL" picture) that no camera captured.
    pub online: bool,
}

/// Why an attachment could not be decoded.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum MetaError {
    #[error("frame attachment is missing: publishers must attach the {ENCODED_LEN}-byte frame metadata (docs/protocol.md)")]
    Missing,
    #[error("frame attachment is truncated: {got} bytes, at least {ENCODED_LEN} needed")]
    Truncated { got: usize },
    #[error("frame attachment has version {got}, this build reads version {META_VERSION}: upgrade the subscriber")]
    UnsupportedVersion { got: u8 },
    #[error("frame attachment declares {declared} bytes but carries {got}")]
    LengthMismatch { declared: usize, got: usize },
    #[error("frame attachment has invalid size {width}x{height} (each side must be 1..={MAX_DIMENSION})")]
    InvalidSize { width: u32, height: u32 },
    #[error("frame attachment sets unknown flag bits {0:#04x}")]
    UnknownFlags(u8),
}

impl FrameMeta {
    /// The attachment bytes of this metadata.
    pub fn encode(&self) -> [u8; ENCODED_LEN] {
        let mut out = [0u8; ENCODED_LEN];
        out[0] = META_VERSION;
        out[1] = if self.online { FLAG_ONLINE } else { 0 };
        out[2..4].copy_from_slice(&(ENCODED_LEN as u16).to_le_bytes());
        out[4..8].copy_from_slice(&self.width.to_le_bytes());
        out[8..12].copy_from_slice(&self.height.to_le_bytes());
        out[12..16].copy_from_slice(&self.generation.to_le_bytes());
        out[16..24].copy_from_slice(&self.seq.to_le_bytes());
        out[24..32].copy_from_slice(&self.capture_ts_ns.to_le_bytes());
        out
    }

    /// Parses attachment bytes, rejecting anything this version does not understand.
    pub fn decode(bytes: &[u8]) -> Result<Self, MetaError> {
        if bytes.len() < 4 {
            return Err(MetaError::Truncated { got: bytes.len() });
        }
        if bytes[0] != META_VERSION {
            return Err(MetaError::UnsupportedVersion { got: bytes[0] });
        }
        let declared = usize::from(u16::from_le_bytes([bytes[2], bytes[3]]));
        if bytes.len() < ENCODED_LEN {
            return Err(MetaError::Truncated { got: bytes.len() });
        }
        // Later minor revisions may append fields (declared > 32); skipping them is safe.
        if declared < ENCODED_LEN || declared != bytes.len() {
            return Err(MetaError::LengthMismatch {
                declared,
                got: bytes.len(),
            });
        }
        let flags = bytes[1];
        if flags & !FLAG_ONLINE != 0 {
            return Err(MetaError::UnknownFlags(flags & !FLAG_ONLINE));
        }
        let u32_at = |at: usize| {
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let u64_at = |at: usize| (u64::from(u32_at(at + 4)) << 32) | u64::from(u32_at(at));
        let (width, height) = (u32_at(4), u32_at(8));
        if !(1..=MAX_DIMENSION).contains(&width) || !(1..=MAX_DIMENSION).contains(&height) {
            return Err(MetaError::InvalidSize { width, height });
        }
        Ok(Self {
            seq: u64_at(16),
            capture_ts_ns: u64_at(24),
            width,
            height,
            generation: u32_at(12),
            online: flags & FLAG_ONLINE != 0,
        })
    }

    /// The attachment bytes of this metadata followed by the publisher's `source`.
    pub fn encode_with_source(&self, source: SourceId) -> [u8; ENCODED_LEN_WITH_SOURCE] {
        let mut out = [0u8; ENCODED_LEN_WITH_SOURCE];
        out[..ENCODED_LEN].copy_from_slice(&self.encode());
        out[2..4].copy_from_slice(&(ENCODED_LEN_WITH_SOURCE as u16).to_le_bytes());
        out[ENCODED_LEN..].copy_from_slice(&source.0.to_le_bytes());
        out
    }

    /// Capture time as a `SystemTime`.
    pub fn capture_time(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.capture_ts_ns)
    }

    /// How long ago the frame was captured (zero if the clocks disagree the other way).
    pub fn age(&self) -> Duration {
        SystemTime::now()
            .duration_since(self.capture_time())
            .unwrap_or_default()
    }
}

/// Who published a frame: the zenoh session id of the publishing process, so that a
/// subscriber can tell two publishers of one key apart (two robots left at the same prefix).
/// Shown as zenoh shows session ids (lower-case hex, e.g. in `zenoh::Session::zid()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceId(pub u128);

impl SourceId {
    /// The id of `session`.
    pub fn of_session(session: &zenoh::Session) -> Self {
        Self::of_zid(&session.zid())
    }

    /// The id of the session zenoh names `zid` (e.g. a query reply's replier).
    pub fn of_zid(zid: &zenoh::session::ZenohId) -> Self {
        // zenoh prints a session id as the hex of its 128-bit value; parsing it back keeps
        // both spellings equal without relying on zenoh's byte layout.
        Self(u128::from_str_radix(&zid.to_string(), 16).unwrap_or_default())
    }

    /// The source field of an attachment that [`FrameMeta::decode`] accepted, if it has one.
    pub fn from_attachment(bytes: &[u8]) -> Option<Self> {
        let declared = usize::from(u16::from_le_bytes([*bytes.get(2)?, *bytes.get(3)?]));
        if declared < ENCODED_LEN_WITH_SOURCE {
            return None;
        }
        let field = bytes.get(ENCODED_LEN..ENCODED_LEN_WITH_SOURCE)?;
        Some(Self(u128::from_le_bytes(field.try_into().ok()?)))
    }
}

impl std::fmt::Display for SourceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:x}", self.0)
    }
}

/// Largest forward jump of `seq` still read as lost frames (~40 s at 240 fps); anything
/// larger, like a publisher that restarted without bumping `generation` or a corrupt sequence
/// number, is a restart.
pub const MAX_PLAUSIBLE_SEQ_GAP: u64 = 10_000;

impl FrameMeta {
    /// Frames lost between `previous` and `self` of the same publisher, or `None` when the
    /// sequence restarted (new generation, `seq` not increasing, or an implausible jump).
    pub fn frames_lost_since(&self, previous: &FrameMeta) -> Option<u64> {
        if self.generation != previous.generation || self.seq <= previous.seq {
            return None;
        }
        let lost = self.seq - previous.seq - 1;
        (lost <= MAX_PLAUSIBLE_SEQ_GAP).then_some(lost)
    }
}

/// Now as ns since the Unix epoch, the unit of `capture_ts_ns`.
pub fn unix_now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| u64::try_from(since.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> FrameMeta {
        FrameMeta {
            seq: 42,
            capture_ts_ns: 1_764_000_000_123_456_789,
            width: 640,
            height: 480,
            generation: 1,
            online: true,
        }
    }

    #[test]
    fn round_trips() {
        let meta = sample();
        assert_eq!(FrameMeta::decode(&meta.encode()), Ok(meta));
        let offline = FrameMeta {
            online: false,
            ..meta
        };
        assert_eq!(FrameMeta::decode(&offline.encode()), Ok(offline));
    }

    /// The worked example in docs/protocol.md; if this changes, the doc is wrong.
    #[test]
    fn matches_documented_bytes() {
        let hex: String = sample()
            .encode()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "0101200080020000e0010000010000002a0000000000000015cd256fa7fc7a18"
        );
    }

    #[test]
    fn rejects_truncated_wrong_version_and_bad_fields() {
        let good = sample().encode();
        for len in 0..ENCODED_LEN {
            assert!(
                FrameMeta::decode(&good[..len]).is_err(),
                "accepted {len} bytes"
            );
        }
        let mut wrong_version = good;
        wrong_version[0] = 2;
        assert_eq!(
            FrameMeta::decode(&wrong_version),
            Err(MetaError::UnsupportedVersion { got: 2 })
        );
        let mut zero_width = good;
        zero_width[4..8].copy_from_slice(&0u32.to_le_bytes());
        assert!(matches!(
            FrameMeta::decode(&zero_width),
            Err(MetaError::InvalidSize { .. })
        ));
        let mut flags = good;
        flags[1] = 0x81;
        assert_eq!(
            FrameMeta::decode(&flags),
            Err(MetaError::UnknownFlags(0x80))
        );
        let mut longer = good.to_vec();
        longer.push(0);
        assert!(matches!(
            FrameMeta::decode(&longer),
            Err(MetaError::LengthMismatch { .. })
        ));
    }

    #[test]
    fn accepts_appended_fields_when_declared() {
        let mut longer = sample().encode().to_vec();
        longer.extend_from_slice(&[9, 9, 9, 9]);
        longer[2..4].copy_from_slice(&36u16.to_le_bytes());
        assert_eq!(FrameMeta::decode(&longer), Ok(sample()));
    }

    #[test]
    fn source_is_an_appended_field() {
        let source = SourceId(0x1234_5678_9abc_def0_0fed_cba9_8765_4321);
        let bytes = sample().encode_with_source(source);
        assert_eq!(FrameMeta::decode(&bytes), Ok(sample()));
        assert_eq!(SourceId::from_attachment(&bytes), Some(source));
        assert_eq!(SourceId::from_attachment(&sample().encode()), None);
        assert_eq!(source.to_string(), "123456789abcdef00fedcba987654321");
    }

    #[test]
    fn seq_jumps_and_rewinds_are_restarts_not_losses() {
        let previous = sample();
        let at = |seq: u64| FrameMeta { seq, ..previous };
        assert_eq!(at(43).frames_lost_since(&previous), Some(0));
        assert_eq!(at(45).frames_lost_since(&previous), Some(2));
        assert_eq!(
            at(42 + 1 + MAX_PLAUSIBLE_SEQ_GAP).frames_lost_since(&previous),
            Some(MAX_PLAUSIBLE_SEQ_GAP)
        );
        assert_eq!(at(u64::MAX).frames_lost_since(&previous), None);
        assert_eq!(at(41).frames_lost_since(&previous), None);
        assert_eq!(at(42).frames_lost_since(&previous), None);
        let restarted = FrameMeta {
            generation: 2,
            ..at(50)
        };
        assert_eq!(restarted.frames_lost_since(&previous), None);
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = FrameMeta::decode(&bytes);
        }

        /// Whatever decodes has a size a JPEG can have (1..=65535 each way), and the size
        /// that was sent: sizes from the network are bounded before anything uses them.
        #[test]
        fn decoded_sizes_are_within_jpeg_limits(
            width in prop_oneof![0u32..70_000, any::<u32>()],
            height in prop_oneof![0u32..70_000, any::<u32>()],
            flags in prop_oneof![Just(0u8), Just(1u8), any::<u8>()],
            rest in proptest::collection::vec(any::<u8>(), 20),
        ) {
            let mut bytes = vec![META_VERSION, flags];
            bytes.extend_from_slice(&(ENCODED_LEN as u16).to_le_bytes());
            bytes.extend_from_slice(&width.to_le_bytes());
            bytes.extend_from_slice(&height.to_le_bytes());
            bytes.extend_from_slice(&rest);
            match FrameMeta::decode(&bytes) {
                Ok(meta) => {
                    prop_assert!((1..=MAX_DIMENSION).contains(&meta.width));
                    prop_assert!((1..=MAX_DIMENSION).contains(&meta.height));
                    prop_assert_eq!((meta.width, meta.height), (width, height));
                }
                Err(_) => prop_assert!(
                    !(1..=MAX_DIMENSION).contains(&width)
                        || !(1..=MAX_DIMENSION).contains(&height)
                        || flags > 1
                ),
            }
        }

        #[test]
        fn any_valid_meta_round_trips(seq: u64, ts: u64, width in 1u32..=MAX_DIMENSION, height in 1u32..=MAX_DIMENSION, generation: u32, online: bool) {
            let meta = FrameMeta { seq, capture_ts_ns: ts, width, height, generation, online };
            prop_assert_eq!(FrameMeta::decode(&meta.encode()), Ok(meta));
        }
    }
}
