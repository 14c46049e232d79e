//! The HTTP accept loop: plain TCP or TLS (rustls), one hyper HTTP/1.1 connection per task.
//!
//! Replaces `axum::serve` because that has no way to bound a connection's life: here every
//! connection gets a header-read timeout (which hyper also applies while a keep-alive
//! connection waits for its next request), and its socket is wrapped in a [`StallGuard`] so a
//! client that stops reading a stream is dropped and its `max_clients` slot freed. Accept
//! errors such as EMFILE back off instead of spinning, and are logged at most every 10 s.

use crate::stall::StallGuard;
use crate::throttle::LogThrottle;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// First pause after a failed accept; doubles up to [`MAX_ACCEPT_BACKOFF`].
const MIN_ACCEPT_BACKOFF: Duration = Duration::from_millis(10);
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// How connections are bounded.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Longest wait for a request's headers (and for the TLS handshake).
    pub header_timeout: Duration,
    /// A connection that moves no byte either way for this long is closed.
    pub idle_timeout: Duration,
    /// A response write that makes no progress for this long fails the connection.
    pub write_stall_timeout: Duration,
    pub tls: Option<TlsAcceptor>,
}

/// Serves `app` on `listener` until `cancel` fires, then waits for open connections to end
/// (streams end by themselves on `cancel`).
pub async fn run(listener: TcpListener, app: Router, options: HttpOptions, cancel: CancellationToken) {
    let connections = TaskTracker::new();
    let mut backoff = MIN_ACCEPT_BACKOFF;
    let mut warnings = LogThrottle::default();
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => {
                backoff = MIN_ACCEPT_BACKOFF;
                stream
            }
            // The peer gave up before we accepted: nothing wrong on our side.
            Err(error) if is_peer_error(&error) => continue,
            Err(error) => {
                if let Some(count) = warnings.hit(error.kind()) {
                    tracing::warn!(%error, count, ?backoff, "cannot accept connections (raise the open-file limit, LimitNOFILE=, or lower max_clients); backing off");
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
        let guarded = StallGuard::new(stream, options.write_stall_timeout, options.idle_timeout);
        connections.spawn(serve_connection(
            guarded,
            app.clone(),
            options.clone(),
            cancel.clone(),
        ));
    }
    connections.close();
    connections.wait().await;
}

fn is_peer_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

async fn serve_connection<I>(io: I, app: Router, options: HttpOptions, cancel: CancellationToken)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    match &options.tls {
        None => serve_http(io, app, &options, cancel).await,
        Some(acceptor) => {
            match tokio::time::timeout(options.header_timeout, acceptor.accept(io)).await {
                Ok(Ok(tls)) => serve_http(tls, app, &options, cancel).await,
                Ok(Err(error)) => tracing::debug!(%error, "TLS handshake failed"),
                Err(_) => tracing::debug!("TLS handshake timed out"),
            }
        }
    }
}

async fn serve_http<I>(io: I, app: Router, options: &HttpOptions, cancel: CancellationToken)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_timeout)
        .max_buf_size(64 * 1024);
    let connection = builder
        .serve_connection(TokioIo::new(io), TowerToHyperService::new(app))
        .with_upgrades();
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        _ = cancel.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        // Timeouts, resets and stalled clients end here; they are the client's business.
        tracing::debug!(%error, "connection ended with an error");
    }
}

/// A certificate or key that cannot be used for HTTPS.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read TLS certificate chain {path}: {message} (expected PEM, e.g. from `openssl req -x509 ...`)")]
    Certificate { path: String, message: String },
    #[error("cannot read TLS private key {path}: {message} (expected a PEM PKCS#8, PKCS#1 or SEC1 key)")]
    Key { path: String, message: String },
    #[error("TLS certificate and key do not form a usable server config: {0}")]
    Config(#[from] rustls::Error),
}

/// Builds the TLS acceptor from PEM files (certificate chain, private key).
pub fn load_tls(cert: &Path, key: &Path) -> Result<TlsAcceptor, TlsError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certificate_error = |message: String| TlsError::Certificate {
        path: cert.display().to_string(),
        message,
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|error| certificate_error(error.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| certificate_error(error.to_string()))?;
    if chain.is_empty() {
        return Err(certificate_error("no CERTIFICATE block in the file".into()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|error| TlsError::Key {
        path: key.display().to_string(),
        message: error.to_string(),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Raises the soft open-file limit to the hard limit, so that the number of clients is bounded
/// by `max_clients`, not by a 1024-descriptor default. Returns (before, after).
pub fn raise_open_file_limit() -> io::Result<(Option<u64>, Option<u64>)> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current == limit.maximum {
        return Ok((limit.current, limit.current));
    }
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        },
    )?;
    Ok((limit.current, getrlimit(Resource::Nofile).current))
}
