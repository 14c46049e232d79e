//! What the task tells others about its camera: the status snapshot it publishes after every
//! event, whose session the camera is, and what a query of the node needs.

use super::CameraTask;
use crate::camera::CameraStatus;
use camera_protocol::keys::CameraKeys;
use camera_protocol::meta::SourceId;
use std::time::{Duration, Instant};

impl CameraTask {
    /// The camera's session: the served publisher's, else the one whose info was believed.
    pub(super) fn owner(&self) -> Option<SourceId> {
        self.checks.owner(Instant::now()).or(self.info_from)
    }

    /// What an info or snapshot query of the node needs; `None` for a ROS 2 topic, which
    /// answers neither.
    pub(super) fn query_parts(&self) -> Option<(zenoh::Session, CameraKeys, Duration)> {
        let keys = self.source.keys()?.clone();
        Some((self.env.zenoh.clone(), keys, self.env.settings.info_timeout))
    }

    pub(super) fn publish_status(&self) {
        self.status.send_replace(CameraStatus {
            online: self.online,
            subscribed: self.subscription.is_some(),
            recording: self.recording(),
            last_live: self.last_live.clone(),
            last_live_at: self.last_live_at,
            rate: self.fps,
            offline_since: self.offline_since,
            info: self.info.clone(),
            info_error: self.info_error.clone(),
            node_variants: self.feeds.subscribed().into(),
            conflict: self.checks.conflict(Instant::now()),
            owner: self.owner(),
        });
    }
}
