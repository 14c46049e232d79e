//! Variants the camera node encodes itself: the gateway forwards them (`?variant=NAME`, or
//! `?width=` equal to a variant's width) without decoding or re-encoding, subscribes to them
//! only while a client watches, and lists them in `/api/cameras`. The synthetic camera draws
//! its variant pictures in advance, so a forwarded frame is recognised byte for byte.

use crate::ws_client::next_ws_frame;
use futures::{SinkExt, StreamExt};
use std::time::Duration;
use test_support::{jpeg_size, CameraOptions, Gateway, MjpegStream, SyntheticCamera};
use tokio_tungstenite::tungstenite::Message;

const LONG: Duration = Duration::from_secs(30);
const PREVIEW: (u32, u32) = (160, 120);

fn metric(text: &str, name_and_labels: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name_and_labels))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0.0)
}

/// Reads `count` parts of `path`, checking each is one of the node's preview pictures.
pub(crate) async fn assert_forwarded(
    gateway: &Gateway,
    camera: &SyntheticCamera,
    path: &str,
    count: usize,
) {
    let mut stream = MjpegStream::open(&gateway.url(path))
        .await
        .unwrap_or_else(|response| panic!("{path}: {}", response.status()));
    let pictures = &camera.variant("preview").pictures;
    let mut last_seq = None;
    for _ in 0..count {
        let part = stream
            .next_part(Duration::from_secs(10))
            .await
            .expect("variant part");
        assert_eq!(jpeg_size(&part.body), PREVIEW, "{path}");
        assert!(
            pictures.contains(&part.body),
            "{path}: a part is not the node's own preview JPEG (re-encoded?)"
        );
        assert!(last_seq < Some(part.seq()), "{path}: seq must increase");
        last_seq = Some(part.seq());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_variants_are_forwarded_while_watched() {
    let _load = crate::shared().await;
    let camera =
        SyntheticCamera::start(CameraOptions::new("mast", 320, 240).variant("preview", 160, 120))
            .await;
    let gateway = Gateway::serve(&[camera.endpoint()], &["--subscribe", "while-watched"]).await;
    let entry = gateway
        .wait_camera("mast", LONG, |c| c["variants"][0]["name"] == "preview")
        .await;
    assert_eq!(
        entry["variants"],
        serde_json::json!([{"name": "preview", "width": 160, "height": 120, "quality": 70,
            "fps": null, "source": "camera", "subscribed": false}]),
        "{entry}"
    );
    assert!(
        !camera
            .wait_variant_matching("preview", true, Duration::from_millis(300))
            .await,
        "the gateway subscribed to a variant nobody watches"
    );

    // Unknown names and mixed requests are refused with the list of variants.
    let response = gateway.get("/cameras/mast/stream.mjpg?variant=tiny").await;
    assert_eq!(response.status(), 404);
    let error: serde_json::Value = response.json().await.expect("JSON error");
    assert_eq!(error["error"], "unknown variant", "{error}");
    assert!(
        error["detail"]
            .as_str()
            .is_some_and(|d| d.contains("preview")),
        "{error}"
    );
    let mixed = gateway
        .get("/cameras/mast/stream.mjpg?variant=preview&width=100")
        .await;
    assert_eq!(mixed.status(), 400);
    let snapshot = gateway.get("/cameras/mast/snapshot.jpg?variant=tiny").await;
    assert_eq!(snapshot.status(), 404);

    // By name and by width: the node's bytes, and the gateway needs no full frames for them.
    assert_forwarded(
        &gateway,
        &camera,
        "/cameras/mast/stream.mjpg?variant=preview",
        5,
    )
    .await;
    assert_forwarded(&gateway, &camera, "/cameras/mast/stream.mjpg?width=160", 5).await;
    assert!(
        !camera.wait_matching(true, Duration::from_millis(300)).await,
        "a variant viewer made the gateway receive full frames"
    );
    let snapshot = gateway
        .get("/cameras/mast/snapshot.jpg?variant=preview")
        .await;
    assert_eq!(snapshot.status(), 200);
    let jpeg = snapshot.bytes().await.expect("snapshot body");
    assert!(camera.variant("preview").pictures.contains(&jpeg));
    let metrics = gateway.metrics().await;
    assert!(
        metric(
            &metrics,
            "gateway_node_variant_frames_total{camera=\"mast\",variant=\"preview\"}"
        ) >= 10.0,
        "{metrics}"
    );
    assert_eq!(
        metric(&metrics, "gateway_variant_encodes_total{camera=\"mast\"}"),
        0.0,
        "the gateway re-encoded frames for a node variant"
    );

    // One socket switches a camera between full frames and the variant.
    let ws_url = gateway
        .url("/ws?cameras=mast")
        .replacen("http://", "ws://", 1);
    let (mut socket, _) = tokio_tungstenite::connect_async(ws_url)
        .await
        .expect("ws connects");
    let (_, meta, _) = next_ws_frame(&mut socket).await;
    assert_eq!((meta.width, meta.height), (320, 240));
    let switch = r#"{"camera": "mast", "variant": "preview"}"#;
    socket
        .send(Message::Text(switch.into()))
        .await
        .expect("switch sent");
    let mut switched = false;
    for _ in 0..20 {
        let (_, meta, jpeg) = next_ws_frame(&mut socket).await;
        if (meta.width, meta.height) == PREVIEW {
            assert!(camera
                .variant("preview")
                .pictures
                .iter()
                .any(|p| p == &jpeg));
            switched = true;
            break;
        }
    }
    assert!(switched, "the socket never switched to the preview");
    socket
        .send(Message::Text(
            r#"{"camera": "mast", "variant": "huge"}"#.into(),
        ))
        .await
        .expect("bad switch sent");
    let answer = loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("answer in time")
            .expect("ws open")
            .expect("ws message");
        if let Message::Text(text) = message {
            break text.to_string();
        }
    };
    assert!(
        answer.contains("unknown variant") && answer.contains("preview"),
        "{answer}"
    );
    drop(socket);

    // Another width is the gateway's own encoding.
    let part = MjpegStream::first_part(&gateway.url("/cameras/mast/stream.mjpg?width=100")).await;
    assert_eq!(jpeg_size(&part.body), (100, 75));
    let metrics = gateway.metrics().await;
    assert!(metric(&metrics, "gateway_variant_encodes_total{camera=\"mast\"}") >= 1.0);

    // Last viewer gone: the gateway lets go, so the node stops encoding the variant.
    assert!(
        camera
            .wait_variant_matching("preview", false, Duration::from_secs(10))
            .await,
        "the gateway still subscribes to the variant 10 s after its last viewer left"
    );
    let published = camera.variant("preview").published();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        camera.variant("preview").published(),
        published,
        "the node kept publishing"
    );
    gateway
        .wait_camera("mast", LONG, |c| c["variants"][0]["subscribed"] == false)
        .await;
    camera.stop().await;
}
