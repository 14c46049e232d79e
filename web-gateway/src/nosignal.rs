//! Offline handling: decides when a camera is offline and shows open streams a generated
//! `NO SIGNAL — <camera> offline since <time>` picture instead of a frozen frame.
//!
//! One watchdog task per camera. A camera goes offline when its liveliness token vanishes or
//! no frame arrived for `offline_after` while the gateway is subscribed to it (an unwatched
//! camera under `subscribe = "while_watched"` sends nothing and is still fine); while offline
//! the picture (drawn once, at the camera's frame size) is re-sent every `interval` so viewers
//! see the stream is alive.
//! Ingest brings the camera back online with its next frame.

use crate::font;
use crate::registry::Camera;
use bytes::Bytes;
use camera_node::meta::unix_now_ns;
use camera_node::{Frame, FrameMeta};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

/// Watches one camera until `camera.token()` is cancelled.
pub async fn watchdog(camera: Arc<Camera>, offline_after: Duration, interval: Duration) {
    let token = camera.token().clone();
    let mut online = camera.subscribe_online();
    let mut subscribed = camera.subscribe_subscribed();
    loop {
        if camera.is_online() {
            let deadline = camera.last_sign_of_life() + offline_after;
            // Not subscribed: no frames are expected, so only liveliness can end "online".
            let expecting_frames = *subscribed.borrow_and_update();
            let timer = async {
                if expecting_frames {
                    tokio::time::sleep_until(deadline.into()).await;
                } else {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                _ = token.cancelled() => return,
                _ = online.changed() => continue,
                _ = subscribed.changed() => continue,
                _ = timer => {}
            }
            if camera.is_subscribed() && camera.last_sign_of_life().elapsed() >= offline_after {
                tracing::warn!(camera = %camera.id(), "no frame for {offline_after:?}: camera offline");
                camera.set_online(false);
            }
            continue;
        }
        // Offline: viewers of a camera that never sent a frame keep waiting for the first one.
        let Some(last) = camera.latest_live() else {
            tokio::select! {
                _ = token.cancelled() => return,
                _ = online.changed() => continue,
            }
        };
        let since = camera.offline_since().unwrap_or_else(SystemTime::now);
        let (width, height) = (last.meta.width, last.meta.height);
        let id = camera.id().to_owned();
        let rendered = tokio::task::spawn_blocking(move || render(&id, since, width, height)).await;
        let jpeg = match rendered {
            Ok(Ok(jpeg)) => jpeg,
            Ok(Err(error)) => {
                tracing::error!(camera = %camera.id(), %error, "cannot draw NO SIGNAL picture");
                return;
            }
            Err(_) => return,
        };
        while !camera.is_online() {
            let meta = FrameMeta {
                capture_ts_ns: unix_now_ns(),
                online: false,
                ..last.meta
            };
            camera.publish_placeholder(Arc::new(Frame {
                jpeg: jpeg.clone(),
                meta,
            }));
            tokio::select! {
                _ = token.cancelled() => return,
                _ = online.wait_for(|online| *online) => {}
                _ = tokio::time::sleep(interval) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_jpeg_of_the_camera_size() {
        let since = UNIX_EPOCH + Duration::from_secs(86_400 + 3600 * 13 + 60 * 5 + 9);
        assert_eq!(clock_utc(since), "13:05:09 UTC");
        for (width, height) in [(640, 480), (320, 240), (1920, 1080), (64, 16), (1, 1)] {
            let jpeg = render("front_left", since, width, height).expect("render");
            camera_node::frame::check_complete_jpeg(&jpeg).expect("complete JPEG");
            let decoded = image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg)
                .expect("decodes");
            assert_eq!((decoded.width(), decoded.height()), (width, height));
        }
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
