//! `StallGuard`: an IO wrapper that fails a connection whose peer stops taking bytes, or that
//! moves no bytes at all for too long.
//!
//! hyper has a timeout for request headers but none for a response that never drains: an
//! MJPEG or WebSocket client that stops reading would keep its socket, its task and its
//! `max_clients` slot forever. Here a write that stays pending for `write_stall` fails with
//! `TimedOut`, which makes hyper drop the connection and with it the stream's slot. The idle
//! limit catches connections that neither read nor write (an upgraded WebSocket whose camera
//! went away and whose peer went silent).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

#[derive(Debug)]
pub struct StallGuard<T> {
    inner: T,
    write_stall: Duration,
    idle: Duration,
    /// Armed while a write is pending: when it fires, the peer has taken nothing for
    /// `write_stall`.
    write_deadline: Option<Pin<Box<Sleep>>>,
    /// Reset on every byte moved in either direction.
    idle_deadline: Pin<Box<Sleep>>,
}

impl<T> StallGuard<T> {
    pub fn new(inner: T, write_stall: Duration, idle: Duration) -> Self {
        Self {
            inner,
            write_stall,
            idle,
            write_deadline: None,
            idle_deadline: Box::pin(tokio::time::sleep(idle)),
        }
    }

    fn activity(&mut self) {
        self.idle_deadline
            .as_mut()
            .reset(Instant::now() + self.idle);
    }

    fn check_idle(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        if self.idle_deadline.as_mut().poll(cx).is_ready() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "connection idle: no bytes either way",
            ));
        }
        Ok(())
    }

    /// Called when a write or flush is pending: arms (or checks) the stall deadline.
    fn pending_write(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let stall = self.write_stall;
        let deadline = self
            .write_deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(stall)));
        if deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "client accepted no bytes for the write-stall timeout",
            )));
        }
        Poll::Pending
    }

    fn progressed(&mut self) {
        self.write_deadline = None;
        self.activity();
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for StallGuard<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.activity();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => match this.check_idle(cx) {
                Ok(()) => Poll::Pending,
                Err(error) => Poll::Ready(Err(error)),
            },
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for StallGuard<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, data) {
            Poll::Ready(Ok(written)) => {
                if written > 0 {
                    this.progressed();
                }
                Poll::Ready(Ok(written))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => this.pending_write(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write_vectored(cx, bufs) {
            Poll::Ready(Ok(written)) => {
                if written > 0 {
                    this.progressed();
                }
                Poll::Ready(Ok(written))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => this.pending_write(cx),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Ready(result) => {
                this.write_deadline = None;
                Poll::Ready(result)
            }
            Poll::Pending => this.pending_write(cx).map_ok(|_| ()),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_shutdown(cx) {
            Poll::Pending => this.pending_write(cx).map_ok(|_| ()),
            ready => ready,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test(start_paused = true)]
    async fn a_peer_that_stops_reading_fails_the_write() {
        let (near, mut far) = tokio::io::duplex(1024);
        let mut guarded = StallGuard::new(near, Duration::from_secs(30), Duration::from_secs(600));
        // The peer reads the first KiB, then nothing: writes block, then fail after 30 s.
        let chunk = [7u8; 1024];
        guarded.write_all(&chunk).await.expect("buffer has room");
        let mut first = [0u8; 1024];
        far.read_exact(&mut first).await.expect("peer reads");
        guarded.write_all(&chunk).await.expect("buffer has room again");
        let started = Instant::now();
        let error = guarded.write_all(&chunk).await.expect_err("stalled");
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed().as_secs(), 30);
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_but_moving_peer_is_kept() {
        let (near, mut far) = tokio::io::duplex(64);
        let mut guarded = StallGuard::new(near, Duration::from_secs(30), Duration::from_secs(600));
        let reader = tokio::spawn(async move {
            let mut total = 0;
            let mut buf = [0u8; 64];
            while total < 64 * 20 {
                tokio::time::sleep(Duration::from_secs(20)).await;
                total += far.read(&mut buf).await.expect("read");
            }
            total
        });
        // 20 chunks, each taking 20 s to drain: 400 s in all, but never 30 s without progress.
        for _ in 0..20 {
            guarded.write_all(&[1u8; 64]).await.expect("slow peer kept");
        }
        assert_eq!(reader.await.expect("reader"), 64 * 20);
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_connection_times_out_when_idle() {
        let (near, _far) = tokio::io::duplex(64);
        let mut guarded = StallGuard::new(near, Duration::from_secs(30), Duration::from_secs(90));
        let mut buf = [0u8; 8];
        let started = Instant::now();
        let error = guarded.read(&mut buf).await.expect_err("idle");
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed().as_secs(), 90);
    }
}
