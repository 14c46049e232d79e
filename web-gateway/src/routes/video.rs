//! `GET /cameras/{id}/stream.h264[?lane=NAME]`: a camera's H.264 lane (its node's first, or
//! `NAME`) as a raw Annex B byte stream, for readers without a browser
//! (`ffplay http://…/stream.h264`, `ffmpeg -f h264 -i …`). It starts at a keyframe (the
//! lane's current group of pictures first, so the picture shows at once) and continues with
//! every access unit; a client that falls behind skips to the next keyframe.

use super::{camera, unknown};
use crate::camera::{CameraHandle, Choice, VideoFeed};
use crate::error::{shown, ApiError};
use crate::extract::{ApiQuery, CameraPath};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use std::convert::Infallible;

/// `video/h264`: an Annex B elementary stream (RFC 6184's media type).
pub const CONTENT_TYPE: &str = "video/h264";

pub async fn stream(
    State(state): State<AppState>,
    CameraPath(id): CameraPath,
    query: ApiQuery,
) -> Result<Response, ApiError> {
    query.only(&["lane"])?;
    let asked = lane_name(query.text("lane"))?;
    let camera = camera(&state, &id)?;
    let lane = lane(&camera, asked.as_deref())?;
    let client = state.admit("h264")?;
    let viewer = camera.viewer(&Choice::Node(lane.clone()));
    let feed = camera.video(&lane).await.map_err(|_| unknown(&id))?;
    let feed = feed.ok_or_else(|| no_lane(&camera, Some(lane.clone())))?;
    let sent = state.metrics.sent("h264", &id);
    let reader = Reader {
        feed,
        cancel: state.cancel.child_token(),
        sent,
        _guards: (client, viewer),
    };
    let body = Body::from_stream(futures::stream::unfold(reader, |mut reader| async move {
        let unit = tokio::select! {
            _ = reader.cancel.cancelled() => None,
            unit = reader.feed.next() => unit,
        }?;
        let au: Bytes = unit.frame.au.clone();
        reader.sent.frame(au.len(), unit.frame.meta.frame.age());
        Some((Ok::<_, Infallible>(au), reader))
    }));
    Ok((
        [
            (header::CONTENT_TYPE, CONTENT_TYPE),
            (header::CACHE_CONTROL, "no-store, no-cache, must-revalidate"),
            (header::HeaderName::from_static("x-accel-buffering"), "no"),
        ],
        body,
    )
        .into_response())
}

struct Reader<G> {
    feed: VideoFeed,
    cancel: tokio_util::sync::CancellationToken,
    sent: crate::metrics::SentMetrics,
    _guards: G,
}

/// `?lane=NAME`, checked to be a possible lane name before any camera is asked.
pub(super) fn lane_name(asked: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(name) = asked else {
        return Ok(None);
    };
    if camera_protocol::keys::validate_camera_id(name).is_err() {
        return Err(ApiError::BadQuery {
            parameter: "lane".into(),
            message: format!(
                "{} is not a lane name: 1 to 64 characters of A-Z, a-z, 0-9, `_` and `-` (GET /api/cameras lists each camera's lanes under `video`)",
                shown(name)
            ),
        });
    }
    Ok(Some(name.to_owned()))
}

/// The lane of `camera` a client gets: `asked`, or the node's first.
pub(super) fn lane(camera: &CameraHandle, asked: Option<&str>) -> Result<String, ApiError> {
    let lanes = camera.lanes();
    let found = lanes.as_ref().and_then(|lanes| match asked {
        Some(name) => lanes.iter().find(|lane| lane.name == name),
        None => lanes.first(),
    });
    match found {
        Some(lane) => Ok(lane.name.clone()),
        None => Err(no_lane(camera, asked.map(str::to_owned))),
    }
}

fn no_lane(camera: &CameraHandle, lane: Option<String>) -> ApiError {
    ApiError::UnknownLane {
        camera: camera.id().to_owned(),
        lane,
        known: camera
            .lanes()
            .map(|lanes| lanes.into_iter().map(|lane| lane.name).collect()),
    }
}
