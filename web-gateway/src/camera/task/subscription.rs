//! When the camera task receives the camera's frames: for its whole life (`always`, or while
//! recording: recording counts as a viewer), or while it has viewers and [`LINGER`] after the
//! last one left (`while_watched`); and the accepted frames' way to recording and clips.

use super::{CameraTask, RETRY, RING_CAPACITY};
use crate::camera::{Env, FrameSource};
use crate::config::SubscribeMode;
use camera_protocol::subscriber::{Cameras, FrameSubscriber, Received};
use camera_protocol::Frame;
use camera_record::RecordedCamera;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `while_watched`: how long the subscription outlives the last viewer, so that a page reload
/// or a burst of snapshots does not restart an on-demand camera's pipeline each time.
pub(super) const LINGER: Duration = Duration::from_secs(2);

/// How recordings name camera `id`, when recording or clips are on.
pub(super) fn recorded_as(
    env: &Env,
    source: &FrameSource,
    id: &str,
) -> Option<Arc<RecordedCamera>> {
    env.record
        .is_active()
        .then(|| source.recorded(id).map(Arc::new))?
}

impl CameraTask {
    /// Hands an accepted frame to recording and the clip buffer (never waits on the disk).
    pub(super) fn record(&self, frame: &Frame) {
        let lane_only = self.env.settings.record_video_only
            && self.recording()
            && self.recorded_lane().is_some();
        if lane_only {
            return; // recorded from its H.264 lane (`video::Receive::record`)
        }
        if let Some(camera) = &self.recorded {
            self.env.record.take(camera, frame);
        }
    }

    /// Whether `--record` takes this camera's frames: then the task holds its subscription
    /// for good, as for a viewer who never leaves (the clip buffer is on under
    /// `while_watched` only beside recording).
    pub(super) fn recording(&self) -> bool {
        self.recorded.is_some() && self.env.record.recorder.is_some()
    }

    pub(super) async fn on_viewers(&mut self, count: usize) {
        self.watched = count;
        if self.env.settings.subscribe != SubscribeMode::WhileWatched || self.recording() {
            return;
        }
        if count > 0 {
            self.unsubscribe_at = None;
            if self.subscription.is_none() {
                self.subscribe().await;
            }
        } else if self.subscription.is_some() {
            self.unsubscribe_at = Some(Instant::now() + LINGER);
        } else {
            self.subscribe_at = None;
        }
    }

    pub(super) async fn subscribe(&mut self) {
        self.subscribe_at = None;
        let declared = match self.source.clone() {
            FrameSource::Node(keys) => {
                FrameSubscriber::declare(
                    &self.env.zenoh,
                    keys.prefix(),
                    Cameras::One(keys.camera().to_owned()),
                    RING_CAPACITY,
                )
                .await
            }
            FrameSource::Ros2(topic) => {
                FrameSubscriber::declare_ros2(&self.env.zenoh, &topic, RING_CAPACITY).await
            }
        }
        .map(|subscriber| subscriber.with_limits(self.env.settings.limits));
        match declared {
            Ok(subscriber) => {
                if let Some(repeats) = self.env.events.hit(&self.id, "subscribed") {
                    tracing::info!(camera = %self.id, %repeats, "subscribed to frames");
                }
                self.subscription = Some(subscriber);
                self.subscribed_at = Instant::now();
            }
            Err(error) => {
                tracing::error!(camera = %self.id, %error, "cannot subscribe to frames; retrying");
                self.subscribe_at = Some(Instant::now() + RETRY);
            }
        }
    }
}

/// The next sample of `subscription`; never resolves without one. `None`: session closed.
pub(super) async fn next_sample(subscription: Option<&FrameSubscriber>) -> Option<Received> {
    match subscription {
        Some(subscription) => subscription.recv().await,
        None => std::future::pending().await,
    }
}
