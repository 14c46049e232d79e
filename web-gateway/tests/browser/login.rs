//! The page behind a login: one Basic prompt, then the session cookie carries the page's
//! WebSocket and its MJPEG `<img>` streams.

use crate::headless::{self, Browser};
use crate::{assert_pixels_change, assert_stats_update, wait_live, TIMEOUT};
use serde_json::{json, Value};
use test_support::{CameraOptions, Gateway, SyntheticCamera};

/// Authentication on: the browser logs in once (credentials in the URL, as a person typing
/// them into the browser's prompt), then the page's WebSocket (which carries no Basic
/// credentials, only the session cookie) draws and counts, and an MJPEG `<img>` plays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_once_serves_page_websocket_and_img_stream() {
    let Some(tools) = headless::tools_or_skip("login_once_serves_page_websocket_and_img_stream")
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let htpasswd = dir.path().join("htpasswd");
    let gateway_bin = env!("CARGO_BIN_EXE_web-gateway");
    let mut passwd = std::process::Command::new("sh");
    passwd
        .args([
            "-c",
            r#"printf 'pw-of-viewer\npw-of-viewer\n' | "$0" passwd --cost 10 "$1" viewer"#,
        ])
        .args([gateway_bin, htpasswd.to_str().expect("utf-8 path")]);
    let (status, _, stderr) = test_support::run_bounded(&mut passwd, TIMEOUT);
    assert!(status.success(), "{stderr}");
    let front = SyntheticCamera::start(CameraOptions::new("front", 320, 240).fps(15)).await;
    let gateway = Gateway::spawn(
        gateway_bin,
        &[front.endpoint()],
        &["--auth-file", htpasswd.to_str().expect("utf-8 path")],
    );
    assert_eq!(
        gateway.get("/").await.status(),
        401,
        "the page needs a login"
    );

    let browser = Browser::start(&tools).await;
    let login = gateway
        .url("/")
        .replacen("http://", "http://viewer:pw-of-viewer@", 1);
    browser.goto(&login).await;
    wait_live(&browser, "front", Some((320, 240))).await;
    assert_pixels_change(&browser, "front").await;
    let stats = assert_stats_update(&browser, "front").await;
    assert!(stats.contains("1 client"), "{stats:?}");

    let drawn = |value: &Value| value["lit"].as_u64().is_some_and(|lit| lit > 0);
    let stream = json!("/cameras/front/stream.mjpg");
    let first = browser
        .wait_js(
            "img stream drawn",
            headless::IMG_HASH,
            vec![stream.clone()],
            TIMEOUT,
            drawn,
        )
        .await;
    assert_eq!(first["width"], 320, "{first}");
    browser
        .wait_js(
            "img stream changes",
            headless::IMG_HASH,
            vec![stream],
            TIMEOUT,
            |value| drawn(value) && value["hash"] != first["hash"],
        )
        .await;
    browser.screenshot("browser-login-once").await;
    browser.close().await;
    front.stop().await;
}
