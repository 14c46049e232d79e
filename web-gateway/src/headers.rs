//! The headers that describe one frame, identical on every MJPEG part and on snapshots, so a
//! client reads timing and state the same way whichever endpoint it uses.

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use bytes::Bytes;
use camera_protocol::FrameMeta;

/// `X-Timestamp` value: capture time as seconds since the Unix epoch with microseconds.
pub fn timestamp(capture_ts_ns: u64) -> String {
    format!(
        "{}.{:06}",
        capture_ts_ns / 1_000_000_000,
        (capture_ts_ns % 1_000_000_000) / 1_000
    )
}

/// `(name, value)` of each frame header: capture time, sequence number, capture-to-now age
/// (includes any clock offset between robot and gateway), and whether it is a live picture.
pub fn frame_headers(meta: &FrameMeta) -> [(&'static str, String); 4] {
    [
        ("X-Timestamp", timestamp(meta.capture_ts_ns)),
        ("X-Frame-Seq", meta.seq.to_string()),
        ("X-Frame-Age-Ms", meta.age().as_millis().to_string()),
        ("X-Camera-Online", meta.online.to_string()),
    ]
}

/// Headers of one MJPEG part: type, length, [`frame_headers`] and `X-Gateway-Timestamp` (when
/// the gateway took the frame from zenoh, `received_ns`: the capture→gateway and
/// gateway→client parts of the latency tell apart), ending with the blank line.
pub fn part_header(meta: &FrameMeta, jpeg_len: usize, received_ns: u64) -> Bytes {
    let mut header = String::with_capacity(192);
    header.push_str("Content-Type: image/jpeg\r\nContent-Length: ");
    header.push_str(&jpeg_len.to_string());
    header.push_str("\r\n");
    for (name, value) in frame_headers(meta) {
        header.push_str(name);
        header.push_str(": ");
        header.push_str(&value);
        header.push_str("\r\n");
    }
    header.push_str("X-Gateway-Timestamp: ");
    header.push_str(&timestamp(received_ns));
    header.push_str("\r\n\r\n");
    Bytes::from(header)
}

/// [`frame_headers`] as response headers.
pub fn frame_header_map(meta: &FrameMeta) -> HeaderMap {
    let mut map = HeaderMap::with_capacity(4);
    for (name, value) in frame_headers(meta) {
        // Names are constants and values digits, dots and booleans: both always valid.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            map.insert(name, value);
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_name_time_seq_age_and_state() {
        let meta = FrameMeta {
            seq: 42,
            capture_ts_ns: 1_764_000_000_123_456_789,
            width: 4,
            height: 2,
            generation: 1,
            online: false,
        };
        assert_eq!(timestamp(5_000_001_000), "5.000001");
        let map = frame_header_map(&meta);
        assert_eq!(map["x-timestamp"], "1764000000.123456");
        assert_eq!(map["x-frame-seq"], "42");
        assert_eq!(map["x-camera-online"], "false");
        assert!(map["x-frame-age-ms"]
            .to_str()
            .is_ok_and(|age| age.parse::<u64>().is_ok()));
    }
}
