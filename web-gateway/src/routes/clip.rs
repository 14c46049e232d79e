//! `GET /cameras/{id}/clip.mcap[?seconds=N]`: "what just happened" — the last N seconds
//! (default and most: the clip buffer's length) of a camera as one MCAP file, as Foxglove and
//! `mcap` read it (docs/recording.md).

use super::camera;
use crate::error::{ApiError, ApiQuery, CameraPath};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use camera_record::ClipError;
use std::time::Duration;

pub async fn clip(
    State(state): State<AppState>,
    CameraPath(id): CameraPath,
    query: ApiQuery,
) -> Result<Response, ApiError> {
    query.only(&["seconds"])?;
    let clips = state.clips.clone().ok_or(ApiError::ClipsOff)?;
    let length = state.config.record.clip_secs;
    let seconds = query
        .number::<u64>("seconds", 1..=length)?
        .unwrap_or(length);
    // The id must be a known camera: a clip is never made up from a path segment.
    camera(&state, &id)?;
    let camera = id.clone();
    // Copying up to a minute of JPEGs is real work: off the async workers.
    let exported =
        tokio::task::spawn_blocking(move || clips.export(&camera, Duration::from_secs(seconds)))
            .await
            .map_err(|error| ApiError::ClipFailed {
                camera: id.clone(),
                message: error.to_string(),
            })?;
    let bytes = match exported {
        Ok(bytes) => bytes,
        Err(ClipError::Empty(_)) => return Err(ApiError::NoClip { camera: id }),
        Err(error) => {
            return Err(ApiError::ClipFailed {
                camera: id,
                message: error.to_string(),
            })
        }
    };
    let disposition = format!("attachment; filename=\"{id}-last-{seconds}s.mcap\"");
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Body::from(bytes),
    )
        .into_response())
}
