//! Where a camera's frames come from, seen through the gateway: frames that arrive too late
//! (by the camera's clock) are dropped, a restarted camera whose clock is behind is shown.

use camera_node::meta::unix_now_ns;
use camera_node::FrameMeta;
use std::time::Duration;
use test_support::{draw_frame, CameraOptions, Gateway, SyntheticCamera};

const LONG: Duration = Duration::from_secs(30);
const SECOND: u64 = 1_000_000_000;
const WIDTH: u32 = 160;
const HEIGHT: u32 = 120;

fn stale_count(metrics: &str, camera: &str) -> f64 {
    let series = format!("gateway_rejected_frames_total{{camera=\"{camera}\",reason=\"stale\"}}");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(&series))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0.0)
}

/// Puts one frame with `seq`, captured `behind` ns before now by the camera's clock.
async fn put(camera: &SyntheticCamera, seq: u64, behind: u64) {
    let meta = FrameMeta {
        seq,
        capture_ts_ns: unix_now_ns() - behind,
        width: WIDTH,
        height: HEIGHT,
        generation: 1,
        online: true,
    };
    let jpeg = draw_frame(WIDTH, HEIGHT, [0, 90, 200], (seq % 8) as u32);
    camera.put_raw(jpeg, Some(meta.encode().to_vec())).await;
}

async fn wait_last_seq(gateway: &Gateway, camera: &str, seq: u64) {
    gateway
        .wait_camera(camera, LONG, |c| c["last_seq"] == seq)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_frames_are_dropped_and_a_restart_with_an_earlier_clock_is_shown() {
    let _load = crate::shared().await;
    // Five frames from the publisher, then the test puts frames by hand on the same key.
    let options = CameraOptions::new("late", WIDTH, HEIGHT).max_frames(5);
    let camera = SyntheticCamera::start(options).await;
    let gateway = Gateway::serve(&[camera.endpoint()], &["--max-frame-lag-ms", "1000"]).await;
    wait_last_seq(&gateway, "late", 4).await;

    // Captured 3 s before the newest: held back on a link, never shown.
    put(&camera, 5, 3 * SECOND).await;
    put(&camera, 6, 0).await;
    wait_last_seq(&gateway, "late", 6).await;
    let metrics = gateway.metrics().await;
    assert_eq!(stale_count(&metrics, "late"), 1.0, "{metrics}");

    // The node restarts (seq from 0) with a clock 2 s behind the old one: shown at once.
    put(&camera, 0, 2 * SECOND).await;
    wait_last_seq(&gateway, "late", 0).await;
    put(&camera, 1, 2 * SECOND - SECOND / 10).await;
    wait_last_seq(&gateway, "late", 1).await;
    // Within the new run, a frame 1.5 s older than the newest is late again.
    put(&camera, 2, 3 * SECOND + SECOND / 2).await;
    put(&camera, 3, 2 * SECOND - SECOND / 5).await;
    wait_last_seq(&gateway, "late", 3).await;
    let metrics = gateway.metrics().await;
    assert_eq!(stale_count(&metrics, "late"), 2.0, "{metrics}");
    camera.stop().await;
}
