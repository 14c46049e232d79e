//! `--subscribe while-watched`: the gateway holds a camera's frame subscriber only while a
//! client watches it, so an on-demand camera node (which pauses on its publisher's zenoh
//! matching status) can idle. Observed here from the camera's side, through that very
//! matching status. `--record` counts as a viewer of every camera.

use std::time::{Duration, Instant};
use test_support::{CameraOptions, Gateway, MjpegStream, SyntheticCamera};

const LONG: Duration = Duration::from_secs(30);
/// Longer than `--offline-after-ms` below, so an unwatched camera would have been declared
/// offline by then if the missing frames counted against it.
const QUIET: Duration = Duration::from_millis(1500);

async fn snapshot(gateway: &Gateway, query: &str) -> reqwest::Response {
    reqwest::get(gateway.url(&format!("/cameras/lazy/snapshot.jpg{query}")))
        .await
        .expect("GET snapshot")
}

fn seq_of(response: &reqwest::Response) -> u64 {
    response.headers()["x-frame-seq"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("number")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribes_only_while_a_client_watches() {
    let _load = crate::shared().await;
    let camera = SyntheticCamera::start(CameraOptions::new("lazy", 160, 120)).await;
    let gateway = Gateway::serve(
        &[camera.endpoint()],
        &["--subscribe", "while-watched", "--offline-after-ms", "500"],
    )
    .await;
    // Discovered through liveliness (and its snapshot queryable), without a subscriber.
    gateway
        .wait_camera("lazy", LONG, |c| c["online"] == true && c["width"] == 160)
        .await;
    assert!(
        !camera.wait_matching(true, QUIET).await,
        "the gateway subscribed to an unwatched camera"
    );
    let idle = gateway.wait_camera("lazy", LONG, |_| true).await;
    assert_eq!(
        idle["online"], true,
        "unwatched camera shown offline: {idle}"
    );
    assert_eq!(idle["subscribed"], false, "{idle}");
    assert_eq!(idle["fps"], 0.0, "{idle}");
    assert_eq!(idle["recording"], false, "{idle}");
    // The clip buffer is off in this mode without --record, and says why.
    assert_eq!(idle["clip_buffer"]["state"], "off", "{idle}");
    let reason = idle["clip_buffer"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("--record"), "{idle}");

    // A plain snapshot of an unwatched camera is fetched fresh from the node, no subscriber.
    let fresh = snapshot(&gateway, "?max_age_ms=1000").await;
    assert_eq!(fresh.status(), 200, "snapshot of an unwatched camera");
    assert!(
        !camera.wait_matching(true, Duration::from_millis(300)).await,
        "a plain snapshot subscribed"
    );

    // A viewer: the camera sees a subscriber and the client gets live frames.
    let mut stream = MjpegStream::open(&gateway.url("/cameras/lazy/stream.mjpg"))
        .await
        .expect("stream opens");
    assert!(
        camera.wait_matching(true, LONG).await,
        "no subscriber while a client streams"
    );
    let mut last_seq = None;
    for _ in 0..10 {
        let part = stream
            .next_part(Duration::from_secs(10))
            .await
            .expect("frames while watched");
        assert_eq!(part.header("x-camera-online"), Some("true"));
        assert!(last_seq < Some(part.seq()), "seq must increase");
        last_seq = Some(part.seq());
    }
    let watched = gateway
        .wait_camera("lazy", LONG, |c| c["subscribed"] == true)
        .await;
    assert_eq!(watched["clients"], 1, "{watched}");

    // Viewer gone: unsubscribed after the grace period, and still online.
    drop(stream);
    let left = Instant::now();
    assert!(
        camera.wait_matching(false, Duration::from_secs(10)).await,
        "still subscribed 10 s after the last viewer left"
    );
    eprintln!("unsubscribed {:?} after the viewer left", left.elapsed());
    assert!(
        !camera.wait_matching(true, QUIET).await,
        "subscribed again without a viewer"
    );
    let after = gateway.wait_camera("lazy", LONG, |_| true).await;
    assert_eq!(
        after["online"], true,
        "camera shown offline once unwatched: {after}"
    );
    assert_eq!(after["subscribed"], false, "{after}");

    // `after_seq` waits for a frame newer than the node's current one (a plain snapshot
    // fetches that), so it must watch — subscribe — meanwhile.
    let current = snapshot(&gateway, "").await;
    assert_eq!(current.status(), 200);
    let seq = seq_of(&current);
    assert!(
        Some(seq) > last_seq,
        "plain snapshot of an unwatched camera served the held frame"
    );
    let query = format!("?after_seq={seq}");
    let (subscribed, newer) =
        tokio::join!(camera.wait_matching(true, LONG), snapshot(&gateway, &query));
    assert!(
        subscribed,
        "no subscriber while a snapshot waits for a new frame"
    );
    assert_eq!(newer.status(), 200);
    assert!(seq_of(&newer) > seq, "after_seq returned an old frame");
    assert!(
        camera.wait_matching(false, Duration::from_secs(10)).await,
        "still subscribed after the snapshot was served"
    );
    camera.stop().await;
}

/// `--record` under `while-watched`: recording is a viewer that never leaves, so the camera is
/// subscribed without any client, `/api/cameras` says so with its measured rate, the clip
/// buffer is on (the frames come anyway), and the gateway logged both once at start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recording_counts_as_a_viewer() {
    let _load = crate::shared().await;
    let camera = SyntheticCamera::start(CameraOptions::new("lazy", 160, 120)).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let record = dir.path().to_str().expect("utf-8 path");
    let gateway = Gateway::spawn(
        crate::GATEWAY,
        &[camera.endpoint()],
        &["--subscribe", "while-watched", "--record", record],
    );
    assert!(
        camera.wait_matching(true, LONG).await,
        "not subscribed while recording"
    );
    let entry = gateway
        .wait_camera("lazy", LONG, |c| {
            c["subscribed"] == true && c["fps"].as_f64().is_some_and(|fps| fps > 0.0)
        })
        .await;
    assert_eq!(entry["recording"], true, "{entry}");
    assert_eq!(entry["clients"], 0, "{entry}");
    assert_eq!(entry["clip_buffer"]["state"], "on", "{entry}");
    assert_eq!(entry["clip_buffer"]["seconds"], 60, "{entry}");
    assert!(
        !camera.wait_matching(false, QUIET).await,
        "unsubscribed while recording"
    );
    let log = gateway.process().stderr();
    for line in ["recording every camera", "clip buffer on"] {
        assert_eq!(log.matches(line).count(), 1, "{line:?} once:\n{log}");
    }
    camera.stop().await;
}
