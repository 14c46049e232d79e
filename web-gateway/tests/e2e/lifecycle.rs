//! Camera restarts (NO SIGNAL, then live again on the same open stream) and SIGTERM.

use crate::GATEWAY;
use std::time::{Duration, Instant};
use test_support::{jpeg_size, CameraOptions, Gateway, MjpegStream, SyntheticCamera};

const LONG: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_stream_survives_a_camera_restart() {
    let _load = crate::shared().await;
    let options = CameraOptions::new("arm", 320, 240).fps(15);
    let camera = SyntheticCamera::start(options.clone()).await;
    let gateway = Gateway::spawn(
        GATEWAY,
        &[camera.endpoint()],
        &["--offline-after-ms", "1000"],
    );
    gateway
        .wait_camera("arm", LONG, |c| c["online"] == true && c["width"] == 320)
        .await;
    let mut stream = MjpegStream::open(&gateway.url("/cameras/arm/stream.mjpg"))
        .await
        .expect("opens");
    for _ in 0..5 {
        let part = stream
            .next_part(Duration::from_secs(10))
            .await
            .expect("live part");
        assert_eq!(part.header("x-camera-online"), Some("true"));
    }

    camera.stop().await;
    let deadline = Instant::now() + LONG;
    let no_signal = loop {
        let part = stream
            .next_part(Duration::from_secs(10))
            .await
            .expect("stream stays open");
        if part.header("x-camera-online") == Some("false") {
            break part;
        }
        assert!(Instant::now() < deadline, "no NO SIGNAL part");
    };
    assert_eq!(
        jpeg_size(&no_signal.body),
        (320, 240),
        "NO SIGNAL drawn at the camera's size"
    );
    gateway
        .wait_camera("arm", LONG, |c| c["online"] == false)
        .await;
    // Re-sent while offline, so viewers see a live page rather than a stalled one.
    let again = stream
        .next_part(Duration::from_secs(10))
        .await
        .expect("NO SIGNAL re-sent");
    assert_eq!(again.header("x-camera-online"), Some("false"));

    let restarted = SyntheticCamera::start(options).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let part = stream
            .next_part(Duration::from_secs(10))
            .await
            .expect("stream stays open");
        if part.header("x-camera-online") == Some("true") {
            assert_eq!(jpeg_size(&part.body), (320, 240));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "stream never resumed live frames"
        );
    }
    gateway
        .wait_camera("arm", LONG, |c| c["online"] == true)
        .await;
    restarted.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_open_streams_exits_zero_quickly() {
    let _load = crate::shared().await;
    let camera = SyntheticCamera::start(CameraOptions::new("exit", 160, 120).fps(20)).await;
    let mut gateway = Gateway::spawn(GATEWAY, &[camera.endpoint()], &[]);
    gateway
        .wait_camera("exit", LONG, |c| c["online"] == true && c["width"] == 160)
        .await;
    let mut streams = Vec::new();
    for _ in 0..3 {
        let mut stream = MjpegStream::open(&gateway.url("/cameras/exit/stream.mjpg"))
            .await
            .expect("opens");
        stream
            .next_part(Duration::from_secs(10))
            .await
            .expect("part");
        streams.push(stream);
    }
    let ws_url = gateway.url("/ws").replacen("http://", "ws://", 1);
    let (_socket, _) = tokio_tungstenite::connect_async(ws_url)
        .await
        .expect("ws connects");
    let started = Instant::now();
    gateway.terminate();
    let status = gateway
        .wait_exit(Duration::from_secs(5))
        .expect("gateway exited");
    let took = started.elapsed();
    eprintln!("gateway exited in {took:?} with {status}");
    assert!(status.success(), "exit status {status}");
    assert!(took < Duration::from_secs(2), "shutdown took {took:?}");
    // The open streams end instead of hanging.
    for mut stream in streams {
        let mut ended = false;
        for _ in 0..100 {
            if stream.next_part(Duration::from_secs(2)).await.is_none() {
                ended = true;
                break;
            }
        }
        assert!(ended, "stream did not end");
    }
}
