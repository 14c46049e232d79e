//! What a camera task is started with: where its frames come from, the part of the gateway's
//! configuration it needs, and what all tasks share (zenoh, metrics, the way back to discovery).

use super::encoders::EncoderBudget;
use crate::config::{Config, SubscribeMode};
use crate::metrics::Metrics;
use crate::throttle::SharedThrottle;
use camera_protocol::keys::CameraKeys;
use camera_protocol::ros2::Ros2Camera;
use camera_protocol::FrameLimits;
use camera_record::{RecordedCamera, Sinks};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Where a camera's frames come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameSource {
    /// A camera node at these keys (its own concrete prefix and name, found by discovery):
    /// frames, info and snapshot queryables.
    Node(CameraKeys),
    /// A ROS 2 CompressedImage topic on rmw_zenoh: frames only (no info, no snapshot query).
    Ros2(Ros2Camera),
}

impl FrameSource {
    /// The camera node's keys; `None` for a ROS 2 topic.
    pub fn keys(&self) -> Option<&CameraKeys> {
        match self {
            Self::Node(keys) => Some(keys),
            Self::Ros2(_) => None,
        }
    }

    /// The camera `id` as recordings name it (folder, topic, `frame_id`); `None` for an id
    /// that cannot be a folder (a ROS 2 id is always a plain camera id).
    pub fn recorded(&self, id: &str) -> Option<RecordedCamera> {
        match self {
            Self::Node(keys) => Some(RecordedCamera::node(id, keys)),
            Self::Ros2(topic) => RecordedCamera::topic_only(id, &topic.topic).ok(),
        }
    }

    /// The key frames arrive on, for log messages.
    pub fn frame_key(&self) -> String {
        match self {
            Self::Node(keys) => keys.jpeg(),
            Self::Ros2(topic) => topic.data_key.clone(),
        }
    }
}

/// What a camera task needs from the gateway's configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub subscribe: SubscribeMode,
    pub offline_after: Duration,
    /// Frames later than this behind the camera's newest are dropped (`ingest::Freshness`).
    pub max_frame_lag: Duration,
    pub no_signal_interval: Duration,
    pub info_timeout: Duration,
    pub forget_after: Duration,
    /// What a received frame must satisfy before it is kept, served or decoded.
    pub limits: FrameLimits,
    /// `[variants] max_per_camera`: gateway encoders one camera may run.
    pub max_encoders: usize,
    /// `[record] video_only`: a camera with an H.264 lane is recorded from it alone.
    pub record_video_only: bool,
}

impl Settings {
    pub fn of(config: &Config) -> Self {
        Self {
            subscribe: config.subscribe,
            offline_after: config.offline_after(),
            max_frame_lag: config.max_frame_lag(),
            no_signal_interval: config.no_signal_interval(),
            info_timeout: config.info_timeout(),
            forget_after: config.forget_after(),
            limits: config.frame_limits(),
            max_encoders: config.variants.max_per_camera,
            record_video_only: config.record.video_only,
        }
    }
}

/// A camera task asking discovery to remove it: offline and unwatched for `forget_after`, or
/// a phantom (`super::proof`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForgetRequest {
    pub camera: String,
    pub generation: u64,
    /// No valid frame or info within `proof::PROVE_WITHIN`: removed even with its token present.
    pub phantom: bool,
}

/// What every camera task shares: where to talk, what to count, whom to ask to be forgotten,
/// where accepted frames are recorded; how often to log.
#[derive(Debug, Clone)]
pub struct Env {
    pub zenoh: zenoh::Session,
    pub metrics: Arc<Metrics>,
    pub settings: Arc<Settings>,
    pub forget: mpsc::UnboundedSender<ForgetRequest>,
    /// `--record` and the clip buffer (empty when both are off); recording counts as a
    /// viewer under `while_watched`.
    pub record: Sinks,
    /// `[variants] max_total`: gateway encoders of all cameras together.
    pub encoders: Arc<EncoderBudget>,
    /// Camera appear/disappear lines, throttled across all cameras (liveliness tokens come
    /// from the network and can churn).
    pub events: SharedThrottle,
}
