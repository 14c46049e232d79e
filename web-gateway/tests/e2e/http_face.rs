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

/// The first part of `/cameras/still/stream.mjpg` read over a raw connection, after
/// `before` (a request sent first on the same keep-alive connection, its response read
/// whole), and the stream response's head.
async fn raw_first_part(
    gateway: &Gateway,
    before: Option<&str>,
) -> (String, test_support::multipart::Part) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = gateway.base.trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(&host)
        .await
        .expect("connect");
    let mut received = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    if let Some(path) = before {
        let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n");
        socket.write_all(request.as_bytes()).await.expect("write");
        // Read the whole response: its head, then Content-Length bytes.
        loop {
            let read = socket.read(&mut chunk).await.expect("read");
            assert!(read > 0, "closed after {path}");
            received.extend_from_slice(&chunk[..read]);
            let text = String::from_utf8_lossy(&received).to_ascii_lowercase();
            let Some(end) = text.find("\r\n\r\n") else {
                continue;
            };
            let length: usize = text
                .lines()
                .find_map(|line| line.strip_prefix("content-length: "))
                .and_then(|value| value.trim().parse().ok())
                .expect("content-length");
            if received.len() >= end + 4 + length {
                assert_eq!(received.len(), end + 4 + length);
                break;
            }
        }
        received.clear();
    }
    let request = format!("GET /cameras/still/stream.mjpg HTTP/1.1\r\nHost: {host}\r\n\r\n");
    socket.write_all(request.as_bytes()).await.expect("write");
    // The head first, then the body through a decoder that knows its framing.
    let (head, mut decoder) = loop {
        let read = socket.read(&mut chunk).await.expect("read");
        assert!(read > 0, "closed before the stream's head");
        received.extend_from_slice(&chunk[..read]);
        if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&received[..end]).to_ascii_lowercase();
            let chunked = head.contains("transfer-encoding: chunked");
            let parser = test_support::multipart::MultipartParser::strict(BOUNDARY);
            received.drain(..end + 4);
            break (
                head,
                test_support::multipart::BodyDecoder::with_parser(parser, chunked),
            );
        }
    };
    let mut parts = Vec::new();
    let mut data = received;
    loop {
        decoder
            .feed(&data, &mut |part| parts.push(part))
            .expect("well-formed stream");
        if !parts.is_empty() {
            break;
        }
        let read = tokio::time::timeout(test_support::DEADLINE, socket.read(&mut chunk))
            .await
            .expect("a part in time")
            .expect("read");
        assert!(read > 0, "stream closed");
        data = chunk[..read].to_vec();
    }
    (head, parts.remove(0))
}

const BOUNDARY: &str = "camera-frame-boundary";

/// A stream on a fresh connection leaves hyper for the feed's writer (closed-delimited body);
/// one asked for on a keep-alive connection after another request stays with hyper (chunked).
/// Clients cannot tell the parts apart: same bytes, same headers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writer_and_connection_paths_send_the_same_parts() {
    let _load = crate::shared().await;
    let scene = StillCamera::open(CameraOptions::new("still", 160, 120).max_frames(1)).await;
    let (writer_head, by_writer) = raw_first_part(&scene.gateway, None).await;
    let (hyper_head, by_hyper) = raw_first_part(&scene.gateway, Some("/healthz")).await;
    assert!(
        writer_head.contains("connection: close") && !writer_head.contains("transfer-encoding"),
        "{writer_head}"
    );
    assert!(
        hyper_head.contains("transfer-encoding: chunked"),
        "{hyper_head}"
    );
    let shown = |part: &test_support::multipart::Part| -> Vec<(String, String)> {
        let mut headers = part.headers.clone();
        headers.retain(|(name, _)| name != "x-frame-age-ms");
        headers
    };
    assert_eq!(shown(&by_writer), shown(&by_hyper));
    assert_eq!(by_writer.body, by_hyper.body);
    assert_eq!(by_writer.body.as_deref(), Some(&scene.first.body[..]));
    for (name, value) in shown(&by_writer) {
        assert_eq!(scene.first.header(&name), Some(value.as_str()), "{name}");
    }
    scene.camera.stop().await;
}
