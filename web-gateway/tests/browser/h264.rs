//! A camera whose node publishes an H.264 lane: the page decodes the lane with WebCodecs
//! (Debian's Chromium has an H.264 decoder) and draws moving frames; the tile says H.264.

use crate::headless::{self, Browser};
use crate::{assert_pixels_change, camera, wait_live, TIMEOUT};
use serde_json::Value;
use test_support::{target_binary, CameraNode, Gateway};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_decodes_the_h264_lane_with_webcodecs() {
    let Some(tools) = headless::tools_or_skip("page_decodes_the_h264_lane_with_webcodecs") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("camera-node.toml");
    std::fs::write(
        &config,
        "source = \"test\"\ncamera = \"lane\"\nwidth = 320\nheight = 240\nfps = 30\n\n\
         [[variants]]\nname = \"main\"\ncodec = \"h264\"\nwidth = 320\nbitrate_kbps = 600\n",
    )
    .expect("write node config");
    let node = CameraNode::spawn(
        target_binary("camera-node"),
        &["--config", config.to_str().expect("utf-8 path")],
    );
    let gateway = Gateway::spawn(
        env!("CARGO_BIN_EXE_web-gateway"),
        &[node.endpoint.clone()],
        &[],
    );
    gateway
        .wait_camera("lane", TIMEOUT, |c| c["info"]["video"][0]["name"] == "main")
        .await;

    let browser = Browser::start(&tools).await;
    browser.goto(&gateway.url("/")).await;
    let supported = browser
        .js(
            "return VideoDecoder.isConfigSupported({codec: 'avc1.42C01E'}).then(r => r.supported);",
            vec![],
        )
        .await;
    assert_eq!(
        supported,
        Value::Bool(true),
        "this Chromium decodes no H.264"
    );
    wait_live(&browser, "lane", Some((320, 240))).await;
    let showing_h264 = |page: &Value| {
        camera(page, "lane").is_some_and(|entry| {
            entry["codec"] == "h264"
                && entry["stats"]
                    .as_str()
                    .is_some_and(|s| s.contains("H.264 main"))
        })
    };
    browser
        .wait_js(
            "the tile shows the H.264 lane",
            headless::PAGE_STATE,
            vec![],
            TIMEOUT,
            showing_h264,
        )
        .await;
    // Frames decoded by WebCodecs, and moving; no decoder error sent the tile back to JPEG.
    let decoded =
        "const v = views.get('lane'); return v ? [v.videoDrawn || 0, v.videoFailed] : null;";
    let first = browser
        .wait_js("decoded frames", decoded, vec![], TIMEOUT, |value| {
            value[0].as_u64().is_some_and(|n| n >= 10)
        })
        .await;
    assert_eq!(first[1], Value::Null, "decoder error: {first}");
    assert_pixels_change(&browser, "lane").await;
    let later = browser
        .wait_js("more decoded frames", decoded, vec![], TIMEOUT, |value| {
            value[0].as_u64() > first[0].as_u64()
        })
        .await;
    assert_eq!(later[1], Value::Null, "decoder error: {later}");
    assert!(
        showing_h264(&browser.cameras().await),
        "the tile fell back to JPEG"
    );
    browser.screenshot("browser-h264-lane").await;
    browser.close().await;
}
