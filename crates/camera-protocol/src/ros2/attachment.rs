//! The 33-byte rmw_zenoh sample attachment: sequence number, source timestamp, publisher GID.
//!
//! rmw_zenoh (`attachment_helpers.cpp`) writes it with the zenoh-ext serializer:
//! `i64` seq LE, `i64` source timestamp ns LE, then the `[u8; 16]` GID as a sequence, which the
//! zenoh serialization format prefixes with its LEB128 length (`0x10`). Subscribers drop samples
//! that lack it. The GID is XXH3-128 of the publisher's liveliness token, low 64 bits first
//! (`Entity::Entity` in `liveliness_utils.cpp`), so our GID equals the one rmw_zenoh would give.

use thiserror::Error;

/// Bytes in an attachment (for the 16-byte GID of ROS 2 Iron and later).
pub const ATTACHMENT_LEN: usize = 33;
/// `RMW_GID_STORAGE_SIZE` since ROS 2 Iron.
pub const GID_LEN: usize = 16;
/// LEB128 of `GID_LEN`: the zenoh-ext length prefix of a `[u8; 16]`.
const GID_LEN_PREFIX: u8 = GID_LEN as u8;

/// Why an attachment is not an rmw_zenoh one.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum AttachmentError {
    #[error("rmw_zenoh attachment has {got} bytes, expected {ATTACHMENT_LEN} (seq, timestamp, 16-byte GID): is the publisher a ROS 2 Iron+ rmw_zenoh?")]
    Length { got: usize },
    #[error("rmw_zenoh attachment declares a {got}-byte GID, expected {GID_LEN}")]
    GidLength { got: u8 },
}

/// What rmw_zenoh attaches to every published sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ros2Attachment {
    /// 1 for the first sample of a publisher.
    pub seq: i64,
    /// Publish time, ns since the Unix epoch.
    pub source_ts_ns: i64,
    pub gid: [u8; GID_LEN],
}

impl Ros2Attachment {
    pub fn encode(&self) -> [u8; ATTACHMENT_LEN] {
        let mut out = [0u8; ATTACHMENT_LEN];
        out[0..8].copy_from_slice(&self.seq.to_le_bytes());
        out[8..16].copy_from_slice(&self.source_ts_ns.to_le_bytes());
        out[16] = GID_LEN_PREFIX;
        out[17..].copy_from_slice(&self.gid);
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, AttachmentError> {
        let bytes: &[u8; ATTACHMENT_LEN] = bytes
            .try_into()
            .map_err(|_| AttachmentError::Length { got: bytes.len() })?;
        if bytes[16] != GID_LEN_PREFIX {
            return Err(AttachmentError::GidLength { got: bytes[16] });
        }
        let i64_at = |at: usize| {
            let mut le = [0u8; 8];
            le.copy_from_slice(&bytes[at..at + 8]);
            i64::from_le_bytes(le)
        };
        let mut gid = [0u8; GID_LEN];
        gid.copy_from_slice(&bytes[17..]);
        Ok(Self {
            seq: i64_at(0),
            source_ts_ns: i64_at(8),
            gid,
        })
    }
}

/// The GID rmw_zenoh derives from an entity's liveliness token.
pub fn gid_of_token(token: &str) -> [u8; GID_LEN] {
    let hash = xxhash_rust::xxh3::xxh3_128(token.as_bytes());
    let mut gid = [0u8; GID_LEN];
    // rmw_zenoh memcpy's low64 then high64 on a little-endian host.
    gid[..8].copy_from_slice(&(hash as u64).to_le_bytes());
    gid[8..].copy_from_slice(&((hash >> 64) as u64).to_le_bytes());
    gid
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachment_bytes_are_pinned() {
        let attachment = Ros2Attachment {
            seq: 1,
            source_ts_ns: 0x0102_0304_0506_0708,
            gid: std::array::from_fn(|i| 0xA0 + i as u8),
        };
        let bytes = attachment.encode();
        let expected: [u8; ATTACHMENT_LEN] = [
            1, 0, 0, 0, 0, 0, 0, 0, // seq
            8, 7, 6, 5, 4, 3, 2, 1,    // source timestamp
            0x10, // zenoh-ext sequence length 16
            0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0xA9, 0xAA, 0xAB, 0xAC, 0xAD,
            0xAE, 0xAF,
        ];
        assert_eq!(bytes, expected);
        assert_eq!(Ros2Attachment::decode(&bytes), Ok(attachment));
    }

    #[test]
    fn decode_rejects_anything_else() {
        let good = Ros2Attachment {
            seq: 5,
            source_ts_ns: 6,
            gid: [7; GID_LEN],
        }
        .encode();
        assert_eq!(
            Ros2Attachment::decode(&good[..32]),
            Err(AttachmentError::Length { got: 32 })
        );
        let mut humble = good.to_vec();
        humble[16] = 24;
        humble.extend_from_slice(&[0; 8]);
        assert!(Ros2Attachment::decode(&humble).is_err());
        let mut wrong_prefix = good;
        wrong_prefix[16] = 24;
        assert_eq!(
            Ros2Attachment::decode(&wrong_prefix),
            Err(AttachmentError::GidLength { got: 24 })
        );
        assert!(Ros2Attachment::decode(&[]).is_err());
    }

    #[test]
    fn gid_is_xxh3_128_low_half_first() {
        // XXH3-128 of the empty input is 99aa06d3014798d8_6001c324468d497f (xxHash test vector).
        assert_eq!(
            gid_of_token(""),
            [
                0x7f, 0x49, 0x8d, 0x46, 0x24, 0xc3, 0x01, 0x60, 0xd8, 0x98, 0x47, 0x01, 0xd3, 0x06,
                0xaa, 0x99
            ]
        );
        // A 235-byte publisher token (XXH3's 129-240 byte path), from Python xxhash 3.x.
        let token = "@ros2_lv/0/8b20917502ee955ac4476e0266340d5c/0/1/MP/%/%camera%front/\
                     camera_node/%camera%front%image%compressed/\
                     sensor_msgs::msg::dds_::CompressedImage_/\
                     RIHS01_15640771531571185e2efc8a100baf923961a4d15d5569652e6cb6691e8e371a/\
                     2::,5:,:,:,,";
        assert_eq!(token.len(), 235);
        let hex: String = gid_of_token(token)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hex, "6176cfd1a4ec5738efeaefa072424700");
    }
}
