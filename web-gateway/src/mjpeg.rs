//! The MJPEG wire format (`multipart/x-mixed-replace`) and the per-client stream body.
//!
//! Each part is written as header + JPEG + *closing* delimiter in one go: Chromium shows a
//! part only once the delimiter after it arrives, so writing the delimiter before the next
//! frame (as many servers do) would keep every picture a frame interval late
//! (ustreamer makes the same point). The JPEG bytes are the shared `Bytes` of the frame,
//! never copied per client. A client's body pulls from the camera's latest-frame slot, so a
//! slow reader skips to the newest frame instead of queueing.

use crate::camera::{Feed, MessageCache, Shown, Slot};
use crate::metrics::{Metrics, SentMetrics};
use axum::body::Body;
use bytes::Bytes;
use camera_protocol::Frame;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

macro_rules! boundary {
    () => {
        "camera-frame-boundary"
    };
}

/// The multipart boundary (without the leading `--`).
pub const BOUNDARY: &str = boundary!();
/// `Content-Type` of a stream response.
pub const CONTENT_TYPE: &str = concat!("multipart/x-mixed-replace; boundary=", boundary!());
/// The delimiter that opens the body, before the first part.
pub const OPENING: &str = concat!("--", boundary!(), "\r\n");
/// Written right after each JPEG: ends the part (so browsers show it now) and opens the next.
pub const PART_END: &str = concat!("\r\n--", boundary!(), "\r\n");

/// Per-client stream settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pace {
    /// Minimum time between two parts (`?fps=N`).
    pub min_interval: Option<Duration>,
}

struct Client<G> {
    slot: Slot,
    /// Builds each frame's part header once for all clients of the feed.
    headers: Arc<MessageCache>,
    cancel: CancellationToken,
    pending: VecDeque<Bytes>,
    /// The frame sent last: a burst of two after it sends both.
    last: Option<Arc<Frame>>,
    pace: Pace,
    last_sent: Option<Instant>,
    started: bool,
    sent: SentMetrics,
    /// Client and viewer counters, released when the body is dropped.
    _guards: G,
}

/// The streaming body of one MJPEG client of `feed`; ends when `cancel` fires.
pub fn body<G: Send + Sync + 'static>(
    feed: Feed,
    cancel: CancellationToken,
    pace: Pace,
    metrics: Arc<Metrics>,
    camera: String,
    guards: G,
) -> Body {
    let client = Client {
        slot: feed.frames,
        headers: feed.messages,
        // Its own node: each frame wait registers with this body's token, not with the one
        // that every client shares.
        cancel: cancel.child_token(),
        pending: VecDeque::with_capacity(5),
        last: None,
        pace,
        last_sent: None,
        started: false,
        sent: metrics.sent("mjpeg", &camera),
        _guards: guards,
    };
    Body::from_stream(futures::stream::unfold(client, next_chunk))
}

async fn next_chunk<G>(mut feed: Client<G>) -> Option<(Result<Bytes, Infallible>, Client<G>)> {
    if let Some(chunk) = feed.pending.pop_front() {
        return Some((Ok(chunk), feed));
    }
    if !feed.started {
        feed.started = true;
        return Some((Ok(Bytes::from_static(OPENING.as_bytes())), feed));
    }
    if let (Some(min), Some(last)) = (feed.pace.min_interval, feed.last_sent) {
        tokio::select! {
            _ = feed.cancel.cancelled() => return None,
            _ = tokio::time::sleep_until(last + min) => {}
        }
    }
    let frames = loop {
        tokio::select! {
            biased;
            _ = feed.cancel.cancelled() => return None,
            changed = feed.slot.changed() => changed.ok()?,
        }
        let latest = feed.slot.borrow_and_update();
        // Capped by ?fps=: only the newest; otherwise a burst after the last frame sends both.
        let capped = feed.pace.min_interval.is_some();
        let frames: Vec<Shown> = latest
            .to_send(feed.last.as_ref(), capped)
            .into_iter()
            .cloned()
            .collect();
        if !frames.is_empty() {
            break frames;
        }
    };
    feed.last_sent = Some(Instant::now());
    for shown in &frames {
        let frame = &shown.frame;
        feed.sent.frame(frame.jpeg.len(), frame.meta.age());
        feed.pending.push_back(feed.headers.part_header(shown));
        feed.pending.push_back(frame.jpeg.clone());
        feed.pending
            .push_back(Bytes::from_static(PART_END.as_bytes()));
    }
    feed.last = frames.last().map(|shown| shown.frame.clone());
    let first = feed.pending.pop_front()?;
    Some((Ok(first), feed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::camera::slot::{show, SlotSender};
    use crate::headers::part_header;
    use camera_protocol::{Frame, FrameMeta};
    use futures::StreamExt;

    fn meta(seq: u64) -> FrameMeta {
        FrameMeta {
            seq,
            capture_ts_ns: 1_764_000_000_123_456_789,
            width: 4,
            height: 2,
            generation: 1,
            online: true,
        }
    }

    fn frame(seq: u64) -> Arc<Frame> {
        let jpeg = Bytes::from(vec![0xFF, 0xD8, seq as u8, 0xFF, 0xD9, 0x00]);
        Arc::new(Frame {
            jpeg,
            meta: meta(seq),
        })
    }

    #[test]
    fn header_carries_length_timestamp_and_seq() {
        let header = part_header(&meta(42), 1234, 1_764_000_000_200_000_000);
        let text = std::str::from_utf8(&header).expect("ascii");
        assert!(text.starts_with("Content-Type: image/jpeg\r\n"));
        assert!(text.contains("Content-Length: 1234\r\n"));
        assert!(text.contains("X-Timestamp: 1764000000.123456\r\n"));
        assert!(text.contains("X-Frame-Seq: 42\r\n"));
        assert!(text.contains("X-Frame-Age-Ms: "));
        assert!(text.contains("X-Camera-Online: true\r\n"));
        assert!(text.ends_with("X-Gateway-Timestamp: 1764000000.200000\r\n\r\n"));
        assert!(CONTENT_TYPE.ends_with(BOUNDARY));
    }

    async fn chunk(stream: &mut axum::body::BodyDataStream) -> Bytes {
        stream.next().await.expect("chunk").expect("ok")
    }

    fn open(first: u64, pace: Pace) -> (SlotSender, CancellationToken, axum::body::BodyDataStream) {
        let sender = SlotSender::default();
        show(&sender, frame(first), 0);
        let mut slot = sender.subscribe();
        slot.mark_changed();
        let cancel = CancellationToken::new();
        let feed = Feed {
            frames: slot,
            messages: Arc::default(),
        };
        let body = body(
            feed,
            cancel.clone(),
            pace,
            Arc::new(Metrics::new()),
            "t".into(),
            (),
        );
        (sender, cancel, body.into_data_stream())
    }

    #[tokio::test]
    async fn current_frame_first_then_new_frames_once_bursts_of_two_whole_and_delimiter_right_after(
    ) {
        let (sender, cancel, mut stream) = open(1, Pace::default());
        assert_eq!(chunk(&mut stream).await, OPENING.as_bytes());
        let header = chunk(&mut stream).await;
        assert!(std::str::from_utf8(&header)
            .expect("ascii")
            .contains("X-Frame-Seq: 1"));
        assert_eq!(chunk(&mut stream).await, frame(1).jpeg);
        assert_eq!(chunk(&mut stream).await, PART_END.as_bytes());
        // A burst of two right after the frame it sent: the client gets both, in order.
        show(&sender, frame(2), 0);
        show(&sender, frame(3), 0);
        for seq in [2, 3] {
            let header = chunk(&mut stream).await;
            assert!(std::str::from_utf8(&header)
                .expect("ascii")
                .contains(&format!("X-Frame-Seq: {seq}\r\n")));
            assert_eq!(chunk(&mut stream).await, frame(seq).jpeg);
            assert_eq!(chunk(&mut stream).await, PART_END.as_bytes());
        }
        // Three frames while the client is not reading: it skips to the newest.
        for seq in [4, 5, 6] {
            show(&sender, frame(seq), 0);
        }
        let header = chunk(&mut stream).await;
        assert!(std::str::from_utf8(&header)
            .expect("ascii")
            .contains("X-Frame-Seq: 6"));
        chunk(&mut stream).await;
        chunk(&mut stream).await;
        // Nothing new: the body waits instead of repeating; cancelling ends it.
        let waited = tokio::time::timeout(Duration::from_millis(50), chunk(&mut stream)).await;
        assert!(waited.is_err(), "a part was repeated");
        cancel.cancel();
        let ended = tokio::time::timeout(Duration::from_secs(1), stream.next()).await;
        assert!(matches!(ended, Ok(None)), "body did not end on cancel");
    }

    #[tokio::test(start_paused = true)]
    async fn fps_cap_spaces_parts() {
        let pace = Pace {
            min_interval: Some(Duration::from_millis(200)),
        };
        let (sender, _cancel, mut stream) = open(1, pace);
        for _ in 0..4 {
            chunk(&mut stream).await;
        }
        let sent_first = Instant::now();
        show(&sender, frame(2), 0);
        let header = chunk(&mut stream).await;
        assert!(std::str::from_utf8(&header)
            .expect("ascii")
            .contains("X-Frame-Seq: 2"));
        assert!(
            sent_first.elapsed() >= Duration::from_millis(190),
            "{:?}",
            sent_first.elapsed()
        );
    }

    /// Parses one part as a client does: headers up to the blank line, `Content-Length` bytes
    /// of body, then exactly [`PART_END`]. Returns the headers, the body and what follows.
    fn parse_part(wire: &[u8]) -> (Vec<(String, String)>, &[u8], &[u8]) {
        let head_end = wire
            .windows(4)
            .position(|window| window == b"\r\n\r\n")
            .expect("blank line after the headers");
        let head = std::str::from_utf8(&wire[..head_end]).expect("ASCII headers");
        let headers: Vec<(String, String)> = head
            .split("\r\n")
            .map(|line| {
                let (name, value) = line.split_once(": ").expect("name: value");
                (name.to_owned(), value.to_owned())
            })
            .collect();
        let length: usize = headers
            .iter()
            .find(|(name, _)| name == "Content-Length")
            .and_then(|(_, value)| value.parse().ok())
            .expect("Content-Length");
        let body = &wire[head_end + 4..head_end + 4 + length];
        let rest = &wire[head_end + 4 + length..];
        (headers, body, rest)
    }

    fn any_meta() -> impl proptest::strategy::Strategy<Value = FrameMeta> {
        use proptest::prelude::*;
        (
            any::<u64>(),
            any::<u64>(),
            1u32..=65_535,
            1u32..=65_535,
            any::<u32>(),
            any::<bool>(),
        )
            .prop_map(|(seq, capture_ts_ns, width, height, generation, online)| {
                FrameMeta {
                    seq,
                    capture_ts_ns,
                    width,
                    height,
                    generation,
                    online,
                }
            })
    }

    proptest::proptest! {
        /// What the stream body writes for any frame parses back, by `Content-Length` alone,
        /// to the same JPEG bytes and frame headers, with the delimiter right after; the
        /// payload may even contain the boundary, which a length-framed reader never looks for.
        #[test]
        fn parts_parse_back_to_the_same_jpeg_and_headers(
            meta in any_meta(),
            payload in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048),
            boundary_inside in proptest::prelude::any::<bool>(),
        ) {
            let mut jpeg = payload;
            if boundary_inside {
                jpeg.extend_from_slice(PART_END.as_bytes());
            }
            let frame = Arc::new(Frame { jpeg: Bytes::from(jpeg.clone()), meta });
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .expect("runtime");
            let wire = runtime.block_on(async {
                let sender = SlotSender::default();
                show(&sender, frame, 0);
                let mut slot = sender.subscribe();
                slot.mark_changed();
                let cancel = CancellationToken::new();
                let metrics = Arc::new(Metrics::new());
                let feed = Feed {
                    frames: slot,
                    messages: Arc::default(),
                };
                let body = body(feed, cancel, Pace::default(), metrics, "p".into(), ());
                let mut stream = body.into_data_stream();
                let mut wire = Vec::new();
                for _ in 0..4 {
                    wire.extend_from_slice(&chunk(&mut stream).await);
                }
                wire
            });
            proptest::prop_assert!(wire.starts_with(OPENING.as_bytes()));
            let (headers, body, rest) = parse_part(&wire[OPENING.len()..]);
            proptest::prop_assert_eq!(body, &jpeg[..]);
            proptest::prop_assert_eq!(rest, PART_END.as_bytes());
            let expected: Vec<(String, String)> = [
                ("Content-Type".to_owned(), "image/jpeg".to_owned()),
                ("Content-Length".to_owned(), jpeg.len().to_string()),
            ]
            .into_iter()
            .chain(
                crate::headers::frame_headers(&meta)
                    .into_iter()
                    .map(|(name, value)| (name.to_owned(), value)),
            )
            .chain([("X-Gateway-Timestamp".to_owned(), "0.000000".to_owned())])
            .collect();
            // The age header moves with the clock: compare every other header exactly.
            let without_age = |headers: &[(String, String)]| -> Vec<(String, String)> {
                headers.iter().filter(|(name, _)| name != "X-Frame-Age-Ms").cloned().collect()
            };
            proptest::prop_assert_eq!(without_age(&headers), without_age(&expected));
            proptest::prop_assert!(headers.iter().any(|(name, _)| name == "X-Frame-Age-Ms"));
        }
    }
}
