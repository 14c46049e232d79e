//! A TCP proxy between two endpoints that counts the bytes each way and can hold every chunk
//! back for a fixed time in each direction: the link benchmark measures what the robot → base
//! link carries through it, and the two-host tests emulate a slow radio link with it, because
//! the kernels here have no `netem` (loss is made with nftables instead).
//!
//! Buffers are bounded: at most [`MAX_CHUNKS`] chunks of [`CHUNK`] bytes wait per direction;
//! when they are full the proxy stops reading, and TCP flow control pushes back on the sender.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Largest read forwarded as one chunk.
pub const CHUNK: usize = 16 * 1024;
/// Chunks waiting per direction of a delayed connection (4 MiB).
pub const MAX_CHUNKS: usize = 256;
/// Longest wait for the upstream to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Byte counters of a running proxy.
#[derive(Debug, Default)]
pub struct Counters {
    /// Upstream (the listening side, the robot) → the connecting side (the base station).
    pub down: AtomicU64,
    pub up: AtomicU64,
}

/// Listens on a free loopback port and forwards every connection to `upstream` until `stop`.
pub async fn start(
    upstream: SocketAddr,
    stop: CancellationToken,
) -> std::io::Result<(SocketAddr, Arc<Counters>)> {
    start_on(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        upstream,
        Duration::ZERO,
        stop,
    )
    .await
}

/// Listens on `listen` and forwards every connection to `upstream`, each chunk delivered
/// `delay` after it was read, in both directions, until `stop`. Sockets are created on the
/// calling thread, so in a network namespace when that thread entered one.
pub async fn start_on(
    listen: SocketAddr,
    upstream: SocketAddr,
    delay: Duration,
    stop: CancellationToken,
) -> std::io::Result<(SocketAddr, Arc<Counters>)> {
    let listener = TcpListener::bind(listen).await?;
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
            let connected = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(upstream));
            let Ok(Ok(server)) = connected.await else {
                continue;
            };
            let (client_r, client_w) = client.into_split();
            let (server_r, server_w) = server.into_split();
            let down = Direction {
                counters: shared.clone(),
                down: true,
                delay,
                stop: stop.clone(),
            };
            let up = Direction {
                down: false,
                ..down.clone()
            };
            tokio::spawn(down.forward(server_r, client_w));
            tokio::spawn(up.forward(client_r, server_w));
        }
    });
    Ok((addr, counters))
}

/// One direction of one proxied connection.
#[derive(Debug, Clone)]
struct Direction {
    counters: Arc<Counters>,
    down: bool,
    delay: Duration,
    stop: CancellationToken,
}

impl Direction {
    fn count(&self, bytes: usize) {
        let counter = if self.down {
            &self.counters.down
        } else {
            &self.counters.up
        };
        counter.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    async fn forward(self, from: OwnedReadHalf, to: OwnedWriteHalf) {
        if self.delay.is_zero() {
            self.copy(from, to).await;
        } else {
            self.delayed(from, to).await;
        }
    }

    async fn copy(self, mut from: OwnedReadHalf, mut to: OwnedWriteHalf) {
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = tokio::select! {
                _ = self.stop.cancelled() => return,
                read = from.read(&mut buf) => match read { Ok(0) | Err(_) => return, Ok(n) => n },
            };
            if to.write_all(&buf[..n]).await.is_err() {
                return;
            }
            self.count(n);
        }
    }

    /// Reader and writer apart, joined by a bounded queue of (due time, chunk): the link's
    /// delay holds bytes back without slowing down the bytes behind them.
    async fn delayed(self, mut from: OwnedReadHalf, mut to: OwnedWriteHalf) {
        let (queue, mut due) = mpsc::channel::<(Instant, Vec<u8>)>(MAX_CHUNKS);
        let delay = self.delay;
        let stop = self.stop.clone();
        let reader = async move {
            let mut buf = vec![0u8; CHUNK];
            loop {
                let n = match from.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                let chunk = (Instant::now() + delay, buf[..n].to_vec());
                if queue.send(chunk).await.is_err() {
                    return;
                }
            }
        };
        let writer = async {
            while let Some((at, chunk)) = due.recv().await {
                tokio::time::sleep_until(at).await;
                if to.write_all(&chunk).await.is_err() {
                    return;
                }
                self.count(chunk.len());
            }
        };
        tokio::select! {
            _ = stop.cancelled() => {}
            // The writer drains what the reader queued before the connection closed.
            ((), ()) = async { tokio::join!(reader, writer) } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn forwards_both_ways_with_the_delay_and_counts() {
        let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream_addr = upstream.local_addr().unwrap();
        let echo = tokio::spawn(async move {
            let (mut socket, _) = upstream.accept().await.unwrap();
            let mut buf = [0u8; 5];
            socket.read_exact(&mut buf).await.unwrap();
            socket.write_all(&buf).await.unwrap();
        });
        let stop = CancellationToken::new();
        let delay = Duration::from_millis(100);
        let listen = SocketAddr::from(([127, 0, 0, 1], 0));
        let (addr, counters) = start_on(listen, upstream_addr, delay, stop.clone())
            .await
            .unwrap();
        let mut client = TcpStream::connect(addr).await.unwrap();
        let sent = Instant::now();
        client.write_all(b"hello").await.unwrap();
        let mut back = [0u8; 5];
        client.read_exact(&mut back).await.unwrap();
        let round_trip = sent.elapsed();
        assert_eq!(&back, b"hello");
        assert!(round_trip >= 2 * delay, "round trip {round_trip:?}");
        echo.await.unwrap();
        assert_eq!(counters.up.load(Ordering::Relaxed), 5);
        assert_eq!(counters.down.load(Ordering::Relaxed), 5);
        stop.cancel();
    }
}
