//! The HTTP(S) server: our own accept loop, one hyper HTTP/1.1 connection per task.
//!
//! Replaces `axum::serve`, which cannot bound a connection's life. Here every connection gets
//! a header-read timeout (hyper also applies it while a keep-alive connection waits for its
//! next request), its socket is wrapped in a [`StallGuard`] so that a client that stops
//! reading is dropped and its `max_clients` slot freed, and accept errors such as EMFILE back
//! off instead of spinning. [`serve_connections`] takes any `Router`, so another listener
//! (another port, another router) gets the same limits.
//!
//! # Layout
//! - this file: [`ServeOptions`], the accept loop and one connection's life.
//! - [`stall`]: [`StallGuard`], the write-stall and idle timeouts on the socket.
//! - [`drops`]: [`Drops`], counting and logging (rate-limited) connections ended early.
//! - `raw.rs` + [`handoff`]: a plain connection whose first request asks for an MJPEG stream
//!   or a single-camera WebSocket is read here, not by hyper, so that its socket can leave
//!   with the response head for the feed's writer (fanout/); TLS and later keep-alive
//!   requests stay with hyper, as does a request its handler sends back (`rewind.rs`).
//! - [`tls`]: the rustls acceptor from PEM files. [`limits`]: the open-file limit.
//! - [`heap`]: [`HeapWatch`] (one per process, shared by every listener) and its
//!   [`HeapTrimmer`]: the heap handed back to the system after clients leave.

pub mod drops;
pub mod handoff;
pub mod heap;
pub mod limits;
mod raw;
mod rewind;
pub mod stall;
pub mod tls;

pub use drops::{DropReason, Drops};
pub use handoff::{Handed, Handoff};
pub use heap::{HeapTrimmer, HeapWatch};
pub use limits::{raise_open_file_limit, OpenFileLimit};
pub use stall::StallGuard;
pub use tls::{load_tls, TlsError};

use crate::config::HttpConfig;
use crate::metrics::Metrics;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_service::Service;

/// First pause after a failed accept; doubles up to [`MAX_ACCEPT_BACKOFF`].
const MIN_ACCEPT_BACKOFF: Duration = Duration::from_millis(10);
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);
/// After `cancel`, how long open connections get to finish their current response. Streams
/// end at once; this bounds a client that stalls the last bytes, so that shutdown still
/// reaches the recorder and the zenoh session.
const CLOSE_DEADLINE: Duration = Duration::from_millis(500);
/// Largest request head (request line + headers) hyper buffers; the default is ~400 KiB.
const MAX_REQUEST_HEAD: usize = 64 * 1024;

/// How connections are bounded, and whether they speak TLS.
#[derive(Clone)]
pub struct ServeOptions {
    /// Longest wait for a request's headers (and for the TLS handshake).
    pub header_timeout: Duration,
    /// A connection that moves no byte either way for this long is closed.
    pub idle_timeout: Duration,
    /// A write that makes no progress for this long fails the connection.
    pub write_stall_timeout: Duration,
    pub tls: Option<TlsAcceptor>,
    pub drops: Drops,
    /// Shared by every listener of the process (clones of these options share it).
    pub heap: Arc<HeapWatch>,
}

impl std::fmt::Debug for ServeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeOptions")
            .field("header_timeout", &self.header_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("write_stall_timeout", &self.write_stall_timeout)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl ServeOptions {
    /// The options `config` asks for; reads the certificate and key when HTTPS is on.
    pub fn from_config(config: &HttpConfig, metrics: Arc<Metrics>) -> Result<Self, TlsError> {
        let tls = match config.tls() {
            Some((cert, key)) => Some(load_tls(cert, key)?),
            None => None,
        };
        Ok(Self {
            header_timeout: config.header_timeout(),
            idle_timeout: config.idle_timeout(),
            write_stall_timeout: config.write_stall_timeout(),
            tls,
            drops: Drops::new(metrics),
            heap: Arc::default(),
        })
    }

    /// `https` or `http`.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }
}

/// Serves `app` on `listener` until `cancel` fires, then lets open connections finish their
/// current response (streams end by themselves on `cancel`) and returns when all are closed,
/// or after [`CLOSE_DEADLINE`] with the stragglers left to the runtime's shutdown.
pub async fn serve_connections(
    listener: TcpListener,
    app: Router,
    options: ServeOptions,
    cancel: CancellationToken,
) {
    let connections = TaskTracker::new();
    let mut backoff = MIN_ACCEPT_BACKOFF;
    let mut warnings = crate::throttle::LogThrottle::default();
    let mut heap_check = tokio::time::interval(heap::CHECK_PERIOD);
    heap_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => break,
            _ = heap_check.tick() => {
                options.heap.check();
                continue;
            }
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => {
                backoff = MIN_ACCEPT_BACKOFF;
                accepted
            }
            // The peer gave up before we accepted: nothing wrong on our side.
            Err(error) if is_peer_error(&error) => continue,
            Err(error) => {
                // EMFILE/ENFILE/ENOBUFS/ENOMEM: retrying at once would spin a core while
                // nothing frees a descriptor; timed-out connections will.
                if let Some(count) = warnings.hit(error.kind()) {
                    tracing::warn!(
                        %error,
                        count,
                        ?backoff,
                        "accept error: cannot take new connections (raise the open-file limit, \
                         LimitNOFILE=, or lower --max-clients); backing off"
                    );
                }
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_ACCEPT_BACKOFF);
                continue;
            }
        };
        // Frames are written whole and latency matters more than packet count.
        let _ = stream.set_nodelay(true);
        let open = options.heap.opened();
        let (app, options, cancel) = (app.clone(), options.clone(), cancel.clone());
        connections.spawn(serve_accepted(stream, peer, app, options, cancel, open));
    }
    connections.close();
    if tokio::time::timeout(CLOSE_DEADLINE, connections.wait())
        .await
        .is_err()
    {
        tracing::debug!(
            open = connections.len(),
            "connections still open at shutdown; not waiting for them"
        );
    }
}

fn is_peer_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

/// One accepted connection, from its first byte: a plain one whose first request asks for a
/// stream is read by `raw.rs` (its socket may leave for the feed's writer), everything else
/// by hyper behind the stall guard.
async fn serve_accepted(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    options: ServeOptions,
    cancel: CancellationToken,
    open: heap::OpenConnection,
) {
    if options.tls.is_none() {
        // Long request lines (a long query) go to hyper: correct, only not on the fast path.
        let mut first = [0u8; 1024];
        let peeked = tokio::select! {
            _ = cancel.cancelled() => return,
            peeked = tokio::time::timeout(options.header_timeout, stream.peek(&mut first)) => peeked,
        };
        match peeked {
            Ok(Ok(n)) if raw::is_stream_request(&first[..n]) => {
                let back = raw::serve(stream, peer, app.clone(), &options, open).await;
                if let Some((read, stream, open)) = back {
                    let replayed = rewind::Rewind::new(read, stream);
                    serve_guarded(replayed, peer, app, options, cancel).await;
                    drop(open);
                }
                return;
            }
            Ok(Ok(0) | Err(_)) => return,
            Ok(Ok(_)) => {}
            Err(_) => {
                options.drops.record(DropReason::HeaderTimeout, peer);
                return;
            }
        }
    }
    serve_guarded(stream, peer, app, options, cancel).await;
    drop(open);
}

/// Serves a connection with hyper behind the stall guard.
async fn serve_guarded<T>(
    stream: T,
    peer: SocketAddr,
    app: Router,
    options: ServeOptions,
    cancel: CancellationToken,
) where
    T: AsyncRead + AsyncWrite + stall::Abort + Unpin + Send + 'static,
{
    let guarded = StallGuard::new(stream, options.write_stall_timeout, options.idle_timeout)
        .reporting(options.drops.clone(), peer);
    let keep_alive_idle = guarded.keep_alive_idle();
    serve_connection(guarded, keep_alive_idle, peer, app, options, cancel).await;
}

async fn serve_connection<I>(
    io: I,
    keep_alive_idle: stall::KeepAliveIdle,
    peer: SocketAddr,
    app: Router,
    options: ServeOptions,
    cancel: CancellationToken,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let result = match &options.tls {
        None => serve_http(io, peer, app, &options, cancel).await,
        Some(acceptor) => {
            let handshake = tokio::select! {
                _ = cancel.cancelled() => return,
                handshake = tokio::time::timeout(options.header_timeout, acceptor.accept(io)) => handshake,
            };
            match handshake {
                Ok(Ok(tls)) => serve_http(tls, peer, app, &options, cancel).await,
                Ok(Err(error)) => {
                    // Plain HTTP to the TLS port, scanners, clients that distrust the cert.
                    tracing::debug!(%peer, %error, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    options.drops.record(DropReason::HeaderTimeout, peer);
                    return;
                }
            }
        }
    };
    if let Err(error) = result {
        if error.is_timeout() {
            // hyper's header timer also runs between requests: after a response, silence
            // is a keep-alive connection the client no longer needs, not an abuse.
            if keep_alive_idle.get() {
                tracing::debug!(%peer, "idle keep-alive connection closed");
            } else {
                options.drops.record(DropReason::HeaderTimeout, peer);
            }
        } else {
            // Resets, stalls (counted by the StallGuard), malformed requests: the client's
            // business, not the operator's.
            tracing::debug!(%peer, %error, "connection ended with an error");
        }
    }
}

async fn serve_http<I>(
    io: I,
    peer: SocketAddr,
    app: Router,
    options: &ServeOptions,
    cancel: CancellationToken,
) -> Result<(), hyper::Error>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        // Handlers that care (logging, auth) read the peer as axum's `ConnectInfo`.
        request.extensions_mut().insert(ConnectInfo(peer));
        app.clone().call(request)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_timeout)
        .max_buf_size(MAX_REQUEST_HEAD);
    let connection = builder
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => result,
        _ = cancel.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    }
}

#[cfg(test)]
mod tests;
