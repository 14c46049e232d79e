//! Ingest: zenoh frame subscribers feeding the registry — one on every camera's frame key
//! (`subscribe = "always"`), or one per watched camera declared by [`crate::watch`].
//!
//! Each valid frame is wrapped in one `Arc` and stored in its camera's slot; that single copy
//! serves every client. Samples that are not a complete JPEG with valid metadata are dropped
//! here, counted per camera, and warned about at most once per camera per interval so a
//! misbehaving publisher cannot flood the log.

use crate::state::AppState;
use camera_node::subscriber::{Cameras, FrameSubscriber, SubscribeError};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Frames buffered between zenoh and this task; small, because only the newest matters.
const RING_CAPACITY: usize = 16;
/// At most one warning per camera per this interval about invalid payloads.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// Declares the frame subscriber; frames flow once [`run`] is polled.
pub async fn subscribe(state: &AppState) -> Result<FrameSubscriber, SubscribeError> {
    FrameSubscriber::declare(
        &state.zenoh,
        &state.config.prefix,
        Cameras::All,
        RING_CAPACITY,
    )
    .await
}

/// Moves frames from `subscriber` into the registry until `stop` fires or the session
/// closes, then drops (undeclares) the subscriber.
pub async fn run(state: AppState, subscriber: FrameSubscriber, stop: CancellationToken) {
    let mut last_warning: HashMap<String, (Instant, u64)> = HashMap::new();
    loop {
        let received = tokio::select! {
            _ = stop.cancelled() => break,
            received = subscriber.recv() => match received {
                Some(received) => received,
                None => break,
            },
        };
        match received.frame {
            Ok(frame) => {
                let camera = state.registry.get_or_insert(&received.camera);
                state.metrics.frame_received(&received.camera);
                let arrival = camera.publish_live(frame);
                if arrival.dropped > 0 {
                    state
                        .metrics
                        .frames_dropped(&received.camera, arrival.dropped);
                }
                if arrival.came_online {
                    tracing::info!(camera = %received.camera, "frames flowing: camera online");
                }
            }
            Err(error) => {
                state.metrics.invalid_payload(&received.camera);
                let entry = last_warning
                    .entry(received.camera.clone())
                    .or_insert((Instant::now() - WARN_EVERY, 0));
                entry.1 += 1;
                if entry.0.elapsed() >= WARN_EVERY {
                    tracing::warn!(
                        camera = %received.camera,
                        %error,
                        dropped = entry.1,
                        "dropping invalid frame payload(s)"
                    );
                    *entry = (Instant::now(), 0);
                }
            }
        }
    }
    tracing::debug!("ingest stopped");
}
