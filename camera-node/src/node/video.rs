//! The H.264 lanes (`codec = "h264"` variants): one publisher per lane on
//! `<prefix>/<camera>/h264/<name>`, one access unit per sample (docs/protocol.md, "The H.264
//! lane"), and the `<key>/keyframe` queryable that forces a keyframe.
//!
//! Owns the lanes' runtime: gate (`gate.rs`), appsink → publisher hand-over, keyframe policy.
//! Unlike a JPEG frame an access unit depends on the ones before it, so the hand-over is a
//! bounded queue, not a latest-only slot, and after a gap (gate opened, pipeline restarted,
//! an access unit dropped) nothing is published until a keyframe comes: the first access unit
//! a subscriber gets decodes. Forced keyframes are rate-limited per lane, so a query flood
//! costs at most one keyframe per 250 ms (`video/keyframes.rs`). Branch strings: `video/encoder.rs`.

mod demand;
pub mod encoder;
mod keyframes;

use super::capture::{self, BuildError};
use super::gate::Gate;
use super::variant_config::VideoLane;
use bytes::Bytes;
use camera_protocol::info::VideoInfo;
use camera_protocol::keys::CameraKeys;
use camera_protocol::meta::FrameMeta;
use camera_protocol::VideoFrame;
use demand::LaneDemand;
use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;
use gstreamer_app::{AppSink, AppSinkCallbacks};
use keyframes::{force_key_unit, KeyLimiter};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use zenoh::bytes::Encoding;
use zenoh::qos::{CongestionControl, Priority};

/// Access units between the appsink and the publisher; beyond this the publisher is too slow,
/// the next ones are dropped and the lane waits for a keyframe.
const QUEUED_AUS: usize = 16;
/// The answer to a keyframe query.
pub const KEYFRAME_REPLY: &str = r#"{"keyframe": "requested"}"#;

/// One access unit from the appsink.
#[derive(Debug)]
struct Au {
    data: Bytes,
    keyframe: bool,
    capture_ts_ns: u64,
    width: u32,
    height: u32,
    generation: u32,
    /// Access units before this one were dropped on the way to the publisher.
    after_loss: bool,
}

/// One lane's live state, shared by the pipeline (probe, appsink) and its publisher task.
#[derive(Debug)]
struct LaneState {
    lane: VideoLane,
    gate: Arc<Gate>,
    /// The current pipeline's appsink: force-key-unit events go upstream from it.
    sink: Mutex<Option<glib::WeakRef<AppSink>>>,
    encoder: Mutex<&'static str>,
    aus: mpsc::Sender<Au>,
    lost: AtomicBool,
    published: AtomicU64,
}

/// Every H.264 lane of the node. Outlives pipelines.
#[derive(Debug, Clone)]
pub struct VideoLanes {
    lanes: Arc<Vec<Arc<LaneState>>>,
    keys: CameraKeys,
    generation: Arc<AtomicU32>,
    demand: Arc<LaneDemand>,
}

impl VideoLanes {
    /// Declares each lane's publisher and keyframe queryable and starts its task.
    pub async fn declare(
        session: &zenoh::Session,
        keys: &CameraKeys,
        lanes: &[VideoLane],
        priority: Priority,
        cancel: &CancellationToken,
    ) -> zenoh::Result<Self> {
        let mut states = Vec::with_capacity(lanes.len());
        let demand = Arc::new(LaneDemand::default());
        for lane in lanes {
            let publisher = session
                .declare_publisher(keys.video(&lane.name))
                .encoding(Encoding::VIDEO_H264)
                .congestion_control(CongestionControl::Drop)
                .priority(priority)
                .await?;
            let matching = publisher.matching_listener().await?;
            let queryable = session
                .declare_queryable(keys.video_keyframe(&lane.name))
                .await?;
            let (tx, rx) = mpsc::channel(QUEUED_AUS);
            let state = Arc::new(LaneState {
                lane: lane.clone(),
                gate: Arc::new(Gate::new(lane.fps_cap, false)),
                sink: Mutex::new(None),
                encoder: Mutex::new(""),
                aus: tx,
                lost: AtomicBool::new(false),
                published: AtomicU64::new(0),
            });
            states.push(state.clone());
            let task = LaneTask {
                state,
                demand: demand.clone(),
                keyframe_key: keys.video_keyframe(&lane.name),
                limiter: KeyLimiter::default(),
                need_key: true,
                generation: 0,
                seq: 0,
            };
            let cancel = cancel.child_token();
            tokio::spawn(async move {
                tokio::select! {
                    () = cancel.cancelled() => {}
                    () = task.run(publisher, matching, queryable, rx) => {}
                }
            });
        }
        Ok(Self {
            lanes: Arc::new(states),
            keys: keys.clone(),
            generation: Arc::new(AtomicU32::new(0)),
            demand,
        })
    }

    /// True while someone subscribes to any lane.
    pub fn demand(&self) -> watch::Receiver<bool> {
        self.demand.watch()
    }

    /// Hooks a freshly built pipeline's lane branches to the publishers; `generation` is the
    /// supervisor's count of pipeline starts, `encoder` the plan's H.264 encoder.
    pub fn attach(
        &self,
        pipeline: &gst::Pipeline,
        generation: u32,
        encoder: Option<encoder::H264Encoder>,
    ) -> Result<(), BuildError> {
        self.generation.store(generation, Ordering::Relaxed);
        for lane in self.lanes.iter() {
            let name = &lane.lane.name;
            let (queue, sink) = (encoder::queue_name(name), encoder::sink_name(name));
            let missing = || BuildError::Parse {
                launch: String::new(),
                message: format!("H.264 lane {name:?}: the pipeline has no {queue} / {sink}"),
            };
            let pad = pipeline
                .by_name(&queue)
                .and_then(|queue| queue.static_pad("sink"))
                .ok_or_else(missing)?;
            let appsink = pipeline
                .by_name(&sink)
                .and_then(|s| s.downcast::<AppSink>().ok())
                .ok_or_else(missing)?;
            lane.gate.install(&pad);
            if let Ok(mut slot) = lane.sink.lock() {
                *slot = Some(appsink.downgrade());
            }
            if let Ok(mut slot) = lane.encoder.lock() {
                *slot = encoder.map_or("", encoder::H264Encoder::element);
            }
            let (state, generation) = (lane.clone(), self.generation.clone());
            appsink.set_callbacks(
                AppSinkCallbacks::builder()
                    .new_sample(move |sink| {
                        let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                        state.hand_over(sink, &sample, generation.load(Ordering::Relaxed));
                        Ok(gst::FlowSuccess::Ok)
                    })
                    .build(),
            );
        }
        Ok(())
    }

    /// Whether the node has any H.264 lane.
    pub fn any(&self) -> bool {
        !self.lanes.is_empty()
    }

    /// The lanes for `/info`, with access units published so far.
    pub fn info(&self) -> Vec<VideoInfo> {
        self.lanes
            .iter()
            .map(|lane| {
                let encoder = lane.encoder.lock().map(|e| *e).unwrap_or_default();
                info_of(
                    &lane.lane,
                    &self.keys,
                    encoder,
                    lane.published.load(Ordering::Relaxed),
                )
            })
            .collect()
    }
}

/// `/info` entry of a lane; `encoder` is empty before the first pipeline is planned.
pub fn info_of(
    lane: &VideoLane,
    keys: &CameraKeys,
    encoder: &str,
    frames_published: u64,
) -> VideoInfo {
    VideoInfo {
        name: lane.name.clone(),
        key: keys.video(&lane.name),
        codec: "h264".to_owned(),
        width: lane.width,
        height: lane.height,
        fps: lane.fps,
        bitrate_kbps: lane.bitrate_kbps,
        keyframe_interval: lane.keyframe_interval,
        encoder: encoder.to_owned(),
        frames_published,
    }
}

impl LaneState {
    /// On the streaming thread: queues the access unit for the publisher, never blocking.
    fn hand_over(&self, sink: &AppSink, sample: &gst::Sample, generation: u32) {
        let keyframe = sample
            .buffer()
            .is_some_and(|buffer| !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT));
        let Some(frame) = capture::frame_of(sink, sample) else {
            return;
        };
        let au = Au {
            data: frame.jpeg,
            keyframe,
            capture_ts_ns: frame.capture_ts_ns,
            width: frame.width,
            height: frame.height,
            generation,
            after_loss: self.lost.swap(false, Ordering::Relaxed),
        };
        if self.aus.try_send(au).is_err() {
            self.lost.store(true, Ordering::Relaxed);
        }
    }

    /// Asks the encoder for a keyframe with SPS/PPS, sent upstream from the appsink.
    fn force_keyframe(&self) {
        let sink = self.sink.lock().ok().and_then(|s| s.as_ref()?.upgrade());
        let Some(sink) = sink else { return };
        if !sink.send_event(force_key_unit()) {
            tracing::debug!(lane = %self.lane.name, "keyframe request not handled (pipeline stopping?)");
        }
    }
}

/// One lane's publisher loop.
struct LaneTask {
    state: Arc<LaneState>,
    demand: Arc<LaneDemand>,
    keyframe_key: String,
    limiter: KeyLimiter,
    /// Publish nothing until a keyframe comes.
    need_key: bool,
    generation: u32,
    seq: u64,
}

impl LaneTask {
    async fn run(
        mut self,
        publisher: zenoh::pubsub::Publisher<'static>,
        matching: zenoh::matching::MatchingListener<
            zenoh::handlers::FifoChannelHandler<zenoh::matching::MatchingStatus>,
        >,
        queryable: zenoh::query::Queryable<
            zenoh::handlers::FifoChannelHandler<zenoh::query::Query>,
        >,
        mut aus: mpsc::Receiver<Au>,
    ) {
        let name = self.state.lane.name.clone();
        self.set_wanted(
            publisher
                .matching_status()
                .await
                .is_ok_and(|s| s.matching()),
        );
        loop {
            let due = self.limiter.due();
            tokio::select! {
                status = matching.recv_async() => match status {
                    Ok(status) => {
                        tracing::info!(lane = %name, subscribers = status.matching(), "H.264 lane demand changed");
                        self.set_wanted(status.matching());
                    }
                    Err(_) => return,
                },
                query = queryable.recv_async() => match query {
                    Ok(query) => {
                        let reply = query.reply(&self.keyframe_key, KEYFRAME_REPLY).encoding(Encoding::APPLICATION_JSON).await;
                        if let Err(error) = reply {
                            tracing::debug!(lane = %name, %error, "keyframe reply not sent");
                        }
                        if self.state.gate.wanted() {
                            self.want_keyframe();
                        }
                    }
                    Err(_) => return,
                },
                () = tokio::time::sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => {
                    if self.limiter.request(Instant::now()) {
                        self.state.force_keyframe();
                    }
                }
                au = aus.recv() => match au {
                    Some(au) => self.publish(&publisher, au).await,
                    None => return,
                },
            }
        }
    }

    fn set_wanted(&mut self, wanted: bool) {
        if wanted != self.state.gate.wanted() {
            self.demand.lane_changed(wanted);
        }
        self.state.gate.set_wanted(wanted);
        if wanted {
            // The encoder saw no frames while the gate was shut: start over at a keyframe.
            self.need_key = true;
            self.want_keyframe();
        }
    }

    fn want_keyframe(&mut self) {
        if self.limiter.request(Instant::now()) {
            self.state.force_keyframe();
        }
    }

    async fn publish(&mut self, publisher: &zenoh::pubsub::Publisher<'static>, au: Au) {
        let state = self.state.clone();
        let name = &state.lane.name;
        if au.generation != self.generation || au.after_loss {
            // A new encoder (its first access unit is a keyframe) or a gap in this one.
            self.generation = au.generation;
            if !au.keyframe {
                self.need_key = true;
                self.want_keyframe();
            }
        }
        if self.need_key && !au.keyframe {
            return;
        }
        let meta = FrameMeta {
            seq: self.seq,
            capture_ts_ns: au.capture_ts_ns,
            width: au.width,
            height: au.height,
            generation: au.generation,
            online: true,
        };
        let frame = match VideoFrame::encoded(au.data, meta, au.keyframe) {
            Ok(frame) => frame,
            Err(error) => {
                tracing::warn!(lane = %name, %error, "encoder output is not a publishable access unit; waiting for the next keyframe");
                self.need_key = true;
                self.want_keyframe();
                return;
            }
        };
        if au.keyframe {
            self.need_key = false;
            self.limiter.satisfied();
        }
        let put = publisher
            .put(frame.au)
            .attachment(frame.meta.encode())
            .await;
        match put {
            Ok(()) => {
                self.seq += 1;
                self.state.published.store(self.seq, Ordering::Relaxed);
            }
            Err(error) => tracing::warn!(lane = %name, %error, "access unit not published"),
        }
    }
}
