//! Variants the camera node encodes itself (`[[variants]]` in its config, listed in its info):
//! the gateway forwards them as they come, instead of decoding and re-encoding full frames.
//!
//! Owned by the camera task, like [`super::variants::Variants`]: one zenoh subscriber per
//! variant that has clients, on `<prefix>/<camera>/jpeg/<name>`, feeding its own latest-frame
//! slot. The node publishes a variant only while it has a subscriber (zenoh matching status),
//! so the task drops a subscriber shortly after its last client went and the node stops
//! encoding it. Samples pass the same checks as the camera's own frames ([`super::ingest`]).

use super::ingest::{self, Checks};
use super::nosignal::Pictures;
use super::{Feed, MessageCache};
use crate::metrics::Metrics;
use crate::throttle::LogThrottle;
use camera_protocol::info::{CameraInfo, VariantInfo};
use camera_protocol::keys::CameraKeys;
use camera_protocol::meta::unix_now_ns;
use camera_protocol::subscriber::FrameSubscriber;
use camera_protocol::{Frame, FrameLimits, FrameMeta};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio_util::task::AbortOnDropHandle;

/// Variants of one node the gateway considers: the rest of a longer list in an info reply is
/// ignored, so a misbehaving node cannot make the gateway hold unbounded subscribers or
/// metric series.
pub const MAX_NODE_VARIANTS: usize = 16;
/// Samples buffered per variant subscriber (only the newest matters).
const RING_CAPACITY: usize = camera_protocol::subscriber::DEFAULT_RING_CAPACITY;

/// The node variants of one camera that have clients now, owned by its task.
#[derive(Debug, Default)]
pub struct NodeVariants {
    running: HashMap<String, Running>,
}

#[derive(Debug)]
struct Running {
    /// The variant's size as the node's info lists it, for its NO SIGNAL picture.
    size: Option<(u32, u32)>,
    frames: watch::Sender<Option<Arc<Frame>>>,
    messages: Arc<MessageCache>,
    _receiver: AbortOnDropHandle<()>,
}

/// What a variant's receiver needs from the camera task.
#[derive(Debug, Clone)]
pub struct Receive {
    pub zenoh: zenoh::Session,
    /// The camera's id (metrics, logs) and its node's keys.
    pub id: String,
    pub keys: CameraKeys,
    pub metrics: Arc<Metrics>,
    pub limits: FrameLimits,
    /// `max_frame_lag_ms`: a variant's late frames are dropped like the camera's own.
    pub max_frame_lag: Duration,
    /// `offline_after_ms`: when a silent publisher of the variant gives way to another.
    pub offline_after: Duration,
}

impl NodeVariants {
    /// A feed of the node's variant `name` (of `size`, if the info lists it), subscribing to
    /// it if nobody watches it yet.
    pub fn feed(&mut self, name: &str, size: Option<(u32, u32)>, receive: &Receive) -> Feed {
        let running = self.running.entry(name.to_owned()).or_insert_with(|| {
            let frames = watch::Sender::new(None);
            let receiver = tokio::spawn(forward(name.to_owned(), receive.clone(), frames.clone()));
            Running {
                size,
                frames,
                messages: Arc::default(),
                _receiver: AbortOnDropHandle::new(receiver),
            }
        });
        Feed {
            frames: running.frames.subscribe(),
            messages: running.messages.clone(),
        }
    }

    /// Drops the subscribers nobody receives from any more (the node then stops encoding
    /// those variants); `true` while some remain. Only the camera task hands out feeds, so no
    /// client can subscribe in between.
    pub fn release_unwatched(&mut self, camera: &str) -> bool {
        self.running.retain(|name, running| {
            let watched = running.frames.receiver_count() > 0;
            if !watched {
                tracing::info!(%camera, variant = %name, "node variant unwatched: unsubscribed");
            }
            watched
        });
        !self.running.is_empty()
    }

    /// Drops the subscribers of variants `info` no longer lists (the node restarted without
    /// them): closing their slots ends their MJPEG streams, and `/ws` sockets, which watch
    /// the info too, send a notice. Left running, their clients would freeze on the last
    /// frame with nothing saying why.
    pub fn keep_offered(&mut self, camera: &str, info: &CameraInfo) {
        self.running.retain(|name, _| {
            let offered = offered(&info.variants).any(|v| &v.name == name);
            if !offered {
                tracing::info!(%camera, variant = %name, "node dropped the variant: viewers ended");
            }
            offered
        });
    }

    /// Puts the NO SIGNAL picture into every running variant's slot: drawn at the variant's
    /// size when `pictures` has it, else `frame` (the camera-size one); the variant's own
    /// frames replace it when the node sends again.
    pub fn show(&self, frame: &Arc<Frame>, pictures: &Pictures) {
        for running in self.running.values() {
            let sized = running
                .size
                .and_then(|size| Some((size, pictures.at(size)?)));
            let shown = match sized {
                Some(((width, height), jpeg)) => Arc::new(Frame {
                    jpeg: jpeg.clone(),
                    meta: FrameMeta {
                        width,
                        height,
                        ..frame.meta
                    },
                }),
                None => frame.clone(),
            };
            running.frames.send_replace(Some(shown));
        }
    }

    /// Sizes of the variants `info` offers, for their NO SIGNAL pictures.
    pub fn offered_sizes(info: &CameraInfo) -> Vec<(u32, u32)> {
        offered(&info.variants)
            .map(|variant| (variant.width, variant.height))
            .collect()
    }

    /// Names of the variants subscribed to now, sorted.
    pub fn subscribed(&self) -> Vec<String> {
        let mut names: Vec<String> = self.running.keys().cloned().collect();
        names.sort();
        names
    }

    pub fn is_empty(&self) -> bool {
        self.running.is_empty()
    }
}

/// The variants of `info` the gateway offers: valid names, at most [`MAX_NODE_VARIANTS`].
pub fn offered(variants: &[VariantInfo]) -> impl Iterator<Item = &VariantInfo> {
    variants
        .iter()
        .filter(|v| camera_protocol::keys::validate_camera_id(&v.name).is_ok())
        .take(MAX_NODE_VARIANTS)
}

/// Receives variant `name` into `frames` until aborted (released) or the session closes.
async fn forward(name: String, receive: Receive, frames: watch::Sender<Option<Arc<Frame>>>) {
    let camera = receive.id.clone();
    let declared =
        FrameSubscriber::declare_variant(&receive.zenoh, &receive.keys, &name, RING_CAPACITY).await;
    let subscriber = match declared {
        Ok(subscriber) => subscriber.with_limits(receive.limits),
        Err(error) => {
            tracing::error!(%camera, variant = %name, %error, "cannot subscribe to node variant");
            return;
        }
    };
    tracing::info!(%camera, variant = %name, "subscribed to node variant");
    let mut rejected = LogThrottle::default();
    let key = receive.keys.variant_jpeg(&name);
    let mut checks = Checks::new(&camera, &key, receive.offline_after, receive.max_frame_lag);
    while let Some(sample) = subscriber.recv().await {
        match ingest::accept(sample, &mut checks, unix_now_ns(), Instant::now()) {
            Ok(frame) => {
                receive.metrics.node_variant_frame(&camera, &name);
                frames.send_replace(Some(Arc::new(frame)));
            }
            Err(reject) => {
                let reason = reject.reason();
                receive.metrics.frame_rejected(&camera, reason);
                if let Some(count) = rejected.hit(reason) {
                    tracing::warn!(%camera, variant = %name, error = %reject, reason,
                        rejected = count, "rejected node variant sample(s)");
                }
            }
        }
    }
}
