//! The `[[variants]]` of a [`crate::SyntheticCamera`]: like a camera node's, each is published
//! on `<prefix>/<camera>/jpeg/<name>` only while someone subscribes (zenoh matching status),
//! listed in the info reply, with pictures of its own size drawn in advance, so a test can tell
//! a forwarded variant frame (one of [`VariantLane::pictures`]) from a gateway re-encoding.

use crate::jpeg::{draw_frame, tint_of};
use bytes::Bytes;
use camera_protocol::info::VariantInfo;
use camera_protocol::keys::CameraKeys;
use camera_protocol::FrameMeta;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::watch;
use zenoh::bytes::Encoding;

/// A variant to publish: name and exact size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariantOptions {
    pub name: String,
    pub width: u32,
    pub height: u32,
}

impl VariantOptions {
    /// What the camera's info reply says about it (quality 70, no fps cap).
    pub fn info(&self, keys: &CameraKeys, published: u64) -> VariantInfo {
        VariantInfo {
            name: self.name.clone(),
            key: keys.variant_jpeg(&self.name),
            width: self.width,
            height: self.height,
            quality: 70,
            fps: None,
            frames_published: published,
        }
    }
}

/// One declared variant: its publisher, demand and pictures.
#[derive(Debug)]
pub struct VariantLane {
    pub options: VariantOptions,
    publisher: zenoh::pubsub::Publisher<'static>,
    /// Whether someone subscribes now (updated by [`VariantLane::follow_matching`]).
    pub matching: watch::Sender<bool>,
    /// The JPEGs this variant publishes, in turn.
    pub pictures: Vec<Bytes>,
    published: AtomicU64,
}

impl VariantLane {
    pub async fn declare(
        session: &zenoh::Session,
        keys: &CameraKeys,
        options: VariantOptions,
        distinct: u32,
    ) -> Arc<Self> {
        let publisher = session
            .declare_publisher(keys.variant_jpeg(&options.name))
            .encoding(Encoding::IMAGE_JPEG)
            .await
            .expect("declare variant publisher");
        let pictures = (0..distinct.max(1))
            .map(|step| {
                let tint = tint_of(&options.name);
                Bytes::from(draw_frame(options.width, options.height, tint, step))
            })
            .collect();
        let initial = publisher
            .matching_status()
            .await
            .expect("variant matching status")
            .matching();
        Arc::new(Self {
            options,
            publisher,
            matching: watch::Sender::new(initial),
            pictures,
            published: AtomicU64::new(0),
        })
    }

    /// Keeps [`VariantLane::matching`] current; runs until the publisher goes.
    pub async fn follow_matching(self: Arc<Self>) {
        let Ok(listener) = self.publisher.matching_listener().await else {
            return;
        };
        // The status may have changed between `declare` and the listener.
        if let Ok(status) = self.publisher.matching_status().await {
            self.matching.send_replace(status.matching());
        }
        while let Ok(status) = listener.recv_async().await {
            self.matching.send_replace(status.matching());
        }
    }

    /// Publishes picture `step` if someone subscribes, as the node would.
    pub async fn publish(&self, step: u64, capture_ts_ns: u64, generation: u32) {
        if !*self.matching.borrow() {
            return;
        }
        let seq = self.published.load(Ordering::Relaxed);
        let meta = FrameMeta {
            seq,
            capture_ts_ns,
            width: self.options.width,
            height: self.options.height,
            generation,
            online: true,
        };
        let jpeg = self.pictures[(step % self.pictures.len() as u64) as usize].clone();
        let sent = self
            .publisher
            .put(jpeg)
            .attachment(meta.encode().to_vec())
            .await;
        if sent.is_ok() {
            self.published.store(seq + 1, Ordering::Relaxed);
        }
    }

    pub fn published(&self) -> u64 {
        self.published.load(Ordering::Relaxed)
    }
}
