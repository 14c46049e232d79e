//! A recording holding both channels of a camera (JPEG and H.264, real x264 access units,
//! the video starting mid-GOP) played by `examples/replay`: a zenoh subscriber of the lane
//! `<prefix>/<camera>/h264/main` gets access units that pass `VideoFrame::validated`, the
//! first a keyframe, gap-free across the loop; the JPEG frames arrive beside them; `/info`
//! lists the lane with the recording's size, rate and keyframe interval.

use bytes::Bytes;
use camera_protocol::keys::DEFAULT_PREFIX;
use camera_protocol::meta::FrameMeta;
use camera_protocol::{CameraKeys, Frame, FrameLimits, VideoFrame};
use camera_record::mcap_file::{topic, video_topic};
use camera_record::FrameMcap;
use std::io::BufWriter;
use std::path::Path;
use std::process::Command;
use std::time::Instant;
use test_support::ci::require;
use test_support::h264::{encode_h264, gst_x264, Source};
use test_support::jpeg::tint_of;
use test_support::{
    draw_frame, session_to, target_binary, wait_for_info, ChildProcess, Hub, DEADLINE,
};

const WIDTH: u32 = 320;
const HEIGHT: u32 = 240;
const INTERVAL_NS: u64 = 1_000_000_000 / 30;

/// Camera "front": access units 5.. of a 60-frame, 30-frame-GOP stream at every step and,
/// `with_jpeg`, JPEGs at every 3rd step. Returns the JPEGs.
fn write_recording(path: &Path, dir: &Path, with_jpeg: bool) -> Vec<Bytes> {
    let encoded = encode_h264(&Source::new(WIDTH, HEIGHT, 60), 500, 30, dir);
    let mut mcap = FrameMcap::new(BufWriter::new(std::fs::File::create(path).expect("create")))
        .expect("MCAP writer");
    let start_ns = 1_764_000_000_000_000_000;
    let camera_topic = topic(DEFAULT_PREFIX, "front");
    let mut pictures = Vec::new();
    for (step, au) in (0u64..).zip(&encoded).skip(5) {
        let meta = FrameMeta {
            seq: step,
            capture_ts_ns: start_ns + step * INTERVAL_NS,
            width: WIDTH,
            height: HEIGHT,
            generation: 1,
            online: true,
        };
        let frame = VideoFrame::encoded(au.au.clone(), meta, au.keyframe).expect("x264");
        mcap.write_video(&video_topic(&camera_topic), "front", &frame)
            .expect("write an access unit");
        if with_jpeg && step % 3 == 0 {
            let jpeg = Bytes::from(draw_frame(WIDTH, HEIGHT, tint_of("video"), step as u32));
            mcap.write(
                &camera_topic,
                "front",
                &Frame {
                    jpeg: jpeg.clone(),
                    meta,
                },
            )
            .expect("write a frame");
            pictures.push(jpeg);
        }
    }
    mcap.finish().expect("finish the recording");
    pictures
}

/// The first `count` access units of `lane`, each checked with `VideoFrame::validated`.
async fn receive(
    lane: &zenoh::pubsub::Subscriber<zenoh::handlers::FifoChannelHandler<zenoh::sample::Sample>>,
    count: usize,
) -> Vec<VideoFrame> {
    let limits = FrameLimits::default();
    let started = Instant::now();
    let mut received: Vec<VideoFrame> = Vec::new();
    while received.len() < count {
        let remaining = DEADLINE.saturating_sub(started.elapsed());
        let sample = tokio::time::timeout(remaining, lane.recv_async())
            .await
            .unwrap_or_else(|_| panic!("{} access units within {DEADLINE:?}", received.len()))
            .expect("lane subscriber open");
        let attachment = sample.attachment().map(|a| a.to_bytes());
        let frame = VideoFrame::validated(
            sample.payload().to_bytes().into_owned().into(),
            attachment.as_deref(),
            &limits,
        )
        .unwrap_or_else(|error| panic!("access unit {} refused: {error}", received.len()));
        received.push(frame);
    }
    received
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_video_is_an_h264_lane_beside_the_jpeg_frames() {
    if require("replay video", gst_x264()).is_none() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let recording = dir.path().join("front.mcap");
    let pictures = write_recording(&recording, &dir.path().join("au"), true);

    let hub = Hub::spawn();
    let session = session_to(&hub.endpoint).await;
    let keys = CameraKeys::new(DEFAULT_PREFIX, "replay").expect("keys");
    // Subscribed before the replay starts: its first access unit is the first one received.
    let lane = session
        .declare_subscriber(keys.video("main"))
        .await
        .expect("lane subscriber");
    let jpegs = session
        .declare_subscriber(keys.jpeg())
        .await
        .expect("frame subscriber");
    let mut command = Command::new(target_binary("examples/replay"));
    command
        .arg("--file")
        .arg(&recording)
        .args([
            "--camera",
            "replay",
            "--loop",
            "--zenoh-connect",
            &hub.endpoint,
        ])
        .env("RUST_LOG", "info");
    let _replay = ChildProcess::spawn("replay", &mut command);

    // Two loops of the 30 playable access units (the 25 deltas before the keyframe are left out).
    let received = receive(&lane, 60).await;
    assert!(
        received[0].meta.is_keyframe(),
        "the lane starts with a delta frame"
    );
    let keyframes: Vec<u64> = received
        .iter()
        .filter(|f| f.meta.is_keyframe())
        .map(|f| f.meta.frame.seq)
        .collect();
    assert_eq!(
        keyframes,
        [0, 30],
        "keyframes where recorded, again after the loop"
    );
    for (seq, frame) in (0u64..).zip(&received) {
        assert_eq!(frame.meta.frame.seq, seq, "gap-free seq");
        assert_eq!(
            (frame.meta.frame.width, frame.meta.frame.height),
            (WIDTH, HEIGHT)
        );
    }
    let key = received[0].meta.key.as_ref().expect("keyframe info");
    assert!(
        key.codec.starts_with("avc1.42"),
        "constrained baseline: {}",
        key.codec
    );

    let jpeg = tokio::time::timeout(DEADLINE, jpegs.recv_async())
        .await
        .expect("a JPEG frame beside the lane")
        .expect("frame subscriber open");
    assert!(pictures.contains(&Bytes::from(jpeg.payload().to_bytes().into_owned())));

    let info = wait_for_info(&session, &keys, "the lane in /info", |info| {
        !info.video.is_empty()
    })
    .await;
    let lane = &info.video[0];
    assert_eq!(
        (lane.name.as_str(), lane.key.as_str(), lane.codec.as_str()),
        ("main", "camera/replay/h264/main", "h264")
    );
    assert_eq!(
        (lane.width, lane.height, lane.keyframe_interval),
        (WIDTH, HEIGHT, 30)
    );
    assert_eq!(lane.fps, 30);
    assert!(lane.frames_published >= 60, "{lane:?}");
    assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
}

/// A video-only recording (`[record] video_only`): the replay is a camera whose `/info` takes
/// its size from the SPS and lists the lane, and whose lane starts at a keyframe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_video_only_recording_replays_as_a_lane() {
    if require("replay video", gst_x264()).is_none() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let recording = dir.path().join("front.mcap");
    write_recording(&recording, &dir.path().join("au"), false);
    let hub = Hub::spawn();
    let session = session_to(&hub.endpoint).await;
    let keys = CameraKeys::new(DEFAULT_PREFIX, "replay").expect("keys");
    let lane = session
        .declare_subscriber(keys.video("wide"))
        .await
        .expect("lane subscriber");
    let mut command = Command::new(target_binary("examples/replay"));
    command
        .arg("--file")
        .arg(&recording)
        .args([
            "--camera",
            "replay",
            "--lane",
            "wide",
            "--topic",
            "/camera/front",
            "--loop",
        ])
        .args(["--zenoh-connect", &hub.endpoint]);
    let _replay = ChildProcess::spawn("replay", &mut command);
    let received = receive(&lane, 30).await;
    assert!(received[0].meta.is_keyframe());
    let info = wait_for_info(&session, &keys, "the lane in /info", |info| {
        !info.video.is_empty()
    })
    .await;
    assert_eq!(info.video[0].key, "camera/replay/h264/wide");
    assert_eq!(
        (info.width, info.height),
        (WIDTH, HEIGHT),
        "size from the SPS"
    );
}
