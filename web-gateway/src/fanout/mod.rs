//! One writer per feed: the MJPEG and single-camera WebSocket clients of a camera (or of one
//! of its variants) whose sockets left hyper after the response head (`crate::server::handoff`)
//! are written by one task, the feed's writer, as ustreamer's stream loop and the benchmark's
//! bare writer do.
//!
//! Each new frame's part (header, JPEG, closing delimiter) is built once and written to every
//! ready socket with one `writev`, the JPEG's `Bytes` shared, never copied; a socket still busy
//! with an older frame skips the new one and gets the newest as soon as it drained (newest
//! frame wins); a burst of two frames right after a client's last one sends both
//! (`camera::Latest::since`). Per client-frame that is one system call and no task wake-up,
//! where a hyper connection per client cost a wake-up and a pass through its dispatcher.
//! A WebSocket frame is the same: its frame header and message prefix built once per feed
//! frame, the JPEG shared; what the client sends is read by its own session task.
//!
//! - this file: [`Writers`], the registry (one writer per feed, started by its first client,
//!   ended with its last) and [`Joining`] / [`WsJoining`], what a client brings.
//! - `writer.rs`: the writer task: frames, joins, writability, timers, session requests.
//! - `client.rs`: one socket: its queue of unsent bytes, `writev`, stall and idle limits.
//! - `ws.rs`: [`WsLink`], between a WebSocket client's session and its writer; frames.
//! - `inbound.rs`: the frames a WebSocket client sends, parsed and bounded.

mod client;
pub mod inbound;
mod writer;
pub mod ws;

pub use ws::WsLink;

use crate::camera::{Feed, MessageCache};
use crate::metrics::SentMetrics;
use crate::server::Handed;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// A client joining its feed's writer.
pub struct Joining {
    pub handed: Handed,
    /// `?fps=N`: at least this long between two parts.
    pub min_interval: Option<Duration>,
    pub sent: SentMetrics,
    /// Released when the client leaves: its `max_clients` slot, its viewer count.
    pub guards: Box<dyn Send + Sync>,
}

impl std::fmt::Debug for Joining {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Joining")
            .field("peer", &self.handed.peer)
            .field("min_interval", &self.min_interval)
            .finish_non_exhaustive()
    }
}

/// A single-camera WebSocket client joining its feed's writer; its session task (which
/// reads the socket and holds its `max_clients` slot) holds the other end of its link.
pub struct WsJoining {
    link: Arc<WsLink>,
    /// What [`Handed`] brought besides the socket (which is in `link`).
    head: bytes::Bytes,
    peer: std::net::SocketAddr,
    write_stall: Duration,
    idle: Duration,
    drops: crate::server::Drops,
    open: crate::server::heap::OpenConnection,
    camera: String,
    sent: SentMetrics,
}

impl WsJoining {
    /// The client of `handed` (whose head is the `101 Switching Protocols`) sending frames of
    /// `camera`; the link is for the client's session, whose reader starts with what the
    /// client sent after its request head.
    pub fn new(
        handed: Handed,
        camera: String,
        sent: SentMetrics,
    ) -> (Self, Arc<WsLink>, inbound::Reader) {
        let link = WsLink::new(handed.stream);
        let reader = inbound::Reader::starting_with(&handed.after_head);
        let joining = Self {
            link: link.clone(),
            head: handed.head,
            peer: handed.peer,
            write_stall: handed.write_stall,
            idle: handed.idle,
            drops: handed.drops,
            open: handed.open,
            camera,
            sent,
        };
        (joining, link, reader)
    }
}

impl std::fmt::Debug for WsJoining {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsJoining")
            .field("peer", &self.peer)
            .field("camera", &self.camera)
            .finish_non_exhaustive()
    }
}

/// What a writer's joins carry: a new client, or one moving from another feed's writer.
enum Entry {
    Mjpeg(Joining),
    Ws(WsJoining),
    Moved(client::Client),
}

type Joins = mpsc::UnboundedSender<Entry>;

/// The running writers, by feed (the address of the feed's shared `MessageCache`, which the
/// writer holds so that the address stays its own while it runs).
#[derive(Debug)]
pub struct Writers {
    running: Mutex<HashMap<usize, Joins>>,
    cancel: CancellationToken,
    tracker: TaskTracker,
}

impl Writers {
    pub fn new(cancel: CancellationToken, tracker: TaskTracker) -> Self {
        Self {
            running: Mutex::default(),
            cancel,
            tracker,
        }
    }

    /// Hands `joining` to the writer of `feed`, starting it if the feed has none.
    pub fn join(self: &Arc<Self>, feed: Feed, joining: Joining) {
        self.enter(feed, Entry::Mjpeg(joining));
    }

    /// [`Self::join`] for a WebSocket client.
    pub fn join_ws(self: &Arc<Self>, feed: Feed, joining: WsJoining) {
        self.enter(feed, Entry::Ws(joining));
    }

    fn enter(self: &Arc<Self>, feed: Feed, joining: Entry) {
        let key = feed_key(&feed.messages);
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        let joining = match running.get(&key) {
            Some(joins) => match joins.send(joining) {
                Ok(()) => return,
                // The writer ended without removing itself (it panicked): start anew.
                Err(mpsc::error::SendError(joining)) => joining,
            },
            None => joining,
        };
        let (joins, queued) = mpsc::unbounded_channel();
        let _ = joins.send(joining);
        running.insert(key, joins.clone());
        let writer = writer::Writer::new(feed, queued, self.clone(), joins);
        self.tracker.spawn(writer.run(self.cancel.clone()));
    }

    /// Called by a writer left without clients, under the lock `join` sends under, so that no
    /// client is lost: a client that is waiting after all, or `None` and the writer is
    /// unregistered (the next client of the feed starts a new one).
    fn retire(
        &self,
        messages: &Arc<MessageCache>,
        own: &Joins,
        waiting: &mut mpsc::UnboundedReceiver<Entry>,
    ) -> Option<Entry> {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if let Ok(joining) = waiting.try_recv() {
            return Some(joining);
        }
        let key = feed_key(messages);
        if running
            .get(&key)
            .is_some_and(|joins| joins.same_channel(own))
        {
            running.remove(&key);
        }
        None
    }

    /// How many feeds have a writer now.
    pub fn len(&self) -> usize {
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn feed_key(messages: &Arc<MessageCache>) -> usize {
    Arc::as_ptr(messages) as usize
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_ws;
