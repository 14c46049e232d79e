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
        std::slice::from_ref(&node.endpoint),
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

/// Glass-to-canvas latency (capture timestamp → frame drawn, as the page measures it) of the
/// H.264 lane against JPEG frames of the same camera in the same browser: a benchmark that
/// prints figures (docs/benchmarks.md, "H.264 lane"), not a test of them. Run by
/// `launch/bench.sh`: `cargo test --release -p web-gateway --test browser -- --ignored --exact
/// h264::glass_to_canvas_latency --nocapture`. `H264_BENCH_SIZE=WxH` (default 1280x720),
/// `H264_BENCH_PATTERN` (default ball), `H264_BENCH_SECS` (default 10).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: prints figures (launch/bench.sh runs it)"]
#[allow(clippy::print_stdout)] // its figures are its output, read by launch/bench.sh
async fn glass_to_canvas_latency() {
    let Some(tools) = headless::tools_or_skip("glass_to_canvas_latency") else {
        return;
    };
    let size = std::env::var("H264_BENCH_SIZE").unwrap_or_else(|_| "1280x720".into());
    let (width, height) = size.split_once('x').expect("H264_BENCH_SIZE=WxH");
    let pattern = std::env::var("H264_BENCH_PATTERN").unwrap_or_else(|_| "ball".into());
    let secs: u64 = std::env::var("H264_BENCH_SECS").map_or(10, |s| s.parse().expect("secs"));
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("camera-node.toml");
    std::fs::write(
        &config,
        format!(
            "source = \"test\"\ncamera = \"bench\"\nwidth = {width}\n\
             height = {height}\nfps = 30\n\n[[variants]]\nname = \"main\"\ncodec = \"h264\"\n\
             width = {width}\nbitrate_kbps = 2000\n"
        ),
    )
    .expect("write node config");
    let node = CameraNode::spawn(
        target_binary("camera-node"),
        &[
            "--config",
            config.to_str().expect("utf-8 path"),
            "--pattern",
            &pattern,
        ],
    );
    let gateway = Gateway::spawn(
        env!("CARGO_BIN_EXE_web-gateway"),
        std::slice::from_ref(&node.endpoint),
        &[],
    );
    gateway
        .wait_camera("bench", TIMEOUT, |c| {
            c["info"]["video"][0]["name"] == "main"
        })
        .await;
    let browser = Browser::start(&tools).await;
    let samples = "const v = views.get('bench'); \
        return v && v.latencies ? [v.section.dataset.codec, v.latencies.slice()] : null;";
    for (path, codec) in [("/?codec=jpeg", "jpeg"), ("/", "h264")] {
        browser.goto(&gateway.url(path)).await;
        browser
            .wait_js(
                &format!("{codec} frames drawn"),
                samples,
                vec![],
                TIMEOUT,
                |value| value[0] == codec && value[1].as_array().is_some_and(|l| l.len() >= 30),
            )
            .await;
        // Warmed up: what the next `secs` seconds draw.
        browser
            .js("views.get('bench').latencies = [];", vec![])
            .await;
        tokio::time::sleep(std::time::Duration::from_secs(secs)).await;
        let value = browser.js(samples, vec![]).await;
        assert_eq!(value[0], codec, "the tile changed codec during the run");
        let mut latencies: Vec<f64> = value[1]
            .as_array()
            .expect("samples")
            .iter()
            .filter_map(Value::as_f64)
            .collect();
        latencies.sort_by(f64::total_cmp);
        let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
        println!(
            "glass-to-canvas {size} {pattern} {codec}: {} frames drawn in {secs} s, p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms",
            latencies.len(),
            at(0.5),
            at(0.9),
            at(0.99)
        );
    }
    browser.close().await;
}
