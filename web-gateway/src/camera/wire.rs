//! The WebSocket frame message `[u8 id_len][id][32-byte FrameMeta attachment][JPEG]` (the same
//! metadata codec as on zenoh), and the cache that builds it — and each MJPEG part header, and
//! the feed writer's WebSocket frame header with the message up to its JPEG — once per frame
//! for all clients of a feed.

use super::slot::Shown;
use crate::headers::part_header;
use bytes::{BufMut, Bytes, BytesMut};
use camera_protocol::Frame;
use std::sync::{Arc, Mutex, PoisonError, Weak};

/// WebSocket opcodes (RFC 6455 5.2).
pub const OPCODE_TEXT: u8 = 0x1;
pub const OPCODE_BINARY: u8 = 0x2;
pub const OPCODE_CLOSE: u8 = 0x8;
pub const OPCODE_PING: u8 = 0x9;
pub const OPCODE_PONG: u8 = 0xA;

/// `[u8 id_len][id][32-byte meta][JPEG]`.
pub fn encode_message(camera: &str, frame: &Frame) -> Bytes {
    let mut out = BytesMut::with_capacity(message_len(camera, frame));
    put_message_prefix(&mut out, camera, frame);
    out.put_slice(&frame.jpeg);
    out.freeze()
}

/// The id length byte (camera ids are validated to 1..=64 bytes, so it fits).
fn id_of(camera: &str) -> &[u8] {
    let id = camera.as_bytes();
    &id[..id.len().min(255)]
}

fn message_len(camera: &str, frame: &Frame) -> usize {
    1 + id_of(camera).len() + camera_protocol::meta::ENCODED_LEN + frame.jpeg.len()
}

/// The message up to its JPEG: `[u8 id_len][id][32-byte meta]`.
fn put_message_prefix(out: &mut BytesMut, camera: &str, frame: &Frame) {
    let id = id_of(camera);
    out.put_u8(id.len() as u8);
    out.put_slice(id);
    out.put_slice(&frame.meta.encode());
}

/// The header of an unmasked (server) WebSocket frame with FIN set: opcode and the payload
/// length in 7, 16 or 64 bits (RFC 6455 5.2).
pub fn put_frame_header(out: &mut BytesMut, opcode: u8, len: usize) {
    out.put_u8(0x80 | opcode);
    match len {
        0..=125 => out.put_u8(len as u8),
        126..=0xFFFF => {
            out.put_u8(126);
            out.put_u16(len as u16);
        }
        _ => {
            out.put_u8(127);
            out.put_u64(len as u64);
        }
    }
}

/// The binary WebSocket frame of `frame`'s message up to its JPEG: frame header, id, meta.
/// Followed by the JPEG's `Bytes` it is the whole frame, byte for byte what tungstenite sends.
pub fn ws_frame_prefix(camera: &str, frame: &Frame) -> Bytes {
    let mut out = BytesMut::with_capacity(10 + 1 + camera.len() + 32);
    put_frame_header(&mut out, OPCODE_BINARY, message_len(camera, frame));
    put_message_prefix(&mut out, camera, frame);
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
    /// The frame the feed writer's WebSocket prefix ([`ws_frame_prefix`]) was built from.
    ws_prefix: Mutex<Option<(Weak<Frame>, Bytes)>>,
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

    /// [`ws_frame_prefix`] of `frame`, built once for every socket of the feed.
    pub fn ws_prefix(&self, camera: &str, frame: &Arc<Frame>) -> Bytes {
        let mut cached = self
            .ws_prefix
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((built_from, prefix)) = cached.as_ref() {
            if Weak::as_ptr(built_from) == Arc::as_ptr(frame) {
                return prefix.clone();
            }
        }
        let prefix = ws_frame_prefix(camera, frame);
        *cached = Some((Arc::downgrade(frame), prefix.clone()));
        prefix
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
        // The writer's frame: header (FIN, binary, 7-bit length) + message prefix, then JPEG.
        let prefix = ws_frame_prefix("rear", &frame);
        assert_eq!(&prefix[..2], &[0x82, message.len() as u8]);
        assert_eq!([&prefix[2..], &frame.jpeg[..]].concat(), &message[..]);
    }

    #[test]
    fn frame_headers_use_the_shortest_length() {
        let header = |len| {
            let mut out = BytesMut::new();
            put_frame_header(&mut out, OPCODE_BINARY, len);
            out.to_vec()
        };
        assert_eq!(header(125), vec![0x82, 125]);
        assert_eq!(header(126), vec![0x82, 126, 0, 126]);
        assert_eq!(header(65_535), vec![0x82, 126, 0xFF, 0xFF]);
        assert_eq!(header(65_536), vec![0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
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
