//! `GET /cameras/{id}/stream.mjpg[?fps=N&width=W|height=H&quality=Q|variant=NAME]`: the MJPEG stream
//! of one camera, its node's variant `NAME`, or a gateway re-encoding (see `CameraHandle::choose`);
//! `X-Served-Variant` says which. The parts come from the feed's writer (`crate::fanout`) when
//! the socket could leave hyper (a plain connection's first request), else from this
//! connection's own body (`mjpeg::body`: TLS, later requests of a keep-alive connection).

use super::{camera, unknown, Asked};
use crate::error::ApiError;
use crate::extract::{ApiQuery, CameraPath};
use crate::fanout::Joining;
use crate::mjpeg::{self, Pace};
use crate::server::Handoff;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use std::time::Duration;

/// Which frames the stream carries (`width=320&quality=80`, `variant=preview`, `original`):
/// the asked variant, or the nearest one running when the `[variants]` caps are reached.
pub const SERVED_VARIANT: header::HeaderName = header::HeaderName::from_static("x-served-variant");

pub async fn stream(
    State(state): State<AppState>,
    CameraPath(id): CameraPath,
    query: ApiQuery,
    handoff: Option<Extension<Handoff>>,
) -> Result<Response, ApiError> {
    query.only(&["fps", "width", "height", "quality", "variant"])?;
    let fps = query.number::<f64>("fps", 0.1..=240.0)?;
    let asked = Asked::of(&query)?;
    let camera = camera(&state, &id)?;
    let choice = asked.choice(&camera)?;
    let client = state.admit("mjpeg")?;
    let viewer = camera.viewer(&choice);
    let (feed, served) = camera.feed_served(choice).await.map_err(|_| unknown(&id))?;
    let pace = Pace {
        min_interval: fps.map(|fps| Duration::from_secs_f64(1.0 / fps)),
    };
    let body = match handoff {
        // The socket leaves hyper after this head: the feed's writer sends the parts.
        Some(Extension(handoff)) => {
            let (writers, sent) = (state.writers.clone(), state.metrics.sent("mjpeg", &id));
            handoff.offer(move |handed| {
                let joining = Joining {
                    handed,
                    min_interval: pace.min_interval,
                    sent,
                    guards: Box::new((client, viewer)),
                };
                writers.join(feed, joining);
            });
            Body::empty()
        }
        None => mjpeg::body(
            feed,
            state.cancel.clone(),
            pace,
            state.metrics.clone(),
            id,
            (client, viewer),
        ),
    };
    let mut response = (
        [
            (header::CONTENT_TYPE, mjpeg::CONTENT_TYPE),
            (header::CACHE_CONTROL, "no-store, no-cache, must-revalidate"),
            (header::PRAGMA, "no-cache"),
            // Reverse proxies (nginx) must not buffer a never-ending response.
            (header::HeaderName::from_static("x-accel-buffering"), "no"),
        ],
        body,
    )
        .into_response();
    // Built from validated numbers and names ([A-Za-z0-9_-]): always a valid header value.
    if let Ok(served) = header::HeaderValue::try_from(served.query()) {
        response.headers_mut().insert(SERVED_VARIANT, served);
    }
    Ok(response)
}
