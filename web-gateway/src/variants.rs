//! Downscaled / re-compressed variants of a camera's frames (`?width=W&quality=Q`).
//!
//! Each distinct (camera, width, quality) gets one task that decodes, resizes and encodes
//! every new frame once and publishes it in its own latest-frame slot, shared by all
//! clients asking for that variant. The task ends as soon as its last viewer goes, so
//! nobody pays for a variant that nobody watches.

use crate::registry::{Camera, Slot};
use camera_node::{Frame, FrameMeta};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::watch;
use tokio_util::task::TaskTracker;

/// Largest width a client may ask for.
pub const MAX_WIDTH: u32 = 8192;
/// Quality used when only `width` is given.
pub const DEFAULT_QUALITY: u8 = 80;

/// What a client asked for; `Variant::default()` is the original frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Variant {
    pub width: Option<u32>,
    pub quality: Option<u8>,
}

impl Variant {
    pub fn is_original(&self) -> bool {
        self.width.is_none() && self.quality.is_none()
    }
}

type Key = (String, Variant);
type Map = Arc<Mutex<HashMap<Key, watch::Sender<Option<Arc<Frame>>>>>>;

/// The running variant encoders.
#[derive(Debug, Clone)]
pub struct Variants {
    running: Map,
    tracker: TaskTracker,
}

impl Variants {
    pub fn new(tracker: TaskTracker) -> Self {
        Self {
            running: Map::default(),
            tracker,
        }
    }

    /// A slot with `variant` of `camera`'s frames, starting the encoder if nobody watches it yet.
    pub fn subscribe(&self, camera: &Arc<Camera>, variant: Variant) -> Slot {
        if variant.is_original() {
            return camera.subscribe();
        }
        let key = (camera.id().to_owned(), variant);
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(sender) = running.get(&key) {
            let mut receiver = sender.subscribe();
            receiver.mark_changed();
            return receiver;
        }
        let sender = watch::Sender::new(None);
        let receiver = sender.subscribe();
        running.insert(key.clone(), sender.clone());
        self.tracker.spawn(encode_variant(
            self.running.clone(),
            key,
            camera.clone(),
            sender,
        ));
        receiver
    }

    /// Variant encoders currently running (for tests and diagnostics).
    pub fn running(&self) -> usize {
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

async fn encode_variant(
    running: Map,
    key: Key,
    camera: Arc<Camera>,
    sender: watch::Sender<Option<Arc<Frame>>>,
) {
    let variant = key.1;
    let mut source = camera.subscribe();
    let token = camera.token().clone();
    tracing::debug!(camera = %key.0, ?variant, "variant encoder started");
    loop {
        tokio::select! {
            _ = token.cancelled() => break,
            _ = sender.closed() => {
                // Subscribing happens under the same lock, so no viewer can slip in between.
                let mut map = running.lock().unwrap_or_else(PoisonError::into_inner);
                if sender.receiver_count() == 0 {
                    map.remove(&key);
                    break;
                }
            }
            changed = source.changed() => {
                if changed.is_err() {
                    break;
                }
                let Some(frame) = source.borrow_and_update().clone() else { continue };
                match tokio::task::spawn_blocking(move || transcode(&frame, variant)).await {
                    Ok(Ok(resized)) => {
                        sender.send_replace(Some(Arc::new(resized)));
                    }
                    Ok(Err(error)) => {
                        tracing::warn!(camera = %key.0, %error, "cannot re-encode frame for variant");
                    }
                    Err(_) => break,
                }
            }
        }
    }
    tracing::debug!(camera = %key.0, ?variant, "variant encoder stopped");
}

/// Decodes `frame`, shrinks it to `variant.width` (never enlarges, keeps the aspect ratio)
/// and encodes it at `variant.quality`.
pub fn transcode(frame: &Frame, variant: Variant) -> Result<Frame, image::ImageError> {
    let decoded = image::load_from_memory_with_format(&frame.jpeg, image::ImageFormat::Jpeg)?;
    let (width, height) = (decoded.width(), decoded.height());
    let rgb = match variant.width {
        Some(target) if target < width => {
            let target_height = ((u64::from(height) * u64::from(target) + u64::from(width) / 2)
                / u64::from(width))
            .max(1) as u32;
            image::imageops::resize(
                &decoded.to_rgb8(),
                target,
                target_height,
                image::imageops::FilterType::Triangle,
            )
        }
        _ => decoded.to_rgb8(),
    };
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(
        &mut jpeg,
        variant.quality.unwrap_or(DEFAULT_QUALITY),
    )
    .encode_image(&rgb)?;
    Ok(Frame {
        jpeg: jpeg.into(),
        meta: FrameMeta {
            width: rgb.width(),
            height: rgb.height(),
            ..frame.meta
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(width: u32, height: u32) -> Frame {
        let picture =
            image::RgbImage::from_fn(width, height, |x, y| image::Rgb([x as u8, y as u8, 90]));
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
            .encode_image(&picture)
            .expect("encode");
        let meta = FrameMeta {
            seq: 7,
            capture_ts_ns: 1,
            width,
            height,
            generation: 1,
            online: true,
        };
        Frame::new(jpeg.into(), meta).expect("frame")
    }

    #[test]
    fn shrinks_keeping_aspect_and_never_enlarges() {
        let source = frame(320, 240);
        let small = transcode(
            &source,
            Variant {
                width: Some(160),
                quality: Some(50),
            },
        )
        .expect("transcode");
        assert_eq!(
            (small.meta.width, small.meta.height, small.meta.seq),
            (160, 120, 7)
        );
        let decoded = image::load_from_memory(&small.jpeg).expect("decodes");
        assert_eq!((decoded.width(), decoded.height()), (160, 120));
        let same = transcode(
            &source,
            Variant {
                width: Some(1000),
                quality: None,
            },
        )
        .expect("transcode");
        assert_eq!((same.meta.width, same.meta.height), (320, 240));
        let low = transcode(
            &source,
            Variant {
                width: None,
                quality: Some(5),
            },
        )
        .expect("transcode");
        assert!(low.jpeg.len() < source.jpeg.len());
    }
}
