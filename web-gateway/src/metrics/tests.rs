use super::*;
use std::time::Duration;

#[test]
fn counts_appear_with_camera_labels() {
    let metrics = Metrics::new();
    metrics.frame_received("front");
    metrics.frame_received("front");
    metrics.frame_rejected("rear", "not_jpeg");
    metrics.frame_sent("mjpeg", "front", 1000, Duration::from_millis(3));
    let text = metrics.encode();
    assert!(
        text.contains("gateway_frames_received_total{camera=\"front\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("gateway_rejected_frames_total{camera=\"rear\",reason=\"not_jpeg\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("gateway_bytes_sent_total{endpoint=\"mjpeg\"} 1000"),
        "{text}"
    );
    assert!(
        text.contains("gateway_frame_latency_seconds_count{camera=\"front\"} 1"),
        "{text}"
    );
}

#[test]
fn a_known_camera_has_every_series_at_zero_until_removed() {
    let metrics = Metrics::new();
    metrics.add_camera("idle");
    let text = metrics.encode();
    for series in [
        "gateway_frames_received_total{camera=\"idle\"} 0",
        "gateway_frames_dropped_total{camera=\"idle\"} 0",
        "gateway_rejected_frames_total{camera=\"idle\",reason=\"too_large\"} 0",
        "gateway_frame_latency_seconds_count{camera=\"idle\"} 0",
    ] {
        assert!(text.contains(series), "{series} missing: {text}");
    }
    metrics.remove_camera("idle");
    assert!(!metrics.encode().contains("camera=\"idle\""));
}

#[test]
fn reject_labels_stay_bounded() {
    let metrics = Metrics::new();
    for id in 0..MAX_REJECT_CAMERAS + 50 {
        metrics.frame_rejected(&format!("junk{id}"), "too_large");
    }
    let text = metrics.encode();
    assert_eq!(
        text.matches("gateway_rejected_frames_total{").count(),
        MAX_REJECT_CAMERAS + 1
    );
    assert!(
        text.contains("camera=\"_other\",reason=\"too_large\"} 50"),
        "{text}"
    );
}

#[test]
fn clip_buffer_gauges_are_zero_when_off_and_follow_the_buffer() {
    use camera_protocol::keys::PrefixSet;
    use camera_record::{ClipBuffer, RecordedCamera};
    let metrics = Metrics::new();
    let text = metrics.encode();
    for series in [
        "gateway_clip_buffer_bytes 0\n",
        "gateway_clip_buffer_frames 0\n",
    ] {
        assert!(text.contains(series), "{series} missing: {text}");
    }
    let clips = Arc::new(ClipBuffer::new(Duration::from_secs(60), 1 << 20));
    metrics.set_clip_buffer(clips.clone());
    let frame = camera_protocol::frame::Frame {
        jpeg: bytes::Bytes::from_static(&[0xFF, 0xD8, 0, 0, 0xFF, 0xD9]),
        meta: camera_protocol::meta::FrameMeta {
            seq: 0,
            capture_ts_ns: 0,
            width: 1,
            height: 1,
            generation: 1,
            online: true,
        },
    };
    let prefixes = PrefixSet::default();
    for camera in ["front", "rear"] {
        let name = prefixes.name("camera", camera).expect("valid camera");
        clips.push(&RecordedCamera::of(&name), frame.clone());
    }
    let text = metrics.encode();
    for series in [
        "gateway_clip_buffer_bytes 12\n",
        "gateway_clip_buffer_frames 2\n",
    ] {
        assert!(text.contains(series), "{series} missing: {text}");
    }
}
