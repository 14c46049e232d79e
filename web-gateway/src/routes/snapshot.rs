//! `GET /cameras/{id}/snapshot.jpg[?after_seq=N&max_age_ms=M&variant=NAME]`: the latest live
//! frame (of the node-encoded variant `NAME`: subscribed for the request, so it waits for one).
//!
//! Serves the frame the gateway already holds (no zenoh round trip); `after_seq` waits,
//! bounded by `snapshot_wait_ms`, for a newer frame so a client can take a fresh picture,
//! counting as a viewer meanwhile (so `subscribe = "while_watched"` receives frames). An
//! unwatched camera under `while_watched` has no frames flowing here, so a plain request asks
//! the node's snapshot queryable instead of serving an old frame. The frame headers are those
//! of an MJPEG part; `X-Camera-Online` is false when the camera is offline now.

use super::{camera, unknown, unknown_variant, variant_name};
use crate::camera::Latest;
use crate::camera::{nosignal, CameraHandle, Variant};
use crate::error::ApiError;
use crate::extract::{ApiQuery, CameraPath};
use crate::headers::frame_header_map;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use camera_protocol::{Frame, FrameMeta};
use std::sync::Arc;

pub async fn snapshot(
    State(state): State<AppState>,
    CameraPath(id): CameraPath,
    query: ApiQuery,
) -> Result<Response, ApiError> {
    query.only(&["after_seq", "max_age_ms", "variant"])?;
    let after_seq = query.number::<u64>("after_seq", 0..=u64::MAX)?;
    let max_age_ms = query.number::<u64>("max_age_ms", 0..=86_400_000)?;
    let name = variant_name(&query)?;
    let camera = camera(&state, &id)?;
    let frame = match (name.as_deref(), after_seq) {
        (Some(name), _) => node_variant_frame(&state, &camera, name, after_seq).await?,
        (None, Some(after_seq)) => {
            let _viewer = camera.viewer(&Default::default());
            let wait = state.config.snapshot_wait();
            let timeout = || ApiError::Timeout {
                camera: id.clone(),
                waited_ms: wait.as_millis() as u64,
            };
            tokio::select! {
                _ = state.cancel.cancelled() => return Err(timeout()),
                waited = tokio::time::timeout(wait, camera.wait_live_after(after_seq)) => {
                    waited.map_err(|_| timeout())?.map_err(|_| unknown(&id))?
                }
            }
        }
        (None, None) => {
            let status = camera.status();
            let fetched = if status.online && !status.subscribed {
                camera.fetch_from_node(state.config.info_timeout()).await
            } else {
                None
            };
            fetched
                .or(status.last_live)
                .ok_or_else(|| ApiError::NoFrameYet { camera: id.clone() })?
        }
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
    let meta = FrameMeta {
        online: frame.meta.online && camera.status().online,
        ..frame.meta
    };
    Ok((
        frame_header_map(&meta),
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Body::from(frame.jpeg.clone()),
    )
        .into_response())
}

/// The latest frame of the node's variant `name` (newer than `after_seq` if given), waiting
/// up to `snapshot_wait_ms` while the gateway subscribes to it.
async fn node_variant_frame(
    state: &AppState,
    camera: &CameraHandle,
    name: &str,
    after_seq: Option<u64>,
) -> Result<Arc<Frame>, ApiError> {
    let id = camera.id();
    let choice = camera
        .choose(Some(name), Variant::default())
        .map_err(|error| unknown_variant(id, error))?;
    let status = camera.status();
    if !status.online {
        // Waiting for a frame the node cannot send would only end in a 504.
        return Err(ApiError::CameraOffline {
            camera: id.to_owned(),
            since: status.offline_since.map(nosignal::clock_utc),
        });
    }
    let _viewer = camera.viewer(&choice);
    let mut feed = camera.feed(choice).await.map_err(|_| unknown(id))?;
    let wait = state.config.snapshot_wait();
    let wanted = |latest: &Latest| {
        latest
            .frame()
            .is_some_and(|frame| after_seq.is_none_or(|after| frame.meta.seq > after))
    };
    let waited = tokio::select! {
        _ = state.cancel.cancelled() => None,
        waited = tokio::time::timeout(wait, feed.frames.wait_for(wanted)) => match waited {
            Ok(Ok(latest)) => latest.frame(),
            Ok(Err(_)) => return Err(unknown(id)),
            Err(_) => None,
        },
    };
    waited.ok_or_else(|| ApiError::Timeout {
        camera: id.to_owned(),
        waited_ms: wait.as_millis() as u64,
    })
}
