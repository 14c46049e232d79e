//! A Foxglove client that stops reading must not slow down another nor grow the gateway's
//! memory: subscriptions take the newest frame when the socket is ready (the MJPEG rule), and
//! a stalled client, once it reads again, is back at the newest frames within a bounded number
//! of messages (what the kernel's socket buffers held).

use crate::foxglove::foxglove_url;
use crate::GATEWAY;
use camera_protocol::meta::unix_now_ns;
use futures::{SinkExt, StreamExt};
use std::time::{Duration, Instant};
use test_support::{Gateway, DEADLINE};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Connects, finds `topic` in the advertisements and subscribes to it as subscription 1.
async fn subscribe(url: &str, topic: &str) -> Socket {
    let mut request = url.into_client_request().expect("request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "foxglove.websocket.v1".parse().expect("header"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("Foxglove connection");
    let channel = loop {
        let message = tokio::time::timeout(DEADLINE, socket.next())
            .await
            .expect("advertise in time")
            .expect("open")
            .expect("message");
        let Message::Text(text) = message else {
            continue;
        };
        let value: serde_json::Value = serde_json::from_str(text.as_str()).expect("JSON");
        let found = value["channels"]
            .as_array()
            .and_then(|channels| channels.iter().find(|c| c["topic"] == topic))
            .map(|channel| channel["id"].clone());
        if let Some(id) = found {
            break id;
        }
    };
    let subscribe = serde_json::json!({
        "op": "subscribe",
        "subscriptions": [{"id": 1, "channelId": channel}],
    });
    socket
        .send(Message::Text(subscribe.to_string().into()))
        .await
        .expect("subscribe");
    socket
}

/// The capture time of the next message-data frame.
async fn next_frame(socket: &mut Socket) -> u64 {
    loop {
        let message = tokio::time::timeout(DEADLINE, socket.next())
            .await
            .expect("a frame in time")
            .expect("open")
            .expect("message");
        if let Message::Binary(data) = message {
            assert_eq!((data[0], &data[1..5]), (1, &1u32.to_le_bytes()[..]));
            return u64::from_le_bytes(data[5..13].try_into().expect("8 bytes"));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_foxglove_client_does_not_hurt_others_or_memory() {
    let _load = crate::exclusive().await;
    let camera = crate::slow_client::busy_camera().await;
    let gateway = Gateway::spawn(
        GATEWAY,
        &[camera.endpoint()],
        &[
            "--foxglove-listen",
            "127.0.0.1:0",
            "--offline-after-ms",
            "600000",
            "--clip-buffer",
            "0",
        ],
    );
    let url = tokio::task::block_in_place(|| foxglove_url(&gateway));
    gateway
        .wait_camera("busy", DEADLINE, |c| {
            c["online"] == true && c["width"] == 320
        })
        .await;
    let topic = "/camera/busy";
    let mut stalled = subscribe(&url, topic).await;
    next_frame(&mut stalled).await;
    let reader = {
        let mut socket = subscribe(&url, topic).await;
        tokio::spawn(async move {
            let mut times = Vec::new();
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(7) {
                times.push(next_frame(&mut socket).await);
            }
            times
        })
    };
    // Both reach steady state before the baseline; then the stalled one reads nothing for 5 s.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let baseline = gateway.vm_rss_kib();
    let published_before = camera.published();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let during = gateway.vm_rss_kib();
    let published = camera.published() - published_before;
    let times = reader.await.expect("reader task");
    assert!(
        times.windows(2).all(|pair| pair[0] < pair[1]),
        "the reading client got a frame twice or out of order"
    );

    // Resumed: within a bounded number of messages, frames captured after the stall ended.
    let resumed_at = unix_now_ns();
    let mut stale = 0;
    while next_frame(&mut stalled).await < resumed_at {
        stale += 1;
        assert!(
            stale < 100,
            "the stalled client is still {stale} frames behind"
        );
    }
    let growth_kib = during.saturating_sub(baseline);
    eprintln!(
        "RSS baseline {baseline} KiB, during stall {during} KiB; reading client {} frames in 7 s \
         ({published} published in the 5 s stall); stale messages after resuming {stale}",
        times.len()
    );
    assert!(
        times.len() as u64 >= published,
        "the reading client got {} frames in 7 s, fewer than the {published} published in 5 s",
        times.len()
    );
    assert!(
        growth_kib < 10 * 1024,
        "gateway RSS grew by {growth_kib} KiB during the stall"
    );
}
