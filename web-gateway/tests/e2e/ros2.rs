//! ROS 2 cameras: a CompressedImage topic published by an independent Python script (rosbags CDR,
//! zenoh-python attachment, rmw_zenoh tokens; no code of ours) is shown by the real gateway as a
//! live camera whose snapshot is one of the published JPEGs byte for byte.

use crate::GATEWAY;
use std::process::Command;
use test_support::jpeg::write_jpeg_dir;
use test_support::{free_port, ChildProcess, Gateway, DEADLINE};

const PUBLISHER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/ros2/publish_compressed_image.py"
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ros2_compressed_image_topic_is_a_live_camera() {
    let test = "ros2_compressed_image_topic_is_a_live_camera";
    if test_support::ci::require(test, test_support::ci::python_rosbags()).is_none() {
        return;
    }
    let _shared = crate::shared().await;
    let dir = std::env::temp_dir().join(format!("gateway-ros2-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let files = write_jpeg_dir(&dir, &[(320, 240), (320, 240), (320, 240)]);
    let jpegs: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(f).expect("read"))
        .collect();
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let mut command = Command::new("python3");
    command
        .arg(PUBLISHER)
        .args(["--listen", &endpoint, "--domain", "6"])
        .args(["--topic", "/robot/front/image/compressed", "--fps", "10"])
        .args(&files);
    let publisher = ChildProcess::spawn("ros2-publisher", &mut command);
    publisher.wait_for_line("'publishing …'", DEADLINE, |line| {
        line.starts_with("publishing 6/robot/front/image/compressed/")
            .then_some(())
    });
    let gateway = Gateway::spawn(
        GATEWAY,
        std::slice::from_ref(&endpoint),
        &[
            "--ros2-topic",
            "/robot/front/image/compressed",
            "--ros2-domain-id",
            "6",
        ],
    );
    let entry = gateway
        .wait_camera("robot-front", DEADLINE, |camera| {
            camera["online"] == true && camera["fps"].as_f64().is_some_and(|fps| fps > 1.0)
        })
        .await;
    let snapshot = reqwest::get(gateway.url("/cameras/robot-front/snapshot.jpg"))
        .await
        .expect("snapshot request");
    assert_eq!(snapshot.status(), 200);
    let body = snapshot.bytes().await.expect("snapshot body");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        jpegs.iter().any(|jpeg| jpeg.as_slice() == body.as_ref()),
        "snapshot is not one of the published JPEGs ({} bytes); camera: {entry}",
        body.len()
    );
    drop(publisher);
    gateway
        .wait_camera("robot-front", DEADLINE, |camera| camera["online"] == false)
        .await;
}
