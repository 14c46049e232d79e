//! The H.264 lane (`codec = "h264"` in `[[variants]]`): access units on
//! `<prefix>/<camera>/h264/<name>`, a keyframe first, every one valid by the protocol's checks,
//! the stream decodable by ffprobe, keyframes on request, nothing encoded while nobody watches.

use crate::NODE;
use camera_protocol::frame::FrameLimits;
use camera_protocol::{CameraInfo, CameraKeys, CaptureState, VideoFrame};
use std::io::Write;
use std::time::{Duration, Instant};
use test_support::h264::{ffprobe_available, ffprobe_h264};
use test_support::{session_to, wait_for_info, CameraNode, DEADLINE};

const CONFIG: &str = "source = \"test\"\ncamera = \"vid\"\nwidth = 640\nheight = 480\nfps = 30\n\n\
    [[variants]]\nname = \"main\"\ncodec = \"h264\"\nwidth = 320\nheight = 240\n\
    bitrate_kbps = 600\nkeyframe_interval = 300\n";

fn lane_published(info: &CameraInfo) -> u64 {
    info.video.first().map_or(0, |lane| lane.frames_published)
}

async fn next_au(
    subscriber: &zenoh::pubsub::Subscriber<
        zenoh::handlers::FifoChannelHandler<zenoh::sample::Sample>,
    >,
    node: &CameraNode,
) -> VideoFrame {
    let sample = tokio::time::timeout(DEADLINE, subscriber.recv_async())
        .await
        .unwrap_or_else(|_| panic!("no access unit within {DEADLINE:?}:\n{}", node.stderr()))
        .expect("session open");
    let attachment = sample.attachment().map(|a| a.to_bytes().into_owned());
    let limits = FrameLimits::default();
    VideoFrame::validated(
        sample.payload().to_bytes().into_owned().into(),
        attachment.as_deref(),
        &limits,
    )
    .unwrap_or_else(|error| panic!("access unit refused: {error}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h264_lane_starts_at_a_keyframe_decodes_and_forces_keyframes_on_request() {
    let Some(()) = test_support::ci::require("h264 lane", ffprobe_available()) else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("node.toml");
    std::fs::write(&config, CONFIG).expect("write config");
    let node = CameraNode::spawn(NODE, &["--config", config.to_str().expect("utf-8 path")]);
    let session = session_to(&node.endpoint).await;
    let keys = CameraKeys::new("camera", "vid").expect("keys");

    // Listed with its encoder; nothing encoded or published while nobody subscribes.
    let info = wait_for_info(&session, &keys, "30 main frames and a planned lane", |i| {
        i.frames_published >= 30 && i.video.first().is_some_and(|l| !l.encoder.is_empty())
    })
    .await;
    let lane = info.video.first().expect("lane in /info");
    assert_eq!(
        (
            lane.name.as_str(),
            lane.key.as_str(),
            lane.codec.as_str(),
            lane.width,
            lane.height,
            lane.fps
        ),
        ("main", "camera/vid/h264/main", "h264", 320, 240, 30)
    );
    assert_eq!(
        (
            lane.bitrate_kbps,
            lane.keyframe_interval,
            lane.encoder.as_str()
        ),
        (600, 300, "x264enc")
    );
    assert_eq!(lane.frames_published, 0, "published without a subscriber");

    let subscriber = session
        .declare_subscriber(keys.video("main"))
        .await
        .expect("subscriber");
    let mut stream = Vec::new();
    let mut frames = Vec::new();
    for _ in 0..30 {
        let frame = next_au(&subscriber, &node).await;
        assert_eq!(
            (frame.meta.frame.width, frame.meta.frame.height),
            (320, 240)
        );
        stream.extend_from_slice(&frame.au);
        frames.push(frame);
    }
    assert!(
        frames[0].meta.is_keyframe(),
        "the first access unit a subscriber gets is a keyframe"
    );
    let key = frames[0].meta.key.as_ref().expect("keyframe info");
    assert!(
        key.codec.starts_with("avc1.42"),
        "constrained baseline: {}",
        key.codec
    );
    for pair in frames.windows(2) {
        assert_eq!(
            pair[1].meta.frame.seq,
            pair[0].meta.frame.seq + 1,
            "lost access units"
        );
    }
    // keyframe_interval = 300 at 30 fps: without a request the next keyframe is 10 s away.
    let replies = session
        .get(keys.video_keyframe("main"))
        .await
        .expect("query");
    let reply = tokio::time::timeout(DEADLINE, replies.recv_async())
        .await
        .expect("keyframe reply in time")
        .expect("a reply");
    let body = reply.result().expect("an ok reply").payload().to_bytes();
    let answer: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(answer, serde_json::json!({"keyframe": "requested"}));
    let mut after_request = 0;
    loop {
        let frame = next_au(&subscriber, &node).await;
        stream.extend_from_slice(&frame.au);
        after_request += 1;
        if frame.meta.is_keyframe() {
            break;
        }
        assert!(
            after_request < 10,
            "no keyframe within 10 access units of the request"
        );
    }

    let file = dir.path().join("lane.h264");
    std::fs::File::create(&file)
        .and_then(|mut f| f.write_all(&stream))
        .expect("write stream");
    let probed = ffprobe_h264(&file);
    assert_eq!(
        (probed.codec.as_str(), probed.width, probed.height),
        ("h264", 320, 240)
    );
    assert_eq!(probed.frames, Some(30 + after_request), "{probed:?}");
    assert!(probed.errors.is_empty(), "decode errors: {}", probed.errors);

    // Unsubscribed: the lane's count stops while the main frames go on.
    drop(subscriber);
    let mut last = wait_for_info(&session, &keys, "access units counted", |i| {
        lane_published(i) >= 30
    })
    .await;
    let started = Instant::now();
    loop {
        let main = last.frames_published;
        let next = wait_for_info(&session, &keys, "15 more main frames", |i| {
            i.frames_published >= main + 15
        })
        .await;
        if lane_published(&next) == lane_published(&last) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the lane kept being published after its subscriber left"
        );
        last = next;
    }

    // Back again, long before the 300-frame interval is over: the encoder kept its state from
    // before, so a keyframe within 3 s (not the 7-10 s to the next scheduled one) was forced
    // when the gate opened.
    let resubscribed = Instant::now();
    let subscriber = session
        .declare_subscriber(keys.video("main"))
        .await
        .expect("subscriber");
    let first = next_au(&subscriber, &node).await;
    assert!(
        first.meta.is_keyframe(),
        "the first access unit after a new subscriber is a keyframe"
    );
    assert!(
        resubscribed.elapsed() < Duration::from_secs(3),
        "no keyframe forced when the gate opened: waited {:?}",
        resubscribed.elapsed()
    );
    assert!(first.meta.frame.seq >= lane_published(&last));
    session.close().await.expect("close");
}

/// `on_demand`: a subscriber of the lane alone resumes the paused camera, and the camera
/// pauses again when it leaves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h264_lane_alone_wakes_an_on_demand_node() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("node.toml");
    std::fs::write(&config, format!("on_demand = true\n{CONFIG}")).expect("write config");
    let node = CameraNode::spawn(NODE, &["--config", config.to_str().expect("utf-8 path")]);
    let session = session_to(&node.endpoint).await;
    let keys = CameraKeys::new("camera", "vid").expect("keys");
    wait_for_info(&session, &keys, "idle without subscribers", |i| {
        i.state == CaptureState::Idle
    })
    .await;
    let subscriber = session
        .declare_subscriber(keys.video("main"))
        .await
        .expect("subscriber");
    let first = next_au(&subscriber, &node).await;
    assert!(first.meta.is_keyframe());
    wait_for_info(&session, &keys, "running for the lane", |i| {
        i.state == CaptureState::Running && lane_published(i) > 0
    })
    .await;
    drop(subscriber);
    wait_for_info(&session, &keys, "idle again", |i| {
        i.state == CaptureState::Idle
    })
    .await;
    session.close().await.expect("close");
}
