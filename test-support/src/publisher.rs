//! A bare `FramePublisher` on a session the test owns (no task, no timer): the test decides
//! when each frame goes out, e.g. to compare a recording with exactly what was published.

use crate::jpeg::{draw_frame, tint_of};
use bytes::Bytes;
use camera_protocol::info::CameraInfo;
use camera_protocol::keys::CameraKeys;
use camera_protocol::meta::unix_now_ns;
use camera_protocol::{FramePublisher, PublisherOptions};
use std::time::Duration;

/// Size of the frames [`publish_frames`] puts.
pub const WIDTH: u32 = 160;
pub const HEIGHT: u32 = 120;

/// What was published: capture time and JPEG of each frame, in order.
pub type Published = Vec<(u64, Bytes)>;

/// Declares camera `id` (default prefix) on `session` for [`publish_frames`]: its info says
/// [`WIDTH`]x[`HEIGHT`] at 30 fps.
pub async fn declare_publisher(session: &zenoh::Session, id: &str) -> FramePublisher {
    declare_publisher_at(session, camera_protocol::keys::DEFAULT_PREFIX, id).await
}

/// [`declare_publisher`] under `prefix` (e.g. `robot1/camera`).
pub async fn declare_publisher_at(
    session: &zenoh::Session,
    prefix: &str,
    id: &str,
) -> FramePublisher {
    let keys = CameraKeys::new(prefix, id).expect("keys");
    let info = CameraInfo {
        width: WIDTH,
        height: HEIGHT,
        fps: 30,
        ..CameraInfo::new(id, "test")
    };
    FramePublisher::declare(session, &keys, info, PublisherOptions::default())
        .await
        .expect("declare")
}

/// Publishes `count` frames of [`WIDTH`]x[`HEIGHT`] (30 distinct pictures in turn) at `fps`
/// in real time with capture time "now", returning what went out.
pub async fn publish_frames(publisher: &mut FramePublisher, count: u32, fps: u32) -> Published {
    let pictures: Vec<Bytes> = (0..30)
        .map(|step| Bytes::from(draw_frame(WIDTH, HEIGHT, tint_of("rec"), step)))
        .collect();
    let mut ticker = tokio::time::interval(Duration::from_secs(1) / fps.max(1));
    let mut published = Vec::new();
    for index in 0..count {
        ticker.tick().await;
        let jpeg = pictures[index as usize % pictures.len()].clone();
        let frame = publisher
            .publish(jpeg, WIDTH, HEIGHT, unix_now_ns())
            .await
            .expect("publish");
        published.push((frame.meta.capture_ts_ns, frame.jpeg));
    }
    published
}

/// Waits until `publisher` has a matching subscriber (frames put before are lost by design).
pub async fn wait_subscribed(publisher: &FramePublisher) {
    let listener = publisher.matching_listener().await.expect("listener");
    if publisher.has_subscribers().await.expect("matching") {
        return;
    }
    tokio::time::timeout(crate::DEADLINE, async {
        while let Ok(status) = listener.recv_async().await {
            if status.matching() {
                return;
            }
        }
    })
    .await
    .expect("a subscriber matches within the deadline");
}
