//! Putting frames on zenoh: the frame publisher, the sequence counter and the liveliness token.
//!
//! Owns the publishing contract of `docs/protocol.md` (JPEG payload, `IMAGE_JPEG`, 32-byte
//! attachment, congestion control Drop) and the matching status used by on-demand capture.
//! Does not know about GStreamer beyond [`CapturedFrame`].

use super::capture::CapturedFrame;
use crate::frame::Frame;
use crate::keys::CameraKeys;
use crate::meta::FrameMeta;
use zenoh::bytes::Encoding;
use zenoh::handlers::FifoChannelHandler;
use zenoh::liveliness::LivelinessToken;
use zenoh::matching::{MatchingListener, MatchingStatus};
use zenoh::pubsub::Publisher;
use zenoh::qos::{CongestionControl, Priority};

/// Publishes one camera's frames and keeps its liveliness token alive.
#[derive(Debug)]
pub struct FramePublisher {
    publisher: Publisher<'static>,
    _token: LivelinessToken,
    next_seq: u64,
}

impl FramePublisher {
    pub async fn declare(
        session: &zenoh::Session,
        keys: &CameraKeys,
        priority: Priority,
    ) -> zenoh::Result<Self> {
        let publisher = session
            .declare_publisher(keys.jpeg())
            .encoding(Encoding::IMAGE_JPEG)
            // A video frame must never block capture: drop it when the network is congested.
            .congestion_control(CongestionControl::Drop)
            .priority(priority)
            .await?;
        let token = session
            .liveliness()
            .declare_token(keys.liveliness())
            .await?;
        Ok(Self {
            publisher,
            _token: token,
            next_seq: 0,
        })
    }

    /// Puts one frame; `seq` advances only for frames handed to zenoh.
    pub async fn publish(
        &mut self,
        captured: CapturedFrame,
        generation: u32,
    ) -> zenoh::Result<Frame> {
        let meta = FrameMeta {
            seq: self.next_seq,
            capture_ts_ns: captured.capture_ts_ns,
            width: captured.width,
            height: captured.height,
            generation,
            online: true,
        };
        self.publisher
            .put(captured.jpeg.clone())
            .attachment(meta.encode().to_vec())
            .await?;
        self.next_seq += 1;
        Ok(Frame {
            jpeg: captured.jpeg,
            meta,
        })
    }

    /// Frames published so far.
    pub fn published(&self) -> u64 {
        self.next_seq
    }

    /// Whether any subscriber currently matches the frame key.
    pub async fn has_subscribers(&self) -> zenoh::Result<bool> {
        Ok(self.publisher.matching_status().await?.matching())
    }

    /// Notifies each time subscribers appear or all disappear.
    pub async fn matching_listener(
        &self,
    ) -> zenoh::Result<MatchingListener<FifoChannelHandler<MatchingStatus>>> {
        self.publisher.matching_listener().await
    }
}
