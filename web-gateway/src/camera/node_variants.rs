//! Variants the camera node encodes itself (`[[variants]]` in its config, listed in its info):
//! the gateway forwards them as they come, instead of decoding and re-encoding full frames.
//!
//! One zenoh subscriber per variant that has clients, on `<prefix>/<camera>/jpeg/<name>`,
//! feeding its own latest-frame slot; the camera's feed registry (`feeds.rs`) starts it
//! and drops it shortly after its last client went. The node publishes a variant only while it
//! has a subscriber (zenoh matching status), so it then stops encoding it. Samples pass the
//! same checks as the camera's own frames ([`super::ingest`]).

use super::ingest::{self, Checks};
use super::slot::{self, SlotSender};
use crate::metrics::Metrics;
use crate::throttle::LogThrottle;
use camera_protocol::info::{CameraInfo, VariantInfo};
use camera_protocol::keys::CameraKeys;
use camera_protocol::meta::unix_now_ns;
use camera_protocol::subscriber::FrameSubscriber;
use camera_protocol::FrameLimits;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Variants of one node the gateway considers: the rest of a longer list in an info reply is
/// ignored, so a misbehaving node cannot make the gateway hold unbounded subscribers or
/// metric series.
pub const MAX_NODE_VARIANTS: usize = 16;
/// Samples buffered per variant subscriber (only the newest matters).
const RING_CAPACITY: usize = camera_protocol::subscriber::DEFAULT_RING_CAPACITY;

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

/// Sizes of the variants `info` offers, for their NO SIGNAL pictures.
pub fn offered_sizes(info: &CameraInfo) -> Vec<(u32, u32)> {
    offered(&info.variants)
        .map(|variant| (variant.width, variant.height))
        .collect()
}

/// Starts the receiver of the node's variant `name`: it forwards the variant's valid frames
/// into `frames`.
pub fn spawn_receiver(
    name: &str,
    receive: &Receive,
    frames: SlotSender,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(forward(name.to_owned(), receive.clone(), frames))
}

/// The variants of `info` the gateway offers: valid names, at most [`MAX_NODE_VARIANTS`].
pub fn offered(variants: &[VariantInfo]) -> impl Iterator<Item = &VariantInfo> {
    variants
        .iter()
        .filter(|v| camera_protocol::keys::validate_camera_id(&v.name).is_ok())
        .take(MAX_NODE_VARIANTS)
}

/// Receives variant `name` into `frames` until aborted (released) or the session closes.
async fn forward(name: String, receive: Receive, frames: SlotSender) {
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
        let received_ns = unix_now_ns();
        match ingest::accept(sample, &mut checks, received_ns, Instant::now()) {
            Ok(frame) => {
                receive.metrics.node_variant_frame(&camera, &name);
                slot::show(&frames, Arc::new(frame), received_ns);
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
