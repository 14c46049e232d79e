//! `GET /cameras/{id}/snapshot.jpg[?after_seq=N&max_age_ms=M]`: the latest live frame.
//!
//! Serves the frame the gateway already holds (no zenoh round trip); `after_seq` waits,
//! bounded by `snapshot_wait_ms`, for a newer frame so a client can take a fresh picture,
//! counting as a viewer meanwhile (so `subscribe = "while_watched"` receives frames). An
//! unwatched camera under `while_watched` has no frames flowing here, so a plain request asks
//! the node's snapshot queryable instead of serving an old frame.

use super::camera;
use crate::error::{ApiError, ApiQuery};
use crate::mjpeg::timestamp;
use crate::registry::Camera;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use camera_node::keys::CameraKeys;
use camera_node::subscriber::fetch_snapshot;
use camera_node::Frame;
use std::sync::Arc;

pub async fn snapshot(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: ApiQuery,
) -> Result<Response, ApiError> {
    query.only(&["after_seq", "max_age_ms"])?;
    let after_seq = query.number::<u64>("after_seq", 0..=u64::MAX)?;
    let max_age_ms = query.number::<u64>("max_age_ms", 0..=86_400_000)?;
    let camera = camera(&state, &id)?;
    let frame = match after_seq {
        Some(after_seq) => {
            let _viewer = camera.viewer();
            let wait = state.config.snapshot_wait();
            let timeout = || ApiError::Timeout {
                camera: id.clone(),
                waited_ms: wait.as_millis() as u64,
            };
            tokio::select! {
                _ = state.cancel.cancelled() => return Err(timeout()),
                waited = tokio::time::timeout(wait, camera.wait_live_after(after_seq)) => {
                    waited.ok().flatten().ok_or_else(timeout)?
                }
            }
        }
        None => match fetch_if_unsubscribed(&state, &camera).await {
            Some(frame) => frame,
            None => camera
                .latest_live()
                .ok_or_else(|| ApiError::NoFrameYet { camera: id.clone() })?,
        },
    };
    let age_ms = frame.meta.age().as_millis() as u64;
    if let Some(max_age_ms) = max_age_ms {
        if age_ms > max_age_ms {
            return Err(ApiError::StaleFrame {
                camera: id,
                age_ms,
                max_age_ms,
            });
        }
    }
    state
        .metrics
        .frame_sent("snapshot", &id, frame.jpeg.len(), frame.meta.age());
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg".to_owned()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
            (
                header::HeaderName::from_static("x-timestamp"),
                timestamp(frame.meta.capture_ts_ns),
            ),
            (
                header::HeaderName::from_static("x-frame-seq"),
                frame.meta.seq.to_string(),
            ),
            (
                header::HeaderName::from_static("x-frame-age-ms"),
                age_ms.to_string(),
            ),
        ],
        Body::from(frame.jpeg.clone()),
    )
        .into_response())
}

/// The node's latest frame when the gateway is not receiving `camera`'s frames itself.
/// `None` (serve what the gateway holds) when subscribed, offline, or the query fails.
async fn fetch_if_unsubscribed(state: &AppState, camera: &Camera) -> Option<Arc<Frame>> {
    if camera.is_subscribed() || !camera.is_online() {
        return None;
    }
    let keys = CameraKeys::new(&state.config.prefix, camera.id()).ok()?;
    match fetch_snapshot(&state.zenoh, &keys, state.config.info_timeout()).await {
        Ok(frame) => frame.map(Arc::new),
        Err(error) => {
            tracing::debug!(camera = %camera.id(), %error, "snapshot query failed");
            None
        }
    }
}
