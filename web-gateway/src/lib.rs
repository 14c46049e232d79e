//! web-gateway: serves every camera on zenoh as MJPEG, WebSocket, snapshots, JSON, metrics
//! and a web page over HTTP.
//!
//! # Layout
//! - [`config`]: TOML + flags. [`state`]: `AppState` shared by everything, client admission.
//! - [`camera`]: one task per camera owns its frames, online state, variants and metrics;
//!   [`camera::CameraHandle`] is how everything else talks to it.
//! - [`links`]: whether each configured zenoh endpoint (a robot) is reached, and why not.
//! - [`discovery`]: liveliness → creates, informs and removes camera tasks, the only writer
//!   of the [`directory`] (id → handle).
//! - [`headers`]: the per-frame HTTP headers. [`mjpeg`]: multipart wire format, stream body.
//! - [`recording`]: MCAP segments on disk and the clip buffer (camera_record), fed by
//!   the camera tasks; [`clip_slots`]: how many clip downloads stream at once, per client and
//!   in total.
//! - [`server`]: the accept loop, connection timeouts, HTTPS, the open-file limit.
//! - [`foxglove`]: `--foxglove-listen`, every camera live in Foxglove on a listener of its own.
//! - [`router`] + `routes/*`: HTTP endpoints. [`error`]: JSON errors; [`extract`]: the query
//!   and path extractors that answer with them. [`metrics`]: Prometheus; [`labels`]: its fixed
//!   label sets.
//! - [`auth`]: Host/Origin allow-lists, passwords, tokens, session cookies, the middleware
//!   that applies them, and the `passwd` helper (docs/security.md).
//!
//! Shutdown: everything watches `AppState::cancel`; streams end, tasks drain on the tracker.

pub mod auth;
pub mod camera;
pub mod clip_slots;
pub mod config;
pub mod directory;
pub mod discovery;
pub mod downscale;
pub mod error;
pub mod extract;
pub mod fanout;
pub mod foxglove;
pub mod headers;
pub mod labels;
pub mod links;
pub mod metrics;
pub mod mjpeg;
pub mod recording;
pub mod router;
pub mod routes;
pub mod server;
pub mod state;
pub mod throttle;

pub use config::{Config, Flags, SubscribeMode};
pub use state::AppState;

use std::time::Duration;

/// Longest wait for background tasks after the HTTP server stopped.
const DRAIN_TIMEOUT: Duration = Duration::from_millis(500);

/// Why serving stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot subscribe to camera liveliness: {0}")]
    Liveliness(zenoh::Error),
    #[error("cannot follow zenoh's links (for /healthz's endpoints): {0}")]
    Links(zenoh::Error),
    // No `#[from]`: that would make the error a `source()` too, printed twice by `{:#}`.
    #[error("cannot serve HTTPS: {0}")]
    Tls(server::TlsError),
    #[error("{0}")]
    Access(auth::AccessError),
    #[error("cannot start recording (check --record DIR exists or can be created, and is writable): {0}")]
    Record(std::io::Error),
    #[error("cannot listen for Foxglove on {addr} (port taken? pass another --foxglove-listen): {error}")]
    Foxglove {
        addr: std::net::SocketAddr,
        error: std::io::Error,
    },
}

/// Subscribes to the cameras and serves HTTP (HTTPS with `--tls-cert`) on `listener` until
/// `state.cancel` fires.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> Result<(), ServeError> {
    let options = server::ServeOptions::from_config(&state.config.http, state.metrics.clone())
        .map_err(ServeError::Tls)?;
    if let Ok(address) = listener.local_addr() {
        let prefix = state.prefixes.patterns().join(",");
        tracing::info!(%prefix, "listening on {}://{address}", options.scheme());
    }
    let local = listener.local_addr().unwrap_or(state.config.listen);
    let https = state.config.http.tls_cert.is_some();
    let access = auth::Access::load(&state.config, local, https, state.metrics.clone())
        .map_err(ServeError::Access)?;
    access.log_start(&state.config, local);
    let access = std::sync::Arc::new(access);
    let liveliness = discovery::subscribe(&state)
        .await
        .map_err(ServeError::Liveliness)?;
    links::start(
        &state.zenoh,
        state.links.clone(),
        state.metrics.clone(),
        state.cancel.clone(),
        &state.tracker,
    )
    .await
    .map_err(ServeError::Links)?;
    let recording = recording::start(&state.config, &state.metrics, state.clips.clone())
        .map_err(ServeError::Record)?;
    if let Some(addr) = state.config.foxglove.listen {
        foxglove::start(&state, options.clone(), access.clone())
            .await
            .map_err(|error| ServeError::Foxglove { addr, error })?;
    }
    state
        .tracker
        .spawn(discovery::run(state.clone(), liveliness, recording.sinks()));
    let cancel = state.cancel.clone();
    let app = router::router(state.clone(), access);
    server::serve_connections(listener, app, options, cancel).await;
    state.tracker.close();
    if tokio::time::timeout(DRAIN_TIMEOUT, state.tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("background tasks still running after {DRAIN_TIMEOUT:?}; exiting anyway");
    }
    recording.finish().await;
    Ok(())
}
