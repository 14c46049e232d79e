//! Issue 23, findings 5 and 6. Sessions were keyed by the raw `Authorization` header, so 1,100
//! spellings of one token minted 1,100 sessions and evicted another user's cookie from the
//! table of 1,024; and a Foxglove `?token=` minted a 12-hour cookie for the whole HTTP API.
//! Now a session belongs to the verified identity (at most 8 each, its own oldest replaced),
//! and the Foxglove listener sets no cookie.

use super::{basic, passwd, LONG, TOKEN};
use crate::GATEWAY;
use test_support::Gateway;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// Sessions one identity keeps (`auth::sessions::MAX_PER_IDENTITY`).
const PER_IDENTITY: usize = 8;

/// The `name=value` of a response's `Set-Cookie`, if it has one.
fn cookie_of(response: &reqwest::Response) -> Option<String> {
    let set = response.headers().get("set-cookie")?.to_str().ok()?;
    Some(set.split(';').next()?.to_owned())
}

/// `Bearer` spelled with `n` spaces before the token, or in mixed case.
fn variants() -> Vec<String> {
    let spaced = (1..=1000).map(|n| format!("Bearer{}{TOKEN}", " ".repeat(n)));
    let cased = (0..100u32).map(|n| {
        let scheme: String = "bearer"
            .chars()
            .enumerate()
            .map(|(at, c)| match (n >> at) & 1 {
                1 => c.to_ascii_uppercase(),
                _ => c,
            })
            .collect();
        format!("{scheme}{}{TOKEN}", " ".repeat(1 + (n / 64) as usize))
    });
    spaced.chain(cased).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_header_variants_do_not_evict_another_users_session() {
    let dir = tempfile::tempdir().expect("temp dir");
    let htpasswd = dir.path().join("htpasswd");
    passwd(&htpasswd, "viewer", Some("correct horse"));
    let auth_file = htpasswd.to_str().expect("utf-8 path");
    let gateway = Gateway::spawn(GATEWAY, &[], &["--auth-file", auth_file, "--token", TOKEN]);
    let client = reqwest::Client::new();
    let api = gateway.url("/api/cameras");
    let login = client
        .get(&api)
        .header("authorization", basic("viewer", "correct horse"))
        .send()
        .await
        .expect("GET");
    assert_eq!(login.status(), 200);
    let viewer = cookie_of(&login).expect("a session cookie");

    let variants = variants();
    assert_eq!(variants.len(), 1100);
    let mut minted = Vec::new();
    for variant in &variants {
        let response = client
            .get(&api)
            .header("authorization", variant.as_str())
            .send()
            .await
            .expect("GET");
        assert_eq!(response.status(), 200, "{variant:?}");
        minted.push(cookie_of(&response).expect("a session cookie"));
    }
    let with_cookie = |cookie: &str| {
        let request = client.get(&api).header("cookie", cookie);
        async move { request.send().await.expect("GET") }
    };
    let kept = with_cookie(&viewer).await;
    assert_eq!(kept.status(), 200, "the viewer was logged out");
    assert!(
        cookie_of(&kept).is_none(),
        "a live session is not re-issued"
    );
    // The token's own sessions: the last few live, the older ones replaced.
    for (index, cookie) in minted.iter().enumerate() {
        let status = with_cookie(cookie).await.status();
        let live = index >= minted.len() - PER_IDENTITY;
        assert_eq!(status == 200, live, "token session #{index}: {status}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foxglove_token_opens_that_websocket_and_sets_no_cookie() {
    let gateway = Gateway::spawn(
        GATEWAY,
        &[],
        &["--foxglove-listen", "127.0.0.1:0", "--token", TOKEN],
    );
    const LINE: &str = "Foxglove WebSocket on ";
    let url = gateway
        .process()
        .wait_for_line("the Foxglove listener", LONG, |line| {
            let at = line.find(LINE)?;
            let url = line[at + LINE.len()..].split_whitespace().next()?;
            Some(format!("{url}/"))
        });
    let bearer = format!("Bearer {TOKEN}");
    for (what, url, authorization) in [
        ("?token=", format!("{url}?token={TOKEN}"), None),
        ("a bearer header", url.clone(), Some(bearer.as_str())),
    ] {
        let mut request = url.into_client_request().expect("request");
        let headers = request.headers_mut();
        let protocol = "foxglove.websocket.v1".parse().expect("header");
        headers.insert("sec-websocket-protocol", protocol);
        if let Some(value) = authorization {
            headers.insert("authorization", value.parse().expect("header"));
        }
        let (mut socket, response) = tokio_tungstenite::connect_async(request)
            .await
            .unwrap_or_else(|error| panic!("{what}: {error}"));
        assert!(
            response.headers().get("set-cookie").is_none(),
            "{what} set a cookie: {response:?}"
        );
        let first = tokio::time::timeout(LONG, futures::StreamExt::next(&mut socket))
            .await
            .expect("a first message");
        match first {
            Some(Ok(Message::Text(text))) => assert!(text.contains("\"serverInfo\""), "{text}"),
            other => panic!("{what}: expected serverInfo, got {other:?}"),
        }
    }
    // The HTTP API takes no ?token=, and its bearer logins still start a session.
    let client = reqwest::Client::new();
    let query = client
        .get(gateway.url(&format!("/api/cameras?token={TOKEN}")))
        .send()
        .await
        .expect("GET");
    assert_eq!(query.status(), 401);
    let header = client
        .get(gateway.url("/api/cameras"))
        .header("authorization", &bearer)
        .send()
        .await
        .expect("GET");
    assert_eq!(header.status(), 200);
    assert!(
        cookie_of(&header).is_some(),
        "HTTP logins keep their cookie"
    );
}
