//! Receiving frames: subscribe to one camera or to every camera under a prefix.
//!
//! Uses a small ring channel, not zenoh's default FIFO: a subscriber that falls behind
//! should see the newest frames, not work through a backlog of stale ones.

use crate::frame::{DecodeError, Frame, FrameLimits};
use crate::keys::{self, CameraKeys, KeyError};
use crate::meta::SourceId;
use zenoh::handlers::{RingChannel, RingChannelHandler};
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
    /// Camera id taken from the key.
    pub camera: String,
    /// The decoded frame, or why the sample was not a valid frame.
    pub frame: Result<Frame, DecodeError>,
    /// The publisher's session, when its attachment names it (camera nodes do; ROS 2 topics
    /// and older publishers do not).
    pub source: Option<SourceId>,
}

/// Whose frames a subscriber receives, which decides how samples decode.
#[derive(Debug)]
enum Source {
    /// Camera nodes under this prefix (`docs/protocol.md`).
    Nodes { prefix: String },
    /// One ROS 2 CompressedImage topic, shown as this camera (`crate::ros2::receive`).
    Ros2 { camera: String },
}

/// A zenoh subscriber on `<prefix>/<camera>/jpeg` or `<prefix>/*/jpeg`, or on one ROS 2
/// CompressedImage topic.
#[derive(Debug)]
pub struct FrameSubscriber {
    source: Source,
    limits: FrameLimits,
    inner: Subscriber<RingChannelHandler<Sample>>,
}

impl FrameSubscriber {
    /// Declares the subscriber; frames arrive through [`FrameSubscriber::recv`].
    pub async fn declare(
        session: &zenoh::Session,
        prefix: &str,
        cameras: Cameras,
        ring_capacity: usize,
    ) -> Result<Self, SubscribeError> {
        let key = match &cameras {
            Cameras::All => {
                keys::validate_prefix(prefix)?;
                keys::all_jpeg(prefix)
            }
            Cameras::One(camera) => CameraKeys::new(prefix, camera)?.jpeg(),
        };
        let inner = session
            .declare_subscriber(key)
            .with(RingChannel::new(ring_capacity.max(1)))
            .await
            .map_err(SubscribeError::Zenoh)?;
        Ok(Self {
            source: Source::Nodes {
                prefix: prefix.to_owned(),
            },
            limits: FrameLimits::default(),
            inner,
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
        let inner = session
            .declare_subscriber(keys.variant_jpeg(variant))
            .with(RingChannel::new(ring_capacity.max(1)))
            .await
            .map_err(SubscribeError::Zenoh)?;
        Ok(Self {
            source: Source::Nodes {
                prefix: keys.prefix().to_owned(),
            },
            limits: FrameLimits::default(),
            inner,
        })
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
        let inner = session
            .declare_subscriber(camera.data_key.clone())
            .with(RingChannel::new(ring_capacity.max(1)))
            .await
            .map_err(SubscribeError::Zenoh)?;
        Ok(Self {
            source: Source::Ros2 {
                camera: camera.camera.clone(),
            },
            limits: FrameLimits::default(),
            inner,
        })
    }

    /// The next sample, or `None` once the session is closed.
    ///
    /// Samples whose key does not name a valid camera are skipped: they cannot be
    /// attributed to anyone.
    pub async fn recv(&self) -> Option<Received> {
        loop {
            let sample = self.inner.recv_async().await.ok()?;
            match &self.source {
                Source::Nodes { prefix } => {
                    if let Some(camera) = keys::camera_of(prefix, sample.key_expr().as_str()) {
                        let source = sample
                            .attachment()
                            .and_then(|bytes| SourceId::from_attachment(&bytes.to_bytes()));
                        return Some(Received {
                            camera: camera.to_owned(),
                            frame: Frame::from_sample_with(&sample, &self.limits),
                            source,
                        });
                    }
                }
                Source::Ros2 { camera } => {
                    return Some(Received {
                        camera: camera.clone(),
                        frame: self.ros2_frame(&sample),
                        source: None,
                    })
                }
            }
        }
    }
}

impl FrameSubscriber {
    /// A ROS 2 sample as a frame, held to the same limits as a camera node's.
    fn ros2_frame(&self, sample: &Sample) -> Result<Frame, DecodeError> {
        self.limits.check_len(sample.payload().len())?;
        let frame = crate::ros2::receive::frame_from_sample(sample)?;
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

/// Asks a camera node for its latest frame (the `<prefix>/<camera>/jpeg` queryable).
pub async fn fetch_snapshot(
    session: &zenoh::Session,
    keys: &CameraKeys,
    timeout: std::time::Duration,
) -> Result<Option<Frame>, SnapshotError> {
    let replies = session
        .get(keys.jpeg())
        .timeout(timeout)
        .await
        .map_err(SnapshotError::Zenoh)?;
    let Ok(reply) = replies.recv_async().await else {
        return Ok(None);
    };
    match reply.result() {
        Ok(sample) => Ok(Some(Frame::from_sample(sample)?)),
        Err(error) => Err(SnapshotError::Replied(
            error
                .payload()
                .try_to_string()
                .unwrap_or_default()
                .into_owned(),
        )),
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
