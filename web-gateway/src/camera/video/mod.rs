//! A camera's H.264 lanes (`<prefix>/<camera>/h264/<name>`, docs/protocol.md): one zenoh
//! subscriber per lane that has clients or is recorded, owned by the camera task's feed
//! registry like node variants, released shortly after its last client left.
//!
//! Unlike JPEG frames, access units depend on the ones before, so a lane is not a latest-only
//! slot: each lane keeps its current group of pictures (from the last keyframe, bounded) and
//! broadcasts every access unit. A joining client gets the group first, so it shows the
//! picture at once, then every unit; a client that falls behind (the broadcast lags) or a lane
//! that lost units skips to the next keyframe and asks the node for one.
//!
//! - this file: [`VideoLanes`] (the registry), [`VideoFeed`] (what a client reads), [`Unit`].
//! - `receive.rs`: the subscriber task: checks, loss, recording, keyframe requests.

mod receive;

pub use receive::Receive;

use bytes::{BufMut, Bytes, BytesMut};
use camera_protocol::info::{CameraInfo, VideoInfo};
use camera_protocol::VideoFrame;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use tokio::sync::{broadcast, Notify};
use tokio_util::task::AbortOnDropHandle;

/// Lanes of one node the gateway considers; the rest of a longer list is ignored.
pub const MAX_LANES: usize = 16;
/// Access units a client may fall behind before it skips to the next keyframe (2 s at 30 fps).
const BACKLOG_UNITS: usize = 64;
/// Bounds on the group of pictures kept for joiners; a longer group is dropped (joiners then
/// wait for the next keyframe, which they ask for).
const MAX_GOP_BYTES: usize = 8 << 20;
const MAX_GOP_UNITS: usize = 600;
/// Bit 7 of a WebSocket message's first byte (the id length, ≤ 64): an H.264 message.
pub const WS_VIDEO_FLAG: u8 = 0x80;

/// One received access unit, shared by every client of the lane.
#[derive(Debug)]
pub struct Unit {
    pub frame: VideoFrame,
    /// When the gateway took it from zenoh (ns since the Unix epoch).
    pub received_ns: u64,
    ws: OnceLock<Bytes>,
}

impl Unit {
    pub fn new(frame: VideoFrame, received_ns: u64) -> Self {
        Self {
            frame,
            received_ns,
            ws: OnceLock::new(),
        }
    }

    /// The `/ws` message of this unit, built once for all sockets:
    /// `[0x80 | id_len][id][u16 LE attachment length][attachment][access unit]`.
    pub fn ws_message(&self, camera: &str) -> Bytes {
        self.ws
            .get_or_init(|| {
                let id = &camera.as_bytes()[..camera.len().min(64)];
                let attachment = self.frame.meta.encode();
                let au = &self.frame.au;
                let mut out = BytesMut::with_capacity(3 + id.len() + attachment.len() + au.len());
                out.put_u8(WS_VIDEO_FLAG | id.len() as u8);
                out.put_slice(id);
                out.put_u16_le(attachment.len() as u16);
                out.put_slice(&attachment);
                out.put_slice(au);
                out.freeze()
            })
            .clone()
    }
}

/// The group of pictures since the last keyframe.
#[derive(Debug, Default)]
struct Gop {
    units: Vec<Arc<Unit>>,
    bytes: usize,
}

/// What a lane's receiver and its clients share.
#[derive(Debug)]
struct Lane {
    gop: Mutex<Gop>,
    units: broadcast::Sender<Arc<Unit>>,
    /// A client wants a keyframe (joined without one, or fell behind): the receiver asks the
    /// node, at most once per [`receive::REQUEST_EVERY`].
    keyframe: Notify,
}

impl Lane {
    /// Keeps `unit` for joiners and hands it to every client, atomically with respect to
    /// [`Lane::feed`], so that a joiner misses no unit between its group and the broadcast.
    fn publish(&self, unit: Arc<Unit>) {
        let mut gop = self.gop.lock().unwrap_or_else(PoisonError::into_inner);
        if unit.frame.meta.is_keyframe() {
            gop.units.clear();
            gop.bytes = 0;
        }
        gop.bytes += unit.frame.au.len();
        gop.units.push(unit.clone());
        if gop.bytes > MAX_GOP_BYTES || gop.units.len() > MAX_GOP_UNITS {
            *gop = Gop::default();
        }
        let _ = self.units.send(unit);
    }

    /// Forgets the group: the units after a loss do not decode from it.
    fn broken(&self) {
        *self.gop.lock().unwrap_or_else(PoisonError::into_inner) = Gop::default();
    }

    fn feed(self: &Arc<Self>, name: &str) -> VideoFeed {
        let gop = self.gop.lock().unwrap_or_else(PoisonError::into_inner);
        let receiver = self.units.subscribe();
        let backlog: VecDeque<_> = gop.units.iter().cloned().collect();
        drop(gop);
        if backlog.is_empty() {
            self.keyframe.notify_one();
        }
        VideoFeed {
            lane: name.to_owned(),
            synced: !backlog.is_empty(),
            backlog,
            receiver,
            shared: self.clone(),
        }
    }
}

/// What one client of a lane reads: the group of pictures it joined in, then every unit;
/// always from a keyframe on.
#[derive(Debug)]
pub struct VideoFeed {
    pub lane: String,
    backlog: VecDeque<Arc<Unit>>,
    receiver: broadcast::Receiver<Arc<Unit>>,
    /// Has a keyframe of the units it reads now.
    synced: bool,
    shared: Arc<Lane>,
}

impl VideoFeed {
    /// The next unit this client can decode; `None` when the lane was released or dropped.
    pub async fn next(&mut self) -> Option<Arc<Unit>> {
        if let Some(unit) = self.backlog.pop_front() {
            return Some(unit);
        }
        loop {
            match self.receiver.recv().await {
                Ok(unit) if self.synced || unit.frame.meta.is_keyframe() => {
                    self.synced = true;
                    return Some(unit);
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    self.synced = false;
                    self.shared.keyframe.notify_one();
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

/// The lanes of one camera that run now.
#[derive(Debug, Default)]
pub struct VideoLanes {
    running: HashMap<String, Running>,
}

#[derive(Debug)]
struct Running {
    lane: Arc<Lane>,
    /// Recording holds it open without clients.
    held: bool,
    _worker: AbortOnDropHandle<()>,
}

impl VideoLanes {
    /// A feed of lane `name`, subscribing to it if nobody watches it yet.
    pub fn feed(&mut self, name: &str, receive: &Receive) -> VideoFeed {
        self.start(name, receive).feed(name)
    }

    /// Keeps lane `name` received while recording is on, clients or not.
    pub fn hold(&mut self, name: &str, receive: &Receive) {
        self.start(name, receive);
        if let Some(running) = self.running.get_mut(name) {
            running.held = true;
        }
    }

    fn start(&mut self, name: &str, receive: &Receive) -> &Arc<Lane> {
        let running = self.running.entry(name.to_owned()).or_insert_with(|| {
            let lane = Arc::new(Lane {
                gop: Mutex::default(),
                units: broadcast::channel(BACKLOG_UNITS).0,
                keyframe: Notify::new(),
            });
            let worker = receive::spawn(name, receive.clone(), lane.clone());
            Running {
                lane,
                held: false,
                _worker: AbortOnDropHandle::new(worker),
            }
        });
        &running.lane
    }

    /// Unsubscribes the lanes nobody reads (the node then stops encoding them); `true` while
    /// some lane still runs.
    pub fn release_unwatched(&mut self, camera: &str) -> bool {
        self.running.retain(|name, running| {
            let keep = running.held || running.lane.units.receiver_count() > 0;
            if !keep {
                tracing::info!(%camera, lane = %name, "H.264 lane unwatched: unsubscribed");
            }
            keep
        });
        !self.running.is_empty()
    }

    /// Drops the lanes `info` no longer lists (the node restarted without them): their
    /// clients' feeds end.
    pub fn keep_offered(&mut self, camera: &str, info: &CameraInfo) {
        self.running.retain(|name, _| {
            let offered = offered(info).any(|lane| &lane.name == name);
            if !offered {
                tracing::info!(%camera, lane = %name, "node dropped the H.264 lane: viewers ended");
            }
            offered
        });
    }

    /// Names of the lanes subscribed to now, sorted.
    pub fn subscribed(&self) -> Vec<String> {
        let mut names: Vec<String> = self.running.keys().cloned().collect();
        names.sort();
        names
    }
}

/// The lanes of `info` the gateway offers: valid names, at most [`MAX_LANES`].
pub fn offered(info: &CameraInfo) -> impl Iterator<Item = &VideoInfo> {
    info.video
        .iter()
        .filter(|lane| camera_protocol::keys::validate_camera_id(&lane.name).is_ok())
        .take(MAX_LANES)
}

#[cfg(test)]
mod tests;
