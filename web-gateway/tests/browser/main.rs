//! The gateway's web page in a real headless Chromium (Debian `chromium` + `chromium-driver`).
//!
//! Checks what a person opening the page would see, through the DOM contract the page keeps
//! (`section.camera[data-camera][data-state]`, `canvas.live`, `.state`, `.stats`, `a.snapshot`):
//! two cameras of different sizes each drawn at their own size, pictures that change, stats
//! that update, and a camera whose node goes away marked offline. A second test, run by
//! `launch/test.sh` with `DEMO_URL`, points the same checks at the running demo.
//!
//! Without chromium/chromedriver the tests explain why and pass, except when `CI` is set:
//! then they fail.
//!
//! This file holds the page probes' shared waits and the demo check (at the top level, so
//! `launch/test.sh`'s `--exact demo_page_shows_moving_picture` finds it); the tests are grouped
//! by feature: `tiles.rs` (live, offline, two publishers), `fleet.rs` (tiles grouped by robot),
//! `previews.rs` (narrow window, node previews), `login.rs` (authentication), `banner.rs`
//! (unreachable robots). `headless.rs` drives the browser.

mod banner;
mod fleet;
mod h264;
mod headless;
mod login;
mod previews;
mod tiles;

use headless::Browser;
use serde_json::{json, Value};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(20);

/// The entry of camera `id` in a [`headless::PAGE_STATE`] result.
fn camera<'a>(page: &'a Value, id: &str) -> Option<&'a Value> {
    page.as_array()?.iter().find(|entry| entry["id"] == id)
}

/// Waits until camera `id` is online on the page with a canvas of `size` that has been drawn.
async fn wait_live(browser: &Browser, id: &str, size: Option<(u32, u32)>) -> Value {
    let accept = |page: &Value| {
        camera(page, id).is_some_and(|entry| {
            let sized = match size {
                Some((width, height)) => entry["canvas"] == json!([width, height]),
                None => entry["canvas"][0].as_u64().is_some_and(|width| width > 0),
            };
            entry["dataState"] == "online" && entry["stateText"] == "online" && sized
        })
    };
    let page = browser
        .wait_js(
            &format!("camera {id} online at {size:?}"),
            headless::PAGE_STATE,
            vec![],
            TIMEOUT,
            accept,
        )
        .await;
    camera(&page, id).cloned().unwrap_or_default()
}

/// Waits until camera `id`'s canvas shows something, then until it shows something else.
async fn assert_pixels_change(browser: &Browser, id: &str) {
    let drawn = |value: &Value| value["lit"].as_u64().is_some_and(|lit| lit > 0);
    let first = browser
        .wait_js(
            &format!("camera {id} canvas drawn"),
            headless::CANVAS_HASH,
            vec![json!(id)],
            TIMEOUT,
            drawn,
        )
        .await;
    browser
        .wait_js(
            &format!("camera {id} canvas changes"),
            headless::CANVAS_HASH,
            vec![json!(id)],
            TIMEOUT,
            |value| drawn(value) && value["hash"] != first["hash"],
        )
        .await;
}

/// Waits until camera `id`'s stats text differs from what it is now (it updates every second).
async fn assert_stats_update(browser: &Browser, id: &str) -> String {
    let before = camera(&browser.cameras().await, id)
        .map(|entry| entry["stats"].clone())
        .unwrap_or_default();
    let page = browser
        .wait_js(
            &format!("camera {id} stats update"),
            headless::PAGE_STATE,
            vec![],
            Duration::from_secs(5),
            |page| {
                camera(page, id).is_some_and(|entry| {
                    entry["stats"].as_str().is_some_and(|s| !s.is_empty())
                        && entry["stats"] != before
                })
            },
        )
        .await;
    camera(&page, id)
        .and_then(|entry| entry["stats"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// The running demo (`launch/demo.sh`), as a new user opening the printed URL sees it.
/// Run by `launch/test.sh`: `DEMO_URL=http://127.0.0.1:PORT/ cargo test -p web-gateway --test
/// browser -- --ignored --exact demo_page_shows_moving_picture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a running demo: DEMO_URL=http://... (launch/test.sh sets it)"]
async fn demo_page_shows_moving_picture() {
    let url = std::env::var("DEMO_URL").expect("DEMO_URL=http://127.0.0.1:PORT/ of a running demo");
    let Some(tools) = headless::tools_or_skip("demo_page_shows_moving_picture") else {
        return;
    };
    let browser = Browser::start(&tools).await;
    browser.goto(&url).await;
    let entry = wait_live(&browser, "front", None).await;
    eprintln!("demo camera on the page: {entry}");
    assert_pixels_change(&browser, "front").await;
    assert_stats_update(&browser, "front").await;
    browser.screenshot("browser-demo").await;
    browser.close().await;
}
