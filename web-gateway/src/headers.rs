//! The headers that describe one frame, identical on every MJPEG part and on snapshots, so a
//! client reads timing and state the same way whichever endpoint it uses.

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use camera_node::FrameMeta;

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
