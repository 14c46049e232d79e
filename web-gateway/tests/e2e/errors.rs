//! Bad input from publishers and clients: invalid payloads, 404 / 400 / 503 / 504.

use camera_protocol::FrameMeta;
use std::time::{Duration, Instant};
use test_support::metrics::{sum as metric_sum, value as metric};
use test_support::{draw_frame, jpeg_size, CameraOptions, Gateway, MjpegStream, SyntheticCamera};

const LONG: Duration = Duration::from_secs(30);

async fn error_of(url: &str) -> (u16, serde_json::Value) {
    let response = reqwest::get(url).await.expect("GET");
    let status = response.status().as_u16();
    let json = response.json().await.expect("JSON error body");
    (status, json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_payloads_are_counted_and_never_served() {
    let _load = crate::shared().await;
    let camera = SyntheticCamera::start(CameraOptions::new("noisy", 320, 240).fps(20)).await;
    let gateway = Gateway::serve(&[camera.endpoint()], &[]).await;
    gateway
        .wait_camera("noisy", LONG, |c| c["online"] == true && c["width"] == 320)
        .await;
    let mut stream = MjpegStream::open(&gateway.url("/cameras/noisy/stream.mjpg"))
        .await
        .expect("stream opens");
    // Valid-looking metadata of another size: if a bad payload leaked, its size would show.
    let meta = FrameMeta {
        seq: 1_000_000,
        capture_ts_ns: camera_protocol::meta::unix_now_ns(),
        width: 64,
        height: 48,
        generation: 1,
        online: true,
    };
    let other_jpeg = draw_frame(64, 48, [200, 0, 0], 0);
    let truncated = other_jpeg[..other_jpeg.len() / 2].to_vec();
    let mut bad_version = meta.encode();
    bad_version[0] = 9;
    // In batches, waiting for each to be counted: the gateway's receive ring keeps only the
    // newest samples, and this test is about counting, not about bursts.
    let mut counted = 0.0;
    for batch in 1..=5 {
        camera
            .put_raw(b"not a jpeg at all".to_vec(), Some(meta.encode().to_vec()))
            .await;
        camera
            .put_raw(truncated.clone(), Some(meta.encode().to_vec()))
            .await;
        camera.put_raw(other_jpeg.clone(), None).await;
        camera
            .put_raw(other_jpeg.clone(), Some(bad_version.to_vec()))
            .await;
        camera
            .put_raw(other_jpeg.clone(), Some(vec![1, 2, 3]))
            .await;
        let deadline = Instant::now() + LONG;
        while counted < f64::from(batch * 5) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
            counted = metric_sum(
                &gateway.metrics().await,
                "gateway_rejected_frames_total{camera=\"noisy\",",
            );
        }
    }
    assert_eq!(counted, 25.0, "every invalid payload counted once");
    for _ in 0..20 {
        let part = stream
            .next_part(Duration::from_secs(10))
            .await
            .expect("part");
        camera_protocol::frame::check_complete_jpeg(&part.body).expect("complete JPEG");
        assert_eq!(
            jpeg_size(&part.body),
            (320, 240),
            "an invalid payload reached a client"
        );
        assert_ne!(part.seq(), 1_000_000);
    }
    let text = gateway.metrics().await;
    assert!(
        metric(&text, "gateway_frames_received_total{camera=\"noisy\"}") >= 20.0,
        "{text}"
    );
    assert!(
        text.contains("gateway_frame_latency_seconds_bucket"),
        "{text}"
    );
    assert!(
        metric(&text, "gateway_bytes_sent_total{endpoint=\"mjpeg\"}") > 0.0,
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_errors_are_json_and_name_the_problem() {
    let _load = crate::shared().await;
    let dir = std::env::temp_dir().join(format!("web-gateway-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config = dir.join("gateway.toml");
    std::fs::write(&config, "snapshot_wait_ms = 800\nmax_clients = 2\n").expect("write config");
    let silent = SyntheticCamera::start(CameraOptions::new("silent", 160, 120).max_frames(0)).await;
    let once = SyntheticCamera::start(CameraOptions::new("once", 160, 120).max_frames(1)).await;
    let live = SyntheticCamera::start(CameraOptions::new("live", 160, 120).fps(10)).await;
    let gateway = Gateway::serve(
        &[silent.endpoint(), once.endpoint(), live.endpoint()],
        &[
            "--config",
            config.to_str().expect("utf-8 path"),
            "--offline-after-ms",
            "600000",
        ],
    )
    .await;
    gateway
        .wait_camera("silent", LONG, |c| c["online"] == true)
        .await;
    gateway
        .wait_camera("once", LONG, |c| c["last_seq"] == 0)
        .await;

    let (status, json) = error_of(&gateway.url("/cameras/nope/stream.mjpg")).await;
    assert_eq!(status, 404);
    assert!(
        json["error"].is_string() && json["detail"].as_str().is_some_and(|d| d.contains("nope")),
        "{json}"
    );
    assert_eq!(
        error_of(&gateway.url("/cameras/nope/snapshot.jpg")).await.0,
        404
    );
    assert_eq!(error_of(&gateway.url("/no/such/path")).await.0, 404);

    for (query, parameter) in [
        ("fps=abc", "fps"),
        ("fps=0", "fps"),
        ("width=0", "width"),
        ("quality=101", "quality"),
        ("frames=2", "frames"),
    ] {
        let (status, json) =
            error_of(&gateway.url(&format!("/cameras/once/stream.mjpg?{query}"))).await;
        assert_eq!(status, 400, "{query}");
        let detail = json["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains(&format!("`{parameter}`")),
            "{query}: {json}"
        );
    }
    let (status, json) = error_of(&gateway.url("/cameras/once/snapshot.jpg?after_seq=-1")).await;
    assert_eq!(status, 400);
    assert!(
        json["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("after_seq"),
        "{json}"
    );
    assert_eq!(error_of(&gateway.url("/ws?cameras=a*b")).await.0, 400);

    let (status, json) = error_of(&gateway.url("/cameras/silent/snapshot.jpg")).await;
    assert_eq!(status, 503, "{json}");
    assert_eq!(json["error"], "no frame yet");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (status, json) = error_of(&gateway.url("/cameras/once/snapshot.jpg?max_age_ms=100")).await;
    assert_eq!(status, 503, "{json}");
    assert!(
        json["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("max_age_ms"),
        "{json}"
    );
    let started = Instant::now();
    let (status, _) = error_of(&gateway.url("/cameras/once/snapshot.jpg?after_seq=0")).await;
    assert_eq!(status, 504);
    assert!(
        started.elapsed() >= Duration::from_millis(700),
        "after_seq did not wait"
    );
    let ok = reqwest::get(gateway.url("/cameras/once/snapshot.jpg"))
        .await
        .expect("GET");
    assert_eq!(ok.status(), 200);

    // max_clients = 2: the third stream is refused, and a slot frees up when one closes.
    // The first client watches a live camera, so the gateway notices at once when it leaves.
    gateway
        .wait_camera("live", LONG, |c| c["online"] == true)
        .await;
    let first = MjpegStream::open(&gateway.url("/cameras/live/stream.mjpg"))
        .await
        .expect("first");
    let _second = MjpegStream::open(&gateway.url("/cameras/silent/stream.mjpg"))
        .await
        .expect("second");
    let (status, json) = error_of(&gateway.url("/cameras/once/stream.mjpg")).await;
    assert_eq!(status, 503, "{json}");
    assert!(
        json["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("max_clients"),
        "{json}"
    );
    drop(first);
    let deadline = Instant::now() + LONG;
    loop {
        match MjpegStream::open(&gateway.url("/cameras/once/stream.mjpg")).await {
            Ok(_) => break,
            Err(response) => assert_eq!(response.status(), 503),
        }
        assert!(Instant::now() < deadline, "client slot never freed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = std::fs::remove_dir_all(&dir);
}
