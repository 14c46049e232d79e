//! `StallGuard`: a socket wrapper that fails a connection whose peer stops taking bytes, or
//! on which no byte moves at all for too long.
//!
//! hyper has a timeout for request headers but none for a response that never drains: an
//! MJPEG or WebSocket client that stops reading would keep its socket, its task and its
//! `max_clients` slot forever. Here a write that stays pending for `write_stall` fails with
//! `TimedOut`, which ends the connection (or the upgraded WebSocket) and with it the stream's
//! slot. It sits under TLS and survives the WebSocket upgrade, so both are covered.

use super::drops::{DropReason, Drops};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// True while the connection has written a response and read nothing since: a header timeout
/// then closes a keep-alive connection nobody uses, rather than a slow or silent client.
#[derive(Debug, Clone, Default)]
pub struct KeepAliveIdle(Arc<AtomicBool>);

impl KeepAliveIdle {
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    fn set(&self, value: bool) {
        self.0.store(value, Ordering::Relaxed);
    }
}

/// What happens to a socket dropped for a write stall.
pub trait Abort {
    /// Makes closing the socket discard what the peer never took.
    fn abort(&self) {}
}

impl Abort for tokio::net::TcpStream {
    fn abort(&self) {
        // Close with RST instead of FIN: otherwise the kernel keeps the unsent bytes (the whole
        // send buffer, megabytes) for a peer that reads nothing, until its own retries give up.
        // Zero linger on a non-blocking socket does not block the close.
        let _ = socket2::SockRef::from(self).set_linger(Some(Duration::ZERO));
    }
}

impl Abort for tokio::io::DuplexStream {}

#[derive(Debug)]
pub struct StallGuard<T> {
    inner: T,
    write_stall: Duration,
    idle: Duration,
    /// Runs while a write is pending (`write_armed`): when it fires, the peer has taken
    /// nothing for `write_stall`.
    write_deadline: Pin<Box<Sleep>>,
    write_armed: bool,
    /// Fires `idle` after the last byte moved; moved forward lazily (see `check_idle`) rather
    /// than reset on every read and write.
    idle_deadline: Pin<Box<Sleep>>,
    last_activity: Instant,
    keep_alive_idle: KeepAliveIdle,
    /// Where timeouts are counted and logged, once per connection.
    report: Option<(Drops, SocketAddr)>,
}

impl<T> StallGuard<T> {
    pub fn new(inner: T, write_stall: Duration, idle: Duration) -> Self {
        let now = Instant::now();
        Self {
            inner,
            write_stall,
            idle,
            write_deadline: Box::pin(tokio::time::sleep_until(now + write_stall)),
            write_armed: false,
            idle_deadline: Box::pin(tokio::time::sleep_until(now + idle)),
            last_activity: now,
            keep_alive_idle: KeepAliveIdle::default(),
            report: None,
        }
    }

    /// Counts and logs this connection's timeout in `drops`.
    pub fn reporting(mut self, drops: Drops, peer: SocketAddr) -> Self {
        self.report = Some((drops, peer));
        self
    }

    pub fn keep_alive_idle(&self) -> KeepAliveIdle {
        self.keep_alive_idle.clone()
    }
}

impl<T: Abort> StallGuard<T> {
    fn timed_out(&mut self, reason: DropReason, message: &'static str) -> io::Error {
        if reason == DropReason::WriteStall {
            self.inner.abort();
        }
        if let Some((drops, peer)) = self.report.take() {
            drops.record(reason, peer);
        }
        io::Error::new(io::ErrorKind::TimedOut, message)
    }

    fn check_idle(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        while self.idle_deadline.as_mut().poll(cx).is_ready() {
            let due = self.last_activity + self.idle;
            if due <= Instant::now() {
                return Err(
                    self.timed_out(DropReason::Idle, "connection idle: no bytes either way")
                );
            }
            self.idle_deadline.as_mut().reset(due);
        }
        Ok(())
    }

    /// Called when a write or flush is pending: arms (or checks) the stall deadline.
    fn pending_write(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.write_armed {
            self.write_armed = true;
            let due = Instant::now() + self.write_stall;
            self.write_deadline.as_mut().reset(due);
        }
        if self.write_deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(self.timed_out(
                DropReason::WriteStall,
                "client accepted no bytes for the write-stall timeout",
            )));
        }
        Poll::Pending
    }

    fn wrote(&mut self, written: usize) {
        self.write_armed = false;
        if written > 0 {
            self.last_activity = Instant::now();
            self.keep_alive_idle.set(true);
        }
    }
}

impl<T: AsyncRead + Abort + Unpin> AsyncRead for StallGuard<T> {
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
                    this.last_activity = Instant::now();
                    this.keep_alive_idle.set(false);
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

impl<T: AsyncWrite + Abort + Unpin> AsyncWrite for StallGuard<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, data) {
            Poll::Ready(Ok(written)) => {
                this.wrote(written);
                Poll::Ready(Ok(written))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => this.pending_write(cx).map_ok(|()| 0),
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
                this.wrote(written);
                Poll::Ready(Ok(written))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => this.pending_write(cx).map_ok(|()| 0),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Ready(result) => {
                this.write_armed = false;
                Poll::Ready(result)
            }
            Poll::Pending => this.pending_write(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_shutdown(cx) {
            Poll::Pending => this.pending_write(cx),
            ready => ready,
        }
    }
}

#[cfg(test)]
mod tests;
