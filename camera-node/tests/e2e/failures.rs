//! What a robot operator sees when things go wrong: restarts with backoff, failed sources,
//! bad configs. The process must stay up (or exit with one clear line for a bad config).

use crate::NODE;
use camera_protocol::{CameraKeys, Cameras, CaptureState, FrameSubscriber};
use std::process::Command;
use std::time::{Duration, Instant};
use test_support::{run_bounded, session_to, wait_for_info, CameraNode, DEADLINE};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_pipeline_restarts_with_backoff_and_node_stays_up() {
    let launch = "filesrc location=/nonexistent/camera.mjpg ! appsink name=sink";
    let spawned = Instant::now();
    let mut node = CameraNode::spawn_pipeline(NODE, "broken", launch);
    let session = session_to(&node.endpoint).await;
    let keys = CameraKeys::new("camera", "broken").expect("keys");
    let later = wait_for_info(&session, &keys, "4 restarts", |info| info.restarts >= 4).await;
    // Waits of 0.5 s, 1 s and 2 s lie between the 1st and 4th failure; without backoff
    // (a fixed 0.5 s) they would take 1.5 s.
    let elapsed = spawned.elapsed();
    assert!(
        elapsed >= Duration::from_millis(3500),
        "restarts too fast: 4 in {elapsed:?}"
    );
    assert!(
        matches!(later.state, CaptureState::Restarting | CaptureState::Failed),
        "{later:?}"
    );
    let error = later.last_error.expect("last_error set");
    assert!(
        error.contains("/nonexistent/camera.mjpg") || error.contains("filesrc"),
        "{error}"
    );
    assert_eq!(later.pipeline, launch);
    assert!(node.is_running(), "node must stay up:\n{}", node.stderr());
    assert!(node.stderr().contains("camera lost"), "{}", node.stderr());
    let (status, _) = node.terminate();
    assert!(status.success(), "{status:?}");
    session.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_that_ends_is_restarted_and_seq_continues_across_generations() {
    let launch = "videotestsrc is-live=true num-buffers=20 ! video/x-raw,width=160,height=120,framerate=30/1 ! jpegenc ! appsink name=sink";
    let node = CameraNode::spawn_pipeline(NODE, "short", launch);
    let session = session_to(&node.endpoint).await;
    let subscriber = FrameSubscriber::declare(&session, "camera", Cameras::One("short".into()), 64)
        .await
        .expect("subscriber");
    let mut previous: Option<camera_protocol::FrameMeta> = None;
    let deadline = Instant::now() + DEADLINE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let sample = tokio::time::timeout(left, subscriber.recv())
            .await
            .unwrap_or_else(|_| panic!("no restart seen within {DEADLINE:?}:\n{}", node.stderr()))
            .expect("open");
        let meta = sample.frame.expect("valid frame").meta;
        if let Some(previous) = previous {
            assert!(
                meta.seq > previous.seq,
                "seq went backwards without a node restart"
            );
            if meta.generation > previous.generation {
                assert_eq!(meta.generation, previous.generation + 1);
                break;
            }
        }
        previous = Some(meta);
    }
    assert!(node.stderr().contains("end of stream"), "{}", node.stderr());
    session.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_element_is_named_and_reported_as_failed() {
    let mut node = CameraNode::spawn(NODE, &["--source", "argus", "--camera", "csi"]);
    let session = session_to(&node.endpoint).await;
    let keys = CameraKeys::new("camera", "csi").expect("keys");
    let info = wait_for_info(&session, &keys, "state failed", |info| {
        info.state == CaptureState::Failed
    })
    .await;
    let error = info.last_error.expect("last_error");
    assert!(
        error.contains("nvarguscamerasrc") && error.contains("JetPack"),
        "{error}"
    );
    assert!(
        node.is_running(),
        "a node with a missing element keeps retrying"
    );
    assert!(
        node.stderr().contains("nvidia-l4t-gstreamer"),
        "{}",
        node.stderr()
    );
    let (status, _) = node.terminate();
    assert!(status.success());
    session.close().await.expect("close");

    // --print-pipeline still shows the Argus pipeline, so it can be read on any machine, and
    // warns that it cannot run here.
    let (status, stdout, stderr) = run_bounded(
        Command::new(env!("CARGO_BIN_EXE_camera-node")).args([
            "--source",
            "argus",
            "--print-pipeline",
        ]),
        DEADLINE,
    );
    assert!(status.success(), "{stderr}");
    assert!(
        stdout.starts_with("nvarguscamerasrc sensor-id=0 ! video/x-raw(memory:NVMM)"),
        "{stdout}"
    );
    assert!(
        stderr.contains("WARN") && stderr.contains("cannot run here: nvarguscamerasrc"),
        "{stderr}"
    );
}

fn assert_one_line_error(args: &[&str], expected: &[&str]) {
    let (status, _, stderr) = run_bounded(
        Command::new(env!("CARGO_BIN_EXE_camera-node"))
            .args(args)
            .env("NO_COLOR", "1"),
        DEADLINE,
    );
    assert_eq!(status.code(), Some(2), "{args:?}: {stderr}");
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("ERROR"))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    for needle in expected {
        assert!(
            errors[0].contains(needle),
            "{needle:?} missing from {:?}",
            errors[0]
        );
    }
}

#[test]
fn invalid_config_fails_with_one_line_naming_the_field() {
    let dir = std::env::temp_dir().join(format!("camera-node-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let typo = dir.join("typo.toml");
    std::fs::write(&typo, "camera = \"front\"\nwidht = 640\n").expect("write");
    let typo = typo.to_str().expect("utf-8 path");
    assert_one_line_error(
        &["--config", typo],
        &[typo, "line 2", "widht", "expected one of"],
    );
    let wrong_type = dir.join("type.toml");
    std::fs::write(&wrong_type, "[argus]\nflip_method = \"none\"\n").expect("write");
    assert_one_line_error(
        &["--config", wrong_type.to_str().expect("utf-8")],
        &["argus.flip_method", "invalid type"],
    );
    assert_one_line_error(
        &["--quality", "101", "--print-pipeline"],
        &["quality = 101 is invalid", "1..=100"],
    );
    assert_one_line_error(
        &["--camera", "a/b", "--print-pipeline"],
        &["camera = \"a/b\" is invalid"],
    );
    assert_one_line_error(
        &["--source", "pipeline", "--print-pipeline"],
        &["pipeline.launch", "appsink name=sink"],
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn print_pipeline_shows_what_would_run() {
    let profile = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../config/camera-node/test-pattern.toml"
    );
    let (status, stdout, stderr) = run_bounded(
        Command::new(env!("CARGO_BIN_EXE_camera-node")).args([
            "--config",
            profile,
            "--pattern",
            "smpte",
            "--width",
            "320",
            "--print-pipeline",
        ]),
        DEADLINE,
    );
    assert!(status.success(), "{stderr}");
    assert_eq!(
        stdout.trim(),
        // The profile's [[variants]] preview hangs off a tee before the main encoder.
        "videotestsrc is-live=true pattern=smpte ! video/x-raw,width=320,height=480,framerate=30/1 ! \
         videoconvert ! tee name=raw ! jpegenc quality=85 ! appsink name=sink max-buffers=1 drop=true sync=false \
         raw. ! queue name=variant-queue-preview leaky=downstream max-size-buffers=1 max-size-bytes=0 max-size-time=0 ! \
         videoscale ! video/x-raw,width=320,height=480 ! jpegenc quality=70 ! \
         appsink name=variant-sink-preview max-buffers=1 drop=true sync=false async=false"
    );
}
