//! `--foxglove-listen` of the real binary against an independent Python client speaking
//! `foxglove.websocket.v1` (test-support's `python/foxglove_client.py`): serverInfo, the camera
//! advertised with a schema protobuf loads, status errors that keep the connection, message
//! data carrying exactly the published JPEGs at their capture times (under `while-watched`,
//! so the subscription itself makes the gateway receive the camera), and unadvertise once the
//! camera is forgotten. Wrong subprotocols and plain HTTP get the gateway's JSON errors.

use crate::GATEWAY;
use camera_protocol::info::CameraInfo;
use camera_protocol::keys::{CameraKeys, DEFAULT_PREFIX};
use camera_protocol::{FramePublisher, PublisherOptions};
use std::collections::HashMap;
use test_support::ci::{python_mcap, python_websockets, require};
use test_support::foxglove_client::FoxgloveClient;
use test_support::mcap_reader::from_hex;
use test_support::publisher::{declare_publisher, publish_frames, wait_subscribed};
use test_support::{free_port, listening_session, Gateway, DEADLINE};
use tokio::task::block_in_place;

/// `ws://ADDR/` from the gateway's log line.
pub fn foxglove_url(gateway: &Gateway) -> String {
    const LINE: &str = "Foxglove WebSocket on ";
    gateway
        .process()
        .wait_for_line("the Foxglove listener", DEADLINE, |line| {
            let at = line.find(LINE)?;
            let url = line[at + LINE.len()..].split_whitespace().next()?;
            Some(format!("{url}/"))
        })
}

/// Without the subprotocol, or without an upgrade, the listener answers the gateway's JSON error.
async fn refuses_other_clients(url: &str) {
    let http = url.replacen("ws://", "http://", 1);
    let response = reqwest::get(&http).await.expect("GET the Foxglove port");
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.expect("JSON error");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("WebSocket"),
        "{body}"
    );

    match tokio_tungstenite::connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 400);
            let body = String::from_utf8_lossy(response.body().as_deref().unwrap_or_default())
                .into_owned();
            assert!(body.contains("foxglove.websocket.v1"), "{body}");
        }
        other => panic!("an upgrade without the subprotocol must be refused: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foxglove_client_sees_camera_frames_and_its_departure() {
    let tools = python_websockets().and_then(|()| python_mcap());
    if require("foxglove", tools).is_none() {
        return;
    }
    let _shared = crate::shared().await;
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let node = listening_session(&endpoint).await;
    let gateway = Gateway::spawn(
        GATEWAY,
        std::slice::from_ref(&endpoint),
        &[
            "--foxglove-listen",
            "127.0.0.1:0",
            "--offline-after-ms",
            "500",
            "--forget-after-ms",
            "1000",
            "--clip-buffer",
            "0",
            // The gateway receives the camera only while watched: the Foxglove subscription's
            // viewer guard must be what starts it (the publisher's matching status below).
            "--subscribe",
            "while-watched",
        ],
    );
    let url = block_in_place(|| foxglove_url(&gateway));
    refuses_other_clients(&url).await;

    let mut publisher = declare_publisher(&node, "front").await;
    gateway.wait_camera("front", DEADLINE, |_| true).await;

    let topic = format!("/{DEFAULT_PREFIX}/front");
    let done_topic = format!("/{DEFAULT_PREFIX}/done");
    let mut client = FoxgloveClient::spawn(&url, &topic, &done_topic);
    let (server_info, channel) = block_in_place(|| {
        let info = client.wait_event("serverInfo", DEADLINE);
        let channel = client.wait_event("advertise", DEADLINE);
        // The client checked the two status errors before it subscribed.
        client.wait_event("subscribed", DEADLINE);
        (info, channel)
    });
    assert_eq!(server_info["capabilities"], serde_json::json!([]));
    assert_eq!(server_info["metadata"]["prefix"], DEFAULT_PREFIX);
    assert!(server_info["sessionId"].is_string(), "{server_info}");
    assert_eq!(channel["encoding"], "protobuf");
    assert_eq!(channel["schemaName"], "foxglove.CompressedImage");
    assert_eq!(channel["schemaEncoding"], "protobuf");
    assert_eq!(client.events("status").len(), 2);

    wait_subscribed(&publisher).await;
    let published = publish_frames(&mut publisher, 30, 30).await;
    let last = published.last().expect("frames").0;
    // The newest frame always arrives (a slow client skips older ones, never the latest).
    block_in_place(|| {
        client.wait_until("message", DEADLINE, |message| message["log_time"] == last)
    });

    // The camera leaves; a second camera appearing tells the client to unsubscribe (a
    // subscription counts as a viewer, and watched cameras are kept): then it is offline,
    // unwatched, forgotten after --forget-after-ms and unadvertised.
    drop(publisher);
    let done_keys = CameraKeys::new(DEFAULT_PREFIX, "done").expect("keys");
    let _done = FramePublisher::declare(
        &node,
        &done_keys,
        CameraInfo::new("done", "test"),
        PublisherOptions::default(),
    )
    .await
    .expect("declare");
    block_in_place(|| {
        client.wait_event("unsubscribed", DEADLINE);
        client.wait_event("unadvertised", DEADLINE);
    });
    let status = block_in_place(|| client.wait_exit(DEADLINE)).expect("client exits");
    assert!(status.success(), "{status}");

    let by_time: HashMap<u64, &[u8]> = published
        .iter()
        .map(|(ts, jpeg)| (*ts, &jpeg[..]))
        .collect();
    let messages = client.events("message");
    assert!(!messages.is_empty());
    let mut previous = 0;
    for message in &messages {
        let log_time = message["log_time"].as_u64().expect("log_time");
        assert!(log_time > previous, "frames out of order: {message}");
        previous = log_time;
        assert_eq!(message["subscription"], 7);
        assert_eq!(message["timestamp_ns"].as_u64(), Some(log_time));
        assert_eq!(message["frame_id"], "front");
        assert_eq!(message["format"], "jpeg");
        let jpeg = by_time
            .get(&log_time)
            .unwrap_or_else(|| panic!("no frame was published at {log_time}"));
        let data = from_hex(message["data_hex"].as_str().expect("data_hex"));
        assert!(
            data == *jpeg,
            "message at {log_time} is not the published JPEG"
        );
    }
}

/// With authentication on, the Foxglove listener asks for the same credentials as HTTP: none or
/// a wrong token get 401 before any upgrade; a bearer token, as a header or as the `?token=`
/// Foxglove's URL-only dialog can carry, gets the protocol.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foxglove_listener_needs_credentials_when_auth_is_on() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::{Error, Message};
    const TOKEN: &str = "foxglove-test-token-0123456789";
    let _shared = crate::shared().await;
    let gateway = Gateway::spawn(
        GATEWAY,
        &[],
        &["--foxglove-listen", "127.0.0.1:0", "--token", TOKEN],
    );
    let url = block_in_place(|| foxglove_url(&gateway));
    let request = |url: &str, authorization: Option<String>| {
        let mut request = url.into_client_request().expect("request");
        let headers = request.headers_mut();
        headers.insert(
            "sec-websocket-protocol",
            "foxglove.websocket.v1".parse().expect("header"),
        );
        if let Some(value) = authorization {
            headers.insert("authorization", value.parse().expect("header"));
        }
        request
    };

    for (what, url, authorization) in [
        ("no credentials", url.clone(), None),
        (
            "a wrong token",
            url.clone(),
            Some("Bearer not-the-token-at-all".to_owned()),
        ),
        (
            "a wrong ?token=",
            format!("{url}?token=not-the-token-at-all"),
            None,
        ),
    ] {
        match tokio_tungstenite::connect_async(request(&url, authorization)).await {
            Err(Error::Http(response)) => assert_eq!(response.status(), 401, "{what}"),
            other => panic!("{what}: expected 401, got {other:?}"),
        }
    }
    for (what, url, authorization) in [
        (
            "the bearer header",
            url.clone(),
            Some(format!("Bearer {TOKEN}")),
        ),
        ("?token=", format!("{url}?token={TOKEN}"), None),
    ] {
        let (mut socket, _) = tokio_tungstenite::connect_async(request(&url, authorization))
            .await
            .unwrap_or_else(|error| panic!("{what}: {error}"));
        let first = tokio::time::timeout(DEADLINE, futures::StreamExt::next(&mut socket))
            .await
            .expect("a first message");
        match first {
            Some(Ok(Message::Text(text))) => assert!(text.contains("\"serverInfo\""), "{text}"),
            other => panic!("{what}: expected serverInfo, got {other:?}"),
        }
    }
}

/// With HTTPS on, the Foxglove listener speaks TLS with the same certificate: `wss://` works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foxglove_listener_speaks_tls_when_https_is_on() {
    use tokio_rustls::rustls;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::Message;
    let _shared = crate::shared().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
        .expect("self-signed certificate");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).expect("write cert");
    std::fs::write(&key, certified.signing_key.serialize_pem()).expect("write key");
    let gateway = Gateway::spawn(
        GATEWAY,
        &[],
        &[
            "--foxglove-listen",
            "127.0.0.1:0",
            "--tls-cert",
            cert.to_str().expect("path"),
            "--tls-key",
            key.to_str().expect("path"),
        ],
    );
    const LINE: &str = "Foxglove WebSocket on wss://";
    let address = block_in_place(|| {
        gateway
            .process()
            .wait_for_line("the wss:// Foxglove listener", DEADLINE, |line| {
                let at = line.find(LINE)?;
                line[at + LINE.len()..]
                    .split_whitespace()
                    .next()
                    .map(str::to_owned)
            })
    });

    let tcp = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let tls = test_support::tls::connector_trusting(certified.cert.der().clone())
        .connect(name, tcp)
        .await
        .expect("TLS handshake");
    let port = address.rsplit(':').next().expect("port");
    let mut request = format!("wss://localhost:{port}/")
        .into_client_request()
        .expect("request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "foxglove.websocket.v1".parse().expect("header"),
    );
    let (mut socket, _) = tokio_tungstenite::client_async(request, tls)
        .await
        .expect("WebSocket over TLS");
    let first = tokio::time::timeout(DEADLINE, futures::StreamExt::next(&mut socket))
        .await
        .expect("a first message");
    match first {
        Some(Ok(Message::Text(text))) => assert!(text.contains("\"serverInfo\""), "{text}"),
        other => panic!("expected serverInfo over TLS, got {other:?}"),
    }
}
