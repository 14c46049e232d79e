//! Decoding a JPEG at (about) the size a variant needs, using the DCT scaling that JPEG
//! allows: an 8x8 block decodes directly to 4x4, 2x2 or 1x1 pixels, so a 1/8-size variant of
//! a 4K frame costs ~1/64 of a full decode in memory and much less CPU than decode-then-resize.
//!
//! Sources over the gateway's dimension caps are refused before any pixel buffer exists.

use camera_node::FrameLimits;
use image::RgbImage;
use jpeg_decoder::{Decoder, PixelFormat};
use thiserror::Error;

/// Why a frame could not be decoded for a variant.
#[derive(Debug, Error)]
pub enum DownscaleError {
    #[error("cannot decode JPEG: {0}")]
    Decode(#[from] jpeg_decoder::Error),
    #[error(transparent)]
    Limits(#[from] camera_node::DecodeError),
    #[error("JPEG header has no size")]
    NoInfo,
    #[error("decoded {got} bytes, expected {expected}")]
    ShortOutput { got: usize, expected: usize },
    #[error("cannot encode JPEG: {0}")]
    Encode(#[from] image::ImageError),
}

/// Decodes `jpeg` to RGB at the smallest DCT scale (1, 1/2, 1/4, 1/8) that is still at least
/// `target_width` wide; the full size when `target_width` is `None` or not smaller.
pub fn decode_for_width(
    jpeg: &[u8],
    target_width: Option<u32>,
    limits: &FrameLimits,
) -> Result<RgbImage, DownscaleError> {
    let mut decoder = Decoder::new(jpeg);
    decoder.read_info()?;
    let info = decoder.info().ok_or(DownscaleError::NoInfo)?;
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    limits.check_size(width, height)?;
    // Worst case the decoder holds the full-size picture (progressive coefficients, or no
    // scaling); never more than the caps allow.
    decoder
        .set_max_decoding_buffer_size(limits.max_width as usize * limits.max_height as usize * 4);
    let (out_width, out_height) = match target_width {
        Some(target) if target < width => {
            let target_height = scaled_height(width, height, target);
            let requested = |v: u32| u16::try_from(v).unwrap_or(u16::MAX);
            let (w, h) = decoder.scale(requested(target), requested(target_height))?;
            (u32::from(w), u32::from(h))
        }
        _ => (width, height),
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
    RgbImage::from_raw(out_width, out_height, rgb)
        .ok_or(DownscaleError::ShortOutput { got: 0, expected })
}

/// Height that keeps the aspect ratio at `target` width, rounded, at least 1.
pub fn scaled_height(width: u32, height: u32, target: u32) -> u32 {
    ((u64::from(height) * u64::from(target) + u64::from(width) / 2) / u64::from(width.max(1)))
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
            let decoded = decode_for_width(&jpeg, target, &limits).expect("decodes");
            assert_eq!(decoded.dimensions(), size, "target {target:?}");
        }
    }

    #[test]
    fn refuses_sources_over_the_caps() {
        let jpeg = encode(300, 20);
        let limits = FrameLimits {
            max_width: 256,
            ..FrameLimits::default()
        };
        let error = decode_for_width(&jpeg, Some(32), &limits).expect_err("over the cap");
        assert!(error.to_string().contains("300x20"), "{error}");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let garbage = b"\xFF\xD8 garbage \xFF\xD9";
        assert!(decode_for_width(garbage, Some(16), &FrameLimits::default()).is_err());
    }
}
