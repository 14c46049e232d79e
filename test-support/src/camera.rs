//! A synthetic camera node: the library's `FramePublisher` on its own zenoh session, publishing
//! drawn frames. What a gateway sees of it (frames, snapshot and info queryables, liveliness,
//! matching) is exactly what it sees of a real node, because it is the same code.

use crate::camera_variants::{VariantLane, VariantOptions};
use crate::free_port;
use crate::jpeg::{draw_frame, pad_jpeg, tint_of};
use crate::zenoh_peer::listening_config;
use bytes::Bytes;
use camera_protocol::info::{CameraInfo, CaptureState};
use camera_protocol::keys::CameraKeys;
use camera_protocol::meta::unix_now_ns;
use camera_protocol::{FramePublisher, PublisherOptions, PublisherStatus};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use zenoh::bytes::Encoding;

/// What a [`SyntheticCamera`] publishes.
#[derive(Debug, Clone)]
pub struct CameraOptions {
    pub prefix: String,
    pub id: String,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// Loopback port of the camera's zenoh listener (reuse one to "restart" a camera).
    pub port: u16,
    /// Distinct pictures cycled through (pre-rendered so publishing costs no CPU).
    pub distinct_frames: u32,
    /// Stop publishing after this many frames (the token and queryables stay).
    pub max_frames: Option<u64>,
    /// Extra bytes carried in JPEG comment segments, to make frames big (memory tests).
    pub padding: usize,
    /// With `max_frames`: wait until a subscriber matches before publishing (else the few
    /// frames go out before anyone listens, and only the snapshot queryable has them).
    pub wait_for_subscriber: bool,
    /// Variants published beside the frames while subscribed, as a node's `[[variants]]`.
    pub variants: Vec<VariantOptions>,
}

impl CameraOptions {
    pub fn new(id: &str, width: u32, height: u32) -> Self {
        Self {
            prefix: camera_protocol::keys::DEFAULT_PREFIX.to_owned(),
            id: id.to_owned(),
            width,
            height,
            fps: 20,
            port: free_port(),
            distinct_frames: 8,
            max_frames: None,
            padding: 0,
            wait_for_subscriber: true,
            variants: Vec::new(),
        }
    }

    /// Adds a variant `name` of exactly `width`x`height` (see [`crate::camera_variants`]).
    pub fn variant(mut self, name: &str, width: u32, height: u32) -> Self {
        self.variants.push(VariantOptions {
            name: name.to_owned(),
            width,
            height,
        });
        self
    }

    pub fn publish_before_subscribers(mut self) -> Self {
        self.wait_for_subscriber = false;
        self
    }

    pub fn max_frames(mut self, frames: u64) -> Self {
        self.max_frames = Some(frames);
        self
    }

    pub fn padding(mut self, bytes: usize) -> Self {
        self.padding = bytes;
        self
    }

    pub fn fps(mut self, fps: u32) -> Self {
        self.fps = fps;
        self
    }

    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Publishes under `prefix` (e.g. `robot1/camera`) instead of the default one.
    pub fn prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.to_owned();
        self
    }

    fn info(&self, keys: &CameraKeys) -> CameraInfo {
        CameraInfo {
            camera: self.id.clone(),
            source: "test".into(),
            pipeline: "synthetic (test-support)".into(),
            width: self.width,
            height: self.height,
            fps: self.fps,
            encoder: "image-rs".into(),
            quality: 80,
            state: CaptureState::Running,
            frames_published: 0,
            restarts: 0,
            last_error: None,
            node_version: "test".into(),
            variants: self.variants.iter().map(|v| v.info(keys, 0)).collect(),
            video: Vec::new(),
        }
    }
}

/// A camera node stand-in publishing synthetic frames on its own zenoh session.
#[derive(Debug)]
pub struct SyntheticCamera {
    pub options: CameraOptions,
    session: zenoh::Session,
    stop: CancellationToken,
    status: PublisherStatus,
    /// Whether the frame publisher has a matching subscriber (zenoh matching status), the
    /// signal a camera node with `on_demand = true` pauses on.
    matching: watch::Receiver<bool>,
    variants: Vec<Arc<VariantLane>>,
    /// The distinct pictures published in turn.
    pictures: Vec<Bytes>,
    task: tokio::task::JoinHandle<()>,
}

impl SyntheticCamera {
    /// Opens the session, declares the publisher (token, queryables) and starts publishing at `fps`.
    pub async fn start(options: CameraOptions) -> Self {
        let keys = CameraKeys::new(&options.prefix, &options.id).expect("valid keys");
        let config = listening_config(&format!("tcp/127.0.0.1:{}", options.port));
        // A restarted camera reuses its port, which the OS may hold for a moment.
        let deadline = Instant::now() + Duration::from_secs(20);
        let session = loop {
            match zenoh::open(config.clone()).await {
                Ok(session) => break session,
                Err(error) if Instant::now() < deadline => {
                    eprintln!("camera session not open yet ({error}); retrying");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(error) => panic!("cannot open camera session: {error}"),
            }
        };
        // Under another prefix the tint says it too: two robots' `front` look different.
        let tint = match options.prefix.as_str() {
            camera_protocol::keys::DEFAULT_PREFIX => tint_of(&options.id),
            _ => tint_of(&keys.liveliness()),
        };
        let frames: Vec<Bytes> = (0..options.distinct_frames.max(1))
            .map(|step| {
                let jpeg = draw_frame(options.width, options.height, tint, step);
                Bytes::from(pad_jpeg(&jpeg, options.padding))
            })
            .collect();
        let publisher = FramePublisher::declare(
            &session,
            &keys,
            options.info(&keys),
            PublisherOptions::default(),
        )
        .await
        .expect("declare the frame publisher");
        // Listener first, then the current status, so that no change falls in between.
        let listener = publisher.matching_listener().await.expect("listener");
        let initial = publisher.has_subscribers().await.expect("matching status");
        let (matching_tx, matching) = watch::channel(initial);
        let mut variants = Vec::new();
        for variant in &options.variants {
            let lane =
                VariantLane::declare(&session, &keys, variant.clone(), options.distinct_frames)
                    .await;
            variants.push(lane);
        }
        let stop = CancellationToken::new();
        let status = publisher.status();
        let task = tokio::spawn(run(
            publisher,
            options.clone(),
            (frames.clone(), variants.clone()),
            (listener, matching_tx),
            stop.clone(),
        ));
        Self {
            options,
            session,
            stop,
            status,
            matching,
            variants,
            pictures: frames,
            task,
        }
    }

    /// The distinct pictures it publishes in turn: every frame it sends is one of these,
    /// byte for byte.
    pub fn pictures(&self) -> &[Bytes] {
        &self.pictures
    }

    /// The declared variant `name`; panics if the options had none of that name.
    pub fn variant(&self, name: &str) -> &VariantLane {
        self.variants
            .iter()
            .find(|lane| lane.options.name == name)
            .unwrap_or_else(|| panic!("synthetic camera has no variant {name:?}"))
    }

    /// Waits until variant `name` has (or has no) subscriber; `false` after `timeout`.
    pub async fn wait_variant_matching(
        &self,
        name: &str,
        matching: bool,
        timeout: Duration,
    ) -> bool {
        let mut status = self.variant(name).matching.subscribe();
        tokio::time::timeout(timeout, status.wait_for(|now| *now == matching))
            .await
            .is_ok_and(|seen| seen.is_ok())
    }

    /// The endpoint a gateway connects to, e.g. `tcp/127.0.0.1:40123`.
    pub fn endpoint(&self) -> String {
        format!("tcp/127.0.0.1:{}", self.options.port)
    }

    /// Frames published so far.
    pub fn published(&self) -> u64 {
        self.status.published()
    }

    /// The publisher's counters, readable from another task.
    pub fn status(&self) -> PublisherStatus {
        self.status.clone()
    }

    /// Waits until the publisher's matching status is `matching`; `false` after `timeout`.
    pub async fn wait_matching(&self, matching: bool, timeout: Duration) -> bool {
        let mut status = self.matching.clone();
        tokio::time::timeout(timeout, status.wait_for(|now| *now == matching))
            .await
            .is_ok_and(|seen| seen.is_ok())
    }

    /// The publisher's source id, as its attachments carry it (see `FrameMeta::encode_with_source`).
    pub fn source(&self) -> camera_protocol::meta::SourceId {
        camera_protocol::meta::SourceId::of_session(&self.session)
    }

    /// Puts an arbitrary payload/attachment on this camera's frame key, bypassing the
    /// publisher's checks (for bad-input tests). Blocks rather than drops when zenoh's queue
    /// is full, so that big payloads arrive.
    pub async fn put_raw(&self, payload: Vec<u8>, attachment: Option<Vec<u8>>) {
        let keys = CameraKeys::new(&self.options.prefix, &self.options.id).expect("keys");
        let mut put = self
            .session
            .put(keys.jpeg(), payload)
            .encoding(Encoding::IMAGE_JPEG)
            .congestion_control(zenoh::qos::CongestionControl::Block);
        if let Some(attachment) = attachment {
            put = put.attachment(attachment);
        }
        put.await.expect("raw put");
    }

    /// Stops publishing, drops the liveliness token and closes the session (a "killed" node).
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), self.session.close()).await;
    }
}

type Matching = (
    zenoh::matching::MatchingListener<
        zenoh::handlers::FifoChannelHandler<zenoh::matching::MatchingStatus>,
    >,
    watch::Sender<bool>,
);

/// Publishes `frames` in turn at `options.fps` until `stop`; the publisher (and with it the
/// token and queryables) is dropped when this returns.
async fn run(
    mut publisher: FramePublisher,
    options: CameraOptions,
    (frames, variants): (Vec<Bytes>, Vec<Arc<VariantLane>>),
    (listener, matching): Matching,
    stop: CancellationToken,
) {
    let forward = async {
        while let Ok(status) = listener.recv_async().await {
            matching.send_replace(status.matching());
        }
    };
    let publish = async {
        // A camera with a frame budget waits for a subscriber, or its few frames would be lost.
        if options.max_frames.is_some() && options.wait_for_subscriber {
            let _ = matching.subscribe().wait_for(|matching| *matching).await;
        }
        let mut ticker =
            tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(options.fps.max(1))));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut seq = 0u64;
        while options.max_frames.is_none_or(|max| seq < max) {
            ticker.tick().await;
            let jpeg = frames[(seq % frames.len() as u64) as usize].clone();
            let captured = unix_now_ns();
            let sent = publisher
                .publish(jpeg, options.width, options.height, captured)
                .await;
            if let Err(error) = sent {
                eprintln!("synthetic camera {}: {error}", options.id);
                return;
            }
            for lane in &variants {
                lane.publish(seq, captured, 1).await;
            }
            seq += 1;
        }
        std::future::pending::<()>().await;
    };
    // Dropped (aborted) when this returns.
    let mut demand = tokio::task::JoinSet::new();
    for lane in &variants {
        demand.spawn(lane.clone().follow_matching());
    }
    tokio::select! {
        () = stop.cancelled() => {}
        () = forward => {}
        () = publish => {}
    }
}
