//! A response that leaves hyper after its head: the socket goes to whoever offered to take
//! it (the MJPEG feed writers, fanout/), which then writes every byte itself.
//!
//! Only a connection's first request can leave (`raw.rs` decides before hyper reads it):
//! a handler that finds a [`Handoff`] in the request's extensions may [`Handoff::offer`] to
//! take the socket, answering with the head it wants sent (its body is ignored); without
//! one (TLS, or a later request of a keep-alive connection) it serves the ordinary body.
//! A handler that cannot take this socket after all (a WebSocket whose camera is not known
//! yet) sends the request back to hyper ([`Handoff::to_hyper`]), which serves it anew.

use super::drops::Drops;
use super::heap::OpenConnection;
use bytes::Bytes;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::net::TcpStream;

/// A socket handed over, with what its new owner must keep enforcing.
#[derive(Debug)]
pub struct Handed {
    pub stream: TcpStream,
    pub peer: SocketAddr,
    /// The response head (status line, headers, blank line), not yet written.
    pub head: Bytes,
    /// What the client sent after its request head and was read with it: for a WebSocket,
    /// frames it sent without waiting for the `101`; for a stream, nothing that is read.
    pub after_head: Bytes,
    /// A write that makes no progress for this long drops the client (`--write-stall-timeout-ms`).
    pub write_stall: Duration,
    /// No byte written for this long closes the connection (`--idle-timeout-ms`).
    pub idle: Duration,
    pub drops: Drops,
    /// Counted as an open connection until dropped (the heap trimmer watches the count).
    pub open: OpenConnection,
}

type Taker = Box<dyn FnOnce(Handed) + Send>;

/// In a request's extensions when its socket may leave hyper; cheap to clone.
#[derive(Clone, Default)]
pub struct Handoff(Arc<Mutex<Option<Taker>>>, Arc<AtomicBool>);

impl std::fmt::Debug for Handoff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handoff").finish_non_exhaustive()
    }
}

impl Handoff {
    /// Takes the socket once the response head (status 200, or 101 for a WebSocket) is
    /// ready to be written.
    pub fn offer(&self, take: impl FnOnce(Handed) + Send + 'static) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(Box::new(take));
    }

    /// Serves the request with hyper instead (read again from its first byte, without a
    /// `Handoff`); the response returned now is dropped.
    pub fn to_hyper(&self) {
        self.1.store(true, Ordering::Relaxed);
    }

    pub(super) fn wants_hyper(&self) -> bool {
        self.1.load(Ordering::Relaxed)
    }

    pub(super) fn take(&self) -> Option<Taker> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}
