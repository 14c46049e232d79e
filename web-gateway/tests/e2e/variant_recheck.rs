//! A `/ws` socket or MJPEG stream of a node variant follows the camera's info: a node
//! restarted without the variant stops the socket's frames of it with a notice and ends the
//! stream; restarted with it, the socket's frames resume. A camera whose node had not told its
//! variants when the socket opened is checked again once it does.

use crate::ws_client::{next_ws_message, WsMessage};
use crate::GATEWAY;
use std::time::Duration;
use test_support::zenoh_peer::listening_session;
use test_support::{free_port, jpeg_size, CameraOptions, Gateway, MjpegStream, SyntheticCamera};
use tokio::time::Instant;

const LONG: Duration = Duration::from_secs(30);

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open_ws(gateway: &Gateway, path: &str) -> Socket {
    let url = gateway.url(path).replacen("http://", "ws://", 1);
    let (socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("ws connects");
    socket
}

/// Reads `socket` until a frame of `camera` that `accept` holds for; panics on a notice.
async fn wait_frame(socket: &mut Socket, camera: &str, accept: impl Fn(&[u8]) -> bool) {
    let deadline = Instant::now() + LONG;
    while Instant::now() < deadline {
        match next_ws_message(socket).await {
            WsMessage::Frame {
                camera: id, jpeg, ..
            } if id == camera && accept(&jpeg) => return,
            WsMessage::Frame { .. } => {}
            WsMessage::Notice(notice) => panic!("notice instead of frames: {notice}"),
        }
    }
    panic!("no accepted frame of {camera:?} within {LONG:?}");
}

/// Reads `socket` until a frame of `camera`, which must be one of the variant's `pictures`.
async fn wait_variant_frame(socket: &mut Socket, camera: &str, pictures: &[bytes::Bytes]) {
    wait_frame(socket, camera, |jpeg| {
        assert!(
            pictures.iter().any(|p| p == jpeg),
            "not the variant's frame"
        );
        true
    })
    .await;
}

/// Reads `socket` until a notice about `camera`; frames before it must pass `frame_ok`.
async fn wait_notice(
    socket: &mut Socket,
    camera: &str,
    frame_ok: impl Fn(&str, &[u8]) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + LONG;
    while Instant::now() < deadline {
        match next_ws_message(socket).await {
            WsMessage::Notice(notice) if notice["camera"] == camera => return notice,
            WsMessage::Notice(notice) => panic!("notice about another camera: {notice}"),
            WsMessage::Frame {
                camera: id, jpeg, ..
            } => assert!(frame_ok(&id, &jpeg), "unexpected frame of {id}"),
        }
    }
    panic!("no notice about {camera:?} within {LONG:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variant_dropped_by_a_restarted_node_is_noticed_and_resumes() {
    let _load = crate::shared().await;
    let with = CameraOptions::new("mast", 320, 240).variant("preview", 160, 120);
    let without = CameraOptions {
        variants: Vec::new(),
        ..with.clone()
    };
    let camera = SyntheticCamera::start(with.clone()).await;
    let gateway = Gateway::spawn(
        GATEWAY,
        &[camera.endpoint()],
        &["--offline-after-ms", "500"],
    );
    gateway
        .wait_camera("mast", LONG, |c| c["variants"][0]["name"] == "preview")
        .await;
    let mut socket = open_ws(&gateway, "/ws?variant=preview").await;
    let url = gateway.url("/cameras/mast/stream.mjpg?variant=preview");
    let mut stream = MjpegStream::open(&url).await.expect("variant stream");
    let pictures = camera.variant("preview").pictures.clone();
    wait_frame(&mut socket, "mast", |jpeg| {
        pictures.iter().any(|p| p == jpeg)
    })
    .await;

    // Restarted without the variant: a notice, and the stream ends (a new request is a 404).
    camera.stop().await;
    let camera = SyntheticCamera::start(without).await;
    // Before the notice: the variant's last frames, or NO SIGNAL at the variant's size.
    let before =
        |_: &str, jpeg: &[u8]| pictures.iter().any(|p| p == jpeg) || jpeg_size(jpeg) == (160, 120);
    let notice = wait_notice(&mut socket, "mast", before).await;
    assert_eq!(notice["error"], "unknown variant", "{notice}");
    let detail = notice["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("no variants"), "{notice}");
    let deadline = Instant::now() + LONG;
    while stream.next_part(LONG).await.is_some() {
        assert!(Instant::now() < deadline, "variant stream still sending");
    }
    assert!(
        stream.ended(),
        "variant stream neither ended nor sent within {LONG:?}"
    );
    let refused = gateway
        .get("/cameras/mast/stream.mjpg?variant=preview")
        .await;
    assert_eq!(refused.status(), 404);

    // Restarted with it again: the socket's frames of the variant resume by themselves. No
    // frame of the camera may come in between (it sends nothing while it lacks the variant).
    camera.stop().await;
    let camera = SyntheticCamera::start(with).await;
    let pictures = camera.variant("preview").pictures.clone();
    wait_variant_frame(&mut socket, "mast", &pictures).await;
    drop(socket);
    camera.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ws_camera_without_info_yet_is_checked_again_when_it_arrives() {
    let _load = crate::shared().await;
    // The camera's liveliness token alone, from a session that answers no info query: the
    // gateway knows the camera but not its variants.
    let token_endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let token_node = listening_session(&token_endpoint).await;
    let options = CameraOptions::new("late", 320, 240).variant("preview", 160, 120);
    let keys = camera_protocol::keys::CameraKeys::new(&options.prefix, "late").expect("keys");
    let token = token_node
        .liveliness()
        .declare_token(keys.liveliness())
        .await
        .expect("token");
    let gateway = Gateway::spawn(
        GATEWAY,
        &[token_endpoint, format!("tcp/127.0.0.1:{}", options.port)],
        &[],
    );
    gateway
        .wait_camera("late", LONG, |c| c["info"].is_null())
        .await;
    let mut socket = open_ws(&gateway, "/ws?cameras=late&variant=preview").await;
    let notice = wait_notice(&mut socket, "late", |id, _| panic!("frame of {id}")).await;
    let detail = notice["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("has not told its variants yet"), "{notice}");

    // The node comes: its info lists the variant, and the socket receives it.
    let camera = SyntheticCamera::start(options).await;
    let pictures = camera.variant("preview").pictures.clone();
    wait_variant_frame(&mut socket, "late", &pictures).await;
    drop(socket);
    drop(token);
    camera.stop().await;
    let _ = token_node.close().await;
}
