//! `--foxglove-listen ADDR`: every camera live in Foxglove over the Foxglove WebSocket
//! protocol (`foxglove.websocket.v1`), on a listener of its own.
//!
//! Its own listener because Foxglove connects to `ws://HOST:PORT/` and speaks only this
//! protocol, so it cannot share the page's port and paths. One `foxglove.CompressedImage`
//! channel per camera in the directory (the same bytes and topic as the MCAP recordings, so a
//! Foxglove layout works for both); frames come from each camera's latest-frame slot like
//! MJPEG clients', so a slow link skips frames instead of queueing them. Owns only the
//! connections; cameras are reached through their handles.
//!
//! - [`protocol`]: the JSON and binary messages. `session`: one connection's loop.

mod channels;
pub mod protocol;
mod session;

use crate::auth::{self, Access};
use crate::error::ApiError;
use crate::server::{serve_connections, ServeOptions};
use crate::state::AppState;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use axum::{middleware, Router};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Largest message a client may send: subscribe/unsubscribe lists are small JSON, so 64 KiB
/// is thousands of entries; bigger ones close the connection before they are buffered.
const MAX_CLIENT_MESSAGE: usize = 64 << 10;
/// Bytes tungstenite reads at a time: it zeroes a whole chunk (128 KiB by default) each time
/// it polls the socket, once per message sent (perf, docs/benchmarks.md); larger messages
/// still arrive, in several reads.
const READ_CHUNK: usize = 4096;

/// What every connection of one listener shares.
#[derive(Debug, Clone)]
struct Server {
    state: AppState,
    /// Base64 of the image schema, the same for every channel: computed once.
    schema: Arc<str>,
    /// Base64 of the video schema (`foxglove.CompressedVideo`), likewise.
    video_schema: Arc<str>,
    /// Tells clients a reconnection to this process from one to a restarted gateway.
    session_id: Arc<str>,
}

/// Binds `foxglove.listen` when set and serves the protocol there until `state.cancel`,
/// on `state.tracker`, through the same accept loop as HTTP (`options`: its timeouts, and
/// TLS when HTTPS is on) and behind the same `access` checks as HTTP (Host, Origin,
/// credentials); returns the bound address (port 0 picks one).
pub async fn start(
    state: &AppState,
    options: ServeOptions,
    access: Arc<Access>,
) -> Result<Option<SocketAddr>, std::io::Error> {
    let Some(addr) = state.config.foxglove.listen else {
        return Ok(None);
    };
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let scheme = if options.tls.is_some() { "wss" } else { "ws" };
    tracing::info!("Foxglove WebSocket on {scheme}://{local}");
    let started_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_millis())
        .unwrap_or_default();
    let server = Server {
        state: state.clone(),
        schema: protocol::schema_base64().into(),
        video_schema: protocol::video_schema_base64().into(),
        session_id: started_ms.to_string().into(),
    };
    let cancel = state.cancel.clone();
    let app = router(server, access);
    state
        .tracker
        .spawn(serve_connections(listener, app, options, cancel));
    Ok(Some(local))
}

fn router(server: Server, access: Arc<Access>) -> Router {
    Router::new()
        .route("/", get(upgrade))
        .fallback(|uri: axum::http::Uri| async move {
            ApiError::NotFound {
                path: uri.path().to_owned(),
            }
        })
        .layer(middleware::from_fn_with_state(access, auth::enforce))
        .layer(middleware::from_fn(token_from_query))
        .with_state(server)
}

/// Foxglove's connection dialog takes only a URL, and a browser's WebSocket cannot send an
/// `Authorization` header, so `ws://HOST:PORT/?token=TOKEN` stands for `Bearer TOKEN` on this
/// listener, checked by the access layer like any token. Only a request without its own
/// `Authorization`; the token is taken as written (tokens are URL-safe characters).
///
/// No login on this listener starts a session ([`auth::NoSession`]): a cookie would be good
/// for the whole HTTP API for 12 h, while the token here is meant to open this WebSocket only.
async fn token_from_query(mut request: Request, next: Next) -> Response {
    request.extensions_mut().insert(auth::NoSession);
    if !request.headers().contains_key(header::AUTHORIZATION) {
        let token = request.uri().query().and_then(|query| {
            query
                .split('&')
                .find_map(|pair| pair.strip_prefix("token="))
        });
        if let Some(value) =
            token.and_then(|token| HeaderValue::try_from(format!("Bearer {token}")).ok())
        {
            request.headers_mut().insert(header::AUTHORIZATION, value);
        }
    }
    next.run(request).await
}

async fn upgrade(
    State(server): State<Server>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade.protocols([protocol::SUBPROTOCOL]),
        Err(rejection) => return Err(ApiError::from_upgrade_rejection(rejection).await),
    };
    // Without the subprotocol the client would not understand a single message we send.
    if upgrade.selected_protocol().is_none() {
        let offered: Vec<&str> = upgrade
            .requested_protocols()
            .filter_map(|value| value.to_str().ok())
            .collect();
        return Err(ApiError::Subprotocol {
            wanted: protocol::SUBPROTOCOL,
            offered: offered.join(", "),
        });
    }
    let client = server.state.admit("foxglove")?;
    Ok(upgrade
        .read_buffer_size(READ_CHUNK)
        .max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| session::run(socket, server, client)))
}
