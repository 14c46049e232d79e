//! H.264 access units in segments and clips, read back with the real `mcap` reader: each
//! segment's and each clip's video channel starts at a keyframe, and a due segment with video
//! ends at a keyframe (real access units from camera-protocol's test data).

use super::*;
use bytes::Bytes;
use camera_protocol::frame::Frame;
use camera_protocol::meta::FrameMeta;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const KEY: &[u8] = include_bytes!("../../camera-protocol/src/video/testdata/64x48-0.h264");
const DELTA: &[u8] = include_bytes!("../../camera-protocol/src/video/testdata/64x48-1.h264");

fn meta(seq: u64) -> FrameMeta {
    FrameMeta {
        seq,
        capture_ts_ns: 1_000_000_000 + seq * 33_000_000,
        width: 64,
        height: 48,
        generation: 1,
        online: true,
    }
}

fn video(seq: u64, keyframe: bool) -> Sample {
    let au = Bytes::from_static(if keyframe { KEY } else { DELTA });
    Sample::Video(VideoFrame::encoded(au, meta(seq), keyframe).expect("test access unit"))
}

fn jpeg(seq: u64) -> Sample {
    Sample::Jpeg(Frame {
        jpeg: Bytes::from_static(&[0xFF, 0xD8, 0xFF, 0xD9]),
        meta: meta(seq),
    })
}

fn camera() -> RecordedCamera {
    let keys = CameraKeys::new(camera_protocol::keys::DEFAULT_PREFIX, "front").expect("keys");
    RecordedCamera::node("front", &keys)
}

/// (topic, schema name, sequence, decoded data) of every message.
fn messages(bytes: &[u8]) -> Vec<(String, String, u32, Vec<u8>)> {
    mcap::MessageStream::new(bytes)
        .expect("mcap header")
        .map(|message| {
            let message = message.expect("message");
            let schema = message.channel.schema.as_ref().expect("schema");
            let data = if schema.name == proto::VIDEO_SCHEMA_NAME {
                let video = proto::decode_compressed_video(&message.data).expect("video");
                assert_eq!((video.format, video.frame_id), ("h264", "front"));
                assert_eq!(video.timestamp_ns, message.log_time);
                video.data.to_vec()
            } else {
                proto::decode_compressed_image(&message.data)
                    .expect("image")
                    .data
                    .to_vec()
            };
            (
                message.channel.topic.clone(),
                schema.name.clone(),
                message.sequence,
                data,
            )
        })
        .collect()
}

#[test]
fn a_segment_starts_its_video_at_a_keyframe() {
    let dir = std::env::temp_dir().join(format!("record-video-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let started = UNIX_EPOCH + Duration::from_secs(1_764_104_400);
    let mut segment = segment::Segment::create(&dir, started).expect("create");
    let camera = camera();
    for sample in [
        video(0, false),
        jpeg(1),
        video(2, false),
        video(3, true),
        video(4, false),
    ] {
        if segment.takes(&sample) {
            segment.write(&camera, &sample).expect("write");
        }
    }
    let path = segment.path().to_owned();
    segment.finish().expect("finish");
    let read = messages(&std::fs::read(&path).expect("read"));
    let summary: Vec<(&str, &str, u32)> = read
        .iter()
        .map(|(topic, schema, seq, _)| (topic.as_str(), schema.as_str(), *seq))
        .collect();
    assert_eq!(
        summary,
        [
            ("/camera/front", "foxglove.CompressedImage", 1),
            ("/camera/front/h264", "foxglove.CompressedVideo", 3),
            ("/camera/front/h264", "foxglove.CompressedVideo", 4),
        ]
    );
    assert_eq!(
        (&read[1].3[..], &read[2].3[..]),
        (KEY, DELTA),
        "access units byte for byte"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_due_segment_with_video_ends_at_a_keyframe() {
    let dir = std::env::temp_dir().join(format!("record-video-due-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let now = SystemTime::now();
    let mut segment = segment::Segment::create(&dir, now).expect("create");
    let camera = camera();
    let long = Duration::from_secs(60);
    for sample in [jpeg(0), video(1, false)] {
        assert!(!segment.ends_before(&sample, now, long, false), "not due");
    }
    // Without video yet, a due segment ends at any frame.
    assert!(segment.ends_before(&jpeg(2), now, Duration::ZERO, false));
    segment.write(&camera, &video(3, true)).expect("write");
    for sample in [jpeg(4), video(5, false)] {
        assert!(
            !segment.ends_before(&sample, now, Duration::ZERO, true),
            "video flows: waits for a keyframe"
        );
        assert!(segment.awaits_keyframe());
    }
    assert!(segment.ends_before(&video(6, true), now, Duration::ZERO, false));
    segment.finish().expect("finish");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_clip_starts_its_video_at_a_keyframe() {
    let clips = ClipBuffer::new(Duration::from_secs(60), 1 << 20);
    let camera = camera();
    for sample in [
        video(0, false),
        jpeg(1),
        video(2, true),
        video(3, false),
        jpeg(4),
    ] {
        match sample {
            Sample::Jpeg(frame) => clips.push(&camera, frame),
            Sample::Video(frame) => clips.push_video(&camera, frame),
        }
    }
    let usage = clips.usage();
    assert_eq!(usage.frames, 5);
    assert_eq!(usage.bytes, 8 + KEY.len() + 2 * DELTA.len());
    let clip = clips
        .export("front", Duration::from_secs(60))
        .expect("clip");
    let sequences: Vec<(String, u32)> = messages(&clip)
        .into_iter()
        .map(|(topic, _, seq, _)| (topic, seq))
        .collect();
    let expected = [
        ("/camera/front", 1),
        ("/camera/front/h264", 2),
        ("/camera/front/h264", 3),
        ("/camera/front", 4),
    ];
    assert_eq!(sequences, expected.map(|(t, s)| (t.to_owned(), s)));
}
