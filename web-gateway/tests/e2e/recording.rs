//! `--record DIR` and `GET /cameras/{id}/clip.mcap` of the real binary, read by Python's
//! `mcap` package: every frame published at 30 fps is in the clip and in the segments once,
//! at its capture time, byte for byte; clip errors are the gateway's JSON errors; the
//! recorder's counters and the clip buffer's size are in /metrics; SIGTERM finishes the open
//! segments. Recording gets what the camera task accepted: of two publishers on one key only
//! the served one is recorded, and the open segment reads as MCAP while the gateway runs.

use crate::GATEWAY;
use camera_protocol::keys::DEFAULT_PREFIX;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use test_support::ci::{python_mcap, require};
use test_support::mcap_reader::{
    assert_frames, has_summary, read_mcap, read_mcap_bytes, try_read_mcap, McapMessage,
};
use test_support::publisher::{
    declare_publisher, declare_publisher_at, publish_frames, wait_subscribed,
};
use test_support::{
    free_port, jpeg_size, listening_session, metrics, CameraOptions, Gateway, SyntheticCamera,
    DEADLINE,
};

/// Waits until /metrics shows `frames` written by the recorder.
async fn wait_recorded(gateway: &Gateway, frames: usize) -> String {
    let wanted = format!("gateway_record_frames_written_total {frames}\n");
    let start = Instant::now();
    loop {
        let metrics = gateway.metrics().await;
        if metrics.contains(&wanted) {
            return metrics;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "recorder never wrote {frames} frames:\n{metrics}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The clip buffer's byte bound in [`records_segments_and_serves_clips`] (the smallest allowed).
const CLIP_BYTES: usize = 1 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_segments_and_serves_clips() {
    if require("recording", python_mcap()).is_none() {
        return;
    }
    let _shared = crate::shared().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let node = listening_session(&endpoint).await;
    let record_dir = dir.path().to_str().expect("utf-8 path");
    let mut gateway = Gateway::spawn(
        GATEWAY,
        std::slice::from_ref(&endpoint),
        &[
            "--record",
            record_dir,
            "--record-segment",
            "1",
            "--clip-buffer",
            "30",
            "--clip-buffer-bytes",
            &CLIP_BYTES.to_string(),
        ],
    );
    let mut publisher = declare_publisher(&node, "front").await;
    // The camera task subscribes once discovery found the camera.
    gateway.wait_camera("front", DEADLINE, |_| true).await;
    wait_subscribed(&publisher).await;
    let published = publish_frames(&mut publisher, 60, 30).await;
    let metrics = wait_recorded(&gateway, published.len()).await;
    assert!(
        metrics.contains("gateway_record_write_errors_total 0\n"),
        "{metrics}"
    );
    // The clip buffer's gauges: every frame is held (2 s of a 30 s clip), within its bound.
    // The camera task fills the clip before handing the frame to the recorder, so they are
    // current once the recorder has written every frame.
    let held: usize = published.iter().map(|(_, jpeg)| jpeg.len()).sum();
    let clip_bytes = metrics::value(&metrics, "gateway_clip_buffer_bytes");
    assert!(clip_bytes > 0.0, "{metrics}");
    assert!(clip_bytes <= CLIP_BYTES as f64, "{metrics}");
    assert_eq!(clip_bytes, held as f64, "{metrics}");
    assert_eq!(
        metrics::value(&metrics, "gateway_clip_buffer_frames"),
        published.len() as f64,
        "{metrics}"
    );

    let response = gateway.get("/cameras/front/clip.mcap").await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "application/octet-stream");
    let disposition = headers["content-disposition"].to_str().expect("ascii");
    assert!(
        disposition.starts_with("attachment;") && disposition.contains(".mcap"),
        "{disposition}"
    );
    let clip = read_mcap_bytes(&response.bytes().await.expect("clip body"));
    assert_frames("clip", DEFAULT_PREFIX, "front", &clip.messages, &published);

    // ?seconds=1: only the frames of the last second (capture times within 1 s of the last).
    let response = gateway.get("/cameras/front/clip.mcap?seconds=1").await;
    assert_eq!(response.status(), 200);
    let last_second = read_mcap_bytes(&response.bytes().await.expect("clip body"));
    let newest = published.last().expect("frames").0;
    let tail: Vec<_> = published
        .iter()
        .filter(|(ts, _)| newest - ts <= 1_000_000_000)
        .cloned()
        .collect();
    assert!(tail.len() < published.len());
    assert_frames(
        "1 s clip",
        DEFAULT_PREFIX,
        "front",
        &last_second.messages,
        &tail,
    );

    for (path, status, needle) in [
        ("/cameras/nope/clip.mcap", 404, "nope"),
        ("/cameras/front/clip.mcap?seconds=0", 400, "`seconds`"),
        ("/cameras/front/clip.mcap?seconds=31", 400, "`seconds`"),
        ("/cameras/front/clip.mcap?secs=5", 400, "`secs`"),
    ] {
        let response = gateway.get(path).await;
        assert_eq!(response.status(), status, "{path}");
        let body: serde_json::Value = response.json().await.expect("JSON error");
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(needle), "{path}: {body}");
    }

    // SIGTERM: the open segment gets its footer before the process exits.
    gateway.terminate();
    let status = gateway.wait_exit(DEADLINE).expect("gateway exits");
    assert!(status.success(), "{status}");
    let files = std::fs::read_dir(dir.path().join("front")).expect("camera directory");
    assert!(files.count() >= 2, "2 s in 1 s segments");
    let messages = recorded(dir.path(), "front");
    assert_frames("segments", DEFAULT_PREFIX, "front", &messages, &published);
}

/// Every segment under `dir/folder`, read and merged in log-time order; the folder must exist.
fn recorded(dir: &Path, folder: &str) -> Vec<test_support::mcap_reader::McapMessage> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join(folder))
        .unwrap_or_else(|error| panic!("{folder}: {error}"))
        .map(|entry| entry.expect("entry").path())
        .collect();
    files.sort();
    let mut messages: Vec<_> = read_mcap(&files)
        .into_iter()
        .flat_map(|file| file.messages)
        .collect();
    messages.sort_by_key(|message| message.log_time);
    messages
}

/// `--prefix '*/camera'`: two robots' `front` are two cameras, recorded into two folders
/// (`DIR/robot1/camera/front/`, `DIR/robot2/camera/front/`) and two clips, each holding its own
/// robot's frames only, on the topic `/<robot>/front`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_robots_front_are_recorded_apart() {
    if require("recording", python_mcap()).is_none() {
        return;
    }
    let _shared = crate::shared().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let robots = ["robot1/camera", "robot2/camera"];
    let mut endpoints = Vec::new();
    let mut publishers = Vec::new();
    for robot in robots {
        let endpoint = format!("tcp/127.0.0.1:{}", free_port());
        let node = listening_session(&endpoint).await;
        publishers.push((
            node.clone(),
            declare_publisher_at(&node, robot, "front").await,
        ));
        endpoints.push(endpoint);
    }
    let record_dir = dir.path().to_str().expect("utf-8 path");
    let mut gateway = Gateway::spawn(
        GATEWAY,
        &endpoints,
        &[
            "--prefix",
            "*/camera",
            "--record",
            record_dir,
            "--clip-buffer",
            "30",
        ],
    );
    let ids = ["robot1.camera.front", "robot2.camera.front"];
    for id in ids {
        gateway.wait_camera(id, DEADLINE, |_| true).await;
    }
    let mut published = Vec::new();
    for (_, publisher) in &mut publishers {
        wait_subscribed(publisher).await;
        published.push(publish_frames(publisher, 20, 30).await);
    }
    wait_recorded(&gateway, published.iter().map(Vec::len).sum()).await;
    for ((id, robot), frames) in ids.iter().zip(robots).zip(&published) {
        let response = gateway.get(&format!("/cameras/{id}/clip.mcap")).await;
        assert_eq!(response.status(), 200, "{id}");
        let clip = read_mcap_bytes(&response.bytes().await.expect("clip body"));
        assert_frames(id, robot, "front", &clip.messages, frames);
    }
    gateway.terminate();
    let status = gateway.wait_exit(DEADLINE).expect("gateway exits");
    assert!(status.success(), "{status}");
    for (robot, frames) in robots.iter().zip(&published) {
        let folder = format!("{robot}/front");
        assert_frames(
            &folder,
            robot,
            "front",
            &recorded(dir.path(), &folder),
            frames,
        );
    }
    assert!(!dir.path().join("front").exists(), "no shared DIR/front/");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clips_off_is_a_json_404_and_a_bad_record_dir_stops_startup() {
    let _shared = crate::shared().await;
    let gateway = Gateway::serve(&[], &["--clip-buffer", "0"]).await;
    // Off, the gauges are still there: a dashboard finds 0, not "no data".
    let text = gateway.metrics().await;
    for series in [
        "gateway_clip_buffer_bytes 0\n",
        "gateway_clip_buffer_frames 0\n",
    ] {
        assert!(text.contains(series), "{series} missing:\n{text}");
    }
    let response = gateway.get("/cameras/front/clip.mcap").await;
    assert_eq!(response.status(), 404);
    let body: serde_json::Value = response.json().await.expect("JSON error");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("--clip-buffer"),
        "{body}"
    );

    let file = tempfile::NamedTempFile::new().expect("temp file");
    let not_a_dir = file.path().join("recordings");
    let mut command = std::process::Command::new(GATEWAY);
    command.args([
        "--listen",
        "127.0.0.1:0",
        "--zenoh-listen",
        "tcp/127.0.0.1:0",
        "--record",
    ]);
    command.arg(&not_a_dir);
    test_support::binaries::without_settings_env(&mut command, "GATEWAY_");
    let (status, _, stderr) = test_support::run_bounded(&mut command, DEADLINE);
    assert!(!status.success(), "{stderr}");
    assert!(stderr.contains("cannot start recording"), "{stderr}");
}

/// Two nodes publishing `camera/front` (two robots left at the defaults), told apart by size:
/// the open segment, read while the gateway writes it, and the finished segments hold the
/// served publisher's frames only, their sequence numbers never stepping back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_publishers_on_one_key_only_the_served_one_is_recorded() {
    if require("recording", python_mcap()).is_none() {
        return;
    }
    let _shared = crate::shared().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let first = SyntheticCamera::start(CameraOptions::new("front", 160, 120).fps(15)).await;
    let second = SyntheticCamera::start(CameraOptions::new("front", 200, 150).fps(15)).await;
    let record_dir = dir.path().to_str().expect("utf-8 path");
    let mut gateway = Gateway::spawn(
        GATEWAY,
        &[first.endpoint(), second.endpoint()],
        &["--record", record_dir],
    );
    let entry = gateway
        .wait_camera("front", DEADLINE, |c| {
            c["conflict"]["sources"] == 2 && c["recording"] == true
        })
        .await;
    let served = entry["width"].as_u64().expect("width of the served frames") as u32;

    // The open segment (60 s long), read by Python's make_reader while frames keep coming:
    // every read succeeds, and within a few flushes it holds 15 frames.
    let open = dir.path().join("front");
    let limit = Instant::now() + DEADLINE;
    let messages = loop {
        let files = segment_files(&open);
        if let [segment] = files.as_slice() {
            assert!(!has_summary(segment), "the segment is finished already");
            let read =
                try_read_mcap(&files).unwrap_or_else(|error| panic!("open segment: {error}"));
            let messages = read
                .into_iter()
                .flat_map(|file| file.messages)
                .collect::<Vec<_>>();
            one_publisher("open segment", &messages, served);
            if messages.len() >= 15 {
                break messages;
            }
        }
        assert!(
            Instant::now() < limit,
            "the open segment never held 15 frames: {files:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    gateway.terminate();
    let status = gateway.wait_exit(DEADLINE).expect("gateway exits");
    assert!(status.success(), "{status}");
    let all = recorded(dir.path(), "front");
    assert!(
        all.len() >= messages.len(),
        "{} then {}",
        messages.len(),
        all.len()
    );
    one_publisher("finished segments", &all, served);
    first.stop().await;
    second.stop().await;
}

/// Segment files in `dir` (none if it does not exist yet).
fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.map(|entry| entry.expect("entry").path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

/// Every message is a frame `width` wide, and sequence numbers only go up.
fn one_publisher(what: &str, messages: &[McapMessage], width: u32) {
    for (index, message) in messages.iter().enumerate() {
        assert_eq!(
            jpeg_size(&message.data).0,
            width,
            "{what}, message {index}: a frame of the other publisher"
        );
    }
    for pair in messages.windows(2) {
        assert!(
            pair[1].sequence > pair[0].sequence,
            "{what}: sequence {} after {}",
            pair[1].sequence,
            pair[0].sequence
        );
    }
}
