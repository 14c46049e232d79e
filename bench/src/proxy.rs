//! A TCP proxy that counts the bytes crossing it each way: put between camera-node and the
//! gateway, its `down` count is what the robot → base-station link carries.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// Byte counters of a running proxy.
#[derive(Debug, Default)]
pub struct Counters {
    /// Upstream (the listening side, the robot) → the connecting side (the base station).
    pub down: AtomicU64,
    pub up: AtomicU64,
}

/// Listens on loopback and forwards every connection to `upstream` until `stop`.
pub async fn start(
    upstream: SocketAddr,
    stop: CancellationToken,
) -> std::io::Result<(SocketAddr, Arc<Counters>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let counters = Arc::new(Counters::default());
    let shared = counters.clone();
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                _ = stop.cancelled() => return,
                accepted = listener.accept() => accepted,
            };
            let Ok((client, _)) = accepted else { continue };
            let Ok(server) = TcpStream::connect(upstream).await else {
                continue;
            };
            let (client_r, client_w) = client.into_split();
            let (server_r, server_w) = server.into_split();
            tokio::spawn(pipe(server_r, client_w, shared.clone(), true, stop.clone()));
            tokio::spawn(pipe(
                client_r,
                server_w,
                shared.clone(),
                false,
                stop.clone(),
            ));
        }
    });
    Ok((addr, counters))
}

async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    counters: Arc<Counters>,
    down: bool,
    stop: CancellationToken,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = tokio::select! {
            _ = stop.cancelled() => return,
            read = from.read(&mut buf) => match read { Ok(0) | Err(_) => return, Ok(n) => n },
        };
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
        let counter = if down { &counters.down } else { &counters.up };
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }
}
