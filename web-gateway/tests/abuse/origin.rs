//! Finding 7, browser side: any web page could open `/ws` (cross-site WebSocket hijacking)
//! and a DNS-rebinding page could read the API through its own host name. Now a foreign
//! `Origin` gets 403 and an unknown `Host` 421, with a JSON reason; `/healthz` stays open.

use crate::GATEWAY;
use futures::StreamExt;
use std::time::Duration;
use test_support::{CameraOptions, Gateway, SyntheticCamera};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Error as WsError;

const EVIL: &str = "http://evil.example";

/// The status and JSON body of a refused WebSocket handshake, or `None` if it was accepted
/// and a frame arrived (then the socket is closed).
pub async fn ws_refusal(url: &str, headers: &[(&str, &str)]) -> Option<(u16, serde_json::Value)> {
    let mut request = url
        .replacen("http://", "ws://", 1)
        .into_client_request()
        .expect("ws request");
    for (name, value) in headers {
        let name: reqwest::header::HeaderName = name.parse().expect("header name");
        request
            .headers_mut()
            .insert(name, value.parse().expect("header value"));
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((mut socket, _)) => {
            let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
                .await
                .expect("a frame within 10 s on an accepted WebSocket")
                .expect("socket open")
                .expect("message");
            assert!(message.is_binary(), "{message:?}");
            None
        }
        Err(WsError::Http(response)) => {
            let body = response.body().clone().unwrap_or_default();
            let json = serde_json::from_slice(&body).unwrap_or_else(|_| {
                panic!(
                    "refusal body is not JSON: {}",
                    String::from_utf8_lossy(&body)
                )
            });
            Some((response.status().as_u16(), json))
        }
        Err(error) => panic!("WebSocket {url}: {error}"),
    }
}

pub fn assert_refused(refusal: Option<(u16, serde_json::Value)>, status: u16, needle: &str) {
    let (got, json) = refusal.expect("the handshake was accepted");
    assert_eq!(got, status, "{json}");
    let detail = json["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(needle), "{json}");
}

pub async fn status_and_json(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let json = response.json().await.unwrap_or(serde_json::Value::Null);
    (status, json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_origin_and_rebinding_host_are_refused() {
    let camera = SyntheticCamera::start(CameraOptions::new("yard", 160, 120).fps(10)).await;
    let gateway = Gateway::spawn(GATEWAY, &[camera.endpoint()], &[]);
    let own_origin = gateway.base.clone();
    let host = own_origin.trim_start_matches("http://").to_owned();
    let port = host.rsplit(':').next().expect("port").to_owned();

    // The attack: a page on evil.example opens the gateway's WebSocket.
    let refusal = ws_refusal(&gateway.url("/ws"), &[("origin", EVIL)]).await;
    assert_refused(refusal, 403, "--allow-origin http://evil.example");
    // The gateway's own page still can (and frames flow, so the refusal above is real).
    assert!(ws_refusal(&gateway.url("/ws"), &[("origin", &own_origin)])
        .await
        .is_none());
    // Same host, another port: another origin.
    let other_port = format!(
        "http://127.0.0.1:{}",
        port.parse::<u16>().expect("port") ^ 1
    );
    let refusal = ws_refusal(&gateway.url("/ws"), &[("origin", &other_port)]).await;
    assert_refused(refusal, 403, "--allow-origin");

    let client = reqwest::Client::new();
    let api = gateway.url("/api/cameras");
    let (status, json) = status_and_json(
        client
            .get(&api)
            .header("origin", EVIL)
            .send()
            .await
            .expect("GET"),
    )
    .await;
    assert_eq!(status, 403, "{json}");
    assert!(
        json["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("--allow-origin"),
        "{json}"
    );

    // DNS rebinding: evil.example now resolves to 127.0.0.1; the browser sends its own name.
    let rebound = format!("evil.example:{port}");
    for path in [
        "/api/cameras",
        "/",
        "/cameras/yard/snapshot.jpg",
        "/metrics",
    ] {
        let response = client
            .get(gateway.url(path))
            .header("host", &rebound)
            .send()
            .await
            .expect("GET");
        let (status, json) = status_and_json(response).await;
        assert_eq!(status, 421, "{path}: {json}");
        assert!(
            json["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("--allow-host"),
            "{json}"
        );
    }
    let refusal = ws_refusal(
        &gateway.url("/ws"),
        &[("host", &rebound), ("origin", &format!("http://{rebound}"))],
    )
    .await;
    assert_refused(refusal, 421, "evil.example");
    // Container health checks keep working whatever name they use.
    let health = client
        .get(gateway.url("/healthz"))
        .header("host", &rebound)
        .send()
        .await;
    assert_eq!(health.expect("GET").status(), 200);
    // Names that are this machine: by address, localhost.
    for name in [
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
        host.clone(),
    ] {
        let response = client
            .get(&api)
            .header("host", &name)
            .send()
            .await
            .expect("GET");
        assert_eq!(response.status(), 200, "{name}");
    }
    camera.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_hosts_and_origins_are_accepted() {
    let gateway = Gateway::spawn(
        GATEWAY,
        &[],
        &[
            "--allow-host",
            "cams.example.org",
            "--allow-origin",
            "https://dash.example:8443",
        ],
    );
    let client = reqwest::Client::new();
    let api = gateway.url("/api/cameras");
    let response = client
        .get(&api)
        .header("host", "CAMS.example.org:8080")
        .send()
        .await;
    assert_eq!(response.expect("GET").status(), 200);
    let response = client
        .get(&api)
        .header("origin", "https://dash.example:8443")
        .send()
        .await;
    assert_eq!(response.expect("GET").status(), 200);
    let response = client
        .get(&api)
        .header("origin", "https://dash.example")
        .send()
        .await;
    assert_eq!(response.expect("GET").status(), 403);
}
