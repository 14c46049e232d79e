//! `subscribe = "while_watched"`: receive a camera's frames only while somebody watches it.
//!
//! A camera node with `on_demand = true` pauses its pipeline while its frame key has no
//! matching zenoh subscriber; a gateway holding a wildcard subscriber would keep every such
//! camera running. Here each camera (found by discovery) gets one task that declares a
//! subscriber on `<prefix>/<camera>/jpeg` when its viewer count (`registry::ViewerGuard`)
//! rises above zero and drops it [`GRACE`] after the last viewer left — the grace period
//! keeps a page reload or a snapshot burst from restarting the camera's pipeline each time.
//! Frames go through the same [`ingest::run`] as in `always` mode.

use crate::ingest;
use crate::registry::Camera;
use crate::state::AppState;
use camera_node::subscriber::{Cameras, FrameSubscriber};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How long a camera stays subscribed after its last viewer left.
pub const GRACE: Duration = Duration::from_secs(2);
/// Frames buffered between zenoh and ingest; small, because only the newest matters.
const RING_CAPACITY: usize = 4;
/// Pause before retrying a subscriber that could not be declared.
const RETRY: Duration = Duration::from_secs(1);

/// Starts one watcher per camera in the registry, now and as cameras are discovered.
pub async fn run(state: AppState) {
    let mut added = state.registry.subscribe_added();
    added.mark_changed();
    let mut watched: HashSet<String> = HashSet::new();
    loop {
        tokio::select! {
            _ = state.cancel.cancelled() => break,
            changed = added.changed() => if changed.is_err() { break },
        }
        for camera in state.registry.list() {
            if watched.insert(camera.id().to_owned()) {
                state.tracker.spawn(watch_camera(state.clone(), camera));
            }
        }
    }
}

/// Subscribes to `camera` while it has viewers, until shutdown.
async fn watch_camera(state: AppState, camera: Arc<Camera>) {
    let token = camera.token().clone();
    let mut viewers = camera.subscribe_viewers();
    loop {
        tokio::select! {
            _ = token.cancelled() => return,
            seen = watched(&mut viewers) => if !seen { return },
        }
        let declared = FrameSubscriber::declare(
            &state.zenoh,
            &state.config.prefix,
            Cameras::One(camera.id().to_owned()),
            RING_CAPACITY,
        )
        .await;
        let subscriber = match declared {
            Ok(subscriber) => subscriber,
            Err(error) => {
                tracing::error!(camera = %camera.id(), %error, "cannot subscribe to watched camera");
                tokio::select! {
                    _ = token.cancelled() => return,
                    _ = tokio::time::sleep(RETRY) => continue,
                }
            }
        };
        tracing::info!(camera = %camera.id(), "watched: subscribed to frames");
        camera.set_subscribed(true);
        let stop = token.child_token();
        let ingest = ingest::run(state.clone(), subscriber, stop.clone());
        tokio::pin!(ingest);
        let session_closed = tokio::select! {
            () = &mut ingest => true,
            () = unwatched(&mut viewers) => false,
        };
        stop.cancel();
        ingest.await;
        camera.set_subscribed(false);
        if session_closed || token.is_cancelled() {
            return;
        }
        tracing::info!(camera = %camera.id(), "unwatched for {GRACE:?}: unsubscribed from frames");
    }
}

/// Returns once the viewer count has stayed at zero for [`GRACE`] (never if the camera is gone).
async fn unwatched(viewers: &mut watch::Receiver<usize>) {
    loop {
        if viewers.wait_for(|count| *count == 0).await.is_err() {
            return std::future::pending().await;
        }
        tokio::select! {
            _ = tokio::time::sleep(GRACE) => return,
            back = watched(viewers) => if !back {
                return std::future::pending().await;
            },
        }
    }
}

/// Waits for a viewer; `false` if the camera is gone.
async fn watched(viewers: &mut watch::Receiver<usize>) -> bool {
    viewers.wait_for(|count| *count > 0).await.is_ok()
}
