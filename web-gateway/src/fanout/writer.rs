//! The writer task of one feed: it owns the feed's hand-over clients and wakes for a new
//! frame, a joining client, a busy socket that became writable, an `?fps=` client's turn,
//! a WebSocket session's request (pong, close, notice, move), or the periodic stall/idle
//! check. It ends with its last client (or the feed, or shutdown: WebSocket clients then get
//! a close frame).

use super::client::{Client, Flushed, Part};
use super::ws::CLOSE_GOING_AWAY;
use super::{Entry, Joins, Writers};
use crate::camera::{Feed, Latest, MessageCache, Shown, Slot};
use std::future::poll_fn;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How often clients are checked against their stall and idle limits.
const CHECK_EVERY: Duration = Duration::from_millis(250);

pub(super) struct Writer {
    slot: Slot,
    messages: Arc<MessageCache>,
    joins: mpsc::UnboundedReceiver<Entry>,
    own: Joins,
    writers: Arc<Writers>,
    clients: Vec<Client>,
    /// WebSocket sessions wake the writer with their link's key (`WsLink::key`).
    wake: mpsc::UnboundedSender<usize>,
    woken: mpsc::UnboundedReceiver<usize>,
}

impl Writer {
    pub fn new(
        feed: Feed,
        joins: mpsc::UnboundedReceiver<Entry>,
        writers: Arc<Writers>,
        own: Joins,
    ) -> Self {
        let (wake, woken) = mpsc::unbounded_channel();
        Self {
            wake,
            woken,
            slot: feed.frames,
            messages: feed.messages,
            joins,
            own,
            writers,
            clients: Vec::new(),
        }
    }

    pub async fn run(mut self, cancel: CancellationToken) {
        let mut check = tokio::time::interval(CHECK_EVERY);
        check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let turn = self.next_turn();
            tokio::select! {
                biased;
                _ = cancel.cancelled() => break,
                joining = self.joins.recv() => match joining {
                    Some(joining) => self.add(joining),
                    None => break,
                },
                changed = self.slot.changed() => match changed {
                    Ok(()) => self.distribute(false),
                    Err(_) => break, // the feed was released
                },
                () = poll_fn(|cx| writable(&self.clients, cx)) => self.flush_busy(),
                Some(key) = self.woken.recv() => self.asked(key),
                () = tokio::time::sleep_until(turn.unwrap_or_else(Instant::now)), if turn.is_some() => {
                    self.distribute(true);
                }
                _ = check.tick() => self.expire(),
            }
            if self.clients.is_empty() {
                match self
                    .writers
                    .retire(&self.messages, &self.own, &mut self.joins)
                {
                    Some(joining) => self.add(joining),
                    None => break,
                }
            }
        }
        self.close_all();
    }

    /// A new client (its head, for MJPEG the opening delimiter) or one moving from another
    /// feed: the current frame, written now.
    fn add(&mut self, entry: Entry) {
        let now = Instant::now();
        let mut client = match entry {
            Entry::Mjpeg(joining) => Client::new(joining, now),
            Entry::Ws(joining) => Client::ws(joining, now),
            Entry::Moved(client) => client,
        };
        if let Some(link) = client.link() {
            link.attach(self.wake.clone());
        }
        if let Some(feed) = client.take_asked(now) {
            // Switched again before it arrived here.
            self.writers.enter(feed, Entry::Moved(client));
            return;
        }
        if let Some(newest) = self.slot.borrow().newest.as_ref() {
            if client.lacks(&newest.frame) {
                client.queue(&Part::of(newest, &self.messages, &client), now);
            }
        }
        if client.flush(now) != Flushed::Gone {
            self.clients.push(client);
        }
    }

    /// A WebSocket session asked something of its client (`key`): control frames to send,
    /// a close, a move to another feed's writer.
    fn asked(&mut self, key: usize) {
        let Some(index) = self
            .clients
            .iter()
            .position(|client| client.link().is_some_and(|link| link.key() == key))
        else {
            return; // gone, or moved on: its next writer reads what it asked
        };
        let now = Instant::now();
        let client = &mut self.clients[index];
        if let Some(feed) = client.take_asked(now) {
            let client = self.clients.swap_remove(index);
            self.writers.enter(feed, Entry::Moved(client));
            return;
        }
        if client.flush(now) == Flushed::Gone {
            self.clients.swap_remove(index);
        }
    }

    /// Shutdown or the feed ended: WebSocket clients get a close frame, written if their
    /// socket takes it now.
    fn close_all(&mut self) {
        let now = Instant::now();
        for client in &mut self.clients {
            client.close(CLOSE_GOING_AWAY, now);
            client.flush(now);
        }
    }

    /// Hands the slot's new frames to every client ready for them: all of them after a new
    /// frame (`changed`), or the `?fps=` clients whose turn came (`turn`).
    fn distribute(&mut self, turn: bool) {
        let latest = if turn {
            self.slot.borrow().clone()
        } else {
            self.slot.borrow_and_update().clone()
        };
        if latest.newest.is_none() {
            return;
        }
        let now = Instant::now();
        let mut parts: Vec<Part> = Vec::with_capacity(4);
        let messages = &self.messages;
        self.clients.retain_mut(|client| {
            if client.busy() || client.due_at().is_some_and(|due| due > now) {
                return true;
            }
            !queue_new(client, &latest, &mut parts, messages, now)
                || client.flush(now) != Flushed::Gone
        });
    }

    /// Writes on to the sockets that were busy; one that drained and missed frames gets
    /// the newest at once (its turn permitting).
    fn flush_busy(&mut self) {
        let now = Instant::now();
        let latest = self.slot.borrow().clone();
        let mut parts: Vec<Part> = Vec::with_capacity(2);
        self.clients.retain_mut(|client| {
            if !client.busy() {
                return true;
            }
            match client.flush(now) {
                Flushed::Gone => return false,
                Flushed::Busy => return true,
                Flushed::Done => {}
            }
            if client.due_at().is_some_and(|due| due > now) {
                return true;
            }
            let Some(newest) = &latest.newest else {
                return true;
            };
            if client.lacks(&newest.frame) {
                let part = cached_part(&mut parts, newest, &self.messages, client);
                client.queue(&part, now);
                return client.flush(now) != Flushed::Gone;
            }
            true
        });
    }

    /// Drops the clients past their write-stall or idle limit.
    fn expire(&mut self) {
        let now = Instant::now();
        let mut index = 0;
        while index < self.clients.len() {
            match self.clients[index].expired(now) {
                Some(reason) => self.clients.swap_remove(index).drop_for(reason),
                None => index += 1,
            }
        }
    }

    /// The earliest turn of an `?fps=` client that is idle and lacks the newest frame.
    fn next_turn(&self) -> Option<Instant> {
        let newest = self.slot.borrow().frame()?;
        self.clients
            .iter()
            .filter(|client| client.paced() && !client.busy())
            .filter(|client| client.lacks(&newest))
            .filter_map(Client::due_at)
            .min()
    }
}

/// Queues what `client` has not had of `latest` (the newest only for an `?fps=` client);
/// true if anything was queued.
fn queue_new(
    client: &mut Client,
    latest: &Latest,
    parts: &mut Vec<Part>,
    messages: &MessageCache,
    now: Instant,
) -> bool {
    let frames = latest.to_send(client.last.as_ref(), client.paced());
    for shown in &frames {
        let part = cached_part(parts, shown, messages, client);
        client.queue(&part, now);
    }
    !frames.is_empty()
}

/// The part of `shown` for clients of `client`'s kind, built once per pass over the clients.
fn cached_part(
    parts: &mut Vec<Part>,
    shown: &Shown,
    messages: &MessageCache,
    client: &Client,
) -> Part {
    if let Some(part) = parts
        .iter()
        .find(|part| Arc::ptr_eq(&part.frame, &shown.frame) && part.ws == client.is_ws())
    {
        return part.clone();
    }
    let part = Part::of(shown, messages, client);
    parts.push(part.clone());
    part
}

/// Ready when some busy client's socket can take bytes again.
fn writable(clients: &[Client], cx: &mut std::task::Context<'_>) -> Poll<()> {
    let mut ready = false;
    for client in clients.iter().filter(|client| client.busy()) {
        ready |= client.poll_writable(cx).is_ready();
    }
    if ready {
        Poll::Ready(())
    } else {
        Poll::Pending
    }
}
