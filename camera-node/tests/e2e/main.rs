//! End-to-end tests of the `camera-node` binary: real GStreamer pipelines, real zenoh
//! sessions on free loopback ports, real signals. Every spawned process is killed on Drop.

mod common;
mod examples;
mod failures;
mod fake_jetson;
mod frames;
mod multi_node;
