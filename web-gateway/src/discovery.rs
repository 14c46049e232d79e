//! Discovery: cameras appear and vanish with their zenoh liveliness tokens
//! (`<prefix>/<camera>`), and each discovered camera is asked for its info reply.
//!
//! History is requested so that cameras already running when the gateway starts are found
//! at once, and their snapshot queryable is asked for a first frame. Frames alone also create a camera (see `ingest`), so a node without a token
//! still streams; it is just not shown offline until its frames stop.

use crate::state::AppState;
use camera_node::info::query_info;
use camera_node::keys::{self, CameraKeys};
use camera_node::subscriber::fetch_snapshot;
use std::time::Duration;
use zenoh::sample::SampleKind;

/// How often the info reply of an online camera is refreshed (frame counters, state).
const INFO_REFRESH: Duration = Duration::from_secs(10);

/// Declares the liveliness subscriber; events flow once [`run`] is polled.
pub async fn subscribe(
    state: &AppState,
) -> Result<
    zenoh::pubsub::Subscriber<zenoh::handlers::FifoChannelHandler<zenoh::sample::Sample>>,
    zenoh::Error,
> {
    state
        .zenoh
        .liveliness()
        .declare_subscriber(keys::all_liveliness(&state.config.prefix))
        .history(true)
        .await
}

/// Applies liveliness events to the registry until shutdown.
pub async fn run(
    state: AppState,
    subscriber: zenoh::pubsub::Subscriber<
        zenoh::handlers::FifoChannelHandler<zenoh::sample::Sample>,
    >,
) {
    loop {
        let sample = tokio::select! {
            _ = state.cancel.cancelled() => break,
            sample = subscriber.recv_async() => match sample {
                Ok(sample) => sample,
                Err(_) => break,
            },
        };
        let key = sample.key_expr().as_str();
        let Some(id) = keys::camera_of(&state.config.prefix, key) else {
            tracing::debug!(%key, "ignoring liveliness token outside the camera layout");
            continue;
        };
        let camera = state.registry.get_or_insert(id);
        match sample.kind() {
            SampleKind::Put => {
                tracing::info!(camera = %id, "liveliness token present: camera online");
                camera.set_online(true);
                // One Put per token appearance, so this starts one refresher per node run.
                state
                    .tracker
                    .spawn(refresh_info(state.clone(), id.to_owned()));
            }
            SampleKind::Delete => {
                tracing::warn!(camera = %id, "liveliness token gone: camera offline");
                camera.set_online(false);
            }
        }
    }
    tracing::debug!("discovery stopped");
}

/// Queries the camera's info now and every [`INFO_REFRESH`] while it stays online.
async fn refresh_info(state: AppState, id: String) {
    let (Ok(keys), Some(camera)) = (
        CameraKeys::new(&state.config.prefix, &id),
        state.registry.get(&id),
    ) else {
        return;
    };
    let token = camera.token().clone();
    let mut online = camera.subscribe_online();
    // A slow or just-started camera may not publish for a while; its snapshot queryable
    // gives new viewers a picture right away.
    if camera.latest_live().is_none() {
        let fetched = tokio::select! {
            _ = token.cancelled() => return,
            fetched = fetch_snapshot(&state.zenoh, &keys, state.config.info_timeout()) => fetched,
        };
        match fetched {
            Ok(Some(frame)) if camera.latest_live().is_none() => {
                state.metrics.frame_received(&id);
                camera.publish_live(frame);
            }
            Ok(_) => {}
            Err(error) => tracing::debug!(camera = %id, %error, "snapshot query failed"),
        }
    }
    loop {
        let reply = tokio::select! {
            _ = token.cancelled() => return,
            reply = query_info(&state.zenoh, &keys, state.config.info_timeout()) => reply,
        };
        if let Err(error) = &reply {
            tracing::debug!(camera = %id, %error, "info query failed");
        }
        camera.set_info(reply.map_err(|error| error.to_string()));
        tokio::select! {
            _ = token.cancelled() => return,
            _ = tokio::time::sleep(INFO_REFRESH) => {}
            _ = online.wait_for(|online| !*online) => return,
        }
    }
}
