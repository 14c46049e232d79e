//! The NO SIGNAL picture: `NO SIGNAL — <camera> offline since <time>`, drawn at the camera's
//! frame size so that open streams keep their layout while the camera is offline.
//!
//! Only drawing lives here; when to show it is the camera task's decision.

use super::font;
use bytes::Bytes;
use std::time::{SystemTime, UNIX_EPOCH};

/// `HH:MM:SS UTC` of a wall-clock time (no date: offline periods are short and local).
pub fn clock_utc(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let day = secs % 86_400;
    format!(
        "{:02}:{:02}:{:02} UTC",
        day / 3600,
        (day / 60) % 60,
        day % 60
    )
}

/// One offline period's NO SIGNAL pictures: at the camera's size, and at the size of each
/// variant the node encodes, so that a variant's viewers keep their layout (and their link
/// carries a small picture, not the full-size one).
#[derive(Debug, Clone)]
pub struct Pictures {
    pub full: Bytes,
    sized: Vec<((u32, u32), Bytes)>,
}

impl Pictures {
    /// Draws the full-size picture (`full` is the size of validated frames) and one per
    /// distinct size in `sizes` (at most `MAX_SIZES`). Variant sizes come from the node's info
    /// reply, which nothing validated: a variant is a downscale, so a size larger than `full`
    /// in either direction (or empty) is not drawn and its viewers get the full-size picture.
    pub fn render(
        camera: &str,
        since: SystemTime,
        full: (u32, u32),
        sizes: &[(u32, u32)],
    ) -> Result<Self, image::ImageError> {
        let drawable =
            |size: (u32, u32)| size.0 > 0 && size.1 > 0 && size.0 <= full.0 && size.1 <= full.1;
        let mut sized: Vec<((u32, u32), Bytes)> = Vec::new();
        for &size in sizes.iter().take(MAX_SIZES) {
            if size != full && drawable(size) && !sized.iter().any(|(done, _)| *done == size) {
                sized.push((size, render(camera, since, size.0, size.1)?));
            }
        }
        Ok(Self {
            full: render(camera, since, full.0, full.1)?,
            sized,
        })
    }

    /// The picture drawn at `size`, if any.
    pub fn at(&self, size: (u32, u32)) -> Option<&Bytes> {
        self.sized
            .iter()
            .find(|(drawn, _)| *drawn == size)
            .map(|(_, jpeg)| jpeg)
    }
}

/// Most variant sizes drawn per offline period (a node lists at most this many variants
/// that the gateway considers).
const MAX_SIZES: usize = super::node_variants::MAX_NODE_VARIANTS;

/// Draws the NO SIGNAL picture as a JPEG of `width` x `height`.
pub fn render(
    camera: &str,
    since: SystemTime,
    width: u32,
    height: u32,
) -> Result<Bytes, image::ImageError> {
    let (width, height) = (width.max(1), height.max(1));
    let mut picture = image::RgbImage::from_fn(width, height, |x, y| {
        // Diagonal stripes make a frozen decoder obvious next to a live NO SIGNAL picture.
        if (x + y) / 16 % 2 == 0 {
            image::Rgb([40, 40, 48])
        } else {
            image::Rgb([28, 28, 34])
        }
    });
    let title = "NO SIGNAL";
    let since = clock_utc(since);
    let one_line = format!("{camera} offline since {since}");
    // Small frames get the detail on two lines rather than cut off.
    let detail: Vec<String> = if font::text_width(&one_line, 1) <= width * 92 / 100 {
        vec![one_line]
    } else {
        vec![format!("{camera} offline"), format!("since {since}")]
    };
    let fit =
        |text: &str, share: u32| (width * share / 100 / font::text_width(text, 1).max(1)).max(1);
    let title_scale = fit(title, 70).min(height / 4 / font::GLYPH_HEIGHT).max(1);
    let detail_scale = detail
        .iter()
        .map(|line| fit(line, 92))
        .min()
        .unwrap_or(1)
        .min(title_scale)
        .max(1);
    let title_h = font::GLYPH_HEIGHT * title_scale;
    let line_h = (font::GLYPH_HEIGHT + 3) * detail_scale;
    let gap = title_h / 2;
    let total = title_h + gap + line_h * detail.len() as u32;
    let top = height.saturating_sub(total) / 2;
    let centre = |text: &str, scale: u32| width.saturating_sub(font::text_width(text, scale)) / 2;
    font::draw_text(
        &mut picture,
        centre(title, title_scale),
        top,
        title,
        title_scale,
        [230, 60, 60],
    );
    for (index, line) in detail.iter().enumerate() {
        let y = top + title_h + gap + line_h * index as u32;
        font::draw_text(
            &mut picture,
            centre(line, detail_scale),
            y,
            line,
            detail_scale,
            [220, 220, 220],
        );
    }
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 75).encode_image(&picture)?;
    Ok(Bytes::from(jpeg))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn renders_a_jpeg_of_the_camera_size() {
        let since = UNIX_EPOCH + Duration::from_secs(86_400 + 3600 * 13 + 60 * 5 + 9);
        assert_eq!(clock_utc(since), "13:05:09 UTC");
        for (width, height) in [(640, 480), (320, 240), (1920, 1080), (64, 16), (1, 1)] {
            let jpeg = render("front_left", since, width, height).expect("render");
            camera_protocol::frame::check_complete_jpeg(&jpeg).expect("complete JPEG");
            let decoded = image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg)
                .expect("decodes");
            assert_eq!((decoded.width(), decoded.height()), (width, height));
        }
    }

    #[test]
    fn pictures_come_at_the_camera_size_and_each_variant_size() {
        // Claimed by an untrusted info reply: larger than the camera's frames, or empty.
        let bogus = [(65_535, 65_535), (1280, 240), (0, 120)];
        let sizes = [(320, 240), (160, 120), (320, 240), (640, 480)]
            .into_iter()
            .chain(bogus)
            .collect::<Vec<_>>();
        let pictures =
            Pictures::render("front", SystemTime::now(), (640, 480), &sizes).expect("render");
        let size = |jpeg: &[u8]| {
            let decoded = image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg)
                .expect("decodes");
            (decoded.width(), decoded.height())
        };
        assert_eq!(size(&pictures.full), (640, 480));
        for wanted in [(320, 240), (160, 120)] {
            assert_eq!(size(pictures.at(wanted).expect("drawn")), wanted);
        }
        assert!(pictures.at((640, 480)).is_none(), "the full size is `full`");
        assert_eq!(
            pictures.sized.len(),
            2,
            "each size drawn once, no bogus one"
        );
        assert!(bogus.iter().all(|size| pictures.at(*size).is_none()));
    }

    #[test]
    fn the_text_is_visible() {
        for (width, height) in [(320, 240), (160, 120)] {
            let jpeg = render("front", SystemTime::now(), width, height).expect("render");
            assert_text_visible(&jpeg);
        }
    }

    fn assert_text_visible(jpeg: &[u8]) {
        let picture = image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg)
            .expect("decodes")
            .to_rgb8();
        let red = picture
            .pixels()
            .filter(|p| p.0[0] > 150 && p.0[1] < 120)
            .count();
        let white = picture
            .pixels()
            .filter(|p| p.0.iter().all(|c| *c > 170))
            .count();
        assert!(red > 200, "title missing ({red} red pixels)");
        assert!(white > 100, "detail line missing ({white} light pixels)");
    }
}
