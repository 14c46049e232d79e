//! When the camera task receives the camera's frames: for its whole life (`always`), or while
//! it has viewers and [`LINGER`] after the last one left (`while_watched`).

use super::{CameraTask, RETRY, RING_CAPACITY};
use crate::camera::FrameSource;
use crate::config::SubscribeMode;
use camera_node::subscriber::{Cameras, FrameSubscriber};
use std::time::{Duration, Instant};

/// `while_watched`: how long the subscription outlives the last viewer, so that a page reload
/// or a burst of snapshots does not restart an on-demand camera's pipeline each time.
pub(super) const LINGER: Duration = Duration::from_secs(2);

impl CameraTask {
    pub(super) async fn on_viewers(&mut self, count: usize) {
        self.watched = count;
        if self.env.settings.subscribe != SubscribeMode::WhileWatched {
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
