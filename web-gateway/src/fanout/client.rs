//! One client of a feed writer, MJPEG or WebSocket: its socket, the bytes it has not taken
//! yet, and the limits its connection had under hyper (write stall, idle), enforced here now.

use super::ws::{self, WsLink};
use super::{Joining, WsJoining};
use crate::camera::{MessageCache, Shown};
use crate::metrics::SentMetrics;
use crate::mjpeg::{OPENING, PART_END};
use crate::server::{DropReason, Drops};
use bytes::{Buf, Bytes};
use camera_protocol::Frame;
use std::collections::VecDeque;
use std::io::{ErrorKind, IoSlice};
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::Instant;

/// Most buffers one `writev` takes: two parts of three pieces, plus the head and opening.
const MAX_SLICES: usize = 8;

/// A frame's part as every client of the feed gets it: the header built once, the JPEG
/// shared (for MJPEG the closing delimiter static): an MJPEG part, or a WebSocket binary
/// frame whose header holds the frame header and the message up to the JPEG.
#[derive(Debug, Clone)]
pub(super) struct Part {
    pub frame: Arc<Frame>,
    pub header: Bytes,
    pub ws: bool,
}

impl Part {
    pub fn of(shown: &Shown, messages: &MessageCache, client: &Client) -> Self {
        let header = match &client.wire {
            Wire::Mjpeg => messages.part_header(shown),
            Wire::Ws(peer) => messages.ws_prefix(&peer.camera, &shown.frame),
        };
        Self {
            frame: shown.frame.clone(),
            header,
            ws: client.is_ws(),
        }
    }
}

/// How a client takes frames.
enum Wire {
    Mjpeg,
    Ws(Peer),
}

/// A WebSocket client's side of its [`WsLink`]; dropping it ends the client's session.
struct Peer {
    camera: String,
    link: Arc<WsLink>,
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.link.end();
    }
}

/// What a write attempt left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flushed {
    /// Everything queued was taken by the kernel.
    Done,
    /// Bytes are left; the socket will say when it is writable again.
    Busy,
    /// The client closed, the socket failed, or the close frame queued went out: drop it.
    Gone,
}

pub(super) struct Client {
    stream: Arc<TcpStream>,
    wire: Wire,
    /// A close frame is queued: nothing follows it, and the client goes once it is out.
    closing: bool,
    peer: SocketAddr,
    /// Unsent bytes; the front one is partly sent when the last write stopped inside it.
    queue: VecDeque<Bytes>,
    /// The frame queued last: a burst after it sends both of its frames.
    pub last: Option<Arc<Frame>>,
    min_interval: Option<Duration>,
    last_part_at: Option<Instant>,
    /// When a byte last moved, or when bytes were queued on an empty queue.
    moved_at: Instant,
    write_stall: Duration,
    idle: Duration,
    drops: Drops,
    sent: SentMetrics,
    _guards: (Box<dyn Send + Sync>, crate::server::heap::OpenConnection),
}

impl Client {
    /// The joining MJPEG client with its response head and the multipart opening queued.
    pub fn new(joining: Joining, now: Instant) -> Self {
        let Joining {
            handed,
            min_interval,
            sent,
            guards,
        } = joining;
        let stream = Arc::new(handed.stream);
        let mut client = Self {
            stream,
            wire: Wire::Mjpeg,
            closing: false,
            peer: handed.peer,
            queue: VecDeque::with_capacity(8),
            last: None,
            min_interval,
            last_part_at: None,
            moved_at: now,
            write_stall: handed.write_stall,
            idle: handed.idle,
            drops: handed.drops,
            sent,
            _guards: (guards, handed.open),
        };
        client.queue.push_back(handed.head);
        client
            .queue
            .push_back(Bytes::from_static(OPENING.as_bytes()));
        client
    }

    /// The joining WebSocket client with its `101 Switching Protocols` head queued.
    pub fn ws(joining: WsJoining, now: Instant) -> Self {
        let WsJoining {
            link,
            head,
            peer,
            write_stall,
            idle,
            drops,
            open,
            camera,
            sent,
        } = joining;
        let mut client = Self {
            stream: link.shared_stream(),
            wire: Wire::Ws(Peer { camera, link }),
            closing: false,
            peer,
            queue: VecDeque::with_capacity(8),
            last: None,
            min_interval: None,
            last_part_at: None,
            moved_at: now,
            write_stall,
            idle,
            drops,
            sent,
            _guards: (Box::new(()), open),
        };
        client.queue.push_back(head);
        client
    }

    pub fn is_ws(&self) -> bool {
        matches!(self.wire, Wire::Ws(_))
    }

    /// The WebSocket link of the client, if it is one, for its writer's wake-ups.
    pub fn link(&self) -> Option<&Arc<WsLink>> {
        match &self.wire {
            Wire::Ws(peer) => Some(&peer.link),
            Wire::Mjpeg => None,
        }
    }

    /// Queues what the client's session asked for (control frames, a close); returns the
    /// feed it asked to move to.
    pub fn take_asked(&mut self, now: Instant) -> Option<crate::camera::Feed> {
        let taken = self.link()?.take();
        for frame in taken.frames {
            self.push(frame, now);
        }
        self.closing |= taken.closing;
        taken.moving
    }

    /// Queues a close frame (shutdown, the feed ended) unless one is queued already.
    pub fn close(&mut self, code: u16, now: Instant) {
        if self.is_ws() && !self.closing {
            self.push(ws::close(Some(code)), now);
            self.closing = true;
        }
    }

    fn push(&mut self, bytes: Bytes, now: Instant) {
        if self.queue.is_empty() {
            self.moved_at = now;
        }
        self.queue.push_back(bytes);
    }

    /// Still writing an older frame (or its head).
    pub fn busy(&self) -> bool {
        !self.queue.is_empty()
    }

    /// `frame` is not the one queued last.
    pub fn lacks(&self, frame: &Arc<Frame>) -> bool {
        self.last
            .as_ref()
            .is_none_or(|last| !Arc::ptr_eq(last, frame))
    }

    pub fn paced(&self) -> bool {
        self.min_interval.is_some()
    }

    /// When an `?fps=` client may take its next part (`None`: now).
    pub fn due_at(&self) -> Option<Instant> {
        Some(self.last_part_at? + self.min_interval?)
    }

    /// Queues `part` (its header, JPEG and for MJPEG the closing delimiter).
    pub fn queue(&mut self, part: &Part, now: Instant) {
        if self.closing {
            return;
        }
        self.push(part.header.clone(), now);
        self.queue.push_back(part.frame.jpeg.clone());
        if !part.ws {
            self.queue
                .push_back(Bytes::from_static(PART_END.as_bytes()));
        }
        self.last = Some(part.frame.clone());
        self.last_part_at = Some(now);
        self.sent
            .frame(part.frame.jpeg.len(), part.frame.meta.age());
    }

    /// Writes what is queued, one `writev` at a time, until done or the socket is full;
    /// `Gone` also once a close frame is out.
    pub fn flush(&mut self, now: Instant) -> Flushed {
        while !self.queue.is_empty() {
            let mut slices = [IoSlice::new(&[]); MAX_SLICES];
            let count = self.queue.len().min(MAX_SLICES);
            for (slice, bytes) in slices.iter_mut().zip(&self.queue) {
                *slice = IoSlice::new(bytes);
            }
            match self.stream.try_write_vectored(&slices[..count]) {
                Ok(0) => return Flushed::Gone,
                Ok(written) => {
                    self.moved_at = now;
                    self.consume(written);
                }
                Err(error) if error.kind() == ErrorKind::WouldBlock => return Flushed::Busy,
                Err(_) => return Flushed::Gone,
            }
        }
        match self.closing {
            true => Flushed::Gone,
            false => Flushed::Done,
        }
    }

    fn consume(&mut self, mut written: usize) {
        while written > 0 {
            let Some(front) = self.queue.front_mut() else {
                return;
            };
            if written < front.len() {
                front.advance(written);
                return;
            }
            written -= front.len();
            self.queue.pop_front();
        }
    }

    /// Ready once a busy socket can take bytes again (registers the writer's waker).
    pub fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.stream.poll_write_ready(cx).map(|_| ())
    }

    /// Why the client must go now: bytes pending for `write_stall` without progress, or
    /// nothing written for `idle`.
    pub fn expired(&self, now: Instant) -> Option<DropReason> {
        let still = now.saturating_duration_since(self.moved_at);
        if self.busy() && still >= self.write_stall {
            Some(DropReason::WriteStall)
        } else if !self.busy() && still >= self.idle {
            Some(DropReason::Idle)
        } else {
            None
        }
    }

    /// Drops the client for `reason`, counted and logged like hyper's connections; a
    /// stalled one is reset so that the kernel does not keep its unsent bytes.
    pub fn drop_for(self, reason: DropReason) {
        if reason == DropReason::WriteStall {
            let _ = socket2::SockRef::from(&*self.stream).set_linger(Some(Duration::ZERO));
        }
        self.drops.record(reason, self.peer);
    }
}
