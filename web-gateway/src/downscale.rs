//! Decoding a JPEG at (about) the size a variant needs, using the DCT scaling that JPEG
//! allows: an 8x8 block decodes directly to 4x4, 2x2 or 1x1 pixels, so a 1/8-size variant of
//! a 4K frame costs ~1/64 of a full decode in memory and much less CPU than decode-then-resize.
//!
//! Sources over the gateway's dimension caps are refused before any pixel buffer exists.

use camera_protocol::FrameLimits;
use image::RgbImage;
use jpeg_decoder::{Decoder, PixelFormat};
use thiserror::Error;

/// Why a frame could not be decoded for a variant.
#[derive(Debug, Error)]
pub enum DownscaleError {
    #[error("cannot decode JPEG: {0}")]
    Decode(#[from] jpeg_decoder::Error),
    #[error(transparent)]
    Limits(#[from] camera_protocol::DecodeError),
    #[error("JPEG header has no size")]
    NoInfo,
    #[error("decoded {got} bytes, expected {expected}")]
    ShortOutput { got: usize, expected: usize },
    #[error("cannot encode JPEG: {0}")]
    Encode(#[from] image::ImageError),
}

/// The size a variant asks for: at most one side, the other follows the aspect ratio.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wanted {
    pub width: Option<u32>,
    pub height: Option<u32>,
}

impl Wanted {
    /// The exact output size for a `width`×`height` source: never larger than the source,
    /// aspect ratio kept (rounded, each side at least 1).
    pub fn size_of(self, width: u32, height: u32) -> (u32, u32) {
        match (self.width, self.height) {
            (Some(target), _) if target < width => (target, scaled_side(width, height, target)),
            (None, Some(target)) if target < height => (scaled_side(height, width, target), target),
            _ => (width, height),
        }
    }
}

/// Decodes `jpeg` to RGB at the smallest DCT scale (1, 1/2, 1/4, 1/8) that still covers the
/// `wanted` size, and returns it with that exact size (see [`Wanted::size_of`]); the picture
/// is the full size when nothing smaller is wanted.
pub fn decode_for(
    jpeg: &[u8],
    wanted: Wanted,
    limits: &FrameLimits,
) -> Result<(RgbImage, (u32, u32)), DownscaleError> {
    let mut decoder = Decoder::new(jpeg);
    decoder.read_info()?;
    let info = decoder.info().ok_or(DownscaleError::NoInfo)?;
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    limits.check_size(width, height)?;
    // Worst case the decoder holds the full-size picture (progressive coefficients, or no
    // scaling); never more than the caps allow.
    decoder
        .set_max_decoding_buffer_size(limits.max_width as usize * limits.max_height as usize * 4);
    let target = wanted.size_of(width, height);
    let (out_width, out_height) = if target == (width, height) {
        target
    } else {
        let requested = |v: u32| u16::try_from(v).unwrap_or(u16::MAX);
        let (w, h) = decoder.scale(requested(target.0), requested(target.1))?;
        (u32::from(w), u32::from(h))
    };
    let pixels = decoder.decode()?;
    let count = out_width as usize * out_height as usize;
    let expected = count * info.pixel_format.pixel_bytes();
    if pixels.len() < expected {
        return Err(DownscaleError::ShortOutput {
            got: pixels.len(),
            expected,
        });
    }
    let rgb: Vec<u8> = match info.pixel_format {
        PixelFormat::RGB24 => pixels,
        PixelFormat::L8 => pixels[..count].iter().flat_map(|&l| [l, l, l]).collect(),
        PixelFormat::L16 => pixels[..count * 2]
            .chunks_exact(2)
            .flat_map(|l| [l[0], l[0], l[0]])
            .collect(),
        PixelFormat::CMYK32 => pixels[..count * 4]
            .chunks_exact(4)
            .flat_map(|p| {
                let k = u16::from(p[3]);
                p[..3]
                    .iter()
                    .map(move |&c| (u16::from(c) * k / 255) as u8)
                    .collect::<Vec<_>>()
            })
            .collect(),
    };
    let picture = RgbImage::from_raw(out_width, out_height, rgb)
        .ok_or(DownscaleError::ShortOutput { got: 0, expected })?;
    Ok((picture, target))
}

/// The other side that keeps the aspect ratio when `side` (of `side`×`other`) becomes
/// `target`: rounded, at least 1.
fn scaled_side(side: u32, other: u32, target: u32) -> u32 {
    ((u64::from(other) * u64::from(target) + u64::from(side) / 2) / u64::from(side.max(1)))
        .clamp(1, u64::from(u32::MAX)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(width: u32, height: u32) -> Vec<u8> {
        let picture = RgbImage::from_fn(width, height, |x, y| image::Rgb([x as u8, y as u8, 200]));
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85)
            .encode_image(&picture)
            .expect("encode");
        jpeg
    }

    #[test]
    fn decodes_at_the_smallest_scale_still_wide_enough() {
        let jpeg = encode(1600, 1200);
        let limits = FrameLimits::default();
        let cases = [
            (Some(200), (200, 150)),
            (Some(199), (200, 150)),
            (Some(201), (400, 300)),
            (Some(800), (800, 600)),
            (Some(900), (1600, 1200)),
            (None, (1600, 1200)),
        ];
        for (target, size) in cases {
            let wanted = Wanted {
                width: target,
                height: None,
            };
            let (decoded, exact) = decode_for(&jpeg, wanted, &limits).expect("decodes");
            assert_eq!(decoded.dimensions(), size, "target {target:?}");
            assert_eq!(exact, wanted.size_of(1600, 1200), "target {target:?}");
        }
    }

    #[test]
    fn a_height_keeps_the_aspect_ratio_and_never_enlarges() {
        let jpeg = encode(1600, 1200);
        let limits = FrameLimits::default();
        let cases = [
            (150, (200, 150), (200, 150)),
            (151, (400, 300), (201, 151)),
            (1199, (1600, 1200), (1599, 1199)),
            (1200, (1600, 1200), (1600, 1200)),
            (5000, (1600, 1200), (1600, 1200)),
        ];
        for (target, decoded_size, exact_size) in cases {
            let wanted = Wanted {
                width: None,
                height: Some(target),
            };
            let (decoded, exact) = decode_for(&jpeg, wanted, &limits).expect("decodes");
            assert_eq!(decoded.dimensions(), decoded_size, "height {target}");
            assert_eq!(exact, exact_size, "height {target}");
        }
        let tall = Wanted {
            width: None,
            height: Some(1),
        };
        assert_eq!(tall.size_of(10, 4000), (1, 1), "a side never rounds to 0");
    }

    #[test]
    fn refuses_sources_over_the_caps() {
        let jpeg = encode(300, 20);
        let limits = FrameLimits {
            max_width: 256,
            ..FrameLimits::default()
        };
        let wanted = Wanted {
            width: Some(32),
            height: None,
        };
        let error = decode_for(&jpeg, wanted, &limits).expect_err("over the cap");
        assert!(error.to_string().contains("300x20"), "{error}");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let garbage = b"\xFF\xD8 garbage \xFF\xD9";
        let wanted = Wanted {
            width: None,
            height: Some(16),
        };
        assert!(decode_for(garbage, wanted, &FrameLimits::default()).is_err());
    }
}
