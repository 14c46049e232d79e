//! Finding 5 and the camera table: who a sample claims to be. Bogus sequence numbers count
//! as restarts, junk camera ids stay within `--max-cameras` and leave with their tokens, and
//! a full table evicts the camera offline longest.

use super::{frame_meta, repeatedly, Scene, BAD_SIZE, GOOD_FPS, JUNK_DEADLINE, LONG, SERIAL};
use crate::GATEWAY;
use std::time::{Duration, Instant};
use test_support::binaries::camera_ids;
use test_support::{
    draw_frame, free_port, listening_session, CameraOptions, Gateway, SyntheticCamera,
};

/// Finding 5a: a bogus seq (a huge jump, then backwards) counts as a restart, not as drops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bogus_seq_jumps_are_restarts_not_drops() {
    let _serial = SERIAL.lock().await;
    let scene = Scene::start(&[]).await;
    let jpeg = draw_frame(BAD_SIZE.0, BAD_SIZE.1, [0, 0, 250], 0);
    let seqs = [1, 2, 3, u64::MAX - 1, u64::MAX, 5, 6, 1 << 40, 2, 3];
    // The camera's own source id: the seq jumps must come from the publisher being served, not
    // from a second publisher (those are ignored, see tests/e2e/sources.rs).
    let source = scene.bad.source();
    let attack = repeatedly(Duration::from_millis(100), async |n| {
        let seq = seqs[n as usize % seqs.len()];
        let attachment = frame_meta(seq, BAD_SIZE.0, BAD_SIZE.1).encode_with_source(source);
        scene
            .bad
            .put_raw(jpeg.clone(), Some(attachment.to_vec()))
            .await;
    });
    scene.attack("bogus seq", &[], 64, attack).await;
    let received = scene
        .gateway
        .metric("gateway_frames_received_total{camera=\"bad\"}")
        .await;
    let dropped = scene
        .gateway
        .metric("gateway_frames_dropped_total{camera=\"bad\"}")
        .await;
    assert!(received >= 20.0, "only {received} frames received");
    assert!(dropped < 100.0, "{dropped} frames counted as dropped");
}

/// Finding 5b: junk camera ids (liveliness tokens) never grow the table past
/// `--max-cameras`, the good camera stays listed and at full rate, and the junk is gone once
/// its tokens leave.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_camera_ids_stay_within_the_table_and_leave() {
    let _serial = SERIAL.lock().await;
    const MAX: usize = 64;
    const JUNK: usize = 5000;
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let junk_session = listening_session(&endpoint).await;
    let good = SyntheticCamera::start(CameraOptions::new("good", 320, 240).fps(GOOD_FPS)).await;
    let bad = SyntheticCamera::start(CameraOptions::new("bad", 160, 120).max_frames(1)).await;
    let max = MAX.to_string();
    let gateway = Gateway::spawn(
        GATEWAY,
        &[good.endpoint(), bad.endpoint(), endpoint],
        &[
            "--max-cameras",
            &max,
            "--offline-after-ms",
            "500",
            "--forget-after-ms",
            "1000",
        ],
    );
    gateway
        .wait_camera("good", LONG, |c| {
            c["online"] == true && c["fps"].as_f64() > Some(5.0)
        })
        .await;
    let scene = Scene { good, bad, gateway };
    // Watches the list all along (its own task, so the attack cannot starve it): never over
    // the bound, never without the good camera.
    let stop = tokio_util::sync::CancellationToken::new();
    let watcher = tokio::spawn(watch_table(
        scene.gateway.url("/api/cameras"),
        MAX,
        stop.clone(),
    ));
    let mut tokens = Vec::with_capacity(JUNK);
    let attack = async {
        let started = Instant::now();
        for batch in (0..JUNK).collect::<Vec<_>>().chunks(250) {
            let session = &junk_session;
            let declared = futures::future::join_all(batch.iter().map(|i| async move {
                let key = format!("camera/junk-{i}");
                session.liveliness().declare_token(key).await
            }))
            .await;
            tokens.extend(
                declared
                    .into_iter()
                    .map(|token| token.expect("declare token")),
            );
        }
        eprintln!("{JUNK} tokens declared in {:?}", started.elapsed());
        JUNK as u64
    };
    scene.attack("5000 junk camera ids", &[], 128, attack).await;
    let full = Instant::now() + JUNK_DEADLINE;
    while scene.gateway.metric("gateway_cameras").await < MAX as f64 {
        assert!(Instant::now() < full, "the junk never filled the table");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let refused = scene.gateway.metric("gateway_cameras_refused_total").await;
    assert!(refused > 0.0, "no camera refused");

    drop(tokens);
    let deadline = Instant::now() + JUNK_DEADLINE;
    loop {
        let ids = scene.gateway.camera_ids().await;
        if ids.iter().all(|id| !id.starts_with("junk-")) {
            break;
        }
        if Instant::now() > deadline {
            let list = scene
                .gateway
                .get("/api/cameras")
                .await
                .text()
                .await
                .expect("list");
            panic!("junk still listed: {} ids: {list}", ids.len());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.cancel();
    let (samples, most) = watcher.await.expect("watcher");
    eprintln!("junk ids: at most {most} cameras listed in {samples} looks (bound {MAX}), {refused} refused");
    assert_eq!(most, MAX, "the watcher never saw the table full");
    assert!(scene.gateway_alive());
}

/// Lists the cameras until `stop`, asserting the bound and the good camera each time;
/// returns how many times it looked and the most cameras seen.
async fn watch_table(
    url: String,
    max: usize,
    stop: tokio_util::sync::CancellationToken,
) -> (u32, usize) {
    let (mut samples, mut most) = (0, 0);
    let client = reqwest::Client::new();
    while !stop.is_cancelled() {
        let ids = camera_ids(&client, &url).await;
        assert!(
            ids.len() <= max,
            "{} cameras listed (bound {max})",
            ids.len()
        );
        assert!(
            ids.iter().any(|id| id == "good"),
            "the good camera left the list"
        );
        most = most.max(ids.len());
        samples += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (samples, most)
}

/// A full table makes room by evicting the offline, unwatched camera seen longest ago.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_table_evicts_the_camera_offline_longest() {
    let _serial = SERIAL.lock().await;
    let good = SyntheticCamera::start(CameraOptions::new("good", 160, 120).fps(5)).await;
    let first = SyntheticCamera::start(CameraOptions::new("first", 160, 120).fps(5)).await;
    let second = SyntheticCamera::start(CameraOptions::new("second", 160, 120).fps(5)).await;
    let newcomer_options = CameraOptions::new("newcomer", 160, 120).fps(5);
    let newcomer_endpoint = format!("tcp/127.0.0.1:{}", newcomer_options.port);
    let gateway = Gateway::spawn(
        GATEWAY,
        &[
            good.endpoint(),
            first.endpoint(),
            second.endpoint(),
            newcomer_endpoint,
        ],
        &["--max-cameras", "3", "--forget-after-ms", "600000"],
    );
    for id in ["good", "first", "second"] {
        gateway.wait_camera(id, LONG, |c| c["online"] == true).await;
    }
    first.stop().await;
    gateway
        .wait_camera("first", LONG, |c| c["online"] == false)
        .await;
    second.stop().await;
    gateway
        .wait_camera("second", LONG, |c| c["online"] == false)
        .await;

    let _newcomer = SyntheticCamera::start(newcomer_options).await;
    gateway
        .wait_camera("newcomer", LONG, |c| c["online"] == true)
        .await;
    let ids = gateway.camera_ids().await;
    assert_eq!(ids, ["good", "newcomer", "second"]);
    assert_eq!(gateway.metric("gateway_cameras_evicted_total").await, 1.0);
    assert_eq!(gateway.metric("gateway_cameras").await, 3.0);
}

/// Frames under junk camera ids that no liveliness token announces are never kept for clips
/// (or recordings): they cannot fill the clip buffer, nor keep a real camera out of it, as
/// they did when the recorder admitted the first 256 ids it saw, for good. The camera tasks
/// are the only subscribers of frames, so nobody even subscribes to the junk keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_ids_without_tokens_never_reach_the_clip_buffer() {
    let _serial = SERIAL.lock().await;
    const JUNK: usize = 300;
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let junk_session = listening_session(&endpoint).await;
    let good_options = CameraOptions::new("good", 160, 120).fps(GOOD_FPS);
    let good_endpoint = format!("tcp/127.0.0.1:{}", good_options.port);
    let gateway = Gateway::spawn(
        GATEWAY,
        &[endpoint, good_endpoint],
        &["--clip-buffer", "30"],
    );
    let _good = SyntheticCamera::start(good_options).await;
    gateway
        .wait_camera("good", LONG, |c| c["online"] == true)
        .await;
    let probe = junk_session
        .declare_publisher("camera/junk-0/jpeg")
        .await
        .expect("probe publisher");
    assert!(
        !probe.matching_status().await.expect("matching").matching(),
        "the gateway subscribes to frames of a camera nobody announced"
    );
    let jpeg = draw_frame(BAD_SIZE.0, BAD_SIZE.1, [250, 0, 0], 0);
    let attachment = frame_meta(1, BAD_SIZE.0, BAD_SIZE.1).encode();
    for i in 0..JUNK {
        junk_session
            .put(format!("camera/junk-{i}/jpeg"), jpeg.clone())
            .attachment(attachment.to_vec())
            .await
            .expect("put junk");
    }

    // The good camera's clip fills; the junk's frames (all valid) are not in it.
    let filled = Instant::now() + LONG;
    loop {
        let metrics = gateway.metrics().await;
        let kept = test_support::metrics::value(&metrics, "gateway_clip_buffer_frames");
        let good = test_support::metrics::value(
            &metrics,
            "gateway_frames_received_total{camera=\"good\"}",
        );
        // The camera task fills the clip just before counting the frame. Before the fix the
        // junk alone put 256 frames in.
        assert!(
            kept <= good + 1.0,
            "{kept} frames in the clip buffer, only {good} from the one announced camera"
        );
        if kept >= 10.0 {
            break;
        }
        assert!(
            Instant::now() < filled,
            "the good camera's clip never filled: {kept} frames"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let clip = gateway.get("/cameras/good/clip.mcap").await;
    assert_eq!(clip.status(), 200, "clip of the good camera");
    let body = clip.bytes().await.expect("clip body");
    assert!(body.starts_with(b"\x89MCAP0\r\n"), "not an MCAP file");
    assert_eq!(gateway.camera_ids().await, ["good"]);
}
