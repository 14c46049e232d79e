//! One lane's subscriber task: every sample is checked (`VideoFrame::validated`: size caps
//! before the payload is copied, the attachment, the access unit's NAL units, a keyframe's
//! SPS against the declared size) and counted; a lost unit (a gap in `seq`) breaks the group
//! of pictures until the next keyframe, which the task asks the node for at once.

use super::{Lane, Unit};
use crate::metrics::Metrics;
use crate::throttle::LogThrottle;
use bytes::Bytes;
use camera_protocol::keys::CameraKeys;
use camera_protocol::meta::unix_now_ns;
use camera_protocol::{FrameLimits, FrameMeta, VideoFrame};
use camera_record::{RecordedCamera, Sinks};
use std::sync::Arc;
use std::time::Duration;
use zenoh::handlers::RingChannel;

/// Keyframe requests to the node are at least this far apart, however many clients join or
/// lag (the node coalesces further: docs/protocol.md).
pub const REQUEST_EVERY: Duration = Duration::from_millis(250);
/// Samples buffered between zenoh and the task: a unit lost here breaks the picture until the
/// next keyframe, so more than the JPEG path keeps.
const RING_CAPACITY: usize = 32;

/// What a lane's receiver needs from the camera task.
#[derive(Debug, Clone)]
pub struct Receive {
    pub zenoh: zenoh::Session,
    /// The camera's id (metrics, logs, `/ws` messages) and its node's keys.
    pub id: String,
    pub keys: CameraKeys,
    pub metrics: Arc<Metrics>,
    pub limits: FrameLimits,
    /// Where the recorded lane's units go (`--record`, clips), with how the camera is named.
    pub record: Option<(Sinks, Arc<RecordedCamera>)>,
    /// The lane recording keeps (the node's first), if recording is on.
    pub recorded_lane: Option<String>,
    /// How long a keyframe request waits for the node's answer.
    pub query_timeout: Duration,
}

pub(super) fn spawn(name: &str, receive: Receive, lane: Arc<Lane>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(forward(name.to_owned(), receive, lane))
}

async fn forward(name: String, receive: Receive, lane: Arc<Lane>) {
    let camera = receive.id.clone();
    let key = receive.keys.video(&name);
    let declared = receive
        .zenoh
        .declare_subscriber(&key)
        .with(RingChannel::new(RING_CAPACITY))
        .await;
    let subscriber = match declared {
        Ok(subscriber) => subscriber,
        Err(error) => {
            tracing::error!(%camera, lane = %name, %error, "cannot subscribe to H.264 lane");
            return;
        }
    };
    tracing::info!(%camera, lane = %name, %key, "subscribed to H.264 lane");
    let requests = tokio::spawn(request_keyframes(
        receive.clone(),
        receive.keys.video_keyframe(&name),
        lane.clone(),
    ));
    let _requests = tokio_util::task::AbortOnDropHandle::new(requests);
    let record = receive
        .record
        .as_ref()
        .filter(|_| receive.recorded_lane.as_deref() == Some(&name));
    let metric = format!("h264/{name}");
    let mut rejected = LogThrottle::default();
    let mut last: Option<FrameMeta> = None;
    let mut broken = false;
    while let Ok(sample) = subscriber.recv_async().await {
        let received_ns = unix_now_ns();
        let frame = match accept(&sample, &receive.limits) {
            Ok(frame) => frame,
            Err(error) => {
                let reason = error.reason();
                receive.metrics.frame_rejected(&camera, reason);
                if let Some(count) = rejected.hit(reason) {
                    tracing::warn!(%camera, lane = %name, %error, reason, rejected = count,
                        "rejected H.264 sample(s)");
                }
                continue;
            }
        };
        let meta = frame.meta.frame;
        let follows = last.is_some_and(|last| {
            last.generation == meta.generation && meta.seq == last.seq.wrapping_add(1)
        });
        if last.is_some() && !follows && !frame.meta.is_keyframe() {
            if let Some(lost @ 1..) = last.and_then(|last| meta.frames_lost_since(&last)) {
                receive.metrics.frames_dropped(&camera, lost);
            }
            broken = true;
            lane.broken();
            lane.keyframe.notify_one();
        }
        last = Some(meta);
        if broken && !frame.meta.is_keyframe() {
            continue;
        }
        broken = false;
        receive.metrics.node_variant_frame(&camera, &metric);
        if let Some((sinks, recorded)) = record {
            sinks.take_video(recorded, &frame);
        }
        lane.publish(Arc::new(Unit::new(frame, received_ns)));
    }
}

/// Decodes and checks a sample; an oversized payload is refused before it is copied.
fn accept(
    sample: &zenoh::sample::Sample,
    limits: &FrameLimits,
) -> Result<VideoFrame, camera_protocol::video::VideoError> {
    let payload = sample.payload();
    limits
        .check_len(payload.len())
        .map_err(camera_protocol::video::VideoError::Limit)?;
    let attachment = sample.attachment().map(|bytes| bytes.to_bytes());
    let au = Bytes::from(payload.to_bytes().into_owned());
    VideoFrame::validated(au, attachment.as_deref(), limits)
}

/// Asks the node for a keyframe whenever a client wants one, at most once per
/// [`REQUEST_EVERY`]: requests in between are one request.
async fn request_keyframes(receive: Receive, key: String, lane: Arc<Lane>) {
    loop {
        lane.keyframe.notified().await;
        let asked = receive.zenoh.get(&key).timeout(receive.query_timeout).await;
        match asked {
            // The answer only says the node got it; the keyframe itself is what matters.
            Ok(replies) => while replies.recv_async().await.is_ok() {},
            Err(error) => {
                tracing::debug!(camera = %receive.id, %key, %error, "keyframe request failed");
            }
        }
        tokio::time::sleep(REQUEST_EVERY).await;
    }
}
