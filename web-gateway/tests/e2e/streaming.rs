//! Streams, snapshots, listing, variants and the WebSocket, with cameras publishing normally.

use std::time::{Duration, SystemTime, UNIX_EPOCH};
use test_support::scene::StillCamera;
use test_support::{jpeg_size, CameraOptions, Gateway, MjpegStream, SyntheticCamera};

const LONG: Duration = Duration::from_secs(30);

async fn online_with_frames(gateway: &Gateway, id: &str) -> serde_json::Value {
    gateway
        .wait_camera(id, LONG, |c| c["online"] == true && c["width"].is_u64())
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_parts_are_complete_jpegs_in_order() {
    let _load = crate::shared().await;
    let camera = SyntheticCamera::start(CameraOptions::new("front", 320, 240).fps(25)).await;
    let gateway = Gateway::serve(&[camera.endpoint()], &[]).await;
    online_with_frames(&gateway, "front").await;
    let mut stream = MjpegStream::open(&gateway.url("/cameras/front/stream.mjpg"))
        .await
        .expect("stream opens");
    let mut last_seq = None;
    let mut latencies = Vec::new();
    for index in 0..25 {
        let part = stream
            .next_part(Duration::from_secs(10))
            .await
            .unwrap_or_else(|| panic!("part {index} did not arrive"));
        assert_eq!(part.header("content-type"), Some("image/jpeg"));
        assert_eq!(jpeg_size(&part.body), (320, 240), "part {index}");
        camera_protocol::frame::check_complete_jpeg(&part.body).expect("complete JPEG");
        let timestamp: f64 = part
            .header("x-timestamp")
            .and_then(|t| t.parse().ok())
            .expect("X-Timestamp is seconds.micros");
        let fraction = part
            .header("x-timestamp")
            .and_then(|t| t.split_once('.'))
            .map(|(_, f)| f.len());
        assert_eq!(fraction, Some(6), "X-Timestamp has microseconds");
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs_f64();
        assert!(
            (now - timestamp).abs() < 60.0,
            "X-Timestamp {timestamp} is not a capture time near {now}"
        );
        latencies.push(now - timestamp);
        let seq = part.seq();
        if let Some(last) = last_seq {
            assert!(
                seq > last,
                "part {index}: seq {seq} after {last} (duplicate or reordered)"
            );
        }
        last_seq = Some(seq);
    }
    // Capture (publish) to complete part at the client, same clock: the end-to-end latency.
    latencies.sort_by(f64::total_cmp);
    let median_ms = latencies[latencies.len() / 2] * 1000.0;
    eprintln!(
        "capture-to-client latency: median {median_ms:.1} ms, max {:.1} ms",
        latencies[latencies.len() - 1] * 1000.0
    );
    assert!(median_ms < 1000.0, "median latency {median_ms:.0} ms");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_part_is_the_current_frame_without_waiting_for_a_new_one() {
    let _load = crate::shared().await;
    let mut scene = StillCamera::open(CameraOptions::new("still", 160, 120).max_frames(3)).await;
    // The camera publishes nothing more, so only the held frame can be sent.
    let (part, stream) = (&scene.first, &mut scene.stream);
    assert_eq!(part.seq(), 2);
    assert_eq!(jpeg_size(&part.body), (160, 120));
    let repeated = stream.next_part(Duration::from_millis(1500)).await;
    assert!(
        repeated.is_none(),
        "a frame was sent twice: {:?}",
        repeated.map(|p| p.headers)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_camera_that_published_before_the_gateway_started_shows_its_snapshot() {
    let _load = crate::shared().await;
    let options = CameraOptions::new("early", 160, 120)
        .max_frames(2)
        .publish_before_subscribers();
    let camera = SyntheticCamera::start(options).await;
    let deadline = std::time::Instant::now() + LONG;
    while camera.published() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "camera did not publish"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let gateway = Gateway::serve(&[camera.endpoint()], &["--offline-after-ms", "600000"]).await;
    // Nobody listened to those two frames; the gateway gets the last one from the queryable.
    gateway
        .wait_camera("early", LONG, |c| c["last_seq"] == 1)
        .await;
    let mut stream = MjpegStream::open(&gateway.url("/cameras/early/stream.mjpg"))
        .await
        .expect("stream opens");
    let part = stream
        .next_part(Duration::from_secs(10))
        .await
        .expect("first part");
    assert_eq!((part.seq(), jpeg_size(&part.body)), (1, (160, 120)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_cameras_are_listed_and_both_stream() {
    let _load = crate::shared().await;
    let left = SyntheticCamera::start(CameraOptions::new("left", 320, 240)).await;
    let right = SyntheticCamera::start(CameraOptions::new("right", 160, 120)).await;
    let gateway = Gateway::serve(&[left.endpoint(), right.endpoint()], &[]).await;
    online_with_frames(&gateway, "left").await;
    online_with_frames(&gateway, "right").await;
    let entry = gateway
        .wait_camera("right", LONG, |c| {
            c["info"]["source"] == "test" && c["fps"].as_f64() > Some(5.0)
        })
        .await;
    assert_eq!(
        (entry["width"].as_u64(), entry["height"].as_u64()),
        (Some(160), Some(120))
    );
    for (id, size) in [("left", (320, 240)), ("right", (160, 120))] {
        let mut stream = MjpegStream::open(&gateway.url(&format!("/cameras/{id}/stream.mjpg")))
            .await
            .expect("stream opens");
        for _ in 0..5 {
            let part = stream
                .next_part(Duration::from_secs(10))
                .await
                .expect("part");
            assert_eq!(jpeg_size(&part.body), size, "camera {id}");
        }
        let clients = gateway.wait_camera(id, LONG, |c| c["clients"] == 1).await;
        assert_eq!(clients["clients"], 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_variants_and_websocket() {
    let _load = crate::shared().await;
    let camera = SyntheticCamera::start(CameraOptions::new("dock", 320, 240).fps(20)).await;
    let other = SyntheticCamera::start(CameraOptions::new("mast", 160, 120).fps(20)).await;
    let gateway = Gateway::serve(&[camera.endpoint(), other.endpoint()], &[]).await;
    online_with_frames(&gateway, "dock").await;
    online_with_frames(&gateway, "mast").await;

    let snapshot = reqwest::get(gateway.url("/cameras/dock/snapshot.jpg"))
        .await
        .expect("GET");
    assert_eq!(snapshot.status(), 200);
    let seq: u64 = snapshot.headers()["x-frame-seq"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seq");
    assert!(snapshot.headers().contains_key("x-frame-age-ms"));
    assert!(snapshot.headers().contains_key("x-timestamp"));
    assert_eq!(
        jpeg_size(&snapshot.bytes().await.expect("body")),
        (320, 240)
    );
    let newer =
        reqwest::get(gateway.url(&format!("/cameras/dock/snapshot.jpg?after_seq={}", seq + 3)))
            .await
            .expect("GET");
    assert_eq!(newer.status(), 200);
    let newer_seq: u64 = newer.headers()["x-frame-seq"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seq");
    assert!(newer_seq > seq + 3, "after_seq returned seq {newer_seq}");

    // Two clients of one variant, one of another: each gets its requested width.
    let mut small_a =
        MjpegStream::open(&gateway.url("/cameras/dock/stream.mjpg?width=160&quality=50"))
            .await
            .expect("variant");
    let mut small_b =
        MjpegStream::open(&gateway.url("/cameras/dock/stream.mjpg?width=160&quality=50"))
            .await
            .expect("variant");
    let mut tiny = MjpegStream::open(&gateway.url("/cameras/dock/stream.mjpg?width=80"))
        .await
        .expect("variant");
    // Quality snapped to its step, the default written out: what the stream says it carries.
    assert_eq!(
        [&small_a, &tiny].map(|stream| stream.header("x-served-variant")),
        [Some("width=160&quality=50"), Some("width=80&quality=80")]
    );
    for _ in 0..5 {
        for (stream, size) in [
            (&mut small_a, (160, 120)),
            (&mut small_b, (160, 120)),
            (&mut tiny, (80, 60)),
        ] {
            let part = stream
                .next_part(Duration::from_secs(10))
                .await
                .expect("variant part");
            assert_eq!(jpeg_size(&part.body), size);
        }
    }

    let ws_url = gateway
        .url("/ws?cameras=mast")
        .replacen("http://", "ws://", 1);
    let (mut socket, _) = tokio_tungstenite::connect_async(ws_url)
        .await
        .expect("ws connects");
    let mut seqs = Vec::new();
    while seqs.len() < 10 {
        let (camera, meta, jpeg) = crate::ws_client::next_ws_frame(&mut socket).await;
        assert_eq!(camera, "mast", "filtered to one camera");
        assert_eq!(jpeg_size(&jpeg), (meta.width, meta.height));
        assert_eq!((meta.width, meta.height), (160, 120));
        seqs.push(meta.seq);
    }
    assert!(
        seqs.windows(2).all(|w| w[1] > w[0]),
        "ws frames repeated or reordered: {seqs:?}"
    );
}
