//! `/ws?cameras=ID` on a fresh connection is written by the camera feed's writer; several
//! cameras stay on the tungstenite path. Clients cannot tell them apart: the same binary
//! messages byte for byte, the same switches, pings, notices and closes.

use crate::ws_client::next_ws_frame;
use futures::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::time::Duration;
use test_support::{CameraOptions, Gateway, SyntheticCamera};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

const LONG: Duration = Duration::from_secs(30);

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens `path`; whether its handshake was answered by hyper (which adds `date`) rather than
/// by the feed writer's handler (which writes its `101` head itself).
async fn open(gateway: &Gateway, path: &str) -> (Socket, bool) {
    let url = gateway.url(path).replacen("http://", "ws://", 1);
    let (socket, response) = tokio_tungstenite::connect_async(url)
        .await
        .unwrap_or_else(|error| panic!("{path}: {error}"));
    (socket, response.headers().contains_key("date"))
}

/// The next message of `socket` that is not a ping or pong (10 s at most).
async fn next(socket: &mut Socket) -> Message {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a message in time")
            .expect("socket open")
            .expect("a message");
        if !matches!(message, Message::Ping(_)) {
            return message;
        }
    }
}

/// Binary messages by frame sequence number, read until `count` arrived.
async fn messages_by_seq(socket: &mut Socket, count: usize) -> HashMap<u64, Vec<u8>> {
    let mut by_seq = HashMap::new();
    while by_seq.len() < count {
        if let Message::Binary(data) = next(socket).await {
            let id_len = usize::from(data[0]);
            let meta = camera_protocol::FrameMeta::decode(&data[1 + id_len..1 + id_len + 32])
                .expect("meta");
            by_seq.insert(meta.seq, data.to_vec());
        }
    }
    by_seq
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writer_and_tungstenite_sockets_send_the_same_messages_and_switch_alike() {
    let _load = crate::shared().await;
    let camera = SyntheticCamera::start(
        CameraOptions::new("mast", 320, 240)
            .fps(20)
            .variant("preview", 160, 120),
    )
    .await;
    let gateway = Gateway::serve(&[camera.endpoint()], &[]).await;
    gateway
        .wait_camera("mast", LONG, |c| c["variants"][0]["name"] == "preview")
        .await;
    let (mut by_writer, writer_by_hyper) = open(&gateway, "/ws?cameras=mast").await;
    let (mut by_hyper, hyper_by_hyper) = open(&gateway, "/ws?cameras=mast,gone").await;
    assert!(!writer_by_hyper, "a single-camera socket stayed with hyper");
    assert!(hyper_by_hyper, "a two-camera socket left hyper");

    // Both read at once: frames both got are byte-identical messages.
    let (writer, hyper) = tokio::join!(
        messages_by_seq(&mut by_writer, 30),
        messages_by_seq(&mut by_hyper, 30)
    );
    let common: Vec<&u64> = writer
        .keys()
        .filter(|seq| hyper.contains_key(seq))
        .collect();
    assert!(common.len() >= 10, "few frames in common: {common:?}");
    for seq in common {
        assert!(
            writer[seq] == hyper[seq],
            "frame {seq} differs between the paths"
        );
    }

    // A switch moves the writer's socket to the preview's feed: the node's own pictures.
    let switch = r#"{"camera": "mast", "variant": "preview"}"#;
    by_writer
        .send(Message::Text(switch.into()))
        .await
        .expect("switch");
    let mut switched = false;
    for _ in 0..40 {
        let (id, meta, jpeg) = next_ws_frame(&mut by_writer).await;
        assert_eq!(id, "mast");
        if (meta.width, meta.height) == (160, 120) {
            assert!(camera
                .variant("preview")
                .pictures
                .iter()
                .any(|p| p == &jpeg));
            switched = true;
            break;
        }
    }
    assert!(
        switched,
        "the writer's socket never switched to the preview"
    );
    // A bad switch: the notice; frames go on. A ping: its pong.
    let bad = r#"{"camera": "mast", "variant": "huge"}"#;
    by_writer
        .send(Message::Text(bad.into()))
        .await
        .expect("bad switch");
    by_writer
        .send(Message::Ping(b"are you there".to_vec().into()))
        .await
        .expect("ping");
    let (mut notice, mut pong) = (None, false);
    while notice.is_none() || !pong {
        match next(&mut by_writer).await {
            Message::Text(text) => notice = Some(text.to_string()),
            Message::Pong(payload) => pong = &payload[..] == b"are you there",
            Message::Binary(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    let notice = notice.unwrap_or_default();
    assert!(
        notice.contains("unknown variant") && notice.contains("preview"),
        "{notice}"
    );
    let (_, meta, _) = next_ws_frame(&mut by_writer).await;
    assert_eq!(
        (meta.width, meta.height),
        (160, 120),
        "the bad switch changed nothing"
    );

    // A close is answered with a close, then the socket ends.
    by_writer.close(None).await.expect("close sent");
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(_)) = by_writer.next().await {}
    })
    .await;
    assert!(
        ended.is_ok(),
        "the writer's socket did not end after the close"
    );
    drop(by_hyper);
    camera.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_message_closes_the_writers_socket_with_1009() {
    let _load = crate::shared().await;
    let camera = SyntheticCamera::start(CameraOptions::new("mast", 160, 120)).await;
    let gateway = Gateway::serve(&[camera.endpoint()], &[]).await;
    gateway
        .wait_camera("mast", LONG, |c| {
            c["online"] == true && c["info"].is_object()
        })
        .await;
    let (mut socket, by_hyper) = open(&gateway, "/ws?cameras=mast").await;
    assert!(!by_hyper);
    next_ws_frame(&mut socket).await;
    socket
        .send(Message::Text("x".repeat(2000).into()))
        .await
        .expect("sent");
    loop {
        match next(&mut socket).await {
            Message::Close(Some(frame)) => {
                assert_eq!(frame.code, CloseCode::Size);
                break;
            }
            Message::Binary(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    // A camera not known yet: the socket goes back to hyper, which waits for it.
    let (_, unknown_by_hyper) = open(&gateway, "/ws?cameras=later").await;
    assert!(
        unknown_by_hyper,
        "a socket for an unknown camera left hyper"
    );
    camera.stop().await;
}

/// A `/ws?cameras=ID` asked for on a keep-alive connection after another request stays with
/// hyper and tungstenite (the raw path reads only a connection's first request), and sends
/// the same frames.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_on_a_reused_connection_stays_with_hyper() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _load = crate::shared().await;
    let camera = SyntheticCamera::start(CameraOptions::new("mast", 160, 120)).await;
    let gateway = Gateway::serve(&[camera.endpoint()], &[]).await;
    gateway
        .wait_camera("mast", LONG, |c| {
            c["online"] == true && c["info"].is_object()
        })
        .await;
    let url = gateway.url("/ws?cameras=mast");
    let host = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let mut tcp = tokio::net::TcpStream::connect(&host)
        .await
        .expect("connect");
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.expect("write");
    // The head a byte at a time, so that nothing of the next response is read here.
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(tcp.read_u8().await.expect("healthz head"));
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length: "))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("no content-length: {head}"));
    let mut body = vec![0u8; length];
    tcp.read_exact(&mut body).await.expect("healthz body");
    let ws_url = url.replacen("http://", "ws://", 1);
    let (mut socket, response) = tokio_tungstenite::client_async(ws_url, tcp)
        .await
        .expect("upgrade on the reused connection");
    assert!(response.headers().contains_key("date"), "left hyper");
    let (id, meta, _) = next_ws_frame(&mut socket).await;
    assert_eq!((id.as_str(), meta.width), ("mast", 160));
    camera.stop().await;
}
