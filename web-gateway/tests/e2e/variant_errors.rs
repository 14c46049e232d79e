//! A variant a camera does not have, and bad size parameters, are refused the same way on
//! every endpoint (`stream.mjpg`, `snapshot.jpg`, `/ws`): the one JSON error naming the
//! camera, the variant and the variants it has. A WebSocket over several cameras opens if one
//! of them has the variant; the others send a notice instead of frames. `?height=` picks a
//! node variant of that height or a gateway encoding that keeps the aspect ratio. An offline
//! camera keeps its variants: the same refusals, and NO SIGNAL on a variant's stream.

use crate::http_face::assert_json_error;
use crate::node_variants::assert_forwarded;
use crate::ws_client::{next_ws_message, WsMessage};
use crate::GATEWAY;
use futures::SinkExt;
use std::time::Duration;
use test_support::{jpeg_size, CameraOptions, Gateway, MjpegStream, SyntheticCamera};
use tokio_tungstenite::tungstenite::Message;

const LONG: Duration = Duration::from_secs(30);

/// GETs `path` and checks the JSON error: `status`, and `detail` contains every `needle`.
async fn assert_refused(gateway: &Gateway, path: &str, status: u16, needles: &[&str]) {
    let response = gateway.get(path).await;
    assert_eq!(response.status().as_u16(), status, "{path}");
    let json: serde_json::Value = response.json().await.expect("JSON error body");
    let detail = json["detail"].as_str().unwrap_or_default();
    for needle in needles {
        assert!(
            detail.contains(needle),
            "{path}: {needle:?} missing in {json}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_variants_and_bad_sizes_are_refused_alike_everywhere() {
    let _load = crate::shared().await;
    let mast =
        SyntheticCamera::start(CameraOptions::new("mast", 320, 240).variant("preview", 160, 120))
            .await;
    let bare = SyntheticCamera::start(CameraOptions::new("bare", 320, 240)).await;
    let gateway = Gateway::spawn(
        GATEWAY,
        &[mast.endpoint(), bare.endpoint()],
        &["--offline-after-ms", "500"],
    );
    gateway
        .wait_camera("mast", LONG, |c| c["variants"][0]["name"] == "preview")
        .await;
    gateway
        .wait_camera("bare", LONG, |c| c["info"].is_object())
        .await;

    // The same refusal on the stream and the snapshot, with and without variants.
    for endpoint in ["stream.mjpg", "snapshot.jpg"] {
        let path = format!("/cameras/mast/{endpoint}?variant=tiny");
        assert_refused(&gateway, &path, 404, &["\"mast\"", "\"tiny\"", "preview"]).await;
        let path = format!("/cameras/bare/{endpoint}?variant=preview");
        assert_refused(
            &gateway,
            &path,
            404,
            &["\"bare\"", "no variants", "?width="],
        )
        .await;
    }
    // A socket where no camera has the variant is refused before the upgrade...
    assert_refused(
        &gateway,
        "/ws?variant=tiny",
        404,
        &["\"tiny\"", "\"mast\" has preview", "\"bare\" has none"],
    )
    .await;
    assert_refused(
        &gateway,
        "/ws?cameras=bare&variant=preview",
        404,
        &["\"bare\"", "no variants"],
    )
    .await;
    let ws_url = |path: &str| gateway.url(path).replacen("http://", "ws://", 1);
    match tokio_tungstenite::connect_async(ws_url("/ws?variant=tiny")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 404);
        }
        other => panic!("upgrade with an unknown variant not refused: {other:?}"),
    }

    // ...and one where some camera has it opens: the others send a notice, not frames.
    let (mut socket, _) = tokio_tungstenite::connect_async(ws_url("/ws?variant=preview"))
        .await
        .expect("ws connects");
    let (mut notices, mut previews) = (Vec::new(), 0);
    while notices.is_empty() || previews < 5 {
        match next_ws_message(&mut socket).await {
            WsMessage::Notice(notice) => notices.push(notice),
            WsMessage::Frame {
                camera: id, jpeg, ..
            } => {
                assert_eq!(id, "mast", "a camera without the variant sent frames");
                assert!(mast.variant("preview").pictures.contains(&jpeg.into()));
                previews += 1;
            }
        }
    }
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0]["camera"], "bare", "{}", notices[0]);
    assert_eq!(notices[0]["error"], "unknown variant", "{}", notices[0]);
    // Switched to full frames, the camera sends them.
    let switch = r#"{"camera": "bare", "variant": null}"#;
    socket
        .send(Message::Text(switch.into()))
        .await
        .expect("sent");
    let mut bare_frames = 0;
    for _ in 0..40 {
        if let WsMessage::Frame {
            camera: id, jpeg, ..
        } = next_ws_message(&mut socket).await
        {
            if id == "bare" {
                assert_eq!(jpeg_size(&jpeg), (320, 240));
                bare_frames += 1;
                if bare_frames == 2 {
                    break;
                }
            }
        }
    }
    assert_eq!(bare_frames, 2, "full frames never came after the switch");
    let bad_switch = r#"{"camera": "bare", "variant": "preview"}"#;
    socket
        .send(Message::Text(bad_switch.into()))
        .await
        .expect("sent");
    let answer = loop {
        if let WsMessage::Notice(notice) = next_ws_message(&mut socket).await {
            break notice;
        }
    };
    assert_eq!(answer["camera"], "bare", "{answer}");
    assert!(answer["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("no variants"));
    drop(socket);

    // Untrusted input: empty, too long, malformed, twice, or mixed with a size.
    let long = "a".repeat(300);
    let bad_names = [
        ("variant=", "empty"),
        (&format!("variant={long}") as &str, "(300 bytes)"),
        ("variant=pre%2Fview", "not a variant name"),
        ("variant=preview&variant=preview", "more than once"),
    ];
    for (query, needle) in bad_names {
        for path in [
            format!("/cameras/mast/stream.mjpg?{query}"),
            format!("/cameras/mast/snapshot.jpg?{query}"),
            format!("/ws?{query}"),
        ] {
            let response = gateway.get(&path).await;
            let url = response.url().to_string();
            let body_len = response.content_length();
            assert!(body_len.is_none_or(|len| len < 400), "{url}: {body_len:?}");
            assert_json_error(response, 400, needle).await;
        }
    }
    let long_junk = [
        format!("/ws?cameras=mast,{}", "!".repeat(300)),
        format!("/cameras/mast/stream.mjpg?{}=1", "k".repeat(300)),
        format!("/cameras/mast/stream.mjpg?width={}", "9".repeat(300)),
    ];
    for path in long_junk {
        let response = gateway.get(&path).await;
        assert!(response.content_length().is_some_and(|len| len < 400));
        assert_json_error(response, 400, "(300 bytes)").await;
    }
    let bad_sizes = [
        ("variant=preview&width=160", "`variant`"),
        ("variant=preview&height=120", "`variant`"),
        ("variant=preview&quality=50", "`variant`"),
        ("width=100&height=50", "not both"),
        ("height=8", "16..=8192"),
        ("height=99999", "16..=8192"),
        ("height=", "`height`"),
    ];
    for (query, needle) in bad_sizes {
        for path in [
            format!("/cameras/mast/stream.mjpg?{query}"),
            format!("/ws?{query}"),
        ] {
            assert_json_error(gateway.get(&path).await, 400, needle).await;
        }
    }

    // `?height=` of the node's variant is its bytes; another height the gateway's encoding.
    assert_forwarded(&gateway, &mast, "/cameras/mast/stream.mjpg?height=120", 3).await;
    let part = MjpegStream::first_part(&gateway.url("/cameras/bare/stream.mjpg?height=60")).await;
    assert_eq!(jpeg_size(&part.body), (80, 60));

    // Offline, a camera keeps its last known variants: still the same refusal, and a snapshot
    // of a variant it has says it is offline at once instead of waiting for a 504.
    mast.stop().await;
    gateway
        .wait_camera("mast", LONG, |c| c["online"] == false)
        .await;
    for endpoint in ["stream.mjpg", "snapshot.jpg"] {
        let path = format!("/cameras/mast/{endpoint}?variant=tiny");
        assert_refused(&gateway, &path, 404, &["\"mast\"", "\"tiny\"", "preview"]).await;
    }
    assert_refused(
        &gateway,
        "/cameras/mast/snapshot.jpg?variant=preview",
        503,
        &["\"mast\" is offline since", "retry"],
    )
    .await;
    // A stream of the variant shows the NO SIGNAL picture, as a stream of full frames does,
    // drawn at the variant's size (not the camera's: the client keeps its layout and its
    // link carries the small picture).
    let mut offline = MjpegStream::open(&gateway.url("/cameras/mast/stream.mjpg?variant=preview"))
        .await
        .expect("variant stream of an offline camera");
    // (The variant's last frame may come first: the picture is drawn once offline is known.)
    let mut no_signal = None;
    for _ in 0..5 {
        let part = offline
            .next_part(Duration::from_secs(10))
            .await
            .expect("part");
        if part.header("x-camera-online") == Some("false") {
            no_signal = Some(part);
            break;
        }
    }
    let part = no_signal.expect("no NO SIGNAL part on the variant's stream");
    assert_eq!(jpeg_size(&part.body), (160, 120));
    drop(offline);
    bare.stop().await;
}
