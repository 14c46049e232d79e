//! Turning a launch string into a running pipeline whose appsink hands frames to tokio.
//!
//! Owns the appsink settings, the capture timestamp and the [`PipelineGuard`] that puts the
//! pipeline to Null when dropped; does not decide when to start or restart (`supervisor.rs`).
//! The appsink callback runs on a GStreamer streaming thread, so it never blocks: it copies
//! the JPEG out of the buffer into a latest-only `watch` slot, replacing any frame the
//! publisher has not taken yet (a live camera wants the newest frame, not a backlog).

use super::source_error::{element_hint, SourceError};
use bytes::Bytes;
use camera_protocol::meta::unix_now_ns;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app::{AppSink, AppSinkCallbacks};
use thiserror::Error;
use tokio::sync::watch;

/// One encoded frame straight out of the appsink.
#[derive(Debug, Clone)]
pub struct CapturedFrame {
    pub jpeg: Bytes,
    /// Unix-epoch ns at which the buffer was captured (its running time, not "now").
    pub capture_ts_ns: u64,
    pub width: u32,
    pub height: u32,
}

/// A pipeline that could not be built from its launch string.
#[derive(Debug, Error)]
pub enum BuildError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("invalid pipeline {launch:?}: {message}")]
    Parse { launch: String, message: String },
    #[error(
        "pipeline has no appsink named \"sink\": end the launch string with `appsink name=sink`"
    )]
    NoAppsink,
}

/// Owns a pipeline and sets it to Null on drop, so no path (error, restart, shutdown) leaves
/// a camera open.
///
/// State changes run on tokio's blocking pool, never on an async worker: going to Playing or
/// Null waits for the device (V4L2 `STREAMON`/close, Argus opening a sensor: up to seconds on
/// a Jetson), and a worker stuck there would stall every zenoh and query task scheduled on it.
#[derive(Debug)]
pub struct PipelineGuard {
    pipeline: Option<gst::Pipeline>,
}

impl PipelineGuard {
    pub fn bus(&self) -> Option<gst::Bus> {
        self.pipeline.as_ref()?.bus()
    }

    /// The pipeline, for hooking up elements by name (variant branches); `None` once stopped.
    pub fn pipeline(&self) -> Option<&gst::Pipeline> {
        self.pipeline.as_ref()
    }

    /// Changes state on the blocking pool (see the type's doc).
    pub async fn set_state(&self, state: gst::State) -> Result<(), gst::StateChangeError> {
        let Some(pipeline) = self.pipeline.clone() else {
            return Err(gst::StateChangeError);
        };
        tokio::task::spawn_blocking(move || pipeline.set_state(state).map(|_| ()))
            .await
            .unwrap_or(Err(gst::StateChangeError))
    }

    /// Tears the pipeline down (Null) on the blocking pool and waits for it.
    pub async fn stop(mut self) {
        if let Some(pipeline) = self.pipeline.take() {
            let stopped = tokio::task::spawn_blocking(move || to_null(&pipeline)).await;
            if stopped.is_err() {
                tracing::warn!("pipeline teardown did not finish");
            }
        }
    }
}

fn to_null(pipeline: &gst::Pipeline) {
    if pipeline.set_state(gst::State::Null).is_err() {
        tracing::warn!("pipeline refused to go to Null");
    }
}

impl Drop for PipelineGuard {
    /// The fallback for paths that did not `stop()` (a panic, a dropped future): blocking, but
    /// a camera left open is worse.
    fn drop(&mut self) {
        if let Some(pipeline) = self.pipeline.take() {
            to_null(&pipeline);
        }
    }
}

/// Parses `launch`, wires its `sink` appsink to `frames`, and returns it stopped (Null).
pub fn build(
    launch: &str,
    frames: watch::Sender<Option<CapturedFrame>>,
) -> Result<PipelineGuard, BuildError> {
    let mut context = gst::ParseContext::new();
    let element =
        gst::parse::launch_full(launch, Some(&mut context), gst::ParseFlags::FATAL_ERRORS)
            .map_err(|error| {
                // GStreamer also lists an element as missing when one of its properties is
                // unknown ("no property"); only a missing element is reported as one.
                let no_element =
                    error.kind::<gst::ParseError>() == Some(gst::ParseError::NoSuchElement);
                if let Some(name) = context
                    .missing_elements()
                    .into_iter()
                    .next()
                    .filter(|_| no_element)
                {
                    return BuildError::Source(SourceError::MissingElement {
                        hint: element_hint(&name),
                        name,
                    });
                }
                BuildError::Parse {
                    launch: launch.to_owned(),
                    message: error.to_string(),
                }
            })?;
    let pipeline = match element.downcast::<gst::Pipeline>() {
        Ok(pipeline) => pipeline,
        Err(element) => {
            let pipeline = gst::Pipeline::new();
            pipeline.add(&element).map_err(|error| BuildError::Parse {
                launch: launch.to_owned(),
                message: error.to_string(),
            })?;
            pipeline
        }
    };
    let sink = pipeline
        .by_name("sink")
        .and_then(|sink| sink.downcast::<AppSink>().ok())
        .ok_or(BuildError::NoAppsink)?;
    let guard = PipelineGuard {
        pipeline: Some(pipeline),
    };
    // Enforced here too, because user pipelines may leave appsink's blocking defaults.
    sink.set_max_buffers(1);
    sink.set_drop(true);
    sink.set_sync(false);
    sink.set_wait_on_eos(false);
    sink.set_callbacks(
        AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                match frame_of(sink, &sample) {
                    Some(frame) => {
                        if frames.send(Some(frame)).is_err() {
                            // Nobody will ever read: the supervisor dropped this pipeline.
                            return Err(gst::FlowError::Flushing);
                        }
                    }
                    None => tracing::warn!("dropping a sample without a mappable JPEG buffer"),
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    Ok(guard)
}

/// The frame in an appsink sample: its JPEG copied out, capture time, size.
pub(super) fn frame_of(sink: &AppSink, sample: &gst::Sample) -> Option<CapturedFrame> {
    let now_ns = unix_now_ns();
    let buffer = sample.buffer()?;
    let map = buffer.map_readable().ok()?;
    // Copied, not wrapped (`Bytes::from_owner` on the mapped buffer would avoid the copy):
    // v4l2src and nvjpegenc hand out buffers from small pools, and the latest frame is kept
    // for the snapshot queryable and in zenoh's queues, so holding pool buffers could starve
    // capture. One memcpy of a JPEG is small next to encoding it.
    let jpeg = Bytes::copy_from_slice(map.as_slice());
    let caps_size = sample.caps().and_then(|caps| {
        let structure = caps.structure(0)?;
        let width = structure.get::<i32>("width").ok()?;
        let height = structure.get::<i32>("height").ok()?;
        Some((u32::try_from(width).ok()?, u32::try_from(height).ok()?))
    });
    let (width, height) = caps_size.or_else(|| jpeg_size(&jpeg))?;
    let age_ns = buffer_age_ns(sink, sample, buffer).unwrap_or(0);
    Some(CapturedFrame {
        jpeg,
        capture_ts_ns: now_ns.saturating_sub(age_ns),
        width,
        height,
    })
}

/// How long ago, on the pipeline clock, the buffer was captured: clock now minus
/// (base time + running time of its PTS). Mapping that age onto the system's wall clock
/// gives the capture time without assuming which clock the pipeline uses.
fn buffer_age_ns(sink: &AppSink, sample: &gst::Sample, buffer: &gst::BufferRef) -> Option<u64> {
    let pts = buffer.pts()?;
    let segment = sample.segment()?.downcast_ref::<gst::ClockTime>()?;
    let running = segment.to_running_time(pts)?;
    let clock = sink.clock()?;
    let base = sink.base_time()?;
    Some(clock.time().saturating_sub(base + running).nseconds())
}

/// Width and height from the JPEG's start-of-frame header, for pipelines whose caps omit them.
pub fn jpeg_size(jpeg: &[u8]) -> Option<(u32, u32)> {
    let mut at = 2;
    while at + 9 < jpeg.len() {
        if jpeg[at] != 0xFF {
            return None;
        }
        let marker = jpeg[at + 1];
        let length = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
        if (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker) {
            let height = u16::from_be_bytes([jpeg[at + 5], jpeg[at + 6]]);
            let width = u16::from_be_bytes([jpeg[at + 7], jpeg[at + 8]]);
            return Some((u32::from(width), u32::from(height)));
        }
        at += 2 + length;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_element_in_user_pipeline_is_named() {
        gst::init().expect("gst init");
        let (tx, _rx) = watch::channel(None);
        let error = build("nosuchelementxyz ! appsink name=sink", tx).expect_err("missing");
        assert!(
            error.to_string().contains("\"nosuchelementxyz\""),
            "{error}"
        );
    }

    #[test]
    fn unknown_property_is_not_reported_as_missing_element() {
        gst::init().expect("gst init");
        let (tx, _rx) = watch::channel(None);
        let error = build("videotestsrc nosuchproperty=1 ! appsink name=sink", tx)
            .expect_err("bad property");
        assert!(matches!(error, BuildError::Parse { .. }), "{error}");
        assert!(error.to_string().contains("nosuchproperty"), "{error}");
    }

    #[test]
    fn pipeline_without_named_appsink_is_rejected() {
        gst::init().expect("gst init");
        let (tx, _rx) = watch::channel(None);
        let error = build("videotestsrc ! fakesink", tx).expect_err("no appsink");
        assert!(matches!(error, BuildError::NoAppsink), "{error}");
    }

    #[test]
    fn test_pattern_frames_are_complete_jpegs_with_recent_capture_times() {
        gst::init().expect("gst init");
        let (tx, mut rx) = watch::channel(None);
        let launch = "videotestsrc is-live=true num-buffers=3 ! video/x-raw,width=64,height=48 ! \
                      jpegenc ! appsink name=sink";
        let guard = build(launch, tx).expect("build");
        let frame = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime")
            .block_on(async {
                guard.set_state(gst::State::Playing).await.expect("play");
                let wait = tokio::time::timeout(std::time::Duration::from_secs(20), rx.changed());
                wait.await
                    .expect("a frame within 20 s")
                    .expect("sender alive");
                rx.borrow_and_update().clone().expect("Some frame")
            });
        assert_eq!((frame.width, frame.height), (64, 48));
        assert_eq!(jpeg_size(&frame.jpeg), Some((64, 48)));
        camera_protocol::frame::check_complete_jpeg(&frame.jpeg).expect("complete jpeg");
        let age = unix_now_ns().saturating_sub(frame.capture_ts_ns);
        assert!(
            frame.capture_ts_ns <= unix_now_ns() && age < 1_000_000_000,
            "age {age} ns"
        );
    }
}
