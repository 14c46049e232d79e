//! Receiving frames: subscribe to one camera or to every camera under one or more prefixes
//! (patterns such as `*/camera` included).
//!
//! Uses a small ring channel, not zenoh's default FIFO: a subscriber that falls behind
//! should see the newest frames, not work through a backlog of stale ones.

use crate::frame::{DecodeError, Frame, FrameLimits};
use crate::keys::{self, CameraKeys, KeyError, Layout, PrefixSet};
use crate::meta::SourceId;
use crate::replies::Body;
use std::sync::Arc;
use zenoh::handlers::{IntoHandler, RingChannel, RingChannelHandler};
use zenoh::pubsub::Subscriber;
use zenoh::sample::Sample;

/// Frames buffered per subscriber before the oldest is dropped.
pub const DEFAULT_RING_CAPACITY: usize = 8;

/// Which cameras to receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cameras {
    All,
    One(String),
}

/// One sample received on a frame key, decoded or not.
#[derive(Debug)]
pub struct Received {
    /// Camera name taken from the key (for a ROS 2 topic, the camera id it is shown as).
    pub camera: String,
    /// The camera's keys (concrete prefix and name); `None` for a ROS 2 topic.
    pub keys: Option<CameraKeys>,
    /// The decoded frame, or why the sample was not a valid frame.
    pub frame: Result<Frame, DecodeError>,
    /// The publisher's session, when its attachment names it (camera nodes do; ROS 2 topics
    /// and older publishers do not).
    pub source: Option<SourceId>,
}

/// Whose frames a subscriber receives, which decides how samples decode.
#[derive(Debug)]
enum Source {
    /// Every camera node under these prefixes (`docs/protocol.md`): keys are split.
    Nodes(PrefixSet),
    /// One camera node's frames, or one of its variants: the key is exact.
    One(CameraKeys),
    /// One ROS 2 CompressedImage topic, shown as this camera (`crate::ros2::receive`).
    Ros2 { camera: String },
}

/// A zenoh subscriber on `<prefix>/<camera>/jpeg`, on `<pattern>/*/jpeg` for each pattern of
/// a [`PrefixSet`], or on one ROS 2 CompressedImage topic; samples of all its declarations
/// meet in one ring.
#[derive(Debug)]
pub struct FrameSubscriber {
    source: Source,
    limits: FrameLimits,
    /// Held for their declarations (dropping one undeclares it).
    _declared: Vec<Subscriber<()>>,
    samples: RingChannelHandler<Sample>,
}

impl FrameSubscriber {
    /// Declares the subscriber; frames arrive through [`FrameSubscriber::recv`]. With
    /// `Cameras::All`, `prefix` may be a pattern (`*/camera`, see [`PrefixSet`]).
    pub async fn declare(
        session: &zenoh::Session,
        prefix: &str,
        cameras: Cameras,
        ring_capacity: usize,
    ) -> Result<Self, SubscribeError> {
        match cameras {
            Cameras::All => {
                Self::declare_all(session, &PrefixSet::single(prefix)?, ring_capacity).await
            }
            Cameras::One(camera) => {
                let keys = CameraKeys::new(prefix, &camera)?;
                let key = keys.jpeg();
                Self::declare_exact(session, Source::One(keys), key, ring_capacity).await
            }
        }
    }

    /// Declares one subscriber per pattern of `prefixes` on every camera's frames. A key two
    /// patterns match is passed on by the first one's declaration only, so each frame
    /// arrives once.
    pub async fn declare_all(
        session: &zenoh::Session,
        prefixes: &PrefixSet,
        ring_capacity: usize,
    ) -> Result<Self, SubscribeError> {
        let (ring, samples) = RingChannel::new(ring_capacity.max(1)).into_handler();
        let shared = Arc::new(prefixes.clone());
        let mut declared = Vec::new();
        for (index, key) in prefixes.jpeg_keys().into_iter().enumerate() {
            let (ring, prefixes) = (ring.clone(), shared.clone());
            let owned = move |sample: &Sample| {
                prefixes
                    .find(sample.key_expr().as_str(), Layout::Jpeg)
                    .is_some_and(|found| found.pattern == index)
            };
            let subscriber = session
                .declare_subscriber(key)
                .callback(move |sample| {
                    if owned(&sample) {
                        ring.call(sample);
                    }
                })
                .await
                .map_err(SubscribeError::Zenoh)?;
            declared.push(subscriber);
        }
        Ok(Self {
            source: Source::Nodes(prefixes.clone()),
            limits: FrameLimits::default(),
            _declared: declared,
            samples,
        })
    }

    async fn declare_exact(
        session: &zenoh::Session,
        source: Source,
        key: String,
        ring_capacity: usize,
    ) -> Result<Self, SubscribeError> {
        let (ring, samples) = RingChannel::new(ring_capacity.max(1)).into_handler();
        let subscriber = session
            .declare_subscriber(key)
            .with(ring)
            .await
            .map_err(SubscribeError::Zenoh)?;
        Ok(Self {
            source,
            limits: FrameLimits::default(),
            _declared: vec![subscriber],
            samples,
        })
    }

    /// Declares a subscriber on the node-encoded variant `variant` of one camera
    /// (`<prefix>/<camera>/jpeg/<variant>`, see `[[variants]]`). The name usually comes from the
    /// node's info reply, so it is validated like a camera id: a `*` would subscribe to a wildcard.
    pub async fn declare_variant(
        session: &zenoh::Session,
        keys: &CameraKeys,
        variant: &str,
        ring_capacity: usize,
    ) -> Result<Self, SubscribeError> {
        keys::validate_camera_id(variant)
            .map_err(|_| SubscribeError::Variant(variant.to_owned()))?;
        let key = keys.variant_jpeg(variant);
        Self::declare_exact(session, Source::One(keys.clone()), key, ring_capacity).await
    }

    /// Validates received frames against `limits` instead of the defaults.
    pub fn with_limits(mut self, limits: FrameLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Subscribes to a ROS 2 CompressedImage topic (see [`crate::ros2::Ros2Camera`]); its
    /// samples arrive as frames of `camera`.
    pub async fn declare_ros2(
        session: &zenoh::Session,
        camera: &crate::ros2::Ros2Camera,
        ring_capacity: usize,
    ) -> Result<Self, SubscribeError> {
        keys::validate_camera_id(&camera.camera)?;
        let source = Source::Ros2 {
            camera: camera.camera.clone(),
        };
        Self::declare_exact(session, source, camera.data_key.clone(), ring_capacity).await
    }

    /// The next sample, or `None` once the session is closed.
    ///
    /// Samples whose key does not name a valid camera are skipped: they cannot be
    /// attributed to anyone.
    pub async fn recv(&self) -> Option<Received> {
        loop {
            let sample = self.samples.recv_async().await.ok()?;
            let keys = match &self.source {
                Source::Ros2 { camera } => {
                    return Some(Received {
                        camera: camera.clone(),
                        keys: None,
                        frame: self.ros2_frame(&sample),
                        source: None,
                    })
                }
                Source::One(keys) => keys.clone(),
                Source::Nodes(prefixes) => {
                    let found = prefixes.find(sample.key_expr().as_str(), Layout::Jpeg);
                    match found.and_then(|found| CameraKeys::new(found.prefix, found.camera).ok()) {
                        Some(keys) => keys,
                        None => continue,
                    }
                }
            };
            let source = sample
                .attachment()
                .and_then(|bytes| SourceId::from_attachment(&bytes.to_bytes()));
            return Some(Received {
                camera: keys.camera().to_owned(),
                keys: Some(keys),
                frame: Frame::from_sample_with(&sample, &self.limits),
                source,
            });
        }
    }
}

impl FrameSubscriber {
    /// A ROS 2 sample as a frame, held to the same limits as a camera node's.
    fn ros2_frame(&self, sample: &Sample) -> Result<Frame, DecodeError> {
        self.limits.check_len(sample.payload().len())?;
        let frame = Frame::from_ros2_sample(sample)?;
        self.limits.check(&frame.jpeg, &frame.meta)?;
        Ok(frame)
    }
}

/// A subscriber that could not be declared.
#[derive(Debug, thiserror::Error)]
pub enum SubscribeError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("variant name {0:?} is invalid: use 1-64 characters from A-Z a-z 0-9 _ - (e.g. \"preview\")")]
    Variant(String),
    #[error("cannot declare zenoh subscriber: {0}")]
    Zenoh(zenoh::Error),
}

/// Asks a camera node for its latest frame (the `<prefix>/<camera>/jpeg` queryable): the
/// first answer of any session, held to [`FrameLimits::default`] as it arrives.
pub async fn fetch_snapshot(
    session: &zenoh::Session,
    keys: &CameraKeys,
    timeout: std::time::Duration,
) -> Result<Option<Frame>, SnapshotError> {
    let limits = FrameLimits::default();
    let replies = crate::replies::gather(session, &keys.jpeg(), timeout, limits.max_frame_bytes)
        .await
        .map_err(SnapshotError::Zenoh)?;
    let Some(answer) = replies.answers.into_iter().next() else {
        return Ok(None);
    };
    match answer.body {
        Body::Sample(sample) => Ok(Some(Frame::from_sample_with(&sample, &limits)?)),
        Body::Error(message) => Err(SnapshotError::Replied(message)),
        Body::TooLarge(bytes) => Err(SnapshotError::Decode(DecodeError::TooLarge {
            bytes,
            max: limits.max_frame_bytes,
        })),
    }
}

/// A snapshot query that failed.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("zenoh query failed: {0}")]
    Zenoh(zenoh::Error),
    #[error("camera answered with an error: {0}")]
    Replied(String),
    #[error(transparent)]
    Decode(#[from] DecodeError),
}
