//! Preview variants encoded at the source: each `[[variants]]` entry becomes one more branch of
//! the capture pipeline (tee → queue leaky → scale → encoder → appsink) and one more publisher
//! on `<prefix>/<camera>/jpeg/<name>`.
//!
//! Owns the variant settings, their launch-string branches, the pad probe that gates each
//! branch, and the variant publishers. A branch does no work while nobody subscribes to its key:
//! the probe in front of its queue drops every raw frame until the publisher's zenoh matching
//! status says someone listens, and it also enforces the fps cap, so both hold for NVMM
//! buffers on a Jetson as well as in system memory. Variants are always scaled from the raw
//! picture, never decoded from the published JPEG.

use super::capture::{self, CapturedFrame};
use camera_protocol::info::VariantInfo;
use camera_protocol::keys::{self, CameraKeys};
use camera_protocol::meta::FrameMeta;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app::{AppSink, AppSinkCallbacks};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use zenoh::bytes::Encoding;
use zenoh::qos::{CongestionControl, Priority};

/// Default JPEG quality of a variant: previews are small and looked at briefly.
pub const DEFAULT_QUALITY: u32 = 70;

/// One `[[variants]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantConfig {
    /// Key segment: frames go to `<prefix>/<camera>/jpeg/<name>`.
    pub name: String,
    pub width: u32,
    /// Omitted: the main frame's aspect ratio is kept (rounded to an even number).
    pub height: Option<u32>,
    #[serde(default = "default_quality")]
    pub quality: u32,
    /// At most this many frames per second (omitted: the camera's rate).
    pub fps: Option<u32>,
}

fn default_quality() -> u32 {
    DEFAULT_QUALITY
}

/// A variant with every size and rate resolved against the main stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub quality: u32,
    /// `None`: every camera frame.
    pub fps: Option<u32>,
}

/// What is wrong with a `[[variants]]` entry: (field, value, fix) for `ConfigError::Invalid`.
pub type VariantProblem = (&'static str, String, String);

impl VariantConfig {
    /// Resolves the size against the main `width`×`height` at `fps`, naming the first bad value.
    pub fn resolve(&self, width: u32, height: u32, fps: u32) -> Result<Variant, VariantProblem> {
        let name = &self.name;
        if keys::validate_camera_id(name).is_err() {
            return Err((
                "variants.name",
                format!("{name:?}"),
                "use 1-64 characters from A-Z a-z 0-9 _ - (e.g. name = \"preview\")".into(),
            ));
        }
        if !(16..=width).contains(&self.width) {
            return Err(("variants.width", self.width.to_string(), format!("use 16..={width} for variant {name:?} (a variant is never larger than the camera frame)")));
        }
        let kept = (u64::from(self.width) * u64::from(height) / u64::from(width)) as u32;
        let variant_height = self.height.unwrap_or((kept + 1) & !1);
        if !(16..=height).contains(&variant_height) {
            return Err(("variants.height", variant_height.to_string(), format!("use 16..={height} for variant {name:?}, or leave it out to keep the aspect ratio")));
        }
        if !(1..=100).contains(&self.quality) {
            return Err((
                "variants.quality",
                self.quality.to_string(),
                format!("use 1..=100 for variant {name:?} (e.g. quality = 70)"),
            ));
        }
        if let Some(cap) = self.fps {
            if !(1..=fps).contains(&cap) {
                return Err((
                    "variants.fps",
                    cap.to_string(),
                    format!("use 1..={fps} for variant {name:?}, or leave it out for every frame"),
                ));
            }
        }
        Ok(Variant {
            name: name.clone(),
            width: self.width,
            height: variant_height,
            quality: self.quality,
            fps: self.fps.filter(|cap| *cap < fps),
        })
    }
}

/// Resolves every entry and rejects duplicate names.
pub fn resolve_all(
    configs: &[VariantConfig],
    width: u32,
    height: u32,
    fps: u32,
) -> Result<Vec<Variant>, VariantProblem> {
    let mut variants: Vec<Variant> = Vec::with_capacity(configs.len());
    for config in configs {
        let variant = config.resolve(width, height, fps)?;
        if variants.iter().any(|v| v.name == variant.name) {
            return Err((
                "variants.name",
                format!("{:?}", variant.name),
                "give every variant its own name".into(),
            ));
        }
        variants.push(variant);
    }
    Ok(variants)
}

/// Name of the queue in front of a variant's branch (where its gate probe sits).
fn queue_name(variant: &str) -> String {
    format!("variant-queue-{variant}")
}

/// Name of a variant's appsink.
fn sink_name(variant: &str) -> String {
    format!("variant-sink-{variant}")
}

/// How a branch scales and encodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scaler {
    /// `videoscale` + `jpegenc`, system memory.
    Software,
    /// `nvvidconv` (with the main branch's flip) + `nvjpegenc` or `jpegenc`, from NVMM.
    Nvvidconv { flip_method: u32, nvjpegenc: bool },
}

/// Launch-string branches that hang off the tee named `tee`, one per variant.
pub fn branches(tee: &str, variants: &[Variant], scaler: Scaler) -> String {
    let mut out = String::new();
    for v in variants {
        let (w, h, q) = (v.width, v.height, v.quality);
        let convert = match scaler {
            Scaler::Software => {
                format!("videoscale ! video/x-raw,width={w},height={h} ! jpegenc quality={q}")
            }
            Scaler::Nvvidconv {
                flip_method,
                nvjpegenc: true,
            } => {
                format!("nvvidconv flip-method={flip_method} ! video/x-raw(memory:NVMM),width={w},height={h},format=I420 ! nvjpegenc quality={q}")
            }
            Scaler::Nvvidconv {
                flip_method,
                nvjpegenc: false,
            } => {
                format!("nvvidconv flip-method={flip_method} ! video/x-raw,width={w},height={h},format=I420 ! jpegenc quality={q}")
            }
        };
        // A leaky one-buffer queue: the branch runs on its own thread and never holds back the
        // main stream; a slow encoder loses old raw frames, not new ones. `async=false`: a
        // branch gated off never prerolls, and the pipeline must not wait for it to.
        out += &format!(
            " {tee}. ! queue name={queue} leaky=downstream max-size-buffers=1 max-size-bytes=0 max-size-time=0 ! {convert} ! appsink name={sink} max-buffers=1 drop=true sync=false async=false",
            queue = queue_name(&v.name),
            sink = sink_name(&v.name),
        );
    }
    out
}

/// The pipeline tail for the main stream plus variants: `tee ! <main> <branches>`, or just
/// `<main>` without variants (no tee, so the default pipeline is unchanged).
pub fn with_branches(main: &str, variants: &[Variant], scaler: Scaler) -> String {
    if variants.is_empty() {
        main.to_owned()
    } else {
        format!("tee name=raw ! {main}{}", branches("raw", variants, scaler))
    }
}

/// One variant's live state, shared between the pipeline (probe, appsink) and its publisher.
#[derive(Debug)]
struct Lane {
    variant: Variant,
    /// Someone subscribes to the variant key.
    wanted: AtomicBool,
    /// PTS (ns) of the last raw frame let through, for the fps cap.
    last_pts: AtomicU64,
    frames: watch::Sender<Option<CapturedFrame>>,
}

/// Every variant of the node: publishers, gates and frame slots. Outlives pipelines.
#[derive(Debug, Clone)]
pub struct Variants {
    lanes: Arc<Vec<Arc<Lane>>>,
    keys: CameraKeys,
    generation: Arc<AtomicU32>,
    published: Arc<Mutex<Vec<u64>>>,
}

impl Variants {
    /// Declares one publisher per variant and starts its matching and publishing tasks.
    pub async fn declare(
        session: &zenoh::Session,
        keys: &CameraKeys,
        variants: &[Variant],
        priority: Priority,
        cancel: &CancellationToken,
    ) -> zenoh::Result<Self> {
        let mut lanes = Vec::with_capacity(variants.len());
        let generation = Arc::new(AtomicU32::new(0));
        let published = Arc::new(Mutex::new(vec![0; variants.len()]));
        for (index, variant) in variants.iter().enumerate() {
            let publisher = session
                .declare_publisher(keys.variant_jpeg(&variant.name))
                .encoding(Encoding::IMAGE_JPEG)
                .congestion_control(CongestionControl::Drop)
                .priority(priority)
                .await?;
            let matching = publisher.matching_listener().await?;
            let (tx, rx) = watch::channel(None);
            let lane = Arc::new(Lane {
                variant: variant.clone(),
                wanted: AtomicBool::new(publisher.matching_status().await?.matching()),
                last_pts: AtomicU64::new(u64::MAX),
                frames: tx,
            });
            lanes.push(lane.clone());
            let (cancel, generation, published) =
                (cancel.child_token(), generation.clone(), published.clone());
            tokio::spawn(async move {
                let mut rx = rx;
                let mut seq = 0u64;
                loop {
                    tokio::select! {
                        () = cancel.cancelled() => break,
                        status = matching.recv_async() => match status {
                            Ok(status) => {
                                tracing::info!(variant = %lane.variant.name, subscribers = status.matching(), "variant demand changed");
                                lane.wanted.store(status.matching(), Ordering::Relaxed);
                            }
                            Err(_) => break,
                        },
                        changed = rx.changed() => {
                            if changed.is_err() { break; }
                            let Some(frame) = rx.borrow_and_update().clone() else { continue };
                            let meta = FrameMeta {
                                seq,
                                capture_ts_ns: frame.capture_ts_ns,
                                width: frame.width,
                                height: frame.height,
                                generation: generation.load(Ordering::Relaxed),
                                online: true,
                            };
                            match publisher.put(frame.jpeg).attachment(meta.encode().to_vec()).await {
                                Ok(()) => {
                                    seq += 1;
                                    if let Ok(mut counts) = published.lock() {
                                        counts[index] = seq;
                                    }
                                }
                                Err(error) => tracing::warn!(variant = %lane.variant.name, %error, "variant frame not published"),
                            }
                        }
                    }
                }
            });
        }
        Ok(Self {
            lanes: Arc::new(lanes),
            keys: keys.clone(),
            generation,
            published,
        })
    }

    /// Hooks a freshly built pipeline's variant branches to the publishers; `generation` is
    /// the supervisor's count of pipeline starts.
    pub fn attach(
        &self,
        pipeline: &gst::Pipeline,
        generation: u32,
    ) -> Result<(), capture::BuildError> {
        self.generation.store(generation, Ordering::Relaxed);
        for lane in self.lanes.iter() {
            let name = &lane.variant.name;
            let missing = || capture::BuildError::Parse {
                launch: String::new(),
                message: format!(
                    "variant {name:?}: the pipeline has no {} / {}",
                    queue_name(name),
                    sink_name(name)
                ),
            };
            let queue = pipeline.by_name(&queue_name(name)).ok_or_else(missing)?;
            let sink = pipeline
                .by_name(&sink_name(name))
                .and_then(|s| s.downcast::<AppSink>().ok())
                .ok_or_else(missing)?;
            let pad = queue.static_pad("sink").ok_or_else(missing)?;
            lane.last_pts.store(u64::MAX, Ordering::Relaxed);
            let gate = lane.clone();
            pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
                let Some(gst::PadProbeData::Buffer(buffer)) = &info.data else {
                    return gst::PadProbeReturn::Ok;
                };
                if gate.admits(buffer.pts().map(gst::ClockTime::nseconds)) {
                    gst::PadProbeReturn::Ok
                } else {
                    gst::PadProbeReturn::Drop
                }
            });
            let slot = lane.clone();
            sink.set_callbacks(
                AppSinkCallbacks::builder()
                    .new_sample(move |sink| {
                        let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                        if let Some(frame) = capture::frame_of(sink, &sample) {
                            slot.frames.send_replace(Some(frame));
                        }
                        Ok(gst::FlowSuccess::Ok)
                    })
                    .build(),
            );
        }
        Ok(())
    }

    /// Whether the node has any variant.
    pub fn any(&self) -> bool {
        !self.lanes.is_empty()
    }

    /// The variants for `/info`, with frames published so far.
    pub fn info(&self) -> Vec<VariantInfo> {
        let counts = self.published.lock().map(|c| c.clone()).unwrap_or_default();
        self.lanes
            .iter()
            .enumerate()
            .map(|(i, lane)| {
                info_of(
                    &lane.variant,
                    &self.keys,
                    counts.get(i).copied().unwrap_or(0),
                )
            })
            .collect()
    }
}

/// `/info` entry of a variant.
pub fn info_of(v: &Variant, keys: &CameraKeys, frames_published: u64) -> VariantInfo {
    VariantInfo {
        name: v.name.clone(),
        key: keys.variant_jpeg(&v.name),
        width: v.width,
        height: v.height,
        quality: v.quality,
        fps: v.fps,
        frames_published,
    }
}

impl Lane {
    /// Whether a raw frame with this PTS goes into the branch: only while subscribed, and at
    /// most `fps` per second by PTS (a 10 % margin absorbs capture jitter).
    fn admits(&self, pts_ns: Option<u64>) -> bool {
        if !self.wanted.load(Ordering::Relaxed) {
            return false;
        }
        let (Some(cap), Some(pts)) = (self.variant.fps, pts_ns) else {
            return true;
        };
        let interval = 900_000_000 / u64::from(cap);
        let last = self.last_pts.load(Ordering::Relaxed);
        if last != u64::MAX && pts >= last && pts - last < interval {
            return false;
        }
        self.last_pts.store(pts, Ordering::Relaxed);
        true
    }
}

#[cfg(test)]
mod tests;
