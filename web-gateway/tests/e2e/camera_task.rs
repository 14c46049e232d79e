//! What the per-camera task keeps true, seen from outside: a camera offline and unwatched for
//! `--forget-after-ms` disappears with its metrics series (and comes back with its node),
//! `info` in `/api/cameras` follows the node, and every known camera has metrics from zero.

use std::time::{Duration, Instant};
use test_support::{CameraOptions, Gateway, MjpegStream, SyntheticCamera};

const LONG: Duration = Duration::from_secs(30);

/// The lines of `/metrics` that carry `camera="<id>"`.
async fn series_of(gateway: &Gateway, id: &str) -> Vec<String> {
    let label = format!("camera=\"{id}\"");
    gateway
        .metrics()
        .await
        .lines()
        .filter(|line| line.contains(&label))
        .map(str::to_owned)
        .collect()
}

/// A camera streaming at 10 fps and an in-process gateway with `flags` that shows its frames.
async fn streaming(options: &CameraOptions, flags: &[&str]) -> (SyntheticCamera, Gateway) {
    let camera = SyntheticCamera::start(options.clone()).await;
    let gateway = Gateway::serve(&[camera.endpoint()], flags).await;
    gateway
        .wait_camera(&options.id, LONG, |c| {
            c["online"] == true && c["last_seq"].is_u64()
        })
        .await;
    (camera, gateway)
}

/// Waits until `id` is no longer listed; panics after [`LONG`].
async fn wait_forgotten(gateway: &Gateway, id: &str) {
    let deadline = Instant::now() + LONG;
    while gateway.camera_ids().await.iter().any(|listed| listed == id) {
        assert!(Instant::now() < deadline, "camera {id} never forgotten");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_camera_gone_for_forget_after_is_removed_with_its_metrics_and_found_again() {
    let _load = crate::shared().await;
    let options = CameraOptions::new("brief", 160, 120).fps(10);
    let flags = ["--offline-after-ms", "500", "--forget-after-ms", "1500"];
    let (camera, gateway) = streaming(&options, &flags).await;
    assert!(
        !series_of(&gateway, "brief").await.is_empty(),
        "no metrics series for a streaming camera"
    );

    let stopped = Instant::now();
    camera.stop().await;
    wait_forgotten(&gateway, "brief").await;
    let took = stopped.elapsed();
    eprintln!("forgotten {took:?} after the node stopped");
    assert!(
        took >= Duration::from_millis(1500),
        "forgotten after {took:?}, before forget_after"
    );
    let left = series_of(&gateway, "brief").await;
    assert!(left.is_empty(), "series of a forgotten camera: {left:?}");
    let missing = reqwest::get(gateway.url("/cameras/brief/snapshot.jpg"))
        .await
        .expect("GET");
    assert_eq!(missing.status(), 404);

    let back = SyntheticCamera::start(options).await;
    gateway
        .wait_camera("brief", LONG, |c| {
            c["online"] == true && c["last_seq"].is_u64()
        })
        .await;
    assert!(
        !series_of(&gateway, "brief").await.is_empty(),
        "no metrics series once the camera is back"
    );
    back.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watched_camera_is_not_forgotten() {
    let _load = crate::shared().await;
    let options = CameraOptions::new("kept", 160, 120).fps(10);
    let flags = ["--offline-after-ms", "300", "--forget-after-ms", "300"];
    let (camera, gateway) = streaming(&options, &flags).await;
    let mut stream = MjpegStream::open(&gateway.url("/cameras/kept/stream.mjpg"))
        .await
        .expect("stream opens");
    stream
        .next_part(Duration::from_secs(10))
        .await
        .expect("live part");
    camera.stop().await;
    // The viewer sees NO SIGNAL, and the camera stays listed for as long as it watches.
    let deadline = Instant::now() + LONG;
    loop {
        let part = stream
            .next_part(Duration::from_secs(10))
            .await
            .expect("stream stays open");
        if part.header("x-camera-online") == Some("false") {
            break;
        }
        assert!(Instant::now() < deadline, "no NO SIGNAL part");
    }
    let offline = gateway
        .wait_camera("kept", LONG, |c| c["online"] == false)
        .await;
    assert_eq!(offline["clients"], 1, "{offline}");
    // Ten forget periods with the viewer still there.
    let watched_until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < watched_until {
        stream
            .next_part(Duration::from_secs(10))
            .await
            .expect("NO SIGNAL keeps coming");
    }
    assert!(gateway.camera_ids().await.contains(&"kept".to_owned()));
    drop(stream);
    wait_forgotten(&gateway, "kept").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_follows_the_node() {
    let _load = crate::shared().await;
    let camera = SyntheticCamera::start(CameraOptions::new("counting", 160, 120).fps(20)).await;
    let gateway = Gateway::serve(&[camera.endpoint()], &[]).await;
    let first = gateway
        .wait_camera("counting", LONG, |c| {
            c["info"]["frames_published"]
                .as_u64()
                .is_some_and(|n| n > 0)
        })
        .await;
    let before = first["info"]["frames_published"]
        .as_u64()
        .expect("frames_published");
    assert_eq!(first["info"]["state"], "running", "{first}");
    // 20 frames is one second of publishing: the info shown must move past it.
    let later = gateway
        .wait_camera("counting", LONG, |c| {
            c["info"]["frames_published"]
                .as_u64()
                .is_some_and(|n| n >= before + 20)
        })
        .await;
    eprintln!(
        "frames_published {before} -> {}",
        later["info"]["frames_published"]
    );
    assert!(later["info_error"].is_null(), "{later}");
    camera.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_camera_has_its_metrics_at_zero_before_any_frame() {
    let _load = crate::shared().await;
    let camera = SyntheticCamera::start(CameraOptions::new("quiet", 160, 120).max_frames(0)).await;
    let gateway = Gateway::serve(&[camera.endpoint()], &["--offline-after-ms", "600000"]).await;
    gateway
        .wait_camera("quiet", LONG, |c| c["online"] == true)
        .await;
    let series = series_of(&gateway, "quiet").await;
    for expected in [
        "gateway_frames_received_total{camera=\"quiet\"} 0",
        "gateway_frames_dropped_total{camera=\"quiet\"} 0",
        "gateway_rejected_frames_total{camera=\"quiet\",reason=\"not_jpeg\"} 0",
        "gateway_frame_latency_seconds_count{camera=\"quiet\"} 0",
    ] {
        assert!(
            series.iter().any(|line| line == expected),
            "{expected} missing from {series:#?}"
        );
    }
    camera.stop().await;
}
