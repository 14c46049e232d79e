//! The unreachable-robot banner: shown, naming the endpoint and its reason, while a
//! configured zenoh endpoint cannot be reached; hidden once zenoh has a link to it again.

use crate::headless::{self, Browser};
use crate::TIMEOUT;
use serde_json::{json, Value};
use test_support::{CameraOptions, Gateway, SyntheticCamera};

/// The banner as the page shows it: hidden or not, and its entries.
const BANNER: &str = r#"
const banner = document.getElementById("unreachable");
return {
  hidden: banner.hidden,
  visible: banner.offsetHeight > 0,
  items: [...banner.querySelectorAll("li")].map((li) => ({
    endpoint: li.dataset.endpoint, reason: li.dataset.reason, text: li.textContent })),
};
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn banner_names_an_unreachable_endpoint_until_it_is_back() {
    let Some(tools) =
        headless::tools_or_skip("banner_names_an_unreachable_endpoint_until_it_is_back")
    else {
        return;
    };
    // The robot: a camera that publishes nothing, started once the banner shows.
    let robot = CameraOptions::new("robot", 64, 48).max_frames(0);
    let endpoint = format!("tcp/127.0.0.1:{}", robot.port);
    let gateway = Gateway::spawn(
        env!("CARGO_BIN_EXE_web-gateway"),
        std::slice::from_ref(&endpoint),
        &[],
    );
    let browser = Browser::start(&tools).await;
    browser.goto(&gateway.url("/")).await;
    let shown = |banner: &Value| {
        banner["visible"] == true
            && banner["items"]
                .as_array()
                .is_some_and(|items| items.len() == 1 && items[0]["reason"] == "refused")
    };
    let banner = browser
        .wait_js(
            "the banner names the closed endpoint",
            BANNER,
            vec![],
            TIMEOUT,
            shown,
        )
        .await;
    let item = &banner["items"][0];
    assert_eq!(item["endpoint"], json!(endpoint), "{banner}");
    let text = item["text"].as_str().unwrap_or_default();
    assert!(
        text.contains(&endpoint) && text.contains("refused"),
        "{text}"
    );
    browser.screenshot("browser-banner").await;

    let _robot = SyntheticCamera::start(robot).await;
    browser
        .wait_js(
            "the banner hidden once connected",
            BANNER,
            vec![],
            TIMEOUT,
            |banner| banner["hidden"] == true && banner["visible"] == false,
        )
        .await;
    browser.close().await;
}
