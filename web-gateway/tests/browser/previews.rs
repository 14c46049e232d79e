//! Tile width drives what the page asks for: the nodes' preview variant in a narrow window,
//! full frames in a wide one.

use crate::headless::{self, Browser};
use crate::{assert_pixels_change, assert_stats_update, wait_live, TIMEOUT};
use test_support::{CameraOptions, Gateway, SyntheticCamera};

/// A phone-sized window: every tile is narrower than the cameras' 384-wide preview, so the page
/// asks for the preview the nodes encode (drawn at its size, moving, named in the stats); a wide
/// window gives tiles wider than the preview, and the page switches back to full frames.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn narrow_page_pulls_node_previews() {
    let Some(tools) = headless::tools_or_skip("narrow_page_pulls_node_previews") else {
        return;
    };
    let mut cameras = Vec::new();
    for id in ["east", "north", "west"] {
        let options = CameraOptions::new(id, 640, 480)
            .fps(10)
            .variant("preview", 384, 288);
        cameras.push(SyntheticCamera::start(options).await);
    }
    let endpoints: Vec<String> = cameras.iter().map(SyntheticCamera::endpoint).collect();
    let gateway = Gateway::spawn(env!("CARGO_BIN_EXE_web-gateway"), &endpoints, &[]);
    for camera in &cameras {
        let id = &camera.options.id;
        gateway
            .wait_camera(id, TIMEOUT, |entry| {
                entry["variants"][0]["name"] == "preview"
            })
            .await;
    }

    let browser = Browser::start(&tools).await;
    browser
        .client
        .set_window_size(400, 900)
        .await
        .expect("narrow window");
    browser.goto(&gateway.url("/")).await;
    for camera in &cameras {
        let id = &camera.options.id;
        let entry = wait_live(&browser, id, Some((384, 288))).await;
        assert!(
            camera.wait_variant_matching("preview", true, TIMEOUT).await,
            "camera {id}: the gateway does not receive its preview"
        );
        assert_pixels_change(&browser, id).await;
        let stats = assert_stats_update(&browser, id).await;
        assert!(
            stats.contains("preview"),
            "camera {id} stats {stats:?}: {entry}"
        );
    }
    browser.screenshot("browser-narrow-previews").await;

    browser
        .client
        .set_window_size(1280, 900)
        .await
        .expect("wide window");
    for camera in &cameras {
        let id = &camera.options.id;
        wait_live(&browser, id, Some((640, 480))).await;
        assert!(
            camera
                .wait_variant_matching("preview", false, TIMEOUT)
                .await,
            "camera {id}: the preview is still subscribed with wide tiles"
        );
    }
    browser.close().await;
    for camera in cameras {
        camera.stop().await;
    }
}
