//! Preview variants encoded at the source: each `[[variants]]` entry becomes one more branch of
//! the capture pipeline (tee → queue leaky → scale → encoder → appsink) and one more publisher
//! on `<prefix>/<camera>/jpeg/<name>`.
//!
//! Owns the JPEG variants' launch-string branches (and the tee and queue every branch shares
//! with the H.264 lanes of `video.rs`) and their publishers; the settings are
//! `variant_config.rs`'s. A branch does no work while nobody subscribes to its key (`gate.rs`).
//! Variants are always scaled from the raw picture, never decoded from the published JPEG.

use super::capture::{self, CapturedFrame};
use super::gate::Gate;
use super::variant_config::Variant;
use camera_protocol::info::VariantInfo;
use camera_protocol::keys::CameraKeys;
use camera_protocol::meta::FrameMeta;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app::{AppSink, AppSinkCallbacks};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use zenoh::bytes::Encoding;
use zenoh::qos::{CongestionControl, Priority};

/// Name of the tee the branches hang off.
pub const TEE: &str = "raw";

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
    /// `nvvidconv` (with the main branch's flip) + `nvjpegenc` or `jpegenc`, from NVMM; H.264
    /// lanes take `nvv4l2h264enc` from NVMM or a software encoder from system memory.
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
        out += &branch(tee, &queue_name(&v.name), &convert, &sink_name(&v.name));
    }
    out
}

/// One branch off the tee named `tee`: its gated queue, `chain` (scale, encode), its appsink.
pub fn branch(tee: &str, queue: &str, chain: &str, sink: &str) -> String {
    // A leaky one-buffer queue: the branch runs on its own thread and never holds back the
    // main stream; a slow encoder loses old raw frames, not new ones. `async=false`: a branch
    // gated off never prerolls, and the pipeline must not wait for it to.
    format!(
        " {tee}. ! queue name={queue} leaky=downstream max-size-buffers=1 max-size-bytes=0 max-size-time=0 ! {chain} ! appsink name={sink} max-buffers=1 drop=true sync=false async=false"
    )
}

/// The pipeline tail for the main stream plus `branches` (from [`branches`] and the H.264
/// lanes', hanging off a tee named [`TEE`]): `tee ! <main> <branches>`, or just `<main>`
/// without any (no tee, so the default pipeline is unchanged).
pub fn with_branches(main: &str, branches: &str) -> String {
    if branches.is_empty() {
        main.to_owned()
    } else {
        format!("tee name={TEE} ! {main}{branches}")
    }
}

/// One variant's live state, shared between the pipeline (probe, appsink) and its publisher.
#[derive(Debug)]
struct Lane {
    variant: Variant,
    gate: Arc<Gate>,
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
                gate: Arc::new(Gate::new(
                    variant.fps,
                    publisher.matching_status().await?.matching(),
                )),
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
                                lane.gate.set_wanted(status.matching());
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
            lane.gate.install(&pad);
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

#[cfg(test)]
mod tests;
