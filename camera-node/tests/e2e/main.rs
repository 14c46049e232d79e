//! End-to-end tests of the `camera-node` binary: real GStreamer pipelines, real zenoh
//! sessions on free loopback ports, real signals; and of the examples, against the node and
//! against the real `web-gateway`. Every spawned process is killed on Drop (`test-support`).

mod examples;
mod failures;
mod fake_jetson;
mod frames;
mod multi_node;
mod publish_examples;
mod query_payloads;
mod ros2;
mod variants;
mod video;

/// The binary under test.
const NODE: &str = env!("CARGO_BIN_EXE_camera-node");
