//! One Foxglove connection: `serverInfo`, then channels kept in step with the camera directory
//! and the cameras' H.264 lanes (`channels.rs`: advertise/unadvertise), subscriptions fed from
//! each camera's latest-frame slot, or every access unit of its lane from a keyframe on.
//!
//! A subscription's next frame is taken from the slot only once the socket took the previous
//! message, so a slow client gets the newest frame, never a queue (the MJPEG rule). Bad client
//! messages get a `status` error and the connection stays, as the spec asks. A client that
//! reads nothing is dropped by the accept loop's write-stall timeout (`crate::server`, the same
//! as for HTTP); one that answers no ping for [`IDLE_TIMEOUT`] is dropped here, so neither can
//! hold one of the `max_clients` places forever.

use super::channels::Channels;
use super::protocol::{self, ClientMessage, Level, ServerMessage, Subscription};
use super::Server;
use crate::camera::{Choice, Slot, Unit, VideoFeed, Viewer};
use crate::state::ClientGuard;
use axum::extract::ws::{Message, WebSocket};
use bytes::Bytes;
use camera_protocol::Frame;
use futures::stream::{AbortHandle, BoxStream, SelectAll};
use futures::StreamExt;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Subscriptions one connection may hold (each is a camera feed and a viewer count).
const MAX_SUBSCRIPTIONS: usize = 1024;
/// Pings keep NATs and the accept loop's idle timeout from closing a connection without
/// subscriptions, and show whether its client is still there.
const PING_INTERVAL: Duration = Duration::from_secs(15);
/// Nothing heard (not even a pong) for this long: the peer is gone.
const IDLE_TIMEOUT: Duration = Duration::from_secs(45);
/// How often the cameras' H.264 lanes are looked at (they come with the nodes' info replies,
/// which the directory's change counter does not count).
const LANES_EVERY: Duration = Duration::from_secs(2);

/// Why a connection ended (logged at debug: clients leaving is normal).
#[derive(Debug, thiserror::Error)]
enum End {
    #[error("the client closed the connection")]
    Closed,
    #[error("the gateway is shutting down")]
    Shutdown,
    #[error("socket error: {0}")]
    Socket(axum::Error),
    #[error("nothing heard from the client for {IDLE_TIMEOUT:?}")]
    Idle,
}

/// What a subscription sends next.
enum Payload {
    Image(Arc<Frame>),
    Video(Arc<Unit>),
}

/// Messages of one subscription: (subscription id, camera id, payload).
type Frames = BoxStream<'static, (u32, Arc<str>, Payload)>;

#[derive(Debug)]
struct Subscribed {
    channel: u32,
    /// Ends the subscription's stream in the `SelectAll` (which has no remove).
    abort: AbortHandle,
    _viewer: Viewer,
}

struct Session {
    server: Server,
    socket: WebSocket,
    channels: Channels,
    subscriptions: HashMap<u32, Subscribed>,
    feeds: SelectAll<Frames>,
}

pub(super) async fn run(socket: WebSocket, server: Server, _client: ClientGuard) {
    let mut session = Session {
        server,
        socket,
        channels: Channels::default(),
        subscriptions: HashMap::new(),
        feeds: SelectAll::new(),
    };
    match session.serve().await {
        Err(End::Shutdown) => {
            let _ = session.socket.send(Message::Close(None)).await;
        }
        Err(end) => tracing::debug!(%end, "Foxglove client left"),
        Ok(()) => {}
    }
    for (_, subscription) in session.subscriptions.drain() {
        subscription.abort.abort();
    }
}

/// Live frames of a camera's slot, newest first; NO SIGNAL pictures are left out (Foxglove
/// shows the last image with its age, and the recordings hold only live frames too).
fn frames(subscription: u32, camera: Arc<str>, slot: Slot) -> Frames {
    futures::stream::unfold(slot, move |mut slot| {
        let camera = camera.clone();
        async move {
            loop {
                // Ends when the camera task ends (camera forgotten).
                slot.changed().await.ok()?;
                let latest = slot.borrow_and_update().frame();
                if let Some(frame) = latest.filter(|frame| frame.meta.online) {
                    return Some(((subscription, camera, Payload::Image(frame)), slot));
                }
            }
        }
    })
    .boxed()
}

/// Every access unit of a lane, from a keyframe on.
fn units(subscription: u32, camera: Arc<str>, feed: VideoFeed) -> Frames {
    futures::stream::unfold(feed, move |mut feed| {
        let camera = camera.clone();
        async move {
            let unit = feed.next().await?;
            Some(((subscription, camera, Payload::Video(unit)), feed))
        }
    })
    .boxed()
}

impl Session {
    async fn serve(&mut self) -> Result<(), End> {
        let session_id = self.server.session_id.clone();
        let info = ServerMessage::ServerInfo {
            name: concat!("web-gateway ", env!("CARGO_PKG_VERSION")).to_owned(),
            capabilities: [],
            supported_encodings: [],
            metadata: BTreeMap::from([("prefix", self.server.state.prefixes.patterns().join(","))]),
            session_id: &session_id,
        };
        self.send_json(&info).await?;
        let mut changes = self.server.state.directory.subscribe();
        changes.borrow_and_update();
        // The spec wants an advertise on every connection, even with no camera yet.
        self.sync_channels(true).await?;
        let cancel = self.server.state.cancel.clone();
        let mut ping = tokio::time::interval(PING_INTERVAL);
        ping.tick().await;
        let mut lanes = tokio::time::interval(LANES_EVERY);
        lanes.tick().await;
        let mut last_heard = Instant::now();
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return Err(End::Shutdown),
                changed = changes.changed() => {
                    changed.map_err(|_| End::Shutdown)?;
                    self.sync_channels(false).await?;
                }
                Some((subscription, camera, payload)) = self.feeds.next() => {
                    self.send_frame(subscription, &camera, &payload).await?;
                }
                _ = lanes.tick() => self.sync_channels(false).await?,
                received = self.socket.recv() => {
                    last_heard = Instant::now();
                    match received {
                        None | Some(Ok(Message::Close(_))) => return Err(End::Closed),
                        Some(Err(error)) => return Err(End::Socket(error)),
                        Some(Ok(Message::Text(text))) => self.on_text(text.as_str()).await?,
                        Some(Ok(Message::Binary(_))) => {
                            let message = "binary client messages (clientPublish, service calls) \
                                are not supported by this server; it only sends camera images";
                            self.status(Level::Error, message.to_owned()).await?;
                        }
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    }
                }
                _ = ping.tick() => {
                    if last_heard.elapsed() > IDLE_TIMEOUT {
                        return Err(End::Idle);
                    }
                    self.send(Message::Ping(Bytes::new())).await?;
                }
            }
        }
    }

    /// Advertises cameras new in the directory and unadvertises those that left (or were
    /// replaced by a new task of the same id), dropping subscriptions to them.
    async fn sync_channels(&mut self, always_advertise: bool) -> Result<(), End> {
        let cameras = self.server.state.directory.list();
        let server = self.server.clone();
        let (gone, added) = self
            .channels
            .sync(&cameras, &server.schema, &server.video_schema);
        for channel in &gone {
            self.subscriptions.retain(|_, subscribed| {
                let keep = subscribed.channel != *channel;
                if !keep {
                    subscribed.abort.abort();
                }
                keep
            });
        }
        if !gone.is_empty() {
            let gone = ServerMessage::Unadvertise { channel_ids: gone };
            self.send_json(&gone).await?;
        }
        if always_advertise || !added.is_empty() {
            let advertise = ServerMessage::Advertise { channels: added };
            self.send_json(&advertise).await?;
        }
        Ok(())
    }

    async fn on_text(&mut self, text: &str) -> Result<(), End> {
        let problems = match protocol::parse(text) {
            Err(error) => vec![error.to_string()],
            Ok(ClientMessage::Subscribe { subscriptions }) => {
                let mut problems = Vec::new();
                for subscription in subscriptions {
                    if let Err(problem) = self.subscribe(subscription).await {
                        problems.push(format!("subscribe: {problem}"));
                    }
                }
                problems
            }
            Ok(ClientMessage::Unsubscribe { subscription_ids }) => subscription_ids
                .into_iter()
                .filter_map(|id| match self.subscriptions.remove(&id) {
                    Some(subscribed) => {
                        subscribed.abort.abort();
                        None
                    }
                    None => Some(format!("unsubscribe: no subscription {id}")),
                })
                .collect(),
        };
        for problem in problems {
            self.status(Level::Error, problem).await?;
        }
        Ok(())
    }

    async fn subscribe(&mut self, wanted: Subscription) -> Result<(), String> {
        let Subscription { id, channel_id } = wanted;
        if self.subscriptions.contains_key(&id) {
            return Err(format!(
                "subscription id {id} is in use; unsubscribe it first or pick another id"
            ));
        }
        let Some(advertised) = self.channels.get(channel_id).cloned() else {
            return Err(format!(
                "channel {channel_id} is not advertised (its camera may have gone)"
            ));
        };
        if let Some((other, _)) = self
            .subscriptions
            .iter()
            .find(|(_, subscribed)| subscribed.channel == channel_id)
        {
            return Err(format!(
                "channel {channel_id} is already subscribed as subscription {other}"
            ));
        }
        if self.subscriptions.len() >= MAX_SUBSCRIPTIONS {
            return Err(format!(
                "at most {MAX_SUBSCRIPTIONS} subscriptions per connection"
            ));
        }
        let camera = advertised.camera;
        let gone = |gone| format!("channel {channel_id}: {gone}");
        // The viewer first: under while-watched the camera task starts receiving for it.
        let (stream, viewer) = match advertised.lane {
            None => {
                let viewer = camera.viewer(&Choice::default());
                let feed = camera.feed(Choice::default()).await.map_err(gone)?;
                (frames(id, camera.id().into(), feed.frames), viewer)
            }
            Some(lane) => {
                let viewer = camera.viewer(&Choice::Node(lane.clone()));
                let feed = camera.video(&lane).await.map_err(gone)?;
                let feed = feed.ok_or_else(|| {
                    format!(
                        "channel {channel_id}: the node no longer publishes H.264 lane {lane:?}"
                    )
                })?;
                (units(id, camera.id().into(), feed), viewer)
            }
        };
        let (stream, abort) = futures::stream::abortable(stream);
        self.feeds.push(stream.boxed());
        self.subscriptions.insert(
            id,
            Subscribed {
                channel: channel_id,
                abort,
                _viewer: viewer,
            },
        );
        Ok(())
    }

    async fn send_frame(
        &mut self,
        subscription: u32,
        camera: &str,
        payload: &Payload,
    ) -> Result<(), End> {
        let Some(subscribed) = self.subscriptions.get(&subscription) else {
            return Ok(()); // unsubscribed while this frame was on its way
        };
        // frame_id is the camera's own name, as in the recordings (the id under one prefix).
        let frame_id = self
            .channels
            .get(subscribed.channel)
            .map_or(camera, |advertised| advertised.camera.camera());
        let (data, bytes, age) = match payload {
            Payload::Image(frame) => {
                let meta = &frame.meta;
                let data =
                    protocol::message_data(subscription, meta.capture_ts_ns, frame_id, &frame.jpeg);
                (data, frame.jpeg.len(), meta.age())
            }
            Payload::Video(unit) => {
                let (meta, au) = (&unit.frame.meta.frame, &unit.frame.au);
                let data =
                    protocol::video_message_data(subscription, meta.capture_ts_ns, frame_id, au);
                (data, au.len(), meta.age())
            }
        };
        self.server
            .state
            .metrics
            .frame_sent("foxglove", camera, bytes, age);
        self.send(Message::Binary(data.into())).await
    }

    async fn status(&mut self, level: Level, message: String) -> Result<(), End> {
        self.send_json(&ServerMessage::Status { level, message })
            .await
    }

    async fn send_json(&mut self, message: &ServerMessage<'_>) -> Result<(), End> {
        self.send(Message::Text(message.to_json().into())).await
    }

    async fn send(&mut self, message: Message) -> Result<(), End> {
        let cancel = self.server.state.cancel.clone();
        // A stalled client fails this send through the accept loop's write-stall timeout.
        tokio::select! {
            _ = cancel.cancelled() => Err(End::Shutdown),
            sent = self.socket.send(message) => sent.map_err(End::Socket),
        }
    }
}
