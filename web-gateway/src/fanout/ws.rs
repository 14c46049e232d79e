//! A WebSocket client of a feed writer: the socket shared by the writer (which alone writes
//! it) and the client's session task (which alone reads it, waking only when the client sends
//! something), and the [`WsLink`] between them: control frames to send (pong, close, text
//! notices), a move to another feed (a variant switch), the end of the session.
//!
//! Also the handshake's `Sec-WebSocket-Accept` and the control frames, built here once.

use crate::camera::wire::{put_frame_header, OPCODE_CLOSE, OPCODE_TEXT};
use crate::camera::Feed;
use bytes::{BufMut, Bytes, BytesMut};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Close codes (RFC 6455 7.4.1).
pub const CLOSE_GOING_AWAY: u16 = 1001;
pub const CLOSE_PROTOCOL_ERROR: u16 = 1002;
pub const CLOSE_INVALID_DATA: u16 = 1007;
pub const CLOSE_TOO_BIG: u16 = 1009;

/// `Sec-WebSocket-Accept` for the client's `Sec-WebSocket-Key` (RFC 6455 4.2.2).
pub fn accept_key(key: &[u8]) -> String {
    use base64::Engine as _;
    use sha1::Digest as _;
    let mut sha1 = sha1::Sha1::new();
    sha1.update(key);
    sha1.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64::engine::general_purpose::STANDARD.encode(sha1.finalize())
}

/// A whole unmasked frame: `opcode` with `payload`.
pub fn frame(opcode: u8, payload: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(10 + payload.len());
    put_frame_header(&mut out, opcode, payload.len());
    out.put_slice(payload);
    out.freeze()
}

pub fn text(message: &str) -> Bytes {
    frame(OPCODE_TEXT, message.as_bytes())
}

/// A close frame with `code` (no reason), or without a body when `code` is `None`.
pub fn close(code: Option<u16>) -> Bytes {
    match code {
        Some(code) => frame(OPCODE_CLOSE, &code.to_be_bytes()),
        None => frame(OPCODE_CLOSE, &[]),
    }
}

/// What the session asked of the writer and the writer has not done yet.
#[derive(Default)]
struct Inbox {
    frames: Vec<Bytes>,
    moving: Option<Feed>,
    closing: bool,
    /// Wakes the writer that has the client now (`None` while it moves between writers; the
    /// writer it joins reads the inbox then).
    writer: Option<mpsc::UnboundedSender<usize>>,
}

/// What the writer takes from the inbox.
pub(super) struct Taken {
    pub frames: Vec<Bytes>,
    pub moving: Option<Feed>,
    pub closing: bool,
}

/// Shared by a WebSocket client's session task and the writer that has its socket.
pub struct WsLink {
    stream: Arc<TcpStream>,
    inbox: Mutex<Inbox>,
    gone: CancellationToken,
}

impl std::fmt::Debug for WsLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsLink").finish_non_exhaustive()
    }
}

impl WsLink {
    pub fn new(stream: TcpStream) -> Arc<Self> {
        Arc::new(Self {
            stream: Arc::new(stream),
            inbox: Mutex::default(),
            gone: CancellationToken::new(),
        })
    }

    /// The socket, for reading only: every write is the writer's.
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    pub(super) fn shared_stream(&self) -> Arc<TcpStream> {
        self.stream.clone()
    }

    /// Sends `frame` (a whole frame) after the message being written.
    pub fn send(&self, frame: Bytes) {
        self.ask(|inbox| inbox.frames.push(frame));
    }

    /// Sends a close frame with `code` (`None`: without a body) and closes once it is out.
    pub fn close(&self, code: Option<u16>) {
        self.ask(|inbox| {
            inbox.frames.push(close(code));
            inbox.closing = true;
        });
    }

    /// Moves the client to the writer of `feed` (after the message being written).
    pub fn move_to(&self, feed: Feed) {
        self.ask(|inbox| inbox.moving = Some(feed));
    }

    /// Fires when the writer let the client go (closed, stalled, shutdown): the session ends.
    pub fn gone(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.gone.cancelled()
    }

    fn ask(&self, change: impl FnOnce(&mut Inbox)) {
        let mut inbox = self.lock();
        change(&mut inbox);
        let writer = inbox.writer.clone();
        drop(inbox);
        if let Some(writer) = writer {
            let _ = writer.send(self.key());
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The client's key in its writer's wake-ups.
    pub(super) fn key(&self) -> usize {
        self as *const Self as usize
    }

    /// The writer that has the client now, woken by the session's requests.
    pub(super) fn attach(&self, writer: mpsc::UnboundedSender<usize>) {
        self.lock().writer = Some(writer);
    }

    /// Everything asked so far; a move detaches the client from its writer.
    pub(super) fn take(&self) -> Taken {
        let mut inbox = self.lock();
        let moving = inbox.moving.take();
        if moving.is_some() {
            inbox.writer = None;
        }
        Taken {
            frames: std::mem::take(&mut inbox.frames),
            moving,
            closing: inbox.closing,
        }
    }

    pub(super) fn end(&self) {
        self.gone.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_key_matches_rfc_6455() {
        // The example of RFC 6455 1.3.
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        assert_eq!(&close(Some(1009))[..], &[0x88, 2, 0x03, 0xF1]);
        assert_eq!(&text("hi")[..], &[0x81, 2, b'h', b'i']);
    }
}
