//! A camera node's H.264 lane through the gateway, end to end with the real `camera-node`
//! (videotestsrc, x264enc or openh264enc): `stream.h264` read by ffprobe, the `/ws` lane
//! switch, the Foxglove `foxglove.CompressedVideo` channel and the MCAP recording.

use crate::ws_client::{next_received, Received, WsMessage};
use camera_protocol::video::h264::{nal, nal_type, nal_units};
use camera_protocol::{FrameLimits, VideoFrame};
use futures::{SinkExt, StreamExt};
use std::time::{Duration, Instant};
use test_support::h264::probe_h264;
use test_support::mcap_reader::{has_summary, read_mcap};
use test_support::{target_binary, CameraNode, Gateway};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const LONG: Duration = Duration::from_secs(40);
const SIZE: (u32, u32) = (320, 240);

/// A node `camera` at 320x240@30 with H.264 lane `main` of the same size, and its config dir.
fn lane_node(camera: &str) -> (CameraNode, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("camera-node.toml");
    std::fs::write(
        &config,
        format!(
            "source = \"test\"\ncamera = \"{camera}\"\nwidth = 320\nheight = 240\nfps = 30\n\n\
             [[variants]]\nname = \"main\"\ncodec = \"h264\"\nwidth = 320\n\
             bitrate_kbps = 600\nkeyframe_interval = 30\n"
        ),
    )
    .expect("write node config");
    let config = config.to_str().expect("utf-8 path").to_owned();
    let node = CameraNode::spawn(target_binary("camera-node"), &["--config", &config]);
    (node, dir)
}

/// The gateway on `node`'s hub, once it lists the node's lane.
async fn gateway_for(node: &CameraNode, camera: &str, extra: &[&str]) -> Gateway {
    let gateway = Gateway::spawn(crate::GATEWAY, std::slice::from_ref(&node.endpoint), extra);
    gateway
        .wait_camera(camera, LONG, |c| c["info"]["video"][0]["name"] == "main")
        .await;
    gateway
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_h264_decodes_with_ffprobe_to_the_nodes_size_and_rate() {
    let _load = crate::shared().await;
    let (node, _dir) = lane_node("lane");
    let gateway = gateway_for(&node, "lane", &[]).await;
    let url = gateway.url("/cameras/lane/stream.h264");
    let response = gateway.get("/cameras/lane/stream.h264").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "video/h264");
    drop(response);
    let probed = tokio::task::spawn_blocking(move || probe_h264(url.as_ref(), false))
        .await
        .expect("ffprobe thread");
    assert_eq!(
        (probed.codec.as_str(), probed.width, probed.height),
        ("h264", SIZE.0, SIZE.1),
        "{probed:?}"
    );
    assert_eq!(probed.frame_rate, "30/1", "{probed:?}");

    // No lane, and a lane that is not there: JSON errors naming what to do.
    let missing = gateway.get("/cameras/lane/stream.h264?lane=nope").await;
    assert_eq!(missing.status(), 404);
    let body: serde_json::Value = missing.json().await.expect("JSON error");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("its lanes: main"),
        "{body}"
    );
    let bad = gateway.get("/cameras/lane/stream.h264?lane=a/b").await;
    assert_eq!(bad.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ws_socket_switched_to_the_lane_gets_valid_units_from_a_keyframe() {
    let _load = crate::shared().await;
    let (node, _dir) = lane_node("wslane");
    let gateway = gateway_for(&node, "wslane", &[]).await;
    let url = gateway
        .url("/ws?cameras=wslane")
        .replace("http://", "ws://");
    let (mut socket, _) = tokio_tungstenite::connect_async(url.into_client_request().expect("url"))
        .await
        .expect("ws connect");
    let switch = r#"{"camera": "wslane", "video": "main"}"#;
    socket
        .send(Message::Text(switch.into()))
        .await
        .expect("send switch");
    let mut units = Vec::new();
    let deadline = Instant::now() + LONG;
    while units.len() < 45 && Instant::now() < deadline {
        match next_received(&mut socket).await {
            Received::Video {
                camera,
                attachment,
                au,
            } => {
                assert_eq!(camera, "wslane");
                let unit =
                    VideoFrame::validated(au.into(), Some(&attachment), &FrameLimits::default())
                        .expect("every unit passes the protocol's checks");
                units.push(unit);
            }
            Received::Message(WsMessage::Frame { .. }) => {
                assert!(units.is_empty(), "JPEG frames after the lane began")
            }
            Received::Message(WsMessage::Notice(notice)) => panic!("notice: {notice}"),
        }
    }
    assert!(
        units.len() >= 45,
        "45 units within {LONG:?}, got {}",
        units.len()
    );
    let first = &units[0];
    assert!(first.meta.is_keyframe(), "the first unit is a keyframe");
    assert_eq!((first.meta.frame.width, first.meta.frame.height), SIZE);
    assert!(
        units.iter().skip(1).any(|u| u.meta.is_keyframe()),
        "keyframe_interval 30 over 45 units"
    );
    for pair in units.windows(2) {
        assert_eq!(
            pair[1].meta.frame.seq,
            pair[0].meta.frame.seq + 1,
            "no unit skipped"
        );
    }
    // A bad lane name is a notice, and the lane keeps coming.
    socket
        .send(Message::Text(
            r#"{"camera": "wslane", "video": "nope"}"#.into(),
        ))
        .await
        .expect("send");
    loop {
        if let Received::Message(WsMessage::Notice(notice)) = next_received(&mut socket).await {
            assert!(
                notice["detail"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("no H.264 lane"),
                "{notice}"
            );
            break;
        }
    }
    // Back to JPEG frames.
    socket
        .send(Message::Text(
            r#"{"camera": "wslane", "variant": null}"#.into(),
        ))
        .await
        .expect("send");
    loop {
        if let Received::Message(WsMessage::Frame { meta, .. }) = next_received(&mut socket).await {
            assert_eq!((meta.width, meta.height), SIZE);
            break;
        }
    }
}

/// The NAL unit types of an access unit.
fn types(au: &[u8]) -> Vec<u8> {
    nal_units(au)
        .expect("Annex B")
        .into_iter()
        .map(nal_type)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recording_with_video_only_keeps_the_lane_as_compressed_video() {
    let _load = crate::shared().await;
    let (node, _dir) = lane_node("reclane");
    let recordings = tempfile::tempdir().expect("temp dir");
    let dir = recordings.path().to_str().expect("utf-8").to_owned();
    let gateway = gateway_for(
        &node,
        "reclane",
        &[
            "--record",
            &dir,
            "--record-segment",
            "2",
            "--record-video-only",
        ],
    )
    .await;
    // Two whole segments: the first finished one holds only the lane.
    let deadline = Instant::now() + LONG;
    let finished = loop {
        let mut files: Vec<_> = walk(recordings.path());
        files.sort();
        // The second finished one: until the node's info names its lane, the gateway records
        // the camera's JPEG frames (nothing is lost while it cannot know better).
        let finished: Vec<_> = files.iter().filter(|path| has_summary(path)).collect();
        if let Some(done) = finished.get(1) {
            break (*done).clone();
        }
        assert!(
            Instant::now() < deadline,
            "no two segments in {LONG:?}: {files:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    drop(gateway);
    // Read by Python's `mcap` with the file's own protobuf descriptors, as Foxglove would.
    let file = read_mcap(&[finished]).remove(0);
    let schemas: Vec<&str> = file.messages.iter().map(|m| m.schema.as_str()).collect();
    assert!(schemas.len() >= 20, "{} messages", schemas.len());
    assert!(
        schemas
            .iter()
            .all(|schema| *schema == "foxglove.CompressedVideo"),
        "video only: {schemas:?}"
    );
    let first = &file.messages[0];
    assert_eq!(
        (first.topic.as_str(), first.format.as_str()),
        ("/camera/reclane/h264", "h264")
    );
    assert!(
        types(&first.data).contains(&nal::SPS) && types(&first.data).contains(&nal::IDR),
        "the segment's video starts at a keyframe"
    );
}

/// Files under `dir`, recursively.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|entry| {
            let path = entry.path();
            if path.is_dir() {
                walk(&path)
            } else {
                vec![path]
            }
        })
        .filter(|path| path.extension().is_some_and(|ext| ext == "mcap"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foxglove_gets_a_compressed_video_channel_from_a_keyframe() {
    let _load = crate::shared().await;
    let (node, _dir) = lane_node("foxlane");
    let port = test_support::free_port();
    let listen = format!("127.0.0.1:{port}");
    let _gateway = gateway_for(&node, "foxlane", &["--foxglove-listen", &listen]).await;
    let mut request = format!("ws://{listen}/")
        .into_client_request()
        .expect("url");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "foxglove.websocket.v1".parse().expect("header"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("connect");
    let deadline = Instant::now() + LONG;
    let channel = loop {
        assert!(
            Instant::now() < deadline,
            "no CompressedVideo channel in {LONG:?}"
        );
        let message = tokio::time::timeout(LONG, socket.next())
            .await
            .expect("message")
            .expect("open")
            .expect("ok");
        let Message::Text(text) = message else {
            continue;
        };
        let json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        if json["op"] != "advertise" {
            continue;
        }
        let video = json["channels"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["schemaName"] == "foxglove.CompressedVideo");
        if let Some(video) = video {
            assert_eq!(video["topic"], "/camera/foxlane/h264");
            break video["id"].as_u64().expect("id");
        }
    };
    let subscribe =
        serde_json::json!({"op": "subscribe", "subscriptions": [{"id": 7, "channelId": channel}]});
    socket
        .send(Message::Text(subscribe.to_string().into()))
        .await
        .expect("subscribe");
    let data = loop {
        let message = tokio::time::timeout(LONG, socket.next())
            .await
            .expect("data")
            .expect("open")
            .expect("ok");
        if let Message::Binary(data) = message {
            break data;
        }
    };
    assert_eq!(data[0], 1, "message data");
    assert_eq!(u32::from_le_bytes([data[1], data[2], data[3], data[4]]), 7);
    let video =
        camera_record::proto::decode_compressed_video(&data[13..]).expect("CompressedVideo");
    assert_eq!((video.format, video.frame_id), ("h264", "foxlane"));
    assert!(
        types(video.data).contains(&nal::SPS),
        "the first message is a keyframe"
    );
}
