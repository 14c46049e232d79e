//! A fleet on one page: with `--prefix '*/camera'`, two robots' `front` are two tiles, each
//! under its robot's heading, titled `front`, each drawing its own pictures.

use crate::headless::{self, Browser};
use crate::{assert_pixels_change, wait_live, TIMEOUT};
use test_support::{CameraOptions, Gateway, SyntheticCamera};

/// Every robot group: its name, whether its heading shows, and its tiles' ids and titles.
const GROUPS: &str = r#"
return Array.from(document.querySelectorAll('div.robot')).map(group => {
  const heading = group.querySelector('h2.robot-name');
  return {
    robot: group.dataset.robot,
    heading: heading && !heading.hidden && heading.offsetHeight > 0 ? heading.textContent : null,
    tiles: Array.from(group.querySelectorAll('section.camera')).map(section =>
      [section.dataset.camera, section.querySelector('h2').textContent]),
  };
});"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiles_are_grouped_by_robot() {
    let Some(tools) = headless::tools_or_skip("tiles_are_grouped_by_robot") else {
        return;
    };
    let options = |robot: &str| CameraOptions::new("front", 320, 240).fps(10).prefix(robot);
    let one = SyntheticCamera::start(options("robot1/camera")).await;
    let two = SyntheticCamera::start(options("robot2/camera")).await;
    let gateway = Gateway::spawn(
        env!("CARGO_BIN_EXE_web-gateway"),
        &[one.endpoint(), two.endpoint()],
        &["--prefix", "*/camera"],
    );
    let ids = ["robot1.camera.front", "robot2.camera.front"];
    for id in ids {
        gateway
            .wait_camera(id, TIMEOUT, |c| c["online"] == true)
            .await;
    }
    let browser = Browser::start(&tools).await;
    browser.goto(&gateway.url("/")).await;
    let expected = serde_json::json!([
        {"robot": "robot1/camera", "heading": "robot1/camera",
         "tiles": [["robot1.camera.front", "front"]]},
        {"robot": "robot2/camera", "heading": "robot2/camera",
         "tiles": [["robot2.camera.front", "front"]]},
    ]);
    browser
        .wait_js(
            "tiles grouped by robot",
            GROUPS,
            vec![],
            TIMEOUT,
            |groups| *groups == expected,
        )
        .await;
    for id in ids {
        wait_live(&browser, id, Some((320, 240))).await;
        assert_pixels_change(&browser, id).await;
    }
    browser.screenshot("browser-fleet").await;
    browser.close().await;
    one.stop().await;
    two.stop().await;
}
