//! ROS 2 cameras: a CompressedImage topic published by an independent Python script (rosbags CDR,
//! zenoh-python attachment, rmw_zenoh tokens; no code of ours) is shown by the real gateway as a
//! live camera whose snapshot is one of the published JPEGs byte for byte, and recorded by
//! `--record` like a node's camera.

use crate::GATEWAY;
use std::path::PathBuf;
use std::process::Command;
use test_support::jpeg::write_jpeg_dir;
use test_support::mcap_reader::read_mcap;
use test_support::{free_port, ChildProcess, Gateway, DEADLINE};

/// The publisher script on `/robot/front/image/compressed` (domain 6, 10 fps) of three
/// 320x240 JPEGs written to `dir`, listening on the returned endpoint; and those JPEGs.
fn start_publisher(dir: &std::path::Path) -> (ChildProcess, String, Vec<Vec<u8>>) {
    std::fs::create_dir_all(dir).expect("temp dir");
    let files = write_jpeg_dir(dir, &[(320, 240), (320, 240), (320, 240)]);
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
    (publisher, endpoint, jpegs)
}

const ROS2_FLAGS: [&str; 4] = [
    "--ros2-topic",
    "/robot/front/image/compressed",
    "--ros2-domain-id",
    "6",
];

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
    let (publisher, endpoint, jpegs) = start_publisher(&dir);
    let gateway = Gateway::spawn(GATEWAY, std::slice::from_ref(&endpoint), &ROS2_FLAGS);
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

/// `--record` with a ROS 2 topic: the camera task's accepted frames go to
/// `DIR/robot-front/`, on the ROS topic, each one of the published JPEGs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ros2_topic_camera_is_recorded() {
    let test = "ros2_topic_camera_is_recorded";
    if test_support::ci::require(test, test_support::ci::python_rosbags()).is_none()
        || test_support::ci::require(test, test_support::ci::python_mcap()).is_none()
    {
        return;
    }
    let _shared = crate::shared().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let (publisher, endpoint, jpegs) = start_publisher(&dir.path().join("jpegs"));
    let record = dir.path().join("record");
    let mut flags = ROS2_FLAGS.to_vec();
    flags.extend(["--record", record.to_str().expect("utf-8 path")]);
    let mut gateway = Gateway::spawn(GATEWAY, std::slice::from_ref(&endpoint), &flags);
    gateway
        .wait_camera("robot-front", DEADLINE, |camera| {
            camera["recording"] == true && camera["fps"].as_f64().is_some_and(|fps| fps > 1.0)
        })
        .await;
    let start = std::time::Instant::now();
    while gateway.metric("gateway_record_frames_written_total").await < 5.0 {
        assert!(start.elapsed() < DEADLINE, "no ROS 2 frame recorded");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    gateway.terminate();
    let status = gateway.wait_exit(DEADLINE).expect("gateway exits");
    assert!(status.success(), "{status}");
    drop(publisher);
    let segments: Vec<PathBuf> = std::fs::read_dir(record.join("robot-front"))
        .expect("DIR/robot-front/")
        .map(|entry| entry.expect("entry").path())
        .collect();
    let messages: Vec<_> = read_mcap(&segments)
        .into_iter()
        .flat_map(|file| file.messages)
        .collect();
    assert!(messages.len() >= 5, "{} messages", messages.len());
    for message in &messages {
        assert_eq!(message.topic, "/robot/front/image/compressed");
        assert_eq!(message.frame_id, "robot-front");
        assert!(
            jpegs.contains(&message.data),
            "a recorded frame is none of the published JPEGs"
        );
    }
}
