//! One camera, owned by one task (an actor): everything the gateway knows and does about a
//! camera lives in [`task`], and the rest of the gateway reaches it through a [`CameraHandle`].
//!
//! The task owns the camera's zenoh frame subscription, the online/offline decision and the
//! NO SIGNAL picture, the measured rate, the info refresh, the resized variants, and the
//! camera's metrics series. Handlers never lock camera state: they read `watch` receivers
//! (the frame viewers see, a [`CameraStatus`] snapshot) and send the task small commands.
//! Discovery creates and removes camera tasks; nothing here depends on HTTP routes.
//!
//! - [`task`]: the loop and its events. [`ingest`]: sample → accepted frame, measured rate.
//! - [`feeds`]: the one registry of a camera's variant feeds (both kinds, release, caps);
//!   [`encoders`]: the cap on encoders of all cameras together.
//! - [`replier`]: only the camera's own session's info and snapshot replies count;
//!   [`proof`]: an announced camera that shows no frame or info is a phantom.
//! - [`variants`]: `?width=&quality=` encoders. [`node_variants`]: variants the node encodes
//!   itself, forwarded as they come. [`video`]: the node's H.264 lanes (every access unit,
//!   from a keyframe). [`wire`]: WebSocket message encoding + cache.
//! - [`slot`]: what a feed's latest-frame slot holds (the newest frame and the one before).
//! - [`nosignal`] + [`font`]: the NO SIGNAL picture.
//! - `settings.rs`: what a task is started with. `status.rs`: the [`CameraStatus`] it publishes.

mod choice;
pub mod encoders;
pub mod feeds;
pub mod font;
pub mod ingest;
pub mod node_variants;
pub mod nosignal;
pub mod proof;
pub mod replier;
mod settings;
pub mod slot;
pub mod sources;
mod status;
mod task;
pub mod variants;
pub mod video;
pub mod wire;

use camera_protocol::keys::{validate_camera_ref, KeyError};
use camera_protocol::Frame;
pub use choice::{Choice, UnknownVariant};
pub use settings::{Env, ForgetRequest, FrameSource, Settings};
pub use slot::{Latest, Shown, Slot, SlotSender};
pub use status::CameraStatus;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
pub use variants::Variant;
pub use video::{Unit, VideoFeed};
pub use wire::MessageCache;

/// Commands waiting for a busy camera task; senders wait when it is full.
const COMMAND_QUEUE: usize = 32;

/// What a client consumes: a frame slot and the WebSocket messages built from its frames.
#[derive(Debug)]
pub struct Feed {
    pub frames: Slot,
    pub messages: Arc<MessageCache>,
}

/// Requests to a camera task.
#[derive(Debug)]
enum Command {
    /// The node's liveliness token appeared (`true`) or went away (`false`).
    Liveliness(bool),
    /// A feed of `choice`, starting its encoder or subscriber if nobody watches it yet,
    /// and what it serves (another variant when the encoder caps are reached).
    Feed {
        choice: Choice,
        reply: oneshot::Sender<(Feed, Choice)>,
    },
    /// A feed of the node's H.264 lane `lane` (`None`: the node has no such lane).
    Video {
        lane: String,
        reply: oneshot::Sender<Option<VideoFeed>>,
    },
}

/// The camera task ended (forgotten or gateway shutting down).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("camera is gone")]
pub struct Gone;

/// Cheap to clone; every clone talks to the same camera task.
#[derive(Debug, Clone)]
pub struct CameraHandle(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    id: String,
    generation: u64,
    /// When discovery created this task (its token was present then).
    admitted: Instant,
    source: FrameSource,
    frames: Slot,
    /// Messages built from the camera's own frames (variants have theirs in the task).
    messages: Arc<MessageCache>,
    status: watch::Receiver<CameraStatus>,
    /// Counted synchronously by [`Viewer`] guards so that opening a stream never waits on
    /// the task; the task follows the count through its own receiver.
    viewers: watch::Sender<usize>,
    /// Viewers of node-encoded variants: counted as clients, but they do not make the task
    /// receive the camera's full frames (under `while_watched`), which is their point.
    variant_viewers: AtomicUsize,
    commands: mpsc::Sender<Command>,
    zenoh: zenoh::Session,
    env: Env,
    stop: CancellationToken,
}

/// Starts the task of camera `id` (named by discovery: `PrefixSet::name` for a node, the
/// topic's id for ROS 2) on `tracker`; it runs until `stop` (or a parent) is cancelled.
/// `generation` tells this task apart from earlier tasks of the same id.
pub fn spawn(
    id: &str,
    generation: u64,
    env: Env,
    stop: CancellationToken,
    tracker: &TaskTracker,
    source: FrameSource,
) -> Result<(CameraHandle, tokio::task::JoinHandle<()>), KeyError> {
    validate_camera_ref(id)?;
    let (commands, command_rx) = mpsc::channel(COMMAND_QUEUE);
    let viewers = watch::Sender::new(0);
    let frames = SlotSender::new(Latest::default());
    let status = watch::Sender::new(CameraStatus::default());
    let handle = CameraHandle(Arc::new(Shared {
        id: id.to_owned(),
        generation,
        admitted: Instant::now(),
        source: source.clone(),
        frames: frames.subscribe(),
        messages: Arc::default(),
        status: status.subscribe(),
        viewers: viewers.clone(),
        variant_viewers: AtomicUsize::new(0),
        commands,
        zenoh: env.zenoh.clone(),
        env: env.clone(),
        stop: stop.clone(),
    }));
    let task = task::CameraTask::new(task::Parts {
        id: id.to_owned(),
        source,
        generation,
        env,
        stop,
        frames,
        status,
        viewers: viewers.subscribe(),
    });
    let join = tracker.spawn(task.run(command_rx));
    Ok((handle, join))
}

impl CameraHandle {
    pub fn id(&self) -> &str {
        &self.0.id
    }

    /// Where this camera's frames come from.
    pub fn source(&self) -> &FrameSource {
        &self.0.source
    }

    /// The camera's robot: the concrete prefix its node publishes under (`robot1/camera`);
    /// `None` for a ROS 2 topic, which has no prefix.
    pub fn robot(&self) -> Option<&str> {
        self.0.source.keys().map(|keys| keys.prefix())
    }

    /// The camera's own name: the node's (`front`), or for a ROS 2 topic the id.
    pub fn camera(&self) -> &str {
        self.0
            .source
            .keys()
            .map_or(&self.0.id, |keys| keys.camera())
    }

    /// Its Foxglove topic (live and recorded): `/<prefix>/<camera>` for a node, the ROS topic
    /// itself for a ROS 2 camera.
    pub fn topic(&self) -> String {
        match &self.0.source {
            FrameSource::Node(keys) => {
                camera_record::mcap_file::topic(keys.prefix(), keys.camera())
            }
            FrameSource::Ros2(topic) => topic.topic.clone(),
        }
    }

    /// Tells this handle's task apart from earlier or later tasks of the same camera id.
    pub fn generation(&self) -> u64 {
        self.0.generation
    }

    /// When discovery created this camera's task.
    pub fn admitted(&self) -> Instant {
        self.0.admitted
    }

    /// The current status (cheap: clones a few `Arc`s).
    pub fn status(&self) -> CameraStatus {
        self.0.status.borrow().clone()
    }

    /// Follows the status; changes with every event the task handles.
    pub fn watch_status(&self) -> watch::Receiver<CameraStatus> {
        self.0.status.clone()
    }

    /// Receiving clients (streams, sockets, waiting snapshots) right now.
    pub fn viewers(&self) -> usize {
        *self.0.viewers.borrow() + self.0.variant_viewers.load(Ordering::Relaxed)
    }

    /// Counts a viewer of `choice` until dropped; under `subscribe = "while_watched"` the task
    /// receives the camera's frames while any viewer of them (or of a gateway variant) exists.
    pub fn viewer(&self, choice: &Choice) -> Viewer {
        let node = matches!(choice, Choice::Node(_));
        if node {
            self.0.variant_viewers.fetch_add(1, Ordering::Relaxed);
        } else {
            self.0.viewers.send_modify(|count| *count += 1);
        }
        Viewer {
            shared: self.0.clone(),
            node,
        }
    }

    /// What a client asking for `?variant=` `name` or `?width=|height=&quality=` `variant`
    /// receives: the node's variant when named, or when `variant` asks for a node variant's
    /// width (or, without a width, its height) and no other quality; otherwise `variant`
    /// encoded by the gateway.
    pub fn choose(&self, name: Option<&str>, variant: Variant) -> Result<Choice, UnknownVariant> {
        let info = self.0.status.borrow().info.clone();
        let offered = match self.source() {
            FrameSource::Node(_) => info
                .as_deref()
                .map(|info| node_variants::offered(&info.variants).collect::<Vec<_>>()),
            // A ROS 2 topic has no info and no variants: known to be none, not "not told yet".
            FrameSource::Ros2(_) => Some(Vec::new()),
        };
        if let Some(name) = name {
            return match offered {
                Some(offered) if offered.iter().any(|v| v.name == name) => {
                    Ok(Choice::Node(name.to_owned()))
                }
                _ => Err(UnknownVariant {
                    variant: name.to_owned(),
                    known: offered.map(|o| o.iter().map(|v| v.name.clone()).collect()),
                }),
            };
        }
        let matching = offered.into_iter().flatten().find(|v| {
            let size = match (variant.width, variant.height) {
                (Some(width), _) => width == v.width,
                (None, Some(height)) => height == v.height,
                (None, None) => false,
            };
            size && variant.quality.is_none_or(|q| u32::from(q) == v.quality)
        });
        Ok(match matching {
            Some(v) => Choice::Node(v.name.clone()),
            None => Choice::Gateway(variant),
        })
    }

    /// A feed of `choice` (`Choice::default()`: the camera's own frames), current frame first.
    pub async fn feed(&self, choice: Choice) -> Result<Feed, Gone> {
        self.feed_served(choice).await.map(|(feed, _)| feed)
    }

    /// [`Self::feed`], and which frames it serves: `choice`, or for a gateway variant beyond
    /// the `[variants]` caps the nearest one running (or the camera's own frames).
    pub async fn feed_served(&self, choice: Choice) -> Result<(Feed, Choice), Gone> {
        if choice == Choice::default() {
            let mut frames = self.0.frames.clone();
            frames.mark_changed();
            let feed = Feed {
                frames,
                messages: self.0.messages.clone(),
            };
            return Ok((feed, choice));
        }
        let (reply, answer) = oneshot::channel();
        self.send(Command::Feed { choice, reply }).await?;
        let (mut feed, served) = answer.await.map_err(|_| Gone)?;
        feed.frames.mark_changed();
        Ok((feed, served))
    }

    /// The H.264 lanes the node offers (`None` while it has not told; none for ROS 2).
    pub fn lanes(&self) -> Option<Vec<camera_protocol::info::VideoInfo>> {
        let info = self.0.status.borrow().info.clone();
        match self.source() {
            FrameSource::Node(_) => info.map(|info| video::offered(&info).cloned().collect()),
            FrameSource::Ros2(_) => Some(Vec::new()),
        }
    }

    /// A feed of H.264 lane `lane`, from a keyframe on; `Ok(None)` when the node has no such
    /// lane. Its client counts through a [`Self::viewer`] of `Choice::Node` (it needs no full
    /// frames).
    pub async fn video(&self, lane: &str) -> Result<Option<VideoFeed>, Gone> {
        let (reply, answer) = oneshot::channel();
        let lane = lane.to_owned();
        self.send(Command::Video { lane, reply }).await?;
        answer.await.map_err(|_| Gone)
    }

    /// Waits until a live frame newer than `after_seq` arrives; `Gone` if the task ends.
    pub async fn wait_live_after(&self, after_seq: u64) -> Result<Arc<Frame>, Gone> {
        let mut status = self.0.status.clone();
        let newer = |status: &CameraStatus| {
            status
                .last_live
                .as_ref()
                .is_some_and(|frame| frame.meta.seq > after_seq)
        };
        let status = status.wait_for(newer).await.map_err(|_| Gone)?;
        status.last_live.clone().ok_or(Gone)
    }

    /// Asks the node's snapshot queryable for its latest frame (no camera state involved:
    /// used while the gateway does not receive the camera's frames itself).
    pub async fn fetch_from_node(&self, timeout: Duration) -> Option<Arc<Frame>> {
        let Some(keys) = self.0.source.keys() else {
            return None; // a ROS 2 topic has no snapshot queryable
        };
        let owner = self.0.status.borrow().owner;
        let (limits, metrics) = (&self.0.env.settings.limits, &self.0.env.metrics);
        match replier::fetch_snapshot(&self.0.zenoh, keys, timeout, owner, limits, metrics).await {
            Ok(frame) => frame.map(Arc::new),
            Err(error) => {
                tracing::debug!(camera = %self.id(), %error, "snapshot query failed");
                None
            }
        }
    }

    /// Discovery only: the node's liveliness token appeared or went away.
    pub(crate) async fn set_liveliness(&self, present: bool) -> Result<(), Gone> {
        self.send(Command::Liveliness(present)).await
    }

    /// Discovery only: ends the task (the camera is being forgotten).
    pub(crate) fn stop(&self) {
        self.0.stop.cancel();
    }

    async fn send(&self, command: Command) -> Result<(), Gone> {
        self.0.commands.send(command).await.map_err(|_| Gone)
    }
}

/// Keeps a camera's viewer count up while alive.
#[derive(Debug)]
pub struct Viewer {
    shared: Arc<Shared>,
    /// Counted in `variant_viewers` rather than `viewers`.
    node: bool,
}

impl Drop for Viewer {
    fn drop(&mut self) {
        if self.node {
            self.shared.variant_viewers.fetch_sub(1, Ordering::Relaxed);
        } else {
            self.shared
                .viewers
                .send_modify(|count| *count = count.saturating_sub(1));
        }
    }
}
