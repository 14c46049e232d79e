//! Where a camera's frames come from, seen through the gateway: frames that arrive too late
//! (by the camera's clock) are dropped, a restarted camera whose clock is behind is shown, and
//! of two publishers on one camera's key one is served and the conflict reported.

use camera_protocol::meta::unix_now_ns;
use camera_protocol::FrameMeta;
use std::time::Duration;
use test_support::{draw_frame, jpeg_size, CameraOptions, Gateway, MjpegStream, SyntheticCamera};

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

/// Puts one frame with `seq`, captured `behind` ns before now by the camera's clock, as the
/// camera's own publisher would (same source id).
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
    let attachment = meta.encode_with_source(camera.source());
    camera.put_raw(jpeg, Some(attachment.to_vec())).await;
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

/// Width of the frames the stream serves over the next `parts` parts (online parts only).
async fn widths(stream: &mut MjpegStream, parts: usize) -> Vec<u32> {
    let mut widths = Vec::new();
    while widths.len() < parts {
        let part = stream.next_part(LONG).await.expect("stream part");
        if part.header("X-Camera-Online") != Some("false") {
            widths.push(jpeg_size(&part.body).0);
        }
    }
    widths
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_publishers_on_one_key_one_is_served_and_the_conflict_reported() {
    let _load = crate::shared().await;
    // Two nodes left at the defaults: both publish camera/front/jpeg, told apart by size here.
    let first = SyntheticCamera::start(CameraOptions::new("front", 160, 120).fps(15)).await;
    let second = SyntheticCamera::start(CameraOptions::new("front", 200, 150).fps(15)).await;
    let gateway = Gateway::spawn(
        crate::GATEWAY,
        &[first.endpoint(), second.endpoint()],
        &["--offline-after-ms", "1000"],
    );
    let entry = gateway
        .wait_camera("front", LONG, |c| c["conflict"]["sources"] == 2)
        .await;
    let conflict = &entry["conflict"];
    assert_eq!(
        conflict["ignored"].as_array().map(Vec::len),
        Some(1),
        "{entry}"
    );
    assert_ne!(conflict["serving"], conflict["ignored"][0], "{entry}");

    let mut stream = MjpegStream::open(&gateway.url("/cameras/front/stream.mjpg"))
        .await
        .expect("stream opens");
    let served = widths(&mut stream, 30).await;
    let width = served[served.len() - 1];
    assert!(
        served.iter().all(|w| *w == width),
        "frames of both publishers interleaved: {served:?}"
    );
    let metrics = gateway.metrics().await;
    let ignored = metrics
        .lines()
        .find_map(|line| {
            line.strip_prefix(
                r#"gateway_rejected_frames_total{camera="front",reason="other_source"} "#,
            )
        })
        .and_then(|value| value.trim().parse::<f64>().ok())
        .unwrap_or(0.0);
    assert!(ignored >= 10.0, "ignored frames not counted: {metrics}");
    let log = gateway.process().stderr();
    let warnings = log
        .lines()
        .filter(|line| line.contains("WARN") && line.contains("two publishers"))
        .collect::<Vec<_>>();
    assert_eq!(warnings.len(), 1, "one warning per conflict:\n{log}");
    assert!(
        warnings[0].contains("--prefix")
            && warnings[0].contains(conflict["serving"].as_str().unwrap_or("?")),
        "{}",
        warnings[0]
    );

    // The served publisher stops: after the offline timeout the other one is served.
    let (stopped, remaining, other_width) = if width == 160 {
        (first, second, 200)
    } else {
        (second, first, 160)
    };
    stopped.stop().await;
    let deadline = tokio::time::Instant::now() + LONG;
    loop {
        let part = stream.next_part(LONG).await.expect("stream part");
        if jpeg_size(&part.body).0 == other_width && part.header("X-Camera-Online") != Some("false")
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the other publisher was never served"
        );
    }
    assert_eq!(widths(&mut stream, 10).await, vec![other_width; 10]);
    gateway
        .wait_camera("front", LONG, |c| {
            c["conflict"].is_null() && c["online"] == true
        })
        .await;
    remaining.stop().await;
}
