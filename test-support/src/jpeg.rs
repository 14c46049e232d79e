//! Test pictures: drawn with the `image` crate, padded to a size, decoded to check them.

use std::path::{Path, PathBuf};

/// Width and height of a JPEG, decoding its header with the `image` crate (an independent
/// reader, unlike the library's own `jpeg_dimensions`). Panics if it is not a JPEG.
pub fn jpeg_size(jpeg: &[u8]) -> (u32, u32) {
    image::ImageReader::with_format(std::io::Cursor::new(jpeg), image::ImageFormat::Jpeg)
        .into_dimensions()
        .expect("a decodable JPEG")
}

/// Encodes one synthetic picture: a background tinted per camera and a bar that moves with `step`.
pub fn draw_frame(width: u32, height: u32, tint: [u8; 3], step: u32) -> Vec<u8> {
    let bar_x = (step * 37) % width.max(1);
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        let near_bar = x.abs_diff(bar_x) < width / 16 + 2;
        if near_bar {
            image::Rgb([255, 255, 255])
        } else {
            let shade = ((x + y + step * 5) % 64) as u8;
            image::Rgb([
                tint[0].saturating_add(shade),
                tint[1].saturating_add(shade),
                tint[2].saturating_add(shade),
            ])
        }
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&image)
        .expect("encode synthetic frame");
    out
}

/// Inserts `padding` bytes of JPEG comment (COM) segments after SOI; decoders skip them.
pub fn pad_jpeg(jpeg: &[u8], padding: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(jpeg.len() + padding + padding / 60_000 * 4 + 4);
    out.extend_from_slice(&jpeg[..2]);
    let mut left = padding;
    while left > 0 {
        let chunk = left.min(60_000);
        out.extend_from_slice(&[0xFF, 0xFE]);
        out.extend_from_slice(&((chunk + 2) as u16).to_be_bytes());
        out.resize(out.len() + chunk, b'p');
        left -= chunk;
    }
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// A colour derived from a name, so that each camera's pictures look different.
pub fn tint_of(id: &str) -> [u8; 3] {
    let hash = id.bytes().fold(17u32, |acc, b| {
        acc.wrapping_mul(31).wrapping_add(u32::from(b))
    });
    [
        (hash % 160) as u8,
        ((hash / 160) % 160) as u8,
        ((hash / 25_600) % 160) as u8,
    ]
}

/// Writes `sizes.len()` drawn JPEGs named `frame-00.jpg`, `frame-01.jpg`, … into `dir`, each
/// of its size, and returns their paths in name order.
pub fn write_jpeg_dir(dir: &Path, sizes: &[(u32, u32)]) -> Vec<PathBuf> {
    sizes
        .iter()
        .enumerate()
        .map(|(index, &(width, height))| {
            let path = dir.join(format!("frame-{index:02}.jpg"));
            let step = u32::try_from(index).expect("few frames");
            std::fs::write(&path, draw_frame(width, height, tint_of("files"), step))
                .expect("write test JPEG");
            path
        })
        .collect()
}
