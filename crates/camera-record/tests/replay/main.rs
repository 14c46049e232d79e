//! The replay example (`examples/replay/`) against the real web-gateway: a recording written
//! with the library's `FrameMcap` (the gateway's own segment writer) is published back onto
//! zenoh, and the gateway lists it as an online camera whose snapshot is one of the recorded
//! JPEGs, byte for byte. Needs the example and the gateway built (`cargo test --workspace`).
//! A recording with an H.264 channel is published as the camera's H.264 lane (`video.rs`).

mod video;

use bytes::Bytes;
use camera_protocol::keys::DEFAULT_PREFIX;
use camera_protocol::meta::FrameMeta;
use camera_protocol::Frame;
use camera_record::mcap_file::topic;
use camera_record::FrameMcap;
use std::io::BufWriter;
use std::path::Path;
use std::process::Command;
use test_support::jpeg::tint_of;
use test_support::{draw_frame, target_binary, ChildProcess, Gateway, Hub, DEADLINE};

const WIDTH: u32 = 160;
const HEIGHT: u32 = 120;
/// 15 frames at 15 fps: a one-second recording, played in a loop.
const FRAMES: u32 = 15;
const INTERVAL_NS: u64 = 1_000_000_000 / 15;

/// Writes `FRAMES` distinct pictures as camera "front" into `path`; returns their JPEGs.
fn write_recording(path: &Path) -> Vec<Bytes> {
    let file = std::fs::File::create(path).expect("create the recording");
    let mut mcap = FrameMcap::new(BufWriter::new(file)).expect("MCAP writer");
    let start_ns = 1_764_000_000_000_000_000;
    let pictures: Vec<Bytes> = (0..FRAMES)
        .map(|step| Bytes::from(draw_frame(WIDTH, HEIGHT, tint_of("replay"), step)))
        .collect();
    for (seq, jpeg) in (0u64..).zip(&pictures) {
        let frame = Frame {
            jpeg: jpeg.clone(),
            meta: FrameMeta {
                seq,
                capture_ts_ns: start_ns + seq * INTERVAL_NS,
                width: WIDTH,
                height: HEIGHT,
                generation: 1,
                online: true,
            },
        };
        mcap.write(&topic(DEFAULT_PREFIX, "front"), "front", &frame)
            .expect("write a frame");
    }
    mcap.finish().expect("finish the recording");
    pictures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_recording_is_a_live_camera_in_the_gateway() {
    let dir = tempfile::tempdir().expect("temp dir");
    let recording = dir.path().join("front.mcap");
    let pictures = write_recording(&recording);

    let hub = Hub::spawn();
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
    let replay = ChildProcess::spawn("replay", &mut command);
    replay.wait_for_line("that it is replaying", DEADLINE, |line| {
        line.contains("replaying").then_some(())
    });

    let gateway = Gateway::spawn(
        target_binary("web-gateway"),
        std::slice::from_ref(&hub.endpoint),
        &[],
    );
    // Online with frames arriving (liveliness alone makes a camera online before its first frame).
    let entry = gateway
        .wait_camera("replay", DEADLINE, |camera| {
            camera["online"] == true && camera["last_seq"].is_u64()
        })
        .await;
    assert_eq!(entry["width"], WIDTH, "{entry}");
    assert_eq!(entry["height"], HEIGHT, "{entry}");

    // Several snapshots: each is one of the recorded frames, unchanged.
    for _ in 0..3 {
        let response = gateway.get("/cameras/replay/snapshot.jpg").await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["x-camera-online"], "true");
        let jpeg = response.bytes().await.expect("snapshot body");
        assert!(
            pictures.contains(&jpeg),
            "the snapshot ({} bytes) is none of the recorded frames",
            jpeg.len()
        );
    }
}
