//! The WebSocket frame message `[u8 id_len][id][32-byte FrameMeta attachment][JPEG]` (the same
//! metadata codec as on zenoh), and the cache that builds it — and each MJPEG part header —
//! once per frame for all clients of a feed.

use super::slot::Shown;
use crate::headers::part_header;
use bytes::{BufMut, Bytes, BytesMut};
use camera_protocol::Frame;
use std::sync::{Arc, Mutex, PoisonError, Weak};

/// `[u8 id_len][id][32-byte meta][JPEG]`.
pub fn encode_message(camera: &str, frame: &Frame) -> Bytes {
    let id = camera.as_bytes();
    let meta = frame.meta.encode();
    let mut out = BytesMut::with_capacity(1 + id.len() + meta.len() + frame.jpeg.len());
    // Camera ids are validated to 1..=64 bytes, so the length fits in one byte.
    out.put_u8(id.len().min(255) as u8);
    out.put_slice(&id[..id.len().min(255)]);
    out.put_slice(&meta);
    out.put_slice(&frame.jpeg);
    out.freeze()
}

/// The message of one feed's latest frame, shared by every socket of that feed: built once,
/// its `Bytes` cloned per client, so sockets, like MJPEG bodies, never copy the JPEG per client.
/// Lives as long as the feed (a camera, or one of its variants) has clients.
#[derive(Debug, Default)]
pub struct MessageCache {
    /// The frame the message was built from (by address) and the message.
    latest: Mutex<Option<(Weak<Frame>, Bytes)>>,
    /// The frame an MJPEG part header was built from, its `X-Frame-Age-Ms`, and the header:
    /// the clients woken by one frame send it within a few milliseconds, so a header is built
    /// a few times per frame instead of once per client (formatting showed in profiles).
    part: Mutex<Option<(Weak<Frame>, u128, Bytes)>>,
}

impl MessageCache {
    pub fn message(&self, camera: &str, frame: &Arc<Frame>) -> Bytes {
        let mut latest = self.latest.lock().unwrap_or_else(PoisonError::into_inner);
        // The Weak keeps the allocation alive, so an equal address really is the same frame.
        if let Some((cached, message)) = latest.as_ref() {
            if Weak::as_ptr(cached) == Arc::as_ptr(frame) {
                return message.clone();
            }
        }
        let message = encode_message(camera, frame);
        *latest = Some((Arc::downgrade(frame), message.clone()));
        message
    }

    /// The MJPEG part header of `frame` (`crate::headers::part_header`), aged to this ms.
    pub fn part_header(&self, shown: &Shown) -> Bytes {
        let frame = &shown.frame;
        let age_ms = frame.meta.age().as_millis();
        let mut part = self.part.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((cached, cached_age, header)) = part.as_ref() {
            if Weak::as_ptr(cached) == Arc::as_ptr(frame) && *cached_age == age_ms {
                return header.clone();
            }
        }
        let header = part_header(&frame.meta, frame.jpeg.len(), shown.received_ns);
        *part = Some((Arc::downgrade(frame), age_ms, header.clone()));
        header
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use camera_protocol::FrameMeta;

    fn meta(seq: u64) -> FrameMeta {
        FrameMeta {
            seq,
            capture_ts_ns: 99,
            width: 8,
            height: 6,
            generation: 1,
            online: true,
        }
    }

    #[test]
    fn message_layout_is_id_meta_jpeg() {
        let frame = Frame {
            jpeg: Bytes::from_static(&[0xFF, 0xD8, 1, 2, 0xFF, 0xD9]),
            meta: meta(3),
        };
        let message = encode_message("rear", &frame);
        assert_eq!(message[0], 4);
        assert_eq!(&message[1..5], b"rear");
        assert_eq!(FrameMeta::decode(&message[5..37]), Ok(meta(3)));
        assert_eq!(&message[37..], &frame.jpeg[..]);
    }

    #[test]
    fn cache_builds_each_frame_message_once() {
        let jpeg = Bytes::from_static(&[0xFF, 0xD8, 1, 2, 0xFF, 0xD9]);
        let first = Arc::new(Frame {
            jpeg: jpeg.clone(),
            meta: meta(1),
        });
        let cache = MessageCache::default();
        let a = cache.message("front", &first);
        let b = cache.message("front", &first);
        assert_eq!(a.as_ptr(), b.as_ptr(), "second socket got a copy");
        let second = Arc::new(Frame {
            jpeg,
            meta: meta(2),
        });
        let c = cache.message("front", &second);
        assert_ne!(a.as_ptr(), c.as_ptr());
        assert_eq!(FrameMeta::decode(&c[6..38]).map(|m| m.seq), Ok(2));
        let shown = |frame: &Arc<Frame>| Shown {
            frame: frame.clone(),
            received_ns: 5_000_001_000,
        };
        let header = cache.part_header(&shown(&second));
        let text = std::str::from_utf8(&header).expect("ascii");
        assert!(text.contains("Content-Length: 6\r\n") && text.contains("X-Frame-Seq: 2\r\n"));
        assert!(text.ends_with("X-Gateway-Timestamp: 5.000001\r\n\r\n"));
        let first_header = cache.part_header(&shown(&first));
        assert!(std::str::from_utf8(&first_header)
            .expect("ascii")
            .contains("X-Frame-Seq: 1\r\n"));
    }
}
