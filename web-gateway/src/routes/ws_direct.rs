//! `/ws?cameras=ID` on a plain connection's first request: a socket for one camera, written by
//! the camera feed's writer (`crate::fanout`) like an MJPEG stream, not by a tungstenite
//! task that wakes per frame. The handler answers the handshake itself (`101`, with
//! `Sec-WebSocket-Accept`); the client's session task reads what the client sends, waking
//! only then: pings are answered, a close is echoed, a variant switch moves the socket to the
//! other feed's writer, a bad switch gets the same notice as on the tungstenite path.
//!
//! A socket whose camera is not known yet, or lacks what it asks for now, or whose node
//! publishes an H.264 lane (or has not told its info yet), goes back to hyper and the
//! tungstenite path (`ws.rs`), which waits for the camera, sends the notice, or switches the
//! camera to its lane.

use super::ws_cameras::{notice, resolve_switch, Wanted};
use super::Asked;
use crate::camera::{Choice, Viewer};
use crate::error::ApiError;
use crate::fanout::inbound::{next_text, Reader};
use crate::fanout::{ws, WsJoining, WsLink};
use crate::server::Handoff;
use crate::state::{AppState, ClientGuard};
use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use std::collections::HashSet;
use std::sync::Arc;

/// Takes the socket of a valid upgrade request for one known camera, or sends the request
/// back to hyper (the returned response is then dropped).
pub(super) async fn offer(
    state: AppState,
    handoff: Handoff,
    headers: &HeaderMap,
    filter: Option<HashSet<String>>,
    asked: Asked,
) -> Result<Response, ApiError> {
    let single = filter
        .filter(|ids| ids.len() == 1)
        .and_then(|ids| ids.into_iter().next());
    // A camera whose node publishes an H.264 lane (or has not said yet) keeps the
    // per-socket path, where a client can switch it to the lane.
    let camera = single
        .and_then(|id| state.directory.get(&id))
        .filter(|camera| camera.lanes().is_some_and(|lanes| lanes.is_empty()));
    let resolved = camera.and_then(|camera| Some((asked.choice(&camera).ok()?, camera)));
    let key = headers.get(header::SEC_WEBSOCKET_KEY);
    let (Some((choice, camera)), Some(key)) = (resolved, key) else {
        handoff.to_hyper();
        return Ok(Response::default());
    };
    let accept = ws::accept_key(key.as_bytes());
    let client = state.admit("ws")?;
    let viewer = camera.viewer(&choice);
    let Ok(feed) = camera.feed(choice.clone()).await else {
        handoff.to_hyper();
        return Ok(Response::default());
    };
    let id = camera.id().to_owned();
    handoff.offer(move |handed| {
        let sent = state.metrics.sent("ws", &id);
        let (joining, link, reader) = WsJoining::new(handed, id.clone(), sent);
        state.writers.join_ws(feed, joining);
        let session = Session {
            link,
            id,
            choice,
            viewer,
            _client: client,
        };
        state.tracker.spawn(session.run(state.clone(), reader));
    });
    let accept = HeaderValue::from_str(&accept).unwrap_or(HeaderValue::from_static(""));
    Ok(Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_ACCEPT, accept)
        .body(Body::empty())
        .unwrap_or_default())
}

/// One socket's session: what the client sends, and the feed it is on.
struct Session {
    link: Arc<WsLink>,
    id: String,
    choice: Choice,
    /// Of the feed the socket is on; replaced with a switch.
    viewer: Viewer,
    /// The socket's `max_clients` slot, held while the session runs (the writer ends it
    /// when it lets the socket go).
    _client: ClientGuard,
}

impl Session {
    async fn run(mut self, state: AppState, mut reader: Reader) {
        loop {
            let text = tokio::select! {
                _ = self.link.gone() => return,
                // The writer sends the close frame.
                _ = state.cancel.cancelled() => return,
                text = next_text(&self.link, &mut reader) => text,
            };
            match text {
                Some(text) => self.switch(&state, &text).await,
                None => return,
            }
        }
    }

    /// A switch of this socket's camera to another variant moves it to that feed's writer;
    /// one of another camera changes nothing (as for a camera a multi-camera socket does not
    /// cover); a bad one is answered with its notice.
    async fn switch(&mut self, state: &AppState, text: &str) {
        let (_, camera, wanted) = match resolve_switch(state, text) {
            Ok(resolved) => resolved,
            Err(notice) => return self.link.send(ws::text(&notice)),
        };
        let choice = match wanted {
            Wanted::Frames(choice) => choice,
            // Sockets of cameras with a lane take the other path (`offer`); this node has
            // gained one since the socket opened.
            Wanted::Lane(_) if camera.id() == self.id => {
                let error = ApiError::BadQuery {
                    parameter: "(WebSocket message)".into(),
                    message: format!(
                        "camera {:?} has published an H.264 lane since this socket opened; reconnect to switch to it",
                        self.id
                    ),
                };
                return self.link.send(ws::text(&notice(Some(&self.id), &error)));
            }
            Wanted::Lane(_) => return,
        };
        if camera.id() != self.id || choice == self.choice {
            return;
        }
        let viewer = camera.viewer(&choice);
        if let Ok(feed) = camera.feed(choice.clone()).await {
            self.link.move_to(feed);
            self.choice = choice;
            self.viewer = viewer;
        }
    }
}
