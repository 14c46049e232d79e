//! A camera's state as its task publishes it after every event (a `watch` snapshot), for
//! JSON, snapshots and the page.

use super::sources;
use camera_protocol::{CameraInfo, Frame};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Window over which the frame rate is measured; older rates read as 0.
pub(super) const FPS_WINDOW: Duration = Duration::from_secs(2);

/// A camera's state as of its task's last event, for JSON, snapshots and the page.
#[derive(Debug, Clone, Default)]
pub struct CameraStatus {
    pub online: bool,
    /// Whether the gateway receives this camera's frames now; while it does not (unwatched
    /// under `subscribe = "while_watched"`), missing frames say nothing about the camera.
    pub subscribed: bool,
    /// Its accepted frames go to `--record` and/or the clip buffer (then it is subscribed).
    pub recording: bool,
    /// The newest frame the camera captured (never a NO SIGNAL picture).
    pub last_live: Option<Arc<Frame>>,
    pub last_live_at: Option<Instant>,
    /// Frames per second at the last frame; see [`CameraStatus::fps`].
    pub rate: f64,
    pub offline_since: Option<SystemTime>,
    /// The node's latest info reply, refreshed while its liveliness token is present.
    pub info: Option<Arc<CameraInfo>>,
    pub info_error: Option<Arc<str>>,
    /// Node-encoded variants the gateway subscribes to now (they have clients), sorted.
    pub node_variants: Arc<[String]>,
    /// Several publishers on the camera's key (one served, the others ignored).
    pub conflict: Option<sources::Conflict>,
    /// The camera's session (the served publisher's, else the one whose info was believed):
    /// the only one whose snapshot replies count (`super::replier`).
    pub owner: Option<camera_protocol::meta::SourceId>,
}

impl CameraStatus {
    /// Measured frames per second; 0 once frames stopped for a couple of seconds.
    pub fn fps(&self) -> f64 {
        match self.last_live_at {
            Some(at) if at.elapsed() <= FPS_WINDOW => self.rate,
            _ => 0.0,
        }
    }
}
