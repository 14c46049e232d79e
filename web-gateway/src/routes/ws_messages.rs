//! What a `/ws` socket sends for one camera, as a stream of ready messages: the newest JPEG
//! frames of a feed (a slow socket skips frames; both of a burst right after the last one
//! sent), or every access unit of an H.264 lane from a keyframe on. `ws_cameras.rs` decides
//! which camera sends which; `ws.rs` writes them.

use crate::camera::{Feed, Slot, VideoFeed};
use bytes::Bytes;
use camera_protocol::Frame;
use futures::stream::BoxStream;
use futures::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// One message for the socket: a camera's frame or access unit.
pub(super) struct Outgoing {
    pub id: String,
    pub message: Bytes,
    /// JPEG or access-unit bytes, and their age, for the metrics.
    pub payload: usize,
    pub age: Duration,
}

/// One camera's messages.
pub(super) type Frames = BoxStream<'static, Outgoing>;

/// The access units of an H.264 lane until `stop` (the client switched the camera back).
pub(super) fn units(id: String, feed: VideoFeed, stop: CancellationToken) -> Frames {
    futures::stream::unfold(feed, move |mut feed| {
        let id = id.clone();
        async move {
            let unit = feed.next().await?;
            let out = Outgoing {
                message: unit.ws_message(&id),
                payload: unit.frame.au.len(),
                age: unit.frame.meta.frame.age(),
                id,
            };
            Some((out, feed))
        }
    })
    .take_until(stop.cancelled_owned())
    .boxed()
}

/// The frames of `feed` until `stop` (the client switched the camera to another variant): the
/// newest each time the socket is ready, both frames of a burst that came right after the last
/// one sent (`Latest::since`).
pub(super) fn frames(id: String, feed: Feed, stop: CancellationToken) -> Frames {
    struct Reader {
        slot: Slot,
        sent: Option<Arc<Frame>>,
        queued: Option<Arc<Frame>>,
    }
    let Feed {
        frames: slot,
        messages,
    } = feed;
    let reader = Reader {
        slot,
        sent: None,
        queued: None,
    };
    futures::stream::unfold(reader, move |mut reader| {
        let (id, messages) = (id.clone(), messages.clone());
        async move {
            let frame = match reader.queued.take() {
                Some(frame) => frame,
                None => loop {
                    // Ends when the camera task ends (camera forgotten).
                    reader.slot.changed().await.ok()?;
                    let latest = reader.slot.borrow_and_update();
                    let mut new = latest.since(reader.sent.as_ref()).map(|s| s.frame.clone());
                    if let Some(first) = new.next() {
                        reader.queued = new.next();
                        break first;
                    }
                },
            };
            reader.sent = Some(frame.clone());
            let out = Outgoing {
                message: messages.message(&id, &frame),
                payload: frame.jpeg.len(),
                age: frame.meta.age(),
                id,
            };
            Some((out, reader))
        }
    })
    .take_until(stop.cancelled_owned())
    .boxed()
}
