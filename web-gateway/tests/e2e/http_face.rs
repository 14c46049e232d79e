//! One HTTP face: a snapshot and an MJPEG part of the same frame carry the same frame
//! headers, and every error — unknown path, wrong method, failed WebSocket upgrade, bad path
//! or query — is the same JSON `{error, detail}`.

use crate::GATEWAY;
use test_support::scene::StillCamera;
use test_support::{CameraOptions, Gateway};

const FRAME_HEADERS: [&str; 4] = [
    "x-timestamp",
    "x-frame-seq",
    "x-frame-age-ms",
    "x-camera-online",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_and_mjpeg_part_carry_the_same_frame_headers() {
    let _load = crate::shared().await;
    // One frame only, so that the snapshot and the part are the same frame.
    let scene = StillCamera::open(CameraOptions::new("still", 160, 120).max_frames(1)).await;
    let (gateway, part) = (&scene.gateway, &scene.first);
    let snapshot = reqwest::get(gateway.url("/cameras/still/snapshot.jpg"))
        .await
        .expect("GET snapshot");
    assert_eq!(snapshot.status(), 200);
    for name in FRAME_HEADERS {
        let in_snapshot = snapshot
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_else(|| panic!("snapshot lacks {name}"));
        let in_part = part
            .header(name)
            .unwrap_or_else(|| panic!("MJPEG part lacks {name}"));
        if name == "x-frame-age-ms" {
            // Both are capture-to-send ages of one frame, taken a moment apart.
            let age = |text: &str| text.parse::<u64>().expect("age in ms");
            assert!(
                age(in_snapshot) >= age(in_part),
                "{in_snapshot} < {in_part}"
            );
        } else {
            assert_eq!(in_snapshot, in_part, "{name} differs");
        }
    }
    assert_eq!(part.header("x-camera-online"), Some("true"));
    let body = snapshot.bytes().await.expect("snapshot body");
    assert_eq!(body, part.body, "snapshot and part are not the same frame");
    scene.camera.stop().await;
}

pub(crate) async fn assert_json_error(response: reqwest::Response, status: u16, needle: &str) {
    let url = response.url().to_string();
    assert_eq!(response.status().as_u16(), status, "{url}");
    let content_type = response.headers()[reqwest::header::CONTENT_TYPE]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{url}: {content_type}"
    );
    let json: serde_json::Value = response.json().await.expect("JSON error body");
    assert!(json["error"].is_string(), "{url}: {json}");
    let detail = json["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(needle), "{url}: {json}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_is_the_same_json() {
    let _load = crate::shared().await;
    let gateway = Gateway::spawn(GATEWAY, &[], &[]);
    let client = reqwest::Client::new();
    let get = |path: &str| client.get(gateway.url(path)).send();

    assert_json_error(
        get("/no/such/path").await.expect("GET"),
        404,
        "/no/such/path",
    )
    .await;
    let post = client.post(gateway.url("/api/cameras")).send().await;
    assert_json_error(post.expect("POST"), 405, "POST").await;
    let delete = client.delete(gateway.url("/metrics")).send().await;
    assert_json_error(delete.expect("DELETE"), 405, "DELETE").await;
    // A plain GET of the WebSocket endpoint: no upgrade headers.
    assert_json_error(get("/ws").await.expect("GET"), 400, "WebSocket").await;
    // A path segment that is not UTF-8.
    assert_json_error(
        get("/cameras/%FF/snapshot.jpg").await.expect("GET"),
        400,
        "UTF-8",
    )
    .await;
    assert_json_error(
        get("/cameras/x/stream.mjpg?fps=0").await.expect("GET"),
        400,
        "`fps`",
    )
    .await;
    assert_json_error(
        get("/cameras/x/stream.mjpg").await.expect("GET"),
        404,
        "\"x\"",
    )
    .await;
}
