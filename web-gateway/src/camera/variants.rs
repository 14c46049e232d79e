//! Downscaled / re-compressed variants of a camera's frames (`?width=W|height=H&quality=Q`).
//!
//! Each distinct (width, quality) of a camera gets one encoder that decodes, resizes and
//! encodes every new frame once and publishes it in its own latest-frame slot, shared by all
//! clients asking for that variant. The camera task evicts an encoder shortly after its last
//! client went, so nobody pays for a variant that nobody watches.

use super::{Feed, MessageCache, Slot};
use crate::downscale::{self, DownscaleError};
use crate::metrics::Metrics;
use crate::throttle::LogThrottle;
use camera_protocol::{Frame, FrameLimits, FrameMeta};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::watch;
use tokio_util::task::AbortOnDropHandle;

/// Largest width a client may ask for.
pub const MAX_WIDTH: u32 = 8192;
/// Largest height a client may ask for.
pub const MAX_HEIGHT: u32 = 8192;
/// Smallest width or height a client may ask for.
pub const MIN_SIDE: u32 = 16;
/// Quality used when only `width` is given.
pub const DEFAULT_QUALITY: u8 = 80;

/// What a client asked for; `Variant::default()` is the original frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Variant {
    pub width: Option<u32>,
    /// Only without `width` (the request parser refuses both).
    pub height: Option<u32>,
    pub quality: Option<u8>,
}

impl Variant {
    pub fn is_original(&self) -> bool {
        self.width.is_none() && self.height.is_none() && self.quality.is_none()
    }
}

/// The encoders of one camera, owned by its task: one per variant that has clients.
#[derive(Debug, Default)]
pub struct Variants {
    running: HashMap<Variant, Running>,
}

#[derive(Debug)]
struct Running {
    frames: watch::Sender<Option<Arc<Frame>>>,
    messages: Arc<MessageCache>,
    _encoder: AbortOnDropHandle<()>,
}

impl Variants {
    /// A feed of `variant` of the frames in `source`, starting its encoder if needed.
    pub fn feed(
        &mut self,
        camera: &str,
        variant: Variant,
        source: &watch::Sender<Option<Arc<Frame>>>,
        limits: FrameLimits,
        metrics: &Arc<Metrics>,
    ) -> Feed {
        let running = self.running.entry(variant).or_insert_with(|| {
            let frames = watch::Sender::new(None);
            let encoder = tokio::spawn(encode(
                camera.to_owned(),
                variant,
                source.subscribe(),
                frames.clone(),
                (limits, metrics.clone()),
            ));
            Running {
                frames,
                messages: Arc::default(),
                _encoder: AbortOnDropHandle::new(encoder),
            }
        });
        Feed {
            frames: running.frames.subscribe(),
            messages: running.messages.clone(),
        }
    }

    /// Stops the encoders nobody receives from any more; `true` while some still run.
    /// Only the camera task hands out feeds, so no client can subscribe in between.
    pub fn evict_unwatched(&mut self, camera: &str) -> bool {
        self.running.retain(|variant, running| {
            let watched = running.frames.receiver_count() > 0;
            if !watched {
                tracing::debug!(%camera, ?variant, "variant encoder stopped");
            }
            watched
        });
        !self.running.is_empty()
    }

    /// Variant encoders currently running.
    pub fn len(&self) -> usize {
        self.running.len()
    }

    pub fn is_empty(&self) -> bool {
        self.running.is_empty()
    }
}

/// Re-encodes every new frame of `source` into `frames` until `source` closes (camera gone)
/// or the camera task evicts (aborts) this encoder.
async fn encode(
    camera: String,
    variant: Variant,
    mut source: Slot,
    frames: watch::Sender<Option<Arc<Frame>>>,
    (limits, metrics): (FrameLimits, Arc<Metrics>),
) {
    source.mark_changed();
    let mut warnings = LogThrottle::default();
    tracing::debug!(%camera, ?variant, "variant encoder started");
    while source.changed().await.is_ok() {
        let Some(frame) = source.borrow_and_update().clone() else {
            continue;
        };
        match tokio::task::spawn_blocking(move || transcode(&frame, variant, &limits)).await {
            Ok(Ok(resized)) => {
                metrics.variant_encoded(&camera);
                frames.send_replace(Some(Arc::new(resized)));
            }
            Ok(Err(error)) => {
                if let Some(count) = warnings.hit(()) {
                    tracing::warn!(%camera, %error, count, "cannot re-encode frame(s) for variant");
                }
            }
            Err(_) => break,
        }
    }
}

/// Decodes `frame` at the smallest DCT scale that covers `variant.width` or `variant.height`,
/// shrinks it to exactly that size (never enlarges, keeps the aspect ratio) and encodes it at
/// `variant.quality`.
pub fn transcode(
    frame: &Frame,
    variant: Variant,
    limits: &FrameLimits,
) -> Result<Frame, DownscaleError> {
    let wanted = downscale::Wanted {
        width: variant.width,
        height: variant.height,
    };
    let (decoded, (width, height)) = downscale::decode_for(&frame.jpeg, wanted, limits)?;
    let rgb = if decoded.dimensions() == (width, height) {
        decoded
    } else {
        image::imageops::resize(
            &decoded,
            width,
            height,
            image::imageops::FilterType::Triangle,
        )
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
        let limits = FrameLimits::default();
        let small = transcode(
            &source,
            Variant {
                width: Some(160),
                height: None,
                quality: Some(50),
            },
            &limits,
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
                height: None,
                quality: None,
            },
            &limits,
        )
        .expect("transcode");
        assert_eq!((same.meta.width, same.meta.height), (320, 240));
        let low = transcode(
            &source,
            Variant {
                width: None,
                height: None,
                quality: Some(5),
            },
            &limits,
        )
        .expect("transcode");
        assert!(low.jpeg.len() < source.jpeg.len());
        let by_height = transcode(
            &source,
            Variant {
                width: None,
                height: Some(60),
                quality: None,
            },
            &limits,
        )
        .expect("transcode");
        assert_eq!((by_height.meta.width, by_height.meta.height), (80, 60));
        let decoded = image::load_from_memory(&by_height.jpeg).expect("decodes");
        assert_eq!((decoded.width(), decoded.height()), (80, 60));
    }

    #[tokio::test]
    async fn clients_of_a_variant_share_one_encoder_that_goes_with_the_last() {
        let source = watch::Sender::new(Some(Arc::new(frame(320, 240))));
        let mut variants = Variants::default();
        let metrics = Arc::new(Metrics::new());
        let small = Variant {
            width: Some(160),
            height: None,
            quality: None,
        };
        let mut first = variants.feed("front", small, &source, FrameLimits::default(), &metrics);
        let second = variants.feed("front", small, &source, FrameLimits::default(), &metrics);
        assert_eq!(variants.len(), 1, "one encoder per variant");
        first.frames.changed().await.expect("encoder running");
        let resized = first.frames.borrow().clone().expect("resized frame");
        assert_eq!((resized.meta.width, resized.meta.height), (160, 120));
        assert!(Arc::ptr_eq(&first.messages, &second.messages));
        drop(first);
        assert!(
            variants.evict_unwatched("front"),
            "evicted with a client left"
        );
        drop(second);
        assert!(!variants.evict_unwatched("front"));
        assert!(variants.is_empty());
    }
}
