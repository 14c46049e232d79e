//! `--ros2`: the real node's frames as ROS 2 CompressedImage, checked by an independent reader
//! (`tests/ros2/check_camera.py`: rosbags for CDR and the type hash, zenoh-python for the
//! attachment) that also compares each image with the JPEG on the node's own key.

use crate::NODE;
use std::process::Command;
use test_support::{run_bounded, CameraNode, DEADLINE};

const CHECKER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ros2/check_camera.py");
const CALIBRATION: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ros2/calibration.yaml");

#[test]
fn ros2_subscribers_get_the_published_jpegs() {
    let test = "ros2_subscribers_get_the_published_jpegs";
    if test_support::ci::require(test, test_support::ci::python_rosbags()).is_none() {
        return;
    }
    let node = CameraNode::spawn(
        NODE,
        &[
            "--source",
            "test",
            "--camera",
            "rosfront",
            "--width",
            "320",
            "--height",
            "240",
            "--ros2",
            "--ros2-domain-id",
            "5",
            "--ros2-frame-id",
            "rosfront_optical",
            "--ros2-camera-info",
            CALIBRATION,
        ],
    );
    let (status, stdout, stderr) = run_bounded(
        Command::new("python3").args([
            CHECKER,
            "--connect",
            &node.endpoint,
            "--camera",
            "rosfront",
            "--domain",
            "5",
            "--frame-id",
            "rosfront_optical",
            "--count",
            "5",
            "--timeout",
            "25",
            "--camera-info",
            "--expect-fx",
            "262.5",
        ]),
        DEADLINE,
    );
    assert!(
        status.success(),
        "{stdout}\n{stderr}\nnode:\n{}",
        node.stderr()
    );
    assert!(
        stdout.contains("== published JPEG") && stdout.ends_with("OK\n"),
        "{stdout}"
    );
}

#[test]
fn bad_calibration_file_stops_the_node_naming_the_field() {
    let dir = std::env::temp_dir().join(format!("ros2-calib-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let bad = dir.join("bad.yaml");
    let text = std::fs::read_to_string(CALIBRATION).expect("calibration");
    std::fs::write(&bad, text.replace("cols: 4", "cols: 3")).expect("write");
    let (status, _, stderr) = run_bounded(
        Command::new(NODE).args([
            "--source",
            "test",
            "--ros2",
            "--ros2-camera-info",
            bad.to_str().expect("utf-8 path"),
        ]),
        DEADLINE,
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains("projection_matrix") && stderr.contains("bad.yaml"),
        "{stderr}"
    );
}
