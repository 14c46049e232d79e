//! The happy path: frames, metadata, info, snapshot, liveliness and a clean SIGTERM exit.

use crate::NODE;
use camera_protocol::meta::unix_now_ns;
use camera_protocol::subscriber::fetch_snapshot;
use camera_protocol::{CameraKeys, Cameras, CaptureState, FrameSubscriber};
use std::time::{Duration, Instant};
use test_support::{session_to, wait_for_info, CameraNode, DEADLINE};

const NS_PER_S: u64 = 1_000_000_000;

fn decoded_size(jpeg: &[u8]) -> (u32, u32) {
    let image = image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg)
        .expect("payload decodes as JPEG");
    (image.width(), image.height())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_source_publishes_frames_answers_queries_and_stops_on_sigterm() {
    let mut node = CameraNode::spawn(
        NODE,
        &[
            "--source", "test", "--camera", "e2e", "--width", "320", "--height", "240", "--fps",
            "30",
        ],
    );
    let session = session_to(&node.endpoint).await;
    let keys = CameraKeys::new("camera", "e2e").expect("keys");
    let subscriber = FrameSubscriber::declare(&session, "camera", Cameras::One("e2e".into()), 64)
        .await
        .expect("subscriber");

    let mut previous: Option<camera_protocol::FrameMeta> = None;
    for received in 0..20 {
        let sample = tokio::time::timeout(DEADLINE, subscriber.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "only {received} frames within {DEADLINE:?}:\n{}",
                    node.stderr()
                )
            })
            .expect("session open");
        assert_eq!(sample.camera, "e2e");
        let frame = sample.frame.expect("a valid frame");
        let meta = frame.meta;
        assert_eq!(decoded_size(&frame.jpeg), (320, 240));
        assert_eq!((meta.width, meta.height, meta.online), (320, 240, true));
        let now = unix_now_ns();
        assert!(
            meta.capture_ts_ns <= now + NS_PER_S && now - meta.capture_ts_ns.min(now) < NS_PER_S,
            "capture time {} is not within 1 s of now {now}",
            meta.capture_ts_ns
        );
        if let Some(previous) = previous {
            assert_eq!(meta.seq, previous.seq + 1, "seq must advance by exactly 1");
            assert!(
                meta.capture_ts_ns > previous.capture_ts_ns,
                "capture times must increase"
            );
            assert_eq!(meta.generation, previous.generation);
        }
        previous = Some(meta);
    }

    let info = wait_for_info(&session, &keys, "state running", |info| {
        info.state == CaptureState::Running
    })
    .await;
    assert_eq!(
        (
            info.camera.as_str(),
            info.source.as_str(),
            info.encoder.as_str()
        ),
        ("e2e", "test", "jpegenc")
    );
    assert_eq!(
        (info.width, info.height, info.fps, info.quality),
        (320, 240, 30, 85)
    );
    assert!(
        info.pipeline
            .starts_with("videotestsrc is-live=true pattern=ball"),
        "{}",
        info.pipeline
    );
    assert!(info.frames_published >= 20, "{info:?}");
    assert_eq!((info.restarts, info.last_error.as_deref()), (0, None));
    assert_eq!(info.node_version, env!("CARGO_PKG_VERSION"));
    // The raw reply carries exactly the documented fields.
    let reply = session
        .get(keys.info())
        .timeout(Duration::from_secs(5))
        .await
        .expect("get");
    let sample = reply
        .recv_async()
        .await
        .expect("a reply")
        .into_result()
        .expect("ok reply");
    let json: serde_json::Value =
        serde_json::from_slice(&sample.payload().to_bytes()).expect("JSON");
    let mut fields: Vec<&str> = json
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "camera",
            "encoder",
            "fps",
            "frames_published",
            "height",
            "last_error",
            "node_version",
            "pipeline",
            "quality",
            "restarts",
            "source",
            "state",
            "variants",
            "video",
            "width"
        ]
    );

    let snapshot = fetch_snapshot(&session, &keys, Duration::from_secs(5))
        .await
        .expect("snapshot query")
        .expect("a snapshot reply");
    assert_eq!(decoded_size(&snapshot.jpeg), (320, 240));
    assert!(snapshot.meta.seq >= previous.expect("frames").seq);

    let alive = session
        .liveliness()
        .get(keys.liveliness())
        .timeout(Duration::from_secs(5))
        .await
        .expect("liveliness get");
    let token = alive.recv_async().await.expect("liveliness token present");
    assert_eq!(
        token.result().expect("ok").key_expr().as_str(),
        "camera/e2e"
    );

    let (status, took) = node.terminate();
    assert!(
        status.success(),
        "exit status {status:?}:\n{}",
        node.stderr()
    );
    assert!(
        took < Duration::from_secs(2),
        "SIGTERM → exit took {took:?}"
    );
    session.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_demand_node_idles_without_subscribers_and_resumes_for_one() {
    let node = CameraNode::spawn(
        NODE,
        &[
            "--source",
            "test",
            "--camera",
            "lazy",
            "--on-demand",
            "--width",
            "160",
            "--height",
            "120",
        ],
    );
    let session = session_to(&node.endpoint).await;
    let keys = CameraKeys::new("camera", "lazy").expect("keys");
    let idle = wait_for_info(&session, &keys, "state idle", |info| {
        info.state == CaptureState::Idle
    })
    .await;
    let published_while_idle = idle.frames_published;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let still = wait_for_info(&session, &keys, "state idle", |info| {
        info.state == CaptureState::Idle
    })
    .await;
    assert_eq!(
        still.frames_published, published_while_idle,
        "an idle node must not publish"
    );

    let subscriber = FrameSubscriber::declare(&session, "camera", Cameras::One("lazy".into()), 8)
        .await
        .expect("subscriber");
    let start = Instant::now();
    let first = tokio::time::timeout(DEADLINE, subscriber.recv())
        .await
        .expect("frames resume")
        .expect("open");
    first.frame.expect("valid frame");
    eprintln!(
        "on-demand: first frame {:?} after subscribing",
        start.elapsed()
    );
    wait_for_info(&session, &keys, "state running", |info| {
        info.state == CaptureState::Running
    })
    .await;
    drop(subscriber);
    wait_for_info(&session, &keys, "idle again", |info| {
        info.state == CaptureState::Idle
    })
    .await;
    session.close().await.expect("close");
}
