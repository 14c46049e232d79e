//! `sensor_msgs/msg/CompressedImage`: encoding with the JPEG copied once, strict decoding.
//!
//! Fields: `header` (`stamp`, `frame_id`), `format`, `data` (`sequence<uint8>`). Decoding slices
//! `data` out of the sample's `Bytes` instead of copying it, and rejects anything that is not
//! exactly one such message (see [`CdrError`]).

use super::cdr::{padding, CdrError, CdrReader, CdrWriter, Stamp, ENCAPSULATION};
use bytes::Bytes;

/// `sensor_msgs/msg/CompressedImage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompressedImage {
    pub stamp: Stamp,
    pub frame_id: String,
    /// e.g. `jpeg`, `png`, `rgb8; jpeg compressed bgr8`.
    pub format: String,
    pub data: Bytes,
}

/// Serialized size of a CompressedImage with these fields, header included.
pub fn compressed_image_len(frame_id: &str, format: &str, data_len: usize) -> usize {
    let mut len = 8; // stamp, right after the 4-byte header: already aligned
    len += 4 + frame_id.len() + 1;
    len += padding(len, 4) + 4 + format.len() + 1;
    len += padding(len, 4) + 4 + data_len;
    ENCAPSULATION.len() + len
}

/// Serializes a CompressedImage; `data` is copied once, into a buffer allocated at its final size.
pub fn encode_compressed_image(stamp: Stamp, frame_id: &str, format: &str, data: &[u8]) -> Vec<u8> {
    let len = compressed_image_len(frame_id, format, data.len());
    let mut writer = CdrWriter::with_capacity(len);
    writer.stamp(stamp);
    writer.string(frame_id);
    writer.string(format);
    writer.byte_sequence(data);
    let out = writer.finish();
    debug_assert_eq!(
        out.len(),
        len,
        "compressed_image_len disagrees with the writer"
    );
    out
}

impl CompressedImage {
    /// Decodes a sample payload; `data` shares `payload`'s allocation.
    pub fn decode(payload: &Bytes) -> Result<Self, CdrError> {
        let mut reader = CdrReader::new(payload)?;
        let stamp = reader.stamp()?;
        let frame_id = reader.string("header.frame_id")?;
        let format = reader.string("format")?;
        let data = reader.byte_sequence("data")?;
        reader.finish()?;
        Ok(Self {
            stamp,
            frame_id,
            format,
            data: payload.slice(data),
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        encode_compressed_image(self.stamp, &self.frame_id, &self.format, &self.data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// rosbags 0.11.9 `serialize_cdr` of CompressedImage{stamp 1700000000.123456789,
    /// frame_id "cam", format "jpeg", data ff d8 ff d9 01}.
    const ROSBAGS_SMALL: &str =
        "0001000000f1536515cd5b070400000063616d00050000006a7065670000000005000000ffd8ffd901";

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn small() -> CompressedImage {
        CompressedImage {
            stamp: Stamp::from_unix_ns(1_700_000_000_123_456_789),
            frame_id: "cam".to_owned(),
            format: "jpeg".to_owned(),
            data: Bytes::from_static(&[0xff, 0xd8, 0xff, 0xd9, 0x01]),
        }
    }

    #[test]
    fn compressed_image_bytes_match_rosbags() {
        let bytes = small().encode();
        assert_eq!(hex(&bytes), ROSBAGS_SMALL);
        assert_eq!(bytes.len(), compressed_image_len("cam", "jpeg", 5));
        assert_eq!(
            bytes.capacity(),
            bytes.len(),
            "buffer allocated once at its final size"
        );
        let decoded = CompressedImage::decode(&Bytes::from(bytes)).expect("decodes");
        assert_eq!(decoded, small());
    }

    #[test]
    fn length_formula_matches_writer_for_every_alignment() {
        for frame_id in ["", "a", "ab", "abc", "abcd"] {
            for format in ["", "j", "jp", "jpe", "jpeg"] {
                for data_len in 0..5 {
                    let out = encode_compressed_image(
                        Stamp::default(),
                        frame_id,
                        format,
                        &vec![7; data_len],
                    );
                    assert_eq!(out.len(), compressed_image_len(frame_id, format, data_len));
                    let decoded = CompressedImage::decode(&Bytes::from(out)).expect("round trip");
                    assert_eq!(
                        (decoded.frame_id.as_str(), decoded.format.as_str()),
                        (frame_id, format)
                    );
                    assert_eq!(decoded.data.len(), data_len);
                }
            }
        }
    }

    #[test]
    fn decode_rejects_malformed_payloads() {
        let good = small().encode();
        for cut in 0..good.len() - 5 {
            assert!(
                CompressedImage::decode(&Bytes::copy_from_slice(&good[..cut])).is_err(),
                "truncated at {cut} accepted"
            );
        }
        let mut big_endian = good.clone();
        big_endian[1] = 0x00;
        assert_eq!(
            CompressedImage::decode(&Bytes::from(big_endian)),
            Err(CdrError::Encapsulation([0, 0]))
        );
        let mut huge_string = good.clone();
        huge_string[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            CompressedImage::decode(&Bytes::from(huge_string)),
            Err(CdrError::StringLength { .. })
        ));
        let mut no_nul = good.clone();
        no_nul[19] = b'!';
        assert_eq!(
            CompressedImage::decode(&Bytes::from(no_nul)),
            Err(CdrError::StringNotTerminated {
                what: "header.frame_id"
            })
        );
        let mut huge_data = good.clone();
        let at = good.len() - 9;
        huge_data[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            CompressedImage::decode(&Bytes::from(huge_data)),
            Err(CdrError::Truncated { what: "data", .. })
        ));
        let mut trailing = good.clone();
        trailing.extend_from_slice(&[0; 4]);
        assert_eq!(
            CompressedImage::decode(&Bytes::from(trailing)),
            Err(CdrError::Trailing(4))
        );
        let mut bad_nanos = good;
        bad_nanos[8..12].copy_from_slice(&1_000_000_000u32.to_le_bytes());
        assert!(CompressedImage::decode(&Bytes::from(bad_nanos)).is_err());
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
            let _ = CompressedImage::decode(&Bytes::from(bytes));
        }

        #[test]
        fn flipped_bytes_never_panic(at in 0usize..41, value: u8) {
            let mut bytes = small().encode();
            bytes[at] = value;
            let _ = CompressedImage::decode(&Bytes::from(bytes));
        }

        #[test]
        fn any_message_round_trips(sec: i32, nanosec in 0u32..1_000_000_000, frame_id in "[ -~]{0,40}", format in "[a-z0-9; ]{0,30}", data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let image = CompressedImage { stamp: Stamp { sec, nanosec }, frame_id, format, data: Bytes::from(data) };
            prop_assert_eq!(CompressedImage::decode(&Bytes::from(image.encode())), Ok(image));
        }
    }
}
