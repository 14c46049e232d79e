//! One gateway for a fleet: two robots each run a camera named `front` (under `robot1/camera`
//! and `robot2/camera`, drawing different pictures); a gateway with `--prefix '*/camera'` lists
//! two cameras with distinct ids and robots, and each one's snapshot, MJPEG stream and `/ws`
//! frames are its own publisher's pictures, byte for byte, never the other's. Under one plain
//! prefix the id stays the camera name.

use crate::ws_client::{next_ws_message, WsMessage};
use crate::GATEWAY;
use bytes::Bytes;
use std::time::Duration;
use test_support::{CameraOptions, Gateway, MjpegStream, SyntheticCamera, DEADLINE};

const ROBOT1: &str = "robot1/camera";
const ROBOT2: &str = "robot2/camera";

async fn robot_camera(prefix: &str) -> SyntheticCamera {
    SyntheticCamera::start(CameraOptions::new("front", 160, 120).fps(20).prefix(prefix)).await
}

fn is_one_of(jpeg: &[u8], pictures: &[Bytes]) -> bool {
    pictures.iter().any(|picture| picture[..] == *jpeg)
}

/// Snapshot and stream parts of camera `id` are `own` pictures, never `other`'s.
async fn serves_only_its_own(gateway: &Gateway, id: &str, own: &[Bytes], other: &[Bytes]) {
    let snapshot = gateway.get(&format!("/cameras/{id}/snapshot.jpg")).await;
    assert_eq!(snapshot.status(), 200, "{id}");
    let snapshot = snapshot.bytes().await.expect("snapshot body");
    assert!(
        is_one_of(&snapshot, own),
        "{id}: snapshot is not its publisher's picture"
    );
    assert!(
        !is_one_of(&snapshot, other),
        "{id}: snapshot is the other robot's"
    );
    let url = gateway.url(&format!("/cameras/{id}/stream.mjpg"));
    let mut stream = MjpegStream::open(&url).await.expect("stream opens");
    for index in 0..10 {
        let part = stream
            .next_part(Duration::from_secs(10))
            .await
            .unwrap_or_else(|| panic!("{id}: part {index} did not arrive"));
        assert!(
            is_one_of(&part.body, own),
            "{id}: part {index} is not its own picture"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_gateway_keeps_two_robots_cameras_apart() {
    let _shared = crate::shared().await;
    let one = robot_camera(ROBOT1).await;
    let two = robot_camera(ROBOT2).await;
    assert!(
        !one.pictures().iter().any(|p| is_one_of(p, two.pictures())),
        "the two robots must draw different pictures for the test to mean anything"
    );
    let gateway = Gateway::spawn(
        GATEWAY,
        &[one.endpoint(), two.endpoint()],
        &["--prefix", "*/camera"],
    );
    for (id, robot) in [
        ("robot1.camera.front", ROBOT1),
        ("robot2.camera.front", ROBOT2),
    ] {
        let entry = gateway
            .wait_camera(id, DEADLINE, |c| c["online"] == true && c["width"] == 160)
            .await;
        assert_eq!(entry["robot"], robot, "{entry}");
        assert_eq!(entry["camera"], "front", "{entry}");
        assert_eq!(entry["conflict"], serde_json::Value::Null, "{entry}");
    }
    assert_eq!(
        gateway.camera_ids().await,
        ["robot1.camera.front", "robot2.camera.front"]
    );
    serves_only_its_own(
        &gateway,
        "robot1.camera.front",
        one.pictures(),
        two.pictures(),
    )
    .await;
    serves_only_its_own(
        &gateway,
        "robot2.camera.front",
        two.pictures(),
        one.pictures(),
    )
    .await;

    // One socket for both, asked for by id: each frame is tagged with its camera's id.
    let base = gateway.base.replacen("http://", "ws://", 1);
    let url = format!("{base}/ws?cameras=robot1.camera.front,robot2.camera.front");
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("ws opens");
    let mut seen = [0usize; 2];
    while seen.iter().any(|count| *count < 5) {
        match next_ws_message(&mut socket).await {
            WsMessage::Frame { camera, jpeg, .. } => {
                let (index, own) = match camera.as_str() {
                    "robot1.camera.front" => (0, one.pictures()),
                    "robot2.camera.front" => (1, two.pictures()),
                    other => panic!("frame of unexpected camera {other:?}"),
                };
                assert!(
                    is_one_of(&jpeg, own),
                    "{camera}: not its own picture over /ws"
                );
                seen[index] += 1;
            }
            WsMessage::Notice(notice) => panic!("unexpected notice {notice}"),
        }
    }
    one.stop().await;
    two.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_plain_prefix_keeps_the_camera_name_as_id() {
    let _shared = crate::shared().await;
    let one = robot_camera(ROBOT1).await;
    let gateway = Gateway::spawn(GATEWAY, &[one.endpoint()], &["--prefix", ROBOT1]);
    let entry = gateway
        .wait_camera("front", DEADLINE, |c| {
            c["online"] == true && c["width"] == 160
        })
        .await;
    assert_eq!(entry["robot"], ROBOT1, "{entry}");
    assert_eq!(entry["camera"], "front", "{entry}");
    assert_eq!(gateway.camera_ids().await, ["front"]);
    serves_only_its_own(&gateway, "front", one.pictures(), &[]).await;
    one.stop().await;
}
