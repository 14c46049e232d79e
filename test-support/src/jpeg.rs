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

/// A real, decodable baseline JPEG of any size up to 65535×65535 in about `width × height /
/// 85` bytes, built by hand in microseconds: three components, every 8×8 block flat mid-grey
/// (DC difference 0, end of block), with one-code Huffman tables. Encoding a picture this big
/// with the `image` crate would take seconds and gigabytes; decoding this one takes as much
/// memory as any JPEG of its size, which is what memory-bound tests need.
pub fn flat_jpeg(width: u16, height: u16) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    // DQT: table 0, every coefficient quantised by 1.
    out.extend_from_slice(&[0xFF, 0xDB, 0x00, 0x43, 0x00]);
    out.extend_from_slice(&[1; 64]);
    // SOF0: 8-bit, height, width, 3 components (ids 1-3), 1×1 sampling, table 0.
    out.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 0x08]);
    out.extend_from_slice(&height.to_be_bytes());
    out.extend_from_slice(&width.to_be_bytes());
    out.extend_from_slice(&[3, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0]);
    // DHT: DC table 0 and AC table 0, each one 1-bit code "0": DC category 0, AC end of block.
    for class in [0x00, 0x10] {
        out.extend_from_slice(&[0xFF, 0xC4, 0x00, 0x14, class, 1]);
        out.extend_from_slice(&[0; 15]);
        out.push(0x00);
    }
    // SOS: 3 components on tables 0/0, full spectral range.
    out.extend_from_slice(&[
        0xFF, 0xDA, 0x00, 0x0C, 3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0,
    ]);
    // Per block: DC "0" + EOB "0" = 2 zero bits; pad the last byte with ones (T.81 F.1.2.3).
    let blocks = u64::from(width.div_ceil(8)) * u64::from(height.div_ceil(8)) * 3;
    let bits = blocks * 2;
    let whole = usize::try_from(bits / 8).expect("fits in memory");
    out.resize(out.len() + whole, 0);
    let rest = bits % 8;
    if rest != 0 {
        out.push(0xFF >> rest);
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}
