//! Shared helpers for the gateway's integration tests (and the headless-browser test).
//!
//! - [`SyntheticCamera`]: a camera node stand-in built with the camera-node library: its own
//!   zenoh session listening on a free loopback port, a liveliness token, an info queryable
//!   and frames drawn with the `image` crate (content changes every frame, chosen size).
//! - [`Gateway`]: the real `web-gateway` binary as a child process on free ports, killed on Drop.
//! - [`MjpegStream`]: a strict multipart parser over a real HTTP response.
//!
//! Everything binds 127.0.0.1 only; waits are bounded so a broken gateway fails a test
//! instead of hanging it.
#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::print_stdout)]
mod camera;
mod gateway;
mod mjpeg;
mod queries;

pub use camera::{draw_frame, free_port, jpeg_size, pad_jpeg, CameraOptions, SyntheticCamera};
pub use gateway::Gateway;
pub use mjpeg::{MjpegStream, Part};
