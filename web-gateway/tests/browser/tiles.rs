//! The camera tiles: live pictures at each camera's own size, stats, offline marking, and
//! the warning shown when two publishers share one camera.

use crate::headless::{self, Browser};
use crate::{assert_pixels_change, assert_stats_update, camera, wait_live, TIMEOUT};
use std::time::{Duration, Instant};
use test_support::{CameraOptions, Gateway, SyntheticCamera};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_shows_two_cameras_live_and_a_lost_one_offline() {
    let Some(tools) = headless::tools_or_skip("page_shows_two_cameras_live_and_a_lost_one_offline")
    else {
        return;
    };
    let front = SyntheticCamera::start(CameraOptions::new("front", 320, 240).fps(15)).await;
    let side = SyntheticCamera::start(CameraOptions::new("side", 192, 108).fps(15)).await;
    // A node whose capture has not produced a frame yet: listed, with no picture.
    let dark = SyntheticCamera::start(CameraOptions::new("dark", 200, 150).max_frames(0)).await;
    let gateway = Gateway::spawn(
        env!("CARGO_BIN_EXE_web-gateway"),
        &[front.endpoint(), side.endpoint(), dark.endpoint()],
        &["--offline-after-ms", "600000"],
    );
    for id in ["front", "side"] {
        gateway
            .wait_camera(id, TIMEOUT, |entry| entry["online"] == true)
            .await;
    }

    let browser = Browser::start(&tools).await;
    browser.goto(&gateway.url("/")).await;
    for (id, size) in [("front", (320, 240)), ("side", (192, 108))] {
        let entry = wait_live(&browser, id, Some(size)).await;
        assert_eq!(
            entry["snapshot"],
            format!("/cameras/{id}/snapshot.jpg"),
            "{entry}"
        );
        assert_pixels_change(&browser, id).await;
        let stats = assert_stats_update(&browser, id).await;
        let resolution = format!("{}x{}", size.0, size.1);
        assert!(
            stats.replace('×', "x").contains(&resolution),
            "camera {id} stats {stats:?} do not show {resolution}"
        );
        // The page's own WebSocket is a client of every camera it shows.
        assert!(
            stats.contains("1 client"),
            "camera {id} stats {stats:?} do not count the page itself"
        );
    }
    // Even without a frame, the page tells the camera's size (from the node's info) and
    // counts itself as a client.
    browser
        .wait_js(
            "stats of a camera without frames",
            headless::PAGE_STATE,
            vec![],
            TIMEOUT,
            |page| {
                camera(page, "dark").is_some_and(|entry| {
                    entry["stats"]
                        .as_str()
                        .is_some_and(|s| s.contains("200x150") && s.contains("1 client"))
                })
            },
        )
        .await;
    browser.screenshot("browser-two-cameras").await;

    // The side camera's node goes away: its liveliness token vanishes with its session.
    side.stop().await;
    let lost_at = Instant::now();
    browser
        .wait_js(
            "side camera shown offline",
            headless::PAGE_STATE,
            vec![],
            TIMEOUT,
            |page| {
                camera(page, "side").is_some_and(|entry| {
                    entry["dataState"] == "offline" && entry["stateText"] == "offline"
                })
            },
        )
        .await;
    let offline_after = lost_at.elapsed();
    eprintln!("side camera shown offline {offline_after:?} after its node stopped");
    assert!(
        offline_after < Duration::from_secs(3),
        "offline shown after {offline_after:?}; the page promises about 2 s"
    );
    // The other camera is unaffected.
    wait_live(&browser, "front", Some((320, 240))).await;
    assert_pixels_change(&browser, "front").await;
    browser.screenshot("browser-one-offline").await;

    browser.close().await;
    front.stop().await;
    dark.stop().await;
}

/// Two nodes left at the defaults publish one camera: the tile shows one picture, and a
/// warning naming both publishers and the fix (`--prefix`), until one of them goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_publishers_on_one_camera_are_warned_about_on_its_tile() {
    let Some(tools) =
        headless::tools_or_skip("two_publishers_on_one_camera_are_warned_about_on_its_tile")
    else {
        return;
    };
    let first = SyntheticCamera::start(CameraOptions::new("front", 320, 240).fps(10)).await;
    let second = SyntheticCamera::start(CameraOptions::new("front", 192, 108).fps(10)).await;
    let gateway = Gateway::spawn(
        env!("CARGO_BIN_EXE_web-gateway"),
        &[first.endpoint(), second.endpoint()],
        &["--offline-after-ms", "1000"],
    );
    let entry = gateway
        .wait_camera("front", TIMEOUT, |entry| entry["conflict"]["sources"] == 2)
        .await;
    let browser = Browser::start(&tools).await;
    browser.goto(&gateway.url("/")).await;
    const WARNING: &str = r#"
const p = document.querySelector('section.camera[data-camera="front"] p.conflict');
return p ? { shown: !p.hidden && p.offsetHeight > 0, text: p.textContent } : null;"#;
    let warning = browser
        .wait_js(
            "conflict warning shown",
            WARNING,
            vec![],
            TIMEOUT,
            |value| value["shown"] == true,
        )
        .await;
    let text = warning["text"].as_str().unwrap_or_default();
    for expected in [
        entry["conflict"]["serving"].as_str().unwrap_or("?"),
        entry["conflict"]["ignored"][0].as_str().unwrap_or("?"),
        "--prefix",
    ] {
        assert!(
            text.contains(expected),
            "warning {text:?} lacks {expected:?}"
        );
    }
    // One picture size only: the served publisher's.
    wait_live(&browser, "front", None).await;
    assert_pixels_change(&browser, "front").await;
    browser.screenshot("browser-two-publishers").await;

    second.stop().await;
    first.stop().await;
    browser
        .wait_js("conflict warning gone", WARNING, vec![], TIMEOUT, |value| {
            value["shown"] == false
        })
        .await;
    browser.close().await;
}
