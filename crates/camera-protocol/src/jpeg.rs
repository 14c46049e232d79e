//! Reading a JPEG's width and height from its frame header (SOF) without decoding it.
//!
//! Used where bytes of unknown origin claim to be a JPEG: the publisher checks that a frame's
//! stated size matches its picture, and the examples read the size of files on disk. Strict and
//! bounds-checked: it walks the marker segments up to the first SOF, every length is checked
//! against the buffer, and anything that is not a well-formed JPEG header is an error, never a
//! panic or a guess.

use thiserror::Error;

/// Why no size could be read from the bytes.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum JpegError {
    #[error("not a JPEG: it does not start with the start-of-image marker FF D8")]
    NoStartOfImage,
    #[error("JPEG header truncated at byte {offset}: the file ends inside a marker segment")]
    Truncated { offset: usize },
    #[error("JPEG header corrupt at byte {offset}: expected a marker (FF xx), found {found:#04x}")]
    ExpectedMarker { offset: usize, found: u8 },
    #[error("JPEG header corrupt at byte {offset}: marker FF {marker:02X} is not allowed before the frame header")]
    UnexpectedMarker { offset: usize, marker: u8 },
    #[error("JPEG segment FF {marker:02X} at byte {offset} declares length {length} (must be at least 2)")]
    BadSegmentLength {
        offset: usize,
        marker: u8,
        length: u16,
    },
    #[error("JPEG frame header (FF {marker:02X}) at byte {offset} is malformed: {reason}")]
    BadFrameHeader {
        offset: usize,
        marker: u8,
        reason: &'static str,
    },
    #[error("JPEG frame header gives size {width}x{height}: width and height must be at least 1")]
    ZeroSize { width: u16, height: u16 },
}

/// Start of image.
const SOI: u8 = 0xD8;
/// End of image.
const EOI: u8 = 0xD9;
/// Start of scan: entropy-coded data follows; a frame header must come before it.
const SOS: u8 = 0xDA;
/// Temporary marker, standalone (no length).
const TEM: u8 = 0x01;

/// Whether `marker` starts a frame header: SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
fn is_frame_header(marker: u8) -> bool {
    (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC)
}

/// Width and height of the JPEG in `bytes`, from its first frame header (SOF).
pub fn jpeg_dimensions(bytes: &[u8]) -> Result<(u32, u32), JpegError> {
    if bytes.get(..2) != Some(&[0xFF, SOI]) {
        return Err(JpegError::NoStartOfImage);
    }
    let mut at = 2;
    loop {
        let offset = at;
        let found = *bytes.get(at).ok_or(JpegError::Truncated { offset })?;
        if found != 0xFF {
            return Err(JpegError::ExpectedMarker { offset, found });
        }
        // Any number of FF fill bytes may precede a marker (ITU T.81 B.1.1.2).
        while bytes.get(at) == Some(&0xFF) {
            at += 1;
        }
        let marker = *bytes.get(at).ok_or(JpegError::Truncated { offset })?;
        at += 1;
        match marker {
            TEM => continue,
            0x00 | SOI | EOI | SOS | 0xD0..=0xD7 => {
                return Err(JpegError::UnexpectedMarker { offset, marker })
            }
            _ => {}
        }
        let length = bytes
            .get(at..at + 2)
            .map(|len| u16::from_be_bytes([len[0], len[1]]))
            .ok_or(JpegError::Truncated { offset })?;
        if length < 2 {
            return Err(JpegError::BadSegmentLength {
                offset,
                marker,
                length,
            });
        }
        let segment = bytes
            .get(at + 2..at + usize::from(length))
            .ok_or(JpegError::Truncated { offset })?;
        if is_frame_header(marker) {
            return frame_size(segment, offset, marker);
        }
        at += usize::from(length);
    }
}

/// Parses the body of a frame header: precision, height, width, components (ITU T.81 B.2.2).
fn frame_size(segment: &[u8], offset: usize, marker: u8) -> Result<(u32, u32), JpegError> {
    let bad = |reason| JpegError::BadFrameHeader {
        offset,
        marker,
        reason,
    };
    let [precision, h0, h1, w0, w1, components, ..] = *segment else {
        return Err(bad("shorter than its 6 fixed bytes"));
    };
    if !(2..=16).contains(&precision) {
        return Err(bad("sample precision outside 2..=16 bits"));
    }
    if !(1..=4).contains(&components) {
        return Err(bad("component count outside 1..=4"));
    }
    if segment.len() != 6 + 3 * usize::from(components) {
        return Err(bad("length does not match its component count"));
    }
    let (height, width) = (u16::from_be_bytes([h0, h1]), u16::from_be_bytes([w0, w1]));
    // Height 0 defers the height to a DNL marker after the first scan; no camera does that,
    // and a size that needs the entropy-coded data is not a size we can check.
    if width == 0 || height == 0 {
        return Err(JpegError::ZeroSize { width, height });
    }
    Ok((u32::from(width), u32::from(height)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encoded(width: u32, height: u32) -> Vec<u8> {
        let image = image::RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        });
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 75)
            .encode_image(&image)
            .expect("encode");
        out
    }

    /// SOI, one APP0-like segment, then a baseline SOF0 of `width`x`height` with 3 components.
    fn handmade(width: u16, height: u16) -> Vec<u8> {
        let mut out = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, b'h', b'i', 0xFF, 0xFF];
        out.extend_from_slice(&[0xC0, 0x00, 17, 8]);
        out.extend_from_slice(&height.to_be_bytes());
        out.extend_from_slice(&width.to_be_bytes());
        out.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        out.extend_from_slice(&[0xFF, 0xD9]);
        out
    }

    #[test]
    fn reads_the_size_of_real_jpegs() {
        for (width, height) in [(1, 1), (320, 240), (17, 93), (640, 480)] {
            assert_eq!(
                jpeg_dimensions(&encoded(width, height)),
                Ok((width, height))
            );
        }
        assert_eq!(jpeg_dimensions(&handmade(65_535, 2)), Ok((65_535, 2)));
    }

    #[test]
    fn every_truncation_is_an_error() {
        let jpeg = handmade(64, 48);
        let sof_end = jpeg.len() - 2;
        for len in 0..sof_end {
            assert!(
                jpeg_dimensions(&jpeg[..len]).is_err(),
                "accepted {len} bytes"
            );
        }
        assert!(jpeg_dimensions(&jpeg[..sof_end]).is_ok());
    }

    #[test]
    fn rejects_malformed_headers_with_their_reason() {
        assert_eq!(
            jpeg_dimensions(b"\x89PNG\r\n\x1a\n"),
            Err(JpegError::NoStartOfImage)
        );
        assert_eq!(
            jpeg_dimensions(&handmade(0, 10)),
            Err(JpegError::ZeroSize {
                width: 0,
                height: 10
            })
        );
        let mut garbage_between = handmade(8, 8);
        garbage_between[8] = 0x12;
        assert_eq!(
            jpeg_dimensions(&garbage_between),
            Err(JpegError::ExpectedMarker {
                offset: 8,
                found: 0x12
            })
        );
        let mut short_length = handmade(8, 8);
        short_length[5] = 1;
        assert!(matches!(
            jpeg_dimensions(&short_length),
            Err(JpegError::BadSegmentLength { length: 1, .. })
        ));
        let scan_first = [0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02, 0xFF, 0xD9];
        assert!(matches!(
            jpeg_dimensions(&scan_first),
            Err(JpegError::UnexpectedMarker { marker: 0xDA, .. })
        ));
        let mut components = handmade(8, 8);
        components[18] = 2; // says 2 components, carries 3
        assert!(matches!(
            jpeg_dimensions(&components),
            Err(JpegError::BadFrameHeader { .. })
        ));
        // DHT (C4) is not a frame header: skipped, then the real SOF is read.
        let mut with_dht = vec![0xFF, 0xD8, 0xFF, 0xC4, 0x00, 0x03, 0x00];
        with_dht.extend_from_slice(&handmade(5, 7)[2..]);
        assert_eq!(jpeg_dimensions(&with_dht), Ok((5, 7)));
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = jpeg_dimensions(&bytes);
        }

        /// Bytes that start like a JPEG reach every branch of the marker walk.
        #[test]
        fn random_bytes_after_soi_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let jpeg: Vec<u8> = [0xFF, 0xD8].iter().chain(&bytes).copied().collect();
            let _ = jpeg_dimensions(&jpeg);
        }

        /// Any size JPEG can state is read back exactly, whatever segments come before the SOF.
        #[test]
        fn every_size_round_trips_behind_any_segments(
            width in 1u16..,
            height in 1u16..,
            segments in proptest::collection::vec(
                (0xE0u8..=0xEF, proptest::collection::vec(any::<u8>(), 0..40)),
                0..4,
            ),
        ) {
            let mut jpeg = vec![0xFF, 0xD8];
            for (marker, body) in &segments {
                jpeg.extend_from_slice(&[0xFF, *marker]);
                jpeg.extend_from_slice(&(body.len() as u16 + 2).to_be_bytes());
                jpeg.extend_from_slice(body);
            }
            jpeg.extend_from_slice(&handmade(width, height)[2..]);
            prop_assert_eq!(jpeg_dimensions(&jpeg), Ok((u32::from(width), u32::from(height))));
        }

        #[test]
        fn corrupted_real_jpeg_never_panics(at in 0usize..600, value: u8) {
            let mut jpeg = encoded(16, 16);
            let at = at % jpeg.len();
            jpeg[at] = value;
            let _ = jpeg_dimensions(&jpeg);
        }
    }
}
