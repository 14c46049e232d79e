//! Downscaled / re-compressed variants of a camera's frames (`?width=W|height=H&quality=Q`).
//!
//! Each distinct (size, quality step) of a camera gets one encoder that decodes, resizes and
//! encodes every new frame once and publishes it in its own latest-frame slot, shared by all
//! clients asking for that variant. How many run, and when one stops, is the camera's feed
//! registry's call (`feeds.rs`); this module owns what a variant is and how it is made.

use super::slot::{self, SlotSender};
use super::Slot;
use crate::downscale::{self, DownscaleError};
use crate::metrics::Metrics;
use crate::throttle::LogThrottle;
use camera_protocol::{Frame, FrameLimits, FrameMeta};
use std::sync::Arc;

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

/// The JPEG qualities the gateway encodes at: a requested quality is served at the nearest
/// (the lower one on a tie), so that `?quality=` cannot spread one size over 100 encoders.
pub const QUALITY_STEPS: [u8; 4] = [30, 50, 80, 95];

impl Variant {
    pub fn is_original(&self) -> bool {
        self.width.is_none() && self.height.is_none() && self.quality.is_none()
    }

    /// What the gateway encodes for this request: its quality snapped to [`QUALITY_STEPS`]
    /// and written out (no quality is [`DEFAULT_QUALITY`]), so that one output has one key.
    pub fn snapped(self) -> Self {
        if self.is_original() {
            return self;
        }
        let asked = self.quality.unwrap_or(DEFAULT_QUALITY);
        let step = QUALITY_STEPS
            .into_iter()
            .min_by_key(|step| step.abs_diff(asked))
            .unwrap_or(DEFAULT_QUALITY);
        Self {
            quality: Some(step),
            ..self
        }
    }

    /// The query that asks for this variant (`width=320&quality=80`), `original` for the
    /// camera's own frames: what the `X-Served-Variant` header says.
    pub fn query(&self) -> String {
        if self.is_original() {
            return "original".into();
        }
        let parts = [
            self.width.map(|width| format!("width={width}")),
            self.height.map(|height| format!("height={height}")),
            self.quality.map(|quality| format!("quality={quality}")),
        ];
        parts.into_iter().flatten().collect::<Vec<_>>().join("&")
    }

    /// About how wide this variant's frames are from a camera of `source` size (never
    /// enlarged); before the camera's first frame a height is taken as 4:3.
    fn output_width(&self, source: Option<(u32, u32)>) -> u32 {
        match (self.width, self.height, source) {
            (Some(width), _, Some((full, _))) => width.min(full),
            (Some(width), _, None) => width,
            (None, Some(height), Some((full_width, full_height))) => {
                let width = u64::from(height.min(full_height)) * u64::from(full_width)
                    / u64::from(full_height.max(1));
                u32::try_from(width).unwrap_or(u32::MAX)
            }
            (None, Some(height), None) => height.saturating_mul(4) / 3,
            (None, None, Some((full, _))) => full,
            (None, None, None) => MAX_WIDTH,
        }
    }
}

/// Of `running`, the variant nearest to `wanted` for a camera of `source` size: the closest
/// output width, then the closest quality (ties: the smaller variant, so the pick is stable).
pub fn nearest(
    wanted: Variant,
    running: impl IntoIterator<Item = Variant>,
    source: Option<(u32, u32)>,
) -> Option<Variant> {
    let width = wanted.output_width(source);
    let quality = wanted.quality.unwrap_or(DEFAULT_QUALITY);
    running.into_iter().min_by_key(|variant| {
        (
            variant.output_width(source).abs_diff(width),
            variant.quality.unwrap_or(DEFAULT_QUALITY).abs_diff(quality),
            variant.output_width(source),
            variant.quality,
        )
    })
}

/// What an encoder needs from the camera task.
#[derive(Debug, Clone)]
pub struct Encode {
    /// The camera's id (metrics, logs).
    pub camera: String,
    pub limits: FrameLimits,
    pub metrics: Arc<Metrics>,
}

/// Starts the encoder of `variant`: it re-encodes every new frame of `source` into `frames`.
pub fn spawn_encoder(
    variant: Variant,
    source: Slot,
    frames: SlotSender,
    encode: &Encode,
) -> tokio::task::JoinHandle<()> {
    let Encode {
        camera,
        limits,
        metrics,
    } = encode.clone();
    tokio::spawn(self::encode(
        camera,
        variant,
        source,
        frames,
        (limits, metrics),
    ))
}

/// Re-encodes every new frame of `source` into `frames` until `source` closes (camera gone)
/// or the camera task releases (aborts) this encoder.
async fn encode(
    camera: String,
    variant: Variant,
    mut source: Slot,
    frames: SlotSender,
    (limits, metrics): (FrameLimits, Arc<Metrics>),
) {
    source.mark_changed();
    let mut warnings = LogThrottle::default();
    tracing::debug!(%camera, ?variant, "variant encoder started");
    // The source frame encoded last: both frames of a burst right after it are encoded.
    let mut last: Option<Arc<Frame>> = None;
    while source.changed().await.is_ok() {
        let todo: Vec<_> = source
            .borrow_and_update()
            .since(last.as_ref())
            .cloned()
            .collect();
        for shown in todo {
            let (frame, received_ns) = (shown.frame, shown.received_ns);
            last = Some(frame.clone());
            match tokio::task::spawn_blocking(move || transcode(&frame, variant, &limits)).await {
                Ok(Ok(resized)) => {
                    metrics.variant_encoded(&camera);
                    slot::show(&frames, Arc::new(resized), received_ns);
                }
                Ok(Err(error)) => {
                    if let Some(count) = warnings.hit(()) {
                        tracing::warn!(%camera, %error, count, "cannot re-encode frame(s) for variant");
                    }
                }
                Err(_) => return,
            }
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
        let jpeg = test_support::draw_frame(width, height, [40, 90, 90], 0);
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

    #[test]
    fn qualities_snap_to_a_few_steps_and_nearest_prefers_the_closest_width() {
        let asked = |width, quality| Variant {
            width,
            height: None,
            quality,
        };
        let snapped = |quality| asked(Some(320), quality).snapped().quality;
        assert_eq!(snapped(None), Some(80), "the default quality, written out");
        assert_eq!(snapped(Some(1)), Some(30));
        assert_eq!(snapped(Some(40)), Some(30), "ties go to the lower step");
        assert_eq!(snapped(Some(73)), Some(80));
        assert_eq!(snapped(Some(100)), Some(95));
        assert_eq!(Variant::default().snapped(), Variant::default());
        assert_eq!(asked(Some(320), Some(50)).query(), "width=320&quality=50");
        assert_eq!(Variant::default().query(), "original");
        let running = [
            asked(Some(160), Some(80)),
            asked(Some(640), Some(80)),
            asked(Some(320), Some(30)),
        ];
        let source = Some((640, 480));
        let pick = |wanted| nearest(wanted, running, source);
        assert_eq!(pick(asked(Some(300), Some(80))), Some(running[2]));
        assert_eq!(
            pick(asked(Some(9000), None)),
            Some(running[1]),
            "capped at the camera's width"
        );
        let by_height = Variant {
            width: None,
            height: Some(120),
            quality: Some(80),
        };
        assert_eq!(
            pick(by_height),
            Some(running[0]),
            "120 high is 160 wide at 4:3"
        );
        assert_eq!(nearest(by_height, [], source), None);
    }
}
